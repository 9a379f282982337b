/* core/http_libs.h: libcurl and libcrypto for the HTTP transport, loaded on
 * the first http_open rather than linked: linked, they and their 30-odd
 * dependencies would be loaded and relocated at every start of fahr, also
 * by the commands that make no request (`fahr plugins`, every `--help`). */
#ifndef FAHR_CORE_HTTP_LIBS_H
#define FAHR_CORE_HTTP_LIBS_H

#define CURL_DISABLE_TYPECHECK /* calls go through the pointers below */
#include <curl/curl.h>
#include <stddef.h>

#include "fahr/plugin.h"

struct http_libs {
    CURLcode (*global_init)(long flags);
    CURL *(*easy_init)(void);
    void (*easy_cleanup)(CURL *curl);
    void (*easy_reset)(CURL *curl);
    CURLcode (*easy_setopt)(CURL *curl, CURLoption option, ...);
    CURLcode (*easy_perform)(CURL *curl);
    CURLcode (*easy_getinfo)(CURL *curl, CURLINFO info, ...);
    const char *(*easy_strerror)(CURLcode code);
    struct curl_slist *(*slist_append)(struct curl_slist *list, const char *line);
    void (*slist_free_all)(struct curl_slist *list);
    /* SHA-256 of `length` bytes into `digest` (32 bytes): EVP's. */
    void *(*md_ctx_new)(void);
    void (*md_ctx_free)(void *ctx);
    const void *(*sha256)(void);
    int (*digest_init)(void *ctx, const void *type, void *engine);
    int (*digest_update)(void *ctx, const void *data, size_t length);
    int (*digest_final)(void *ctx, unsigned char *digest, unsigned int *size);
};

/* Filled by http_libs_load(); read only after it returned FAHR_OK. */
extern struct http_libs http_libs;

/* Load both libraries once (any thread); FAHR_EFAIL with the reason. */
int http_libs_load(struct fahr_error *err);

#endif
