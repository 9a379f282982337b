/* plugins/common/s3_checksum.c: see s3_checksum.h. */
#include "s3_checksum.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "sigv4.h"

/* ---- CRC-64/NVME, eight bytes a step ------------------------------------ */

#define CRC64_NVME_REFLECTED 0x9a6c9329ac4bc9b5ull /* 0xAD93D23594C93659, bits reversed */

static uint64_t crc64_table[8][256];
static pthread_once_t crc64_table_once = PTHREAD_ONCE_INIT;

static void crc64_table_make(void)
{
    for (unsigned i = 0; i < 256; i++) {
        uint64_t crc = i;
        for (int bit = 0; bit < 8; bit++)
            crc = (crc >> 1) ^ ((crc & 1) ? CRC64_NVME_REFLECTED : 0);
        crc64_table[0][i] = crc;
    }
    for (unsigned i = 0; i < 256; i++)
        for (int k = 1; k < 8; k++)
            crc64_table[k][i] =
                (crc64_table[k - 1][i] >> 8) ^ crc64_table[0][crc64_table[k - 1][i] & 0xff];
}

uint64_t crc64_nvme(uint64_t crc, const void *data, size_t length)
{
    pthread_once(&crc64_table_once, crc64_table_make);
    const unsigned char *p = data;
    crc = ~crc;
    while (length >= 8) {
        uint64_t word = 0;
        for (int i = 0; i < 8; i++) /* little-endian, on any host */
            word |= (uint64_t)p[i] << (8 * i);
        crc ^= word;
        crc = crc64_table[7][crc & 0xff] ^ crc64_table[6][(crc >> 8) & 0xff] ^
              crc64_table[5][(crc >> 16) & 0xff] ^ crc64_table[4][(crc >> 24) & 0xff] ^
              crc64_table[3][(crc >> 32) & 0xff] ^ crc64_table[2][(crc >> 40) & 0xff] ^
              crc64_table[1][(crc >> 48) & 0xff] ^ crc64_table[0][crc >> 56];
        p += 8;
        length -= 8;
    }
    while (length-- > 0)
        crc = (crc >> 8) ^ crc64_table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

/* ---- Choosing ------------------------------------------------------------- */

enum { NONE, CRC32C, CRC32, CRC64NVME, SHA1, SHA256, MD5_ETAG };

/* Cheapest first. */
static const struct {
    const char *name, *header;
    size_t length;
} offers[] = {
    [CRC32C] = {"CRC32C", "x-amz-checksum-crc32c", 4},
    [CRC32] = {"CRC32", "x-amz-checksum-crc32", 4},
    [CRC64NVME] = {"CRC64NVME", "x-amz-checksum-crc64nvme", 8},
    [SHA1] = {"SHA1", "x-amz-checksum-sha1", 20},
    [SHA256] = {"SHA256", "x-amz-checksum-sha256", 32},
    [MD5_ETAG] = {"MD5 (ETag)", "ETag", 16},
};


/* A full-object checksum, base64 of exactly `length` bytes. A composite
 * one ends in "-PARTS", which base64 never holds. */
static bool decode_base64(const char *text, unsigned char *out, size_t length)
{
    unsigned char buffer[48];
    long decoded = base64_decode(text, buffer, sizeof buffer);
    if (decoded < 0 || (size_t)decoded != length)
        return false;
    memcpy(out, buffer, length);
    return true;
}

static bool decode_etag(const char *etag, unsigned char *out)
{
    if (strlen(etag) != 34 || etag[0] != '"' || etag[33] != '"')
        return false;
    for (int i = 0; i < 16; i++) {
        unsigned value;
        if (strspn(etag + 1 + 2 * i, "0123456789abcdefABCDEF") < 2 ||
            sscanf(etag + 1 + 2 * i, "%2x", &value) != 1)
            return false;
        out[i] = (unsigned char)value;
    }
    return true;
}

/* KMS and customer keys give ETags that are not MD5s. */
static bool etag_is_md5(s3_header_fn header, void *context)
{
    const char *sse = header(context, "x-amz-server-side-encryption");
    if (sse != NULL && strncasecmp(sse, "aws:kms", 7) == 0) /* aws:kms, aws:kms:dsse */
        return false;
    return header(context, "x-amz-server-side-encryption-customer-algorithm") == NULL;
}

void s3_checksum_choose(struct s3_checksum *checksum, s3_header_fn header, void *context)
{
    memset(checksum, 0, sizeof *checksum);
    const char *type = header(context, "x-amz-checksum-type");
    bool full_object = type == NULL || strcasecmp(type, "FULL_OBJECT") == 0;
    int chosen = NONE;
    for (int i = CRC32C; full_object && i < MD5_ETAG && chosen == NONE; i++) {
        const char *value = header(context, offers[i].header);
        if (value != NULL && decode_base64(value, checksum->expected, offers[i].length)) {
            chosen = i;
            snprintf(checksum->expected_text, sizeof checksum->expected_text, "%s", value);
        }
    }
    if (chosen == NONE) {
        const char *etag = header(context, "ETag");
        if (etag != NULL && etag_is_md5(header, context) && decode_etag(etag, checksum->expected)) {
            chosen = MD5_ETAG;
            snprintf(checksum->expected_text, sizeof checksum->expected_text, "%.32s", etag + 1);
        }
    }
    if (chosen == NONE)
        return;
    const EVP_MD *md = chosen == SHA1 ? EVP_sha1() : chosen == SHA256 ? EVP_sha256()
                     : chosen == MD5_ETAG ? EVP_md5() : NULL;
    if (md != NULL) {
        checksum->digest = EVP_MD_CTX_new();
        if (checksum->digest == NULL || !EVP_DigestInit_ex(checksum->digest, md, NULL)) {
            s3_checksum_free(checksum);
            return;
        }
    }
    checksum->kind = chosen;
    checksum->name = offers[chosen].name;
    checksum->length = offers[chosen].length;
}

void s3_checksum_update(struct s3_checksum *checksum, const void *data, size_t length)
{
    switch (checksum->kind) {
    case CRC32C:
        /* ISA-L's CRC32C takes an int length and leaves the inversions to us. */
        while (length > 0) {
            int step = length > INT_MAX ? INT_MAX : (int)length;
            checksum->crc = ~crc32_iscsi((unsigned char *)data, step, ~(uint32_t)checksum->crc);
            checksum->crc &= 0xffffffffu;
            data = (const unsigned char *)data + step;
            length -= (size_t)step;
        }
        break;
    case CRC32:
        checksum->crc = crc32_gzip_refl((uint32_t)checksum->crc, data, length);
        break;
    case CRC64NVME:
        checksum->crc = crc64_nvme(checksum->crc, data, length);
        break;
    case SHA1:
    case SHA256:
    case MD5_ETAG:
        EVP_DigestUpdate(checksum->digest, data, length);
        break;
    default:
        break;
    }
}

bool s3_checksum_finish(struct s3_checksum *checksum, char *got, size_t got_size)
{
    unsigned char digest[EVP_MAX_MD_SIZE];
    if (checksum->kind == NONE)
        return true;
    if (checksum->digest != NULL) {
        unsigned int length = 0;
        EVP_DigestFinal_ex(checksum->digest, digest, &length);
    } else {
        for (size_t i = 0; i < checksum->length; i++) /* big-endian, as S3 gives it */
            digest[i] = (unsigned char)(checksum->crc >> (8 * (checksum->length - 1 - i)));
    }
    bool match = memcmp(digest, checksum->expected, checksum->length) == 0;
    char text[64] = "";
    if (checksum->kind == MD5_ETAG) {
        sigv4_hex(digest, checksum->length, text);
    } else {
        EVP_EncodeBlock((unsigned char *)text, digest, (int)checksum->length);
    }
    snprintf(got, got_size, "%s", text);
    s3_checksum_free(checksum);
    return match;
}

void s3_checksum_free(struct s3_checksum *checksum)
{
    EVP_MD_CTX_free(checksum->digest);
    checksum->digest = NULL;
}
