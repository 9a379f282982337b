/* plugins/common/s3_checksum.h: check a download against the checksum S3
 * keeps for the object.
 *
 * S3 keeps a full-object checksum for new objects (it adds CRC64NVME where
 * the uploader sent none) and returns it to a HeadObject sent with
 * `x-amz-checksum-mode: ENABLED`. The cheapest on offer is chosen
 * (tests/perf/checksum_bench.c measures them): CRC32 and CRC32C cost
 * hundredths of a second a GiB, CRC64NVME, SHA1 and SHA256 about half a
 * second, MD5 over a second. Only where no checksum is given does the ETag
 * serve, and only where it is an MD5: a single-part object not encrypted
 * with KMS or a customer's key (those ETags are not MD5s). A COMPOSITE
 * checksum (one over the parts' checksums) cannot be recomputed from the
 * bytes and is not used. */
#ifndef FAHR_S3_CHECKSUM_H
#define FAHR_S3_CHECKSUM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The value of an answer's header, NULL where it has none. */
typedef const char *(*s3_header_fn)(void *context, const char *name);

struct s3_checksum {
    int kind;                   /* which one, for s3_checksum.c; 0: nothing to check */
    const char *name;           /* "CRC32", ..., "MD5 (ETag)"; NULL: nothing to check */
    unsigned char expected[32]; /* the digest, as S3 gave it (big-endian for CRCs) */
    char expected_text[72];     /* and as S3 wrote it */
    size_t length;
    uint64_t crc;  /* the running CRC */
    void *digest;  /* the running SHA or MD5 (an EVP_MD_CTX) */
};

/* Choose what `header` (HeadObject's answer) offers. Always succeeds;
 * `checksum->name` is NULL where there is nothing to check. */
void s3_checksum_choose(struct s3_checksum *checksum, s3_header_fn header, void *context);

/* Count the next bytes of the object in. */
void s3_checksum_update(struct s3_checksum *checksum, const void *data, size_t length);

/* Finish: true when the bytes counted match. `got` receives what they came
 * to, in S3's notation (base64; hex for an ETag, as `expected_text`).
 * Frees what it holds. */
bool s3_checksum_finish(struct s3_checksum *checksum, char *got, size_t got_size);

/* Free without finishing (a download that failed). */
void s3_checksum_free(struct s3_checksum *checksum);

/* CRC-64/NVME (S3's CRC64NVME): reflected, polynomial 0xAD93D23594C93659,
 * initial and final XOR all ones. Chains as zlib's crc32 does: start at 0,
 * pass the last result back in. No Debian library has it (ISA-L gained it
 * after the version Debian ships). */
uint64_t crc64_nvme(uint64_t crc, const void *data, size_t length);

#endif
