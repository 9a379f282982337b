/* core/http_attempt.h: one attempt of an HTTP request over a session's
 * libcurl handle; http.c decides what follows it. */
#ifndef FAHR_CORE_HTTP_ATTEMPT_H
#define FAHR_CORE_HTTP_ATTEMPT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "fahr/plugin.h"
#include <curl/curl.h>

struct fahr_http {
    CURL *curl;      /* one connection cache, reused between requests */
    unsigned seed;   /* the back-off's jitter */
};

/* A member of a struct whose size the other side set is there if it lies
 * inside that size (FAHR_HAS without the NULL test). */
#define STRUCT_HAS(ptr, member)                                                 \
    ((ptr)->size >= offsetof(__typeof__(*(ptr)), member) + sizeof((ptr)->member))
#define REQUEST_HAS(request, member) STRUCT_HAS(request, member)

/* An answer body held in memory over this fails the request. */
#define HTTP_ANSWER_MAX_DEFAULT ((uint64_t)1 << 20)

struct http_attempt {
    const struct fahr_http_request *request;
    struct fahr_http_response *response;
    CURL *curl;
    CURLcode result;
    size_t capacity;        /* of response->body */
    uint64_t answer_max;
    bool too_large;         /* an answer over answer_max was cut off */
    bool refused;           /* on_body asked to stop */
    bool delivered;         /* on_body got bytes of this attempt */
    bool body_read_started; /* body_read gave bytes: it cannot be sent again */
    bool body_unreadable;   /* body_path could not be read, or body_read failed */
    bool request_sent;      /* bytes of the request went out on the wire */
    FILE *range;            /* body_path, opened for this attempt */
    uint64_t range_left;
    char shown_url[512];    /* for messages: the URL without its query */
    char error[CURL_ERROR_SIZE];
};

/* Make one attempt; fills `a` and `response` (status, body, headers).
 * Returns FAHR_OK whenever the attempt was made (a->result says how it
 * went), or an error the request itself causes (a hook's). */
int http_attempt_run(struct fahr_http *http, const struct fahr_http_request *request,
                     const char *body_sha256, struct fahr_http_response *response,
                     struct http_attempt *a, struct fahr_error *err);
/* The one line for an attempt that failed without an answer. */
int http_attempt_error(const struct fahr_http_request *request, const struct http_attempt *a,
                       struct fahr_error *err);
void http_answer_headers_free(void *host_private);

#endif
