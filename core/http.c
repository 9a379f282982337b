/* core/http.c: see http.h. This file holds the session and the retry loop;
 * http_attempt.c makes one attempt. */
#define _GNU_SOURCE
#include "http.h"

#include <openssl/evp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fahr.h"
#include "http_attempt.h"

static pthread_once_t curl_started_once = PTHREAD_ONCE_INIT;
static bool curl_started;

/* curl_global_init is not thread-safe: it runs once, before any session. */
static void start_curl(void)
{
    curl_started = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK;
}

int http_open(struct fahr_http **http, struct fahr_error *err)
{
    *http = NULL;
    pthread_once(&curl_started_once, start_curl);
    if (!curl_started)
        return fahr_error_set(err, FAHR_EFAIL, "no HTTP client: cannot start libcurl");
    struct fahr_http *session = calloc(1, sizeof *session);
    if (session == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    session->curl = curl_easy_init();
    if (session->curl == NULL) {
        free(session);
        return fahr_error_set(err, FAHR_EFAIL, "cannot start an HTTP client");
    }
    session->seed = (unsigned)time(NULL) ^ (unsigned)getpid() ^ (unsigned)(uintptr_t)session;
    *http = session;
    return FAHR_OK;
}

void http_close(struct fahr_http *http)
{
    if (http == NULL)
        return;
    curl_easy_cleanup(http->curl);
    free(http);
}

void http_release(struct fahr_http_response *response)
{
    if (response == NULL)
        return;
    free(response->body);
    http_answer_headers_free(response->host_private);
    uint32_t size = response->size;
    memset(response, 0, size < sizeof *response ? size : sizeof *response);
    response->size = size;
}

bool http_transport_retryable(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_RESOLVE_PROXY: /* botocore: EndpointConnectionError, */
    case CURLE_COULDNT_RESOLVE_HOST:  /* ProxyConnectionError */
    case CURLE_COULDNT_CONNECT:
    case CURLE_PROXY:
    case CURLE_SSL_CONNECT_ERROR: /* SSLError: a handshake reset or cut off */
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_OPERATION_TIMEDOUT: /* ConnectTimeoutError, ReadTimeoutError */
    case CURLE_SEND_ERROR:         /* ConnectionClosedError, HTTPClientError: */
    case CURLE_SEND_FAIL_REWIND:   /* reset, closed or garbled at any point */
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return true;
    default:
        return false;
    }
}

bool http_status_retryable(long status)
{
    return status == 408 || status == 429 || status == 500 || status == 502 ||
           status == 503 || status == 504;
}

unsigned http_default_attempts(void)
{
    const char *env = getenv("FAHR_HTTP_ATTEMPTS");
    long n = env ? strtol(env, NULL, 10) : 0;
    return n > 0 && n < 1000 ? (unsigned)n : 3;
}

/* Exponential back-off with full jitter: a random share of
 * min(2^attempt, 20) seconds (the AWS SDKs' standard mode), scaled by
 * FAHR_RETRY_SCALE (tests make it quick); Ctrl-C ends the wait. */
static void back_off(struct fahr_http *http, unsigned attempt)
{
    double cap = 1.0;
    for (unsigned i = 0; i < attempt && cap < 20; i++)
        cap *= 2;
    if (cap > 20)
        cap = 20;
    const char *scale_env = getenv("FAHR_RETRY_SCALE");
    double scale = scale_env ? atof(scale_env) : 1.0;
    double seconds = ((double)rand_r(&http->seed) / RAND_MAX) * cap * scale;
    long ms = (long)(seconds * 1000);
    while (ms > 0 && !host_interrupted()) {
        long step = ms > 100 ? 100 : ms;
        usleep((useconds_t)step * 1000);
        ms -= step;
    }
}

static void hex_of(const unsigned char *digest, char out[65])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[digest[i] >> 4];
        out[2 * i + 1] = digits[digest[i] & 15];
    }
    out[64] = '\0';
}

/* The SHA-256 of a file range, read once for the signing hook. */
static int hash_range(const struct fahr_http_request *request, char out[65],
                      struct fahr_error *err)
{
    FILE *file = fopen(request->body_path, "rb");
    if (file == NULL || fseeko(file, (off_t)request->body_offset, SEEK_SET) != 0) {
        if (file != NULL)
            fclose(file);
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s", request->body_path);
    }
    enum { CHUNK = 256 * 1024 };
    unsigned char *buffer = malloc(CHUNK);
    EVP_MD_CTX *ctx = buffer ? EVP_MD_CTX_new() : NULL;
    if (ctx == NULL) {
        free(buffer);
        fclose(file);
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    }
    EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
    uint64_t left = request->body_path_length ? request->body_path_length : UINT64_MAX;
    while (left > 0) {
        size_t want = left < CHUNK ? (size_t)left : CHUNK;
        size_t got = fread(buffer, 1, want, file);
        EVP_DigestUpdate(ctx, buffer, got);
        left -= got;
        if (got < want)
            break;
    }
    int failed = ferror(file) || (request->body_path_length && left > 0);
    fclose(file);
    free(buffer);
    unsigned char digest[32];
    EVP_DigestFinal_ex(ctx, digest, NULL);
    EVP_MD_CTX_free(ctx);
    if (failed)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s", request->body_path);
    hex_of(digest, out);
    return FAHR_OK;
}

/* What the signing hook is told of the body: its hash, where it has one. */
static int body_hash(const struct fahr_http_request *request, char out[65],
                     const char **hash, struct fahr_error *err)
{
    *hash = NULL;
    if (request->sign == NULL || request->body_read != NULL)
        return FAHR_OK;
    if (REQUEST_HAS(request, body_sha256) && request->body_sha256 != NULL) {
        *hash = request->body_sha256;
        return FAHR_OK;
    }
    if (request->body_path != NULL) {
        int rc = hash_range(request, out, err);
        if (rc != FAHR_OK)
            return rc;
    } else {
        unsigned char digest[32];
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        if (ctx == NULL)
            return fahr_error_set(err, FAHR_EFAIL, "out of memory");
        EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
        if (request->body != NULL)
            EVP_DigestUpdate(ctx, request->body, request->body_length);
        EVP_DigestFinal_ex(ctx, digest, NULL);
        EVP_MD_CTX_free(ctx);
        hex_of(digest, out);
    }
    *hash = out;
    return FAHR_OK;
}

static bool header_is_clean(const char *text)
{
    return text != NULL && strpbrk(text, "\r\n") == NULL;
}

/* What no request may be: the rules of plugin.h, checked before anything
 * is sent. */
static int check_request(const struct fahr_http_request *request, struct fahr_error *err)
{
    if (request == NULL || request->size < offsetof(struct fahr_http_request, progress) ||
        request->method == NULL || request->url == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "an HTTP request without a method or URL");
    if (strncmp(request->url, "http://", 7) != 0 && strncmp(request->url, "https://", 8) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "not an http:// or https:// URL");
    int bodies = (request->body != NULL) + (request->body_path != NULL) +
                 (request->body_read != NULL);
    if (bodies > 1)
        return fahr_error_set(err, FAHR_EINVAL, "an HTTP request with more than one body");
    if (!header_is_clean(request->method) || !header_is_clean(request->url))
        return fahr_error_set(err, FAHR_EINVAL, "a line break in an HTTP request line");
    for (size_t i = 0; i < request->header_count; i++)
        if (!header_is_clean(request->headers[i].name) ||
            !header_is_clean(request->headers[i].value))
            return fahr_error_set(err, FAHR_EINVAL, "a line break in an HTTP header");
    return FAHR_OK;
}

static unsigned attempts_allowed(const struct fahr_http_request *request)
{
    return request->max_attempts > 0 ? request->max_attempts : http_default_attempts();
}

/* Whether a complete answer is tried again: the driver's hook first, the
 * host's rule where it has none or defers. */
static bool answer_retried(const struct fahr_http_request *request,
                           const struct fahr_http_response *response)
{
    if (request->retry != NULL) {
        int says = request->retry(request->retry_data, response->status,
                                  response->body ? response->body : "", response->body_length);
        if (says >= 0)
            return says > 0;
    }
    return http_status_retryable(response->status);
}

/* Whether a failed attempt is tried again (an answer or none). */
static bool attempt_retried(const struct fahr_http_request *request,
                            const struct fahr_http_response *response,
                            const struct http_attempt *a)
{
    if (a->body_read_started)
        return false; /* a streamed body cannot be sent twice */
    if (a->delivered && request->on_restart == NULL)
        return false; /* what on_body took cannot be taken back */
    if (a->result == CURLE_OK)
        return answer_retried(request, response);
    bool has_flags = request->size >= offsetof(struct fahr_http_request, flags) +
                                           sizeof request->flags;
    if (has_flags && (request->flags & FAHR_HTTP_NOT_IDEMPOTENT) && a->request_sent)
        return false; /* the service may have acted on what it got */
    return !a->too_large && !a->refused && http_transport_retryable(a->result);
}

int http_send(struct fahr_http *http, const struct fahr_http_request *request,
              struct fahr_http_response *response, struct fahr_error *err)
{
    uint32_t response_size = response->size;
    memset(response, 0, response_size < sizeof *response ? response_size : sizeof *response);
    response->size = response_size;
    int rc = check_request(request, err);
    char hash_hex[65];
    const char *hash = NULL;
    if (rc == FAHR_OK)
        rc = body_hash(request, hash_hex, &hash, err);
    if (rc != FAHR_OK)
        return rc;
    unsigned allowed = attempts_allowed(request);
    bool delivered_before = false;
    for (unsigned attempt = 1;; attempt++) {
        if (attempt > 1)
            http_release(response);
        if (delivered_before && request->on_restart != NULL)
            request->on_restart(request->on_body_data);
        struct http_attempt a;
        rc = http_attempt_run(http, request, hash, response, &a, err);
        response->attempts = attempt;
        delivered_before = a.delivered;
        if (rc != FAHR_OK || host_interrupted())
            return host_interrupted() ? fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted")
                                      : rc;
        bool answered = a.result == CURLE_OK;
        if (answered && response->status >= 200 && response->status < 300)
            return FAHR_OK;
        if (attempt >= allowed || !attempt_retried(request, response, &a))
            return answered ? FAHR_OK : http_attempt_error(request, &a, err);
        host_services()->log(FAHR_LOG_DEBUG, "%s %s: %s, trying again", request->method,
                             a.shown_url, answered ? "a retryable answer"
                                                   : curl_easy_strerror(a.result));
        back_off(http, attempt - 1);
        if (host_interrupted())
            return fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    }
}
