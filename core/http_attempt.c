/* core/http_attempt.c: see http_attempt.h. */
#define _GNU_SOURCE
#include "http_attempt.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "fahr.h"
#include "version.h"

/* ---- The answer's headers ----------------------------------------------- */

struct answer_headers {
    struct fahr_http_header *list;
    size_t count, capacity;
};

static void headers_clear(struct answer_headers *h)
{
    for (size_t i = 0; i < h->count; i++)
        free((char *)h->list[i].name); /* name and value are one block */
    h->count = 0;
}

void http_answer_headers_free(void *host_private)
{
    struct answer_headers *h = host_private;
    if (h == NULL)
        return;
    headers_clear(h);
    free(h->list);
    free(h);
}

static void publish_headers(struct http_attempt *a, struct answer_headers *h)
{
    struct fahr_http_response *r = a->response;
    if (STRUCT_HAS(r, header_count)) {
        r->headers = h->list;
        r->header_count = h->count;
    }
}

/* "Name: value\r\n" kept as name and value; a status line begins a new
 * answer (after a 100 Continue or an interim one), so it starts over. */
static size_t on_header(char *bytes, size_t size, size_t count, void *data)
{
    struct http_attempt *a = data;
    size_t length = size * count;
    struct answer_headers *h = a->response->host_private;
    curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &a->response->status);
    if (length >= 5 && memcmp(bytes, "HTTP/", 5) == 0) {
        headers_clear(h);
        publish_headers(a, h);
        return length;
    }
    const char *colon = memchr(bytes, ':', length);
    if (colon == NULL)
        return length; /* the blank line that ends them */
    size_t name_length = (size_t)(colon - bytes);
    const char *value = colon + 1;
    size_t value_length = length - name_length - 1;
    while (value_length > 0 && (*value == ' ' || *value == '\t'))
        value++, value_length--;
    while (value_length > 0 && (value[value_length - 1] == '\r' ||
                                value[value_length - 1] == '\n' || value[value_length - 1] == ' '))
        value_length--;
    if (h->count == h->capacity) {
        size_t capacity = h->capacity ? h->capacity * 2 : 16;
        struct fahr_http_header *grown = realloc(h->list, capacity * sizeof *grown);
        if (grown == NULL)
            return 0;
        h->list = grown;
        h->capacity = capacity;
    }
    char *block = malloc(name_length + value_length + 2);
    if (block == NULL)
        return 0;
    memcpy(block, bytes, name_length);
    block[name_length] = '\0';
    memcpy(block + name_length + 1, value, value_length);
    block[name_length + 1 + value_length] = '\0';
    h->list[h->count++] = (struct fahr_http_header){block, block + name_length + 1};
    publish_headers(a, h);
    return length;
}

/* ---- The answer's body ---------------------------------------------------- */

static size_t on_data(char *bytes, size_t size, size_t count, void *data)
{
    struct http_attempt *a = data;
    struct fahr_http_response *r = a->response;
    size_t length = size * count;
    if (r->status >= 200 && r->status < 300 && a->request->on_body != NULL) {
        a->delivered = true;
        if (a->request->on_body(a->request->on_body_data, bytes, length) != 0) {
            a->refused = true;
            return 0; /* libcurl ends the transfer */
        }
        return length;
    }
    if (length > a->answer_max - r->body_length) {
        a->too_large = true;
        return 0;
    }
    if (r->body_length + length + 1 > a->capacity) {
        /* Doubling: a large answer is not copied over and over. */
        size_t capacity = a->capacity ? a->capacity : 16 * 1024;
        while (capacity < r->body_length + length + 1)
            capacity *= 2;
        char *grown = realloc(r->body, capacity);
        if (grown == NULL)
            return 0;
        r->body = grown;
        a->capacity = capacity;
    }
    memcpy(r->body + r->body_length, bytes, length);
    r->body_length += length;
    r->body[r->body_length] = '\0';
    return length;
}

/* ---- The request's body --------------------------------------------------- */

static size_t read_range(char *buffer, size_t size, size_t count, void *data)
{
    struct http_attempt *a = data;
    size_t want = size * count;
    if (want > a->range_left)
        want = (size_t)a->range_left;
    size_t got = want ? fread(buffer, 1, want, a->range) : 0;
    if (got < want) {
        a->body_unreadable = true; /* an error, or the file shrank */
        return CURL_READFUNC_ABORT;
    }
    a->range_left -= got;
    return got;
}

static size_t read_stream(char *buffer, size_t size, size_t count, void *data)
{
    struct http_attempt *a = data;
    long got = a->request->body_read(a->request->body_read_data, buffer, size * count);
    if (got < 0) {
        a->body_unreadable = true;
        return CURL_READFUNC_ABORT;
    }
    if (got > 0)
        a->body_read_started = true;
    return (size_t)got;
}

static int open_range(struct http_attempt *a, struct fahr_error *err)
{
    const struct fahr_http_request *request = a->request;
    struct stat st;
    a->range = fopen(request->body_path, "rb");
    if (a->range == NULL || fstat(fileno(a->range), &st) != 0 ||
        (uint64_t)st.st_size < request->body_offset ||
        fseeko(a->range, (off_t)request->body_offset, SEEK_SET) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s", request->body_path);
    a->range_left = request->body_path_length ? request->body_path_length
                                              : (uint64_t)st.st_size - request->body_offset;
    return FAHR_OK;
}

static int set_body(struct http_attempt *a, struct fahr_error *err)
{
    const struct fahr_http_request *request = a->request;
    CURL *curl = a->curl;
    if (request->body_path != NULL) {
        int rc = open_range(a, err);
        if (rc != FAHR_OK)
            return rc;
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_range);
        curl_easy_setopt(curl, CURLOPT_READDATA, a);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)a->range_left);
    } else if (request->body_read != NULL) {
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_stream);
        curl_easy_setopt(curl, CURLOPT_READDATA, a);
        if (request->body_read_length > 0)
            curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE,
                             (curl_off_t)request->body_read_length);
    } else if (request->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
    }
    return FAHR_OK;
}

/* ---- The attempt ---------------------------------------------------------- */

static int on_progress(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    struct http_attempt *a = data;
    if (host_interrupted())
        return 1;
    if (a->request->progress != NULL && (dlnow > 0 || ulnow > 0))
        host_services()->progress(a->request->progress,
                                  (uint64_t)(dlnow > ulnow ? dlnow : ulnow),
                                  (uint64_t)(dltotal > ultotal ? dltotal : ultotal), "B");
    return 0;
}

/* Free the header lines, wiping each first: they carry tokens
 * (Authorization, x-amz-security-token, the IMDS token). */
static void header_list_free(struct curl_slist *list)
{
    for (struct curl_slist *entry = list; entry != NULL; entry = entry->next)
        explicit_bzero(entry->data, strlen(entry->data));
    curl_slist_free_all(list);
}

/* The header lines: the request's, then the signing hook's for this
 * attempt; no "Expect: 100-continue" (one round trip less). */
static int header_list(struct http_attempt *a, const char *body_sha256,
                       struct curl_slist **list, struct fahr_error *err)
{
    const struct fahr_http_request *request = a->request;
    struct fahr_http_header extra[16];
    size_t extra_count = 0;
    if (request->sign != NULL) {
        struct fahr_http_sign sign = {sizeof sign, request->method, request->url,
                                      request->headers, request->header_count, body_sha256};
        int rc = request->sign(request->sign_data, &sign, extra, 16, &extra_count, err);
        if (rc != FAHR_OK)
            return rc;
        if (extra_count > 16)
            extra_count = 16;
    }
    char line[8192];
    struct curl_slist *out = NULL;
    for (size_t i = 0; i < request->header_count + extra_count; i++) {
        const struct fahr_http_header *h = i < request->header_count
                                               ? &request->headers[i]
                                               : &extra[i - request->header_count];
        if (strpbrk(h->name, "\r\n") || strpbrk(h->value, "\r\n")) {
            header_list_free(out);
            return fahr_error_set(err, FAHR_EINVAL, "a line break in an HTTP header");
        }
        snprintf(line, sizeof line, "%s: %s", h->name, h->value);
        out = curl_slist_append(out, line);
    }
    explicit_bzero(line, sizeof line); /* a signature or a token */
    *list = curl_slist_append(out, "Expect:");
    return FAHR_OK;
}

static void set_transport(struct http_attempt *a)
{
    const struct fahr_http_request *request = a->request;
    CURL *curl = a->curl;
    curl_easy_setopt(curl, CURLOPT_URL, request->url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    const char *ca = REQUEST_HAS(request, ca_bundle) && request->ca_bundle &&
                             request->ca_bundle[0]
                         ? request->ca_bundle
                         : getenv("FAHR_CA_BUNDLE");
    if (ca != NULL && ca[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_CAINFO, ca);
    if (request->unix_socket != NULL)
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, request->unix_socket);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    if (strcmp(request->method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, a);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024); /* large bodies, fewer calls */
    if (request->timeout_ms > 0)
        curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)request->timeout_ms);
    /* A transfer slower than 1 byte/s this long counts as stalled, and is
     * retried like a dropped one. */
    const char *stall = getenv("FAHR_STALL_SECONDS");
    long stall_seconds = stall ? atol(stall) : 0;
    if (REQUEST_HAS(request, stall_seconds) && request->stall_seconds > 0)
        stall_seconds = request->stall_seconds == FAHR_HTTP_NO_STALL
                            ? 0
                            : (long)request->stall_seconds;
    else if (stall_seconds <= 0)
        stall_seconds = 30;
    if (stall_seconds > 0) {
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
        curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_seconds);
    }
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, a->error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "fahr/" FAHR_VERSION);
}

static double seconds_since(const struct timespec *start)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - start->tv_sec) + (double)(now.tv_nsec - start->tv_nsec) / 1e9;
}

int http_attempt_run(struct fahr_http *http, const struct fahr_http_request *request,
                     const char *body_sha256, struct fahr_http_response *response,
                     struct http_attempt *a, struct fahr_error *err)
{
    memset(a, 0, sizeof *a);
    a->request = request;
    a->response = response;
    a->curl = http->curl;
    a->result = CURLE_FAILED_INIT;
    a->answer_max = REQUEST_HAS(request, answer_max) && request->answer_max
                        ? request->answer_max
                        : HTTP_ANSWER_MAX_DEFAULT;
    snprintf(a->shown_url, sizeof a->shown_url, "%.*s", (int)strcspn(request->url, "?"),
             request->url);
    if (response->host_private == NULL)
        response->host_private = calloc(1, sizeof(struct answer_headers));
    if (response->host_private == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    curl_easy_reset(a->curl);
    struct curl_slist *list = NULL;
    int rc = header_list(a, body_sha256, &list, err);
    if (rc == FAHR_OK)
        rc = set_body(a, err);
    if (rc == FAHR_OK) {
        set_transport(a);
        curl_easy_setopt(a->curl, CURLOPT_HTTPHEADER, list);
        struct timespec started;
        clock_gettime(CLOCK_MONOTONIC, &started);
        a->result = curl_easy_perform(a->curl);
        curl_easy_getinfo(a->curl, CURLINFO_RESPONSE_CODE, &response->status);
        long request_bytes = 0; /* of the request written to the connection */
        curl_easy_getinfo(a->curl, CURLINFO_REQUEST_SIZE, &request_bytes);
        a->request_sent = request_bytes > 0;
        host_services()->log(FAHR_LOG_DEBUG, "%s %s: %ld (%.0f ms)", request->method,
                             a->shown_url, response->status, seconds_since(&started) * 1000);
    }
    if (a->range != NULL)
        fclose(a->range);
    a->range = NULL;
    header_list_free(list);
    return rc;
}

/* A size limit as it was set: whole MiB or KiB where it is one, else bytes. */
static void format_limit(uint64_t bytes, char *out, size_t size)
{
    if (bytes >= ((uint64_t)1 << 20) && bytes % ((uint64_t)1 << 20) == 0)
        snprintf(out, size, "%llu MiB", (unsigned long long)(bytes >> 20));
    else if (bytes >= 1024 && bytes % 1024 == 0)
        snprintf(out, size, "%llu KiB", (unsigned long long)(bytes >> 10));
    else
        snprintf(out, size, "%llu bytes", (unsigned long long)bytes);
}

/* "https://host:port" of a URL, for the line saying it cannot be reached. */
static void origin_of(const char *url, char *out, size_t size, bool with_scheme)
{
    const char *start = strstr(url, "://");
    const char *authority = start ? start + 3 : url;
    const char *from = with_scheme ? url : authority;
    size_t length = (size_t)(authority - from) + strcspn(authority, "/?#");
    snprintf(out, size, "%.*s", (int)length, from);
}

int http_attempt_error(const struct fahr_http_request *request, const struct http_attempt *a,
                       struct fahr_error *err)
{
    char where[512];
    if (a->too_large) {
        char limit[32];
        origin_of(request->url, where, sizeof where, false);
        format_limit(a->answer_max, limit, sizeof limit);
        return fahr_error_set(err, FAHR_EFAIL, "the answer from %s is larger than %s; refusing it",
                              where, limit);
    }
    if (a->refused) {
        origin_of(request->url, where, sizeof where, false);
        return fahr_error_set(err, FAHR_EFAIL, "the answer from %s was not taken", where);
    }
    if (a->body_unreadable)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read the body to send%s%s",
                              request->body_path ? ": " : "",
                              request->body_path ? request->body_path : "");
    origin_of(request->url, where, sizeof where, true);
    const char *source = REQUEST_HAS(request, ca_bundle_source) && request->ca_bundle_source
                             ? request->ca_bundle_source
                             : "FAHR_CA_BUNDLE";
    bool unverified = a->result == CURLE_PEER_FAILED_VERIFICATION;
    return fahr_error_set(err, FAHR_EFAIL, "cannot reach %s: %s%s%s%s",
                          request->unix_socket ? request->unix_socket : where,
                          a->error[0] ? a->error : curl_easy_strerror(a->result),
                          unverified ? " (" : "", unverified ? source : "",
                          unverified ? " names the CAs to trust)" : "");
}
