/* plugins/common/aws_chunked.c: see aws_chunked.h. */
#define _GNU_SOURCE
#include "aws_chunked.h"

#include <isa-l/crc.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>

static const char CRC_NAME[] = "x-amz-checksum-crc32:";
static const char SIGNATURE_FIELD[] = ";chunk-signature=";
static const char TRAILER_SIGNATURE[] = "x-amz-trailer-signature:";

static unsigned hex_digits(uint64_t n)
{
    unsigned digits = 1;
    while (n >= 16) {
        n /= 16;
        digits++;
    }
    return digits;
}

/* A chunk's header and its CRLF after the data. */
static uint64_t chunk_overhead(uint64_t size, bool signed_chunks)
{
    return hex_digits(size) + (signed_chunks ? sizeof SIGNATURE_FIELD - 1 + 64 : 0) + 2 + 2;
}

uint64_t aws_chunked_length(uint64_t data_length, bool signed_chunks)
{
    uint64_t full = data_length / AWS_CHUNK_SIZE, rest = data_length % AWS_CHUNK_SIZE;
    uint64_t total = data_length + full * chunk_overhead(AWS_CHUNK_SIZE, signed_chunks);
    if (rest > 0)
        total += chunk_overhead(rest, signed_chunks);
    total += chunk_overhead(0, signed_chunks) - 2; /* the final chunk: no data, no CRLF */
    total += sizeof CRC_NAME - 1 + 8 + 2;          /* the CRC32: 4 bytes, 8 in base64 */
    if (signed_chunks)
        total += sizeof TRAILER_SIGNATURE - 1 + 64 + 2;
    return total + 2;
}

int aws_chunked_start(struct aws_chunked *body, const struct sigv4_result *seed)
{
    aws_chunked_end(body);
    body->data = malloc(AWS_CHUNK_SIZE);
    body->file = body->data ? fopen(body->path, "rb") : NULL;
    if (body->file == NULL || fseeko(body->file, (off_t)body->offset, SEEK_SET) != 0)
        return -1;
    body->left = body->length;
    body->crc = 0;
    body->piece = body->piece_count = body->piece_offset = 0;
    body->final_sent = body->failed = false;
    body->crc32[0] = '\0';
    if (body->signed_chunks)
        sigv4_chain_start(&body->chain, seed);
    return 0;
}

/* "<hex size>[;chunk-signature=<sig>]\r\n" for `size` bytes of data. */
static void chunk_header(struct aws_chunked *body, const unsigned char *data, size_t size)
{
    if (!body->signed_chunks) {
        snprintf(body->header, sizeof body->header, "%zx\r\n", size);
        return;
    }
    char sha256[65], signature[65];
    sigv4_sha256_hex(data, size, sha256);
    sigv4_chain_chunk(&body->chain, sha256, signature);
    snprintf(body->header, sizeof body->header, "%zx%s%s\r\n", size, SIGNATURE_FIELD, signature);
}

/* The final chunk's header and the trailer, after the last data. */
static void make_tail(struct aws_chunked *body)
{
    chunk_header(body, NULL, 0);
    unsigned char crc[4] = {(unsigned char)(body->crc >> 24), (unsigned char)(body->crc >> 16),
                            (unsigned char)(body->crc >> 8), (unsigned char)body->crc};
    EVP_EncodeBlock((unsigned char *)body->crc32, crc, 4);
    char lines[64];
    int n = snprintf(lines, sizeof lines, "%s%s\n", CRC_NAME, body->crc32);
    if (body->signed_chunks) {
        char signature[65];
        sigv4_chain_trailer(&body->chain, lines, (size_t)n, signature);
        snprintf(body->tail, sizeof body->tail, "%s%s%s\r\n%s%s\r\n\r\n", body->header, CRC_NAME,
                 body->crc32, TRAILER_SIGNATURE, signature);
    } else {
        snprintf(body->tail, sizeof body->tail, "%s%s%s\r\n\r\n", body->header, CRC_NAME,
                 body->crc32);
    }
}

/* The next pieces to send: a chunk (header, data, CRLF) or the tail;
 * false at the end or on a read error. */
static bool next_pieces(struct aws_chunked *body)
{
    body->piece = body->piece_count = body->piece_offset = 0;
    if (body->left > 0) {
        size_t want = body->left < AWS_CHUNK_SIZE ? (size_t)body->left : AWS_CHUNK_SIZE;
        if (fread(body->data, 1, want, body->file) != want) {
            body->failed = true;
            return false;
        }
        body->left -= want;
        body->crc = crc32_gzip_refl(body->crc, body->data, want);
        chunk_header(body, body->data, want);
        body->pieces[0] = body->header;
        body->piece_length[0] = strlen(body->header);
        body->pieces[1] = (const char *)body->data;
        body->piece_length[1] = want;
        body->pieces[2] = "\r\n";
        body->piece_length[2] = 2;
        body->piece_count = 3;
        return true;
    }
    if (body->final_sent)
        return false;
    make_tail(body);
    body->final_sent = true;
    body->pieces[0] = body->tail;
    body->piece_length[0] = strlen(body->tail);
    body->piece_count = 1;
    return true;
}

long aws_chunked_read(void *data, void *buffer, size_t capacity)
{
    struct aws_chunked *body = data;
    size_t given = 0;
    while (given < capacity && !body->failed) {
        if (body->piece == body->piece_count && !next_pieces(body))
            break;
        size_t left = body->piece_length[body->piece] - body->piece_offset;
        size_t step = left < capacity - given ? left : capacity - given;
        memcpy((char *)buffer + given, body->pieces[body->piece] + body->piece_offset, step);
        given += step;
        body->piece_offset += step;
        if (body->piece_offset == body->piece_length[body->piece]) {
            body->piece++;
            body->piece_offset = 0;
        }
    }
    return body->failed ? -1 : (long)given;
}

void aws_chunked_end(struct aws_chunked *body)
{
    if (body->file != NULL)
        fclose(body->file);
    body->file = NULL;
    free(body->data);
    body->data = NULL;
    if (body->signed_chunks)
        sigv4_chain_end(&body->chain);
}
