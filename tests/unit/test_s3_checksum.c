/* The checks of a download against the checksum S3 keeps for the object
 * (part of the aws unit test; main() is in test_aws.c). */
#define _GNU_SOURCE
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "s3_checksum.h"

/* ---- Checksums -------------------------------------------------------------- */

/* CRC-64/NVME one bit at a time, straight from its definition: the
 * reference the table-driven one is held to. */
static uint64_t crc64_nvme_bitwise(const unsigned char *data, size_t length)
{
    uint64_t crc = ~0ull;
    for (size_t i = 0; i < length; i++) {
        crc ^= data[i];
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ ((crc & 1) ? 0x9a6c9329ac4bc9b5ull : 0);
    }
    return ~crc;
}

START_TEST(crc64_nvme_matches_its_definition)
{
    /* The CRC catalogue's check value. */
    ck_assert_uint_eq(crc64_nvme(0, "123456789", 9), 0xae8b14860a799888ull);
    ck_assert_uint_eq(crc64_nvme(0, "", 0), 0);
    unsigned char data[4099];
    unsigned seed = 7;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (unsigned char)(rand_r(&seed) >> 3);
    for (size_t length = 0; length < sizeof data; length += 37) {
        uint64_t whole = crc64_nvme(0, data, length);
        ck_assert_uint_eq(whole, crc64_nvme_bitwise(data, length));
        /* In two pieces, split anywhere, as a download arrives. */
        size_t split = length / 3;
        ck_assert_uint_eq(crc64_nvme(crc64_nvme(0, data, split), data + split, length - split),
                          whole);
    }
}
END_TEST

/* HeadObject's answer, as name/value pairs. */
struct answer {
    const char *pairs[8][2];
};

static const char *answer_lookup(void *context, const char *name)
{
    const struct answer *answer = context;
    for (int i = 0; i < 8 && answer->pairs[i][0] != NULL; i++)
        if (strcasecmp(answer->pairs[i][0], name) == 0)
            return answer->pairs[i][1];
    return NULL;
}

/* Choose from `answer`, count "123456789" in (in two pieces, the second
 * with its last byte changed when `corrupt`), and finish: returns the name
 * chosen, and whether it matched in `matched`. */
static const char *check_digits(struct answer answer, bool corrupt, bool *matched, char *got)
{
    struct s3_checksum checksum;
    s3_checksum_choose(&checksum, answer_lookup, &answer);
    s3_checksum_update(&checksum, "1234", 4);
    s3_checksum_update(&checksum, corrupt ? "5678X" : "56789", 5);
    const char *name = checksum.name;
    *matched = s3_checksum_finish(&checksum, got, 72);
    return name;
}

START_TEST(each_s3_checksum_is_checked)
{
    /* Values of "123456789" from Python's binascii and hashlib, and the CRC
     * catalogue's for CRC32C and CRC64NVME, base64 of big-endian bytes as
     * S3 sends them. */
    static const char *cases[][3] = {
        {"x-amz-checksum-crc32", "y/Q5Jg==", "CRC32"},
        {"x-amz-checksum-crc32c", "4waSgw==", "CRC32C"},
        {"x-amz-checksum-crc64nvme", "rosUhgp5mIg=", "CRC64NVME"},
        {"x-amz-checksum-sha1", "98O8HYCOBHMq32eZZczDTKeuNEE=", "SHA1"},
        {"x-amz-checksum-sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU=", "SHA256"},
        {"ETag", "\"25f9e794323b453885f5181f1b624d0b\"", "MD5 (ETag)"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct answer answer = {{{cases[i][0], cases[i][1]}}};
        bool matched;
        char got[72];
        const char *name = check_digits(answer, false, &matched, got);
        ck_assert_str_eq(name, cases[i][2]);
        ck_assert_msg(matched, "%s: got %s", cases[i][2], got);
        ck_assert_msg(strstr(cases[i][1], got) != NULL, "%s: got %s", cases[i][2], got);
        check_digits(answer, true, &matched, got);
        ck_assert_msg(!matched, "%s: a changed byte passed", cases[i][2]);
    }
}
END_TEST

START_TEST(unusable_checksums_are_passed_over)
{
    bool matched;
    char got[72];
    const char *md5_etag = "\"25f9e794323b453885f5181f1b624d0b\"";
    /* The cheapest of several; a COMPOSITE one (over the parts) falls back
     * to the ETag, as does one of the wrong length (an emulator's
     * CRC64NVME that is really a CRC32). */
    struct answer several = {
        {{"x-amz-checksum-sha256", "FeKw08M4keuw8e9gnsQZQgwg4yDOlMZfvIwzEkSOsiU="},
         {"x-amz-checksum-crc32", "y/Q5Jg=="}}};
    ck_assert_str_eq(check_digits(several, false, &matched, got), "CRC32");
    struct answer composite = {{{"x-amz-checksum-crc32", "y/Q5Jg==-3"}, {"ETag", md5_etag}}};
    ck_assert_str_eq(check_digits(composite, false, &matched, got), "MD5 (ETag)");
    struct answer typed = {{{"x-amz-checksum-crc32", "y/Q5Jg=="},
                            {"x-amz-checksum-type", "COMPOSITE"}, {"ETag", md5_etag}}};
    ck_assert_str_eq(check_digits(typed, false, &matched, got), "MD5 (ETag)");
    struct answer short_crc = {{{"x-amz-checksum-crc64nvme", "y/Q5Jg=="}, {"ETag", md5_etag}}};
    ck_assert_str_eq(check_digits(short_crc, false, &matched, got), "MD5 (ETag)");
    /* ETags that are not MD5s: KMS, DSSE-KMS, a customer's key, multipart.
     * Nothing to check, and nothing refused. */
    struct answer kms = {{{"ETag", md5_etag}, {"x-amz-server-side-encryption", "aws:kms"}}};
    struct answer dsse = {{{"ETag", md5_etag}, {"x-amz-server-side-encryption", "aws:kms:dsse"}}};
    struct answer sse_c = {{{"ETag", md5_etag},
                            {"x-amz-server-side-encryption-customer-algorithm", "AES256"}}};
    struct answer multipart = {{{"ETag", "\"25f9e794323b453885f5181f1b624d0b-3\""}}};
    struct answer *none[] = {&kms, &dsse, &sse_c, &multipart};
    for (size_t i = 0; i < 4; i++) {
        ck_assert_ptr_null(check_digits(*none[i], true, &matched, got));
        ck_assert(matched);
    }
    /* SSE-S3 (AES256) leaves the ETag an MD5. */
    struct answer sse_s3 = {{{"ETag", md5_etag}, {"x-amz-server-side-encryption", "AES256"}}};
    ck_assert_str_eq(check_digits(sse_s3, false, &matched, got), "MD5 (ETag)");
}
END_TEST

/* RFC 4648's test vectors, both ways, base64url, and what is refused. */
START_TEST(base64_both_ways)
{
    static const char *const vectors[][2] = {
        {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        char encoded[16], decoded[16];
        size_t length = strlen(vectors[i][0]);
        ck_assert_uint_eq(base64_encode(vectors[i][0], length, false, encoded),
                          strlen(vectors[i][1]));
        ck_assert_str_eq(encoded, vectors[i][1]);
        ck_assert_int_eq(base64_decode(vectors[i][1], decoded, sizeof decoded), (long)length);
        ck_assert_mem_eq(decoded, vectors[i][0], length);
    }
    char encoded[8];
    base64_encode("\xfb\xff", 2, true, encoded);
    ck_assert_str_eq(encoded, "-_8=");
    base64_encode("\xfb\xff", 2, false, encoded);
    ck_assert_str_eq(encoded, "+/8=");
    char out[8];
    static const char *const refused[] = {"Zg=", "Zg=a", "Z===", "-_8=", "Zm9v-2", "Zm 9"};
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++)
        ck_assert_msg(base64_decode(refused[i], out, sizeof out) < 0, "%s", refused[i]);
    ck_assert_int_lt(base64_decode("Zm9vYmFy", out, 5), 0); /* does not fit */
}
END_TEST

TCase *checksum_tcase(void)
{
    TCase *checksums = tcase_create("checksums");
    tcase_add_test(checksums, crc64_nvme_matches_its_definition);
    tcase_add_test(checksums, each_s3_checksum_is_checked);
    tcase_add_test(checksums, unusable_checksums_are_passed_over);
    tcase_add_test(checksums, base64_both_ways);
    return checksums;
}
