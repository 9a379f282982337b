/* The AWS shared files, endpoints and XML answers, and the download
 * checks (hostile model archives: test_unpack.c). */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws_config.h"
#include "aws_http.h"
#include "s3_checksum.h"

START_TEST(profiles_from_both_files)
{
    const char credentials[] = "[default]\n"
                               "aws_access_key_id = AKIDDEFAULT\n"
                               "aws_secret_access_key = default-secret\n"
                               "\n"
                               "[dev]\n"
                               "aws_access_key_id=AKIDDEV\n"
                               "aws_secret_access_key=dev/secret+x=\n"
                               "aws_session_token = tok\n";
    const char config[] = "# comment\n"
                          "[default]\n"
                          "region = eu-west-1\n"
                          "[profile dev]\n"
                          "region = us-west-2\n"
                          "s3 =\n"
                          "  max_concurrent_requests = 20\n"
                          "endpoint_url = http://localhost:4566\n"
                          "[dev]\n"
                          "region = wrong-section-form\n"
                          "[profile ops]\n"
                          "role_arn = arn:aws:iam::1:role/ops\n"
                          "source_profile = dev\n"
                          "external_id = xyz\n";
    struct aws_profile dev;
    memset(&dev, 0, sizeof dev);
    aws_profile_parse(credentials, "dev", false, &dev);
    aws_profile_parse(config, "dev", true, &dev);
    ck_assert(dev.found);
    ck_assert_str_eq(dev.access_key_id, "AKIDDEV");
    ck_assert_str_eq(dev.secret_access_key, "dev/secret+x=");
    ck_assert_str_eq(dev.session_token, "tok");
    ck_assert_str_eq(dev.region, "us-west-2"); /* not "[dev]" in the config file */
    ck_assert_str_eq(dev.endpoint_url, "http://localhost:4566");

    struct aws_profile ops;
    memset(&ops, 0, sizeof ops);
    aws_profile_parse(config, "ops", true, &ops);
    ck_assert_str_eq(ops.role_arn, "arn:aws:iam::1:role/ops");
    ck_assert_str_eq(ops.source_profile, "dev");
    ck_assert_str_eq(ops.external_id, "xyz");

    struct aws_profile missing;
    memset(&missing, 0, sizeof missing);
    aws_profile_parse(config, "nobody", true, &missing);
    ck_assert(!missing.found);
}
END_TEST

START_TEST(region_and_endpoint_resolution)
{
    char dir[] = "/tmp/fahr-test-aws.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/config", dir);
    FILE *file = fopen(path, "w");
    fputs("[profile p]\nregion = ap-south-1\n", file);
    fclose(file);
    setenv("AWS_CONFIG_FILE", path, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_PROFILE", "p", 1);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    char region[64];
    struct fahr_error err;
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "ap-south-1");
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "eu-central-1");
    setenv("AWS_REGION", "us-east-2", 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "us-east-2");
    ck_assert_int_eq(aws_region("sa-east-1", region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "sa-east-1");

    char url[512];
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_SAGEMAKER");
    aws_endpoint("SAGEMAKER", "api.sagemaker.{region}.amazonaws.com", "eu-west-1", url,
                 sizeof url);
    ck_assert_str_eq(url, "https://api.sagemaker.eu-west-1.amazonaws.com");
    aws_endpoint("IAM", "iam.amazonaws.com", "eu-west-1", url, sizeof url);
    ck_assert_str_eq(url, "https://iam.amazonaws.com");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
    aws_endpoint("SAGEMAKER", "api.sagemaker.{region}.amazonaws.com", "eu-west-1", url,
                 sizeof url);
    ck_assert_str_eq(url, "http://127.0.0.1:5000");
    setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:6000", 1);
    aws_endpoint("SAGEMAKER", "api.sagemaker.{region}.amazonaws.com", "eu-west-1", url,
                 sizeof url);
    ck_assert_str_eq(url, "http://127.0.0.1:6000");
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(xml_answers)
{
    const char text[] =
        "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
        "<GetRoleResult><Role><RoleName>r</RoleName><Arn>arn:aws:iam::1:role/r</Arn></Role>"
        "</GetRoleResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>"
        "</GetRoleResponse>";
    struct xml_node *root = xml_parse(text, sizeof text - 1);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(xml_text(root, "GetRoleResult/Role/Arn"), "arn:aws:iam::1:role/r");
    ck_assert_str_eq(xml_text(root, "Arn"), "arn:aws:iam::1:role/r");
    ck_assert_ptr_null(xml_text(root, "GetRoleResult/Nope"));
    xml_free(root);
    ck_assert_ptr_null(xml_parse("<a><b></a>", 10));
    ck_assert_ptr_null(xml_parse("", 0));
}
END_TEST

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

int main(void)
{
    Suite *suite = suite_create("aws");
    TCase *config = tcase_create("config");
    tcase_add_test(config, profiles_from_both_files);
    tcase_add_test(config, region_and_endpoint_resolution);
    tcase_add_test(config, xml_answers);
    suite_add_tcase(suite, config);
    TCase *checksums = tcase_create("checksums");
    tcase_add_test(checksums, crc64_nvme_matches_its_definition);
    tcase_add_test(checksums, each_s3_checksum_is_checked);
    tcase_add_test(checksums, unusable_checksums_are_passed_over);
    suite_add_tcase(suite, checksums);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
