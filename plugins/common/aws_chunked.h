/* plugins/common/aws_chunked.h: a file range as an S3 "aws-chunked" body
 * with a trailing CRC32 (x-amz-checksum-crc32), as the AWS SDKs send
 * uploads with flexible checksums: the data is read once, and as it goes
 * out its CRC32 and, where the chunks are signed, each chunk's SHA-256 are
 * computed from the same buffer.
 *
 * Signed (plain HTTP, x-amz-content-sha256
 * STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER):
 *   <hex size>;chunk-signature=<sig>\r\n<data>\r\n ... 0;chunk-signature=<sig>\r\n
 *   x-amz-checksum-crc32:<base64>\r\nx-amz-trailer-signature:<sig>\r\n\r\n
 * Unsigned (HTTPS, whose TLS guards the bytes; STREAMING-UNSIGNED-PAYLOAD-
 * TRAILER): the same without the signatures. */
#ifndef FAHR_AWS_CHUNKED_H
#define FAHR_AWS_CHUNKED_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sigv4.h"

#define AWS_CHUNKED_SIGNED "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER"
#define AWS_CHUNKED_UNSIGNED "STREAMING-UNSIGNED-PAYLOAD-TRAILER"

enum { AWS_CHUNK_SIZE = 128 * 1024 };

struct aws_chunked {
    const char *path;
    uint64_t offset, length; /* the range */
    bool signed_chunks;
    /* Per attempt (aws_chunked_start): */
    FILE *file;
    uint64_t left;
    struct sigv4_chain chain;
    uint32_t crc;
    unsigned char *data; /* AWS_CHUNK_SIZE */
    const char *pieces[3];
    size_t piece_length[3], piece_count, piece, piece_offset;
    char header[96], tail[320];
    bool final_sent, failed;
    char crc32[16]; /* base64, once the trailer is made */
};

/* The body's length on the wire. */
uint64_t aws_chunked_length(uint64_t data_length, bool signed_chunks);

/* Ready `body` for an attempt whose request signature is `seed` (NULL for
 * unsigned chunks); 0, or -1 when the file cannot be opened. */
int aws_chunked_start(struct aws_chunked *body, const struct sigv4_result *seed);

/* fahr_http_request.body_read: the next bytes of the body. */
long aws_chunked_read(void *data, void *buffer, size_t capacity);

void aws_chunked_end(struct aws_chunked *body);

#endif
