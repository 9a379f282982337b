/* plugins/common/base64.h: base64 (RFC 4648), the one encoder and decoder
 * of the built-in drivers: S3's checksums, the engine's X-Registry-Auth,
 * ECR's tokens. */
#ifndef FAHR_BASE64_H
#define FAHR_BASE64_H

#include <stdbool.h>
#include <stddef.h>

/* Bytes the encoding of `length` bytes takes, with its NUL. */
#define BASE64_ENCODED_SIZE(length) (4 * (((length) + 2) / 3) + 1)

/* `length` bytes as base64 with '=' padding into `out`
 * (BASE64_ENCODED_SIZE(length) bytes); `url_safe` uses '-' and '_' for '+'
 * and '/' (base64url). Returns the characters written. */
size_t base64_encode(const void *data, size_t length, bool url_safe, char *out);

/* Decode padded standard base64 (a multiple of 4 characters, nothing but
 * the alphabet and trailing '='). Returns the bytes written into `out`, or
 * -1 for text that is not such base64 or does not fit in `capacity`. */
long base64_decode(const char *text, void *out, size_t capacity);

#endif
