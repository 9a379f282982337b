/* plugins/common/sigv4.c: see sigv4.h. Follows the SigV4 documentation
 * ("Create a canonical request", "Create a string to sign", "Calculate the
 * signature") and is checked against the public SigV4 test suite
 * (tests/data/sigv4-test-suite). */
#include "sigv4.h"

#include <ctype.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A growing string; `failed` remembers an allocation failure. */
struct text {
    char *data;
    size_t length, capacity;
    bool failed;
};

static void append_bytes(struct text *text, const char *bytes, size_t length)
{
    if (text->failed)
        return;
    if (text->length + length + 1 > text->capacity) {
        size_t capacity = (text->length + length + 1) * 2;
        char *grown = realloc(text->data, capacity);
        if (grown == NULL) {
            text->failed = true;
            return;
        }
        text->data = grown;
        text->capacity = capacity;
    }
    memcpy(text->data + text->length, bytes, length);
    text->length += length;
    text->data[text->length] = '\0';
}

static void append(struct text *text, const char *s)
{
    append_bytes(text, s, strlen(s));
}

static char *finish(struct text *text)
{
    if (text->failed) {
        free(text->data);
        return NULL;
    }
    if (text->data == NULL)
        return strdup("");
    return text->data;
}

static bool is_unreserved(unsigned char c)
{
    return isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~';
}

char *sigv4_uri_encode(const char *s, size_t length, bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    struct text text = {0};
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)s[i];
        if (is_unreserved(c) || (keep_slash && c == '/')) {
            append_bytes(&text, (const char *)&c, 1);
        } else {
            char escaped[3] = {'%', hex[c >> 4], hex[c & 15]};
            append_bytes(&text, escaped, 3);
        }
    }
    return finish(&text);
}

void sigv4_hex(const unsigned char *bytes, size_t length, char *hex)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < length; i++) {
        hex[2 * i] = digits[bytes[i] >> 4];
        hex[2 * i + 1] = digits[bytes[i] & 0xf];
    }
    hex[2 * length] = '\0';
}

void sigv4_sha256_hex(const void *data, size_t length, char hex[65])
{
    unsigned char digest[SHA256_DIGEST_LENGTH];
    SHA256(data, length, digest);
    sigv4_hex(digest, SHA256_DIGEST_LENGTH, hex);
}

void sigv4_amz_date(long long unix_time, char out[17])
{
    time_t t = (time_t)unix_time;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

static void hmac(const void *key, size_t key_length, const char *data, unsigned char out[32])
{
    unsigned int length = 32;
    HMAC(EVP_sha256(), key, (int)key_length, (const unsigned char *)data, strlen(data), out,
         &length);
}

/* RFC 3986 remove_dot_segments, plus empty segments dropped, as AWS
 * services other than S3 normalise paths. */
static char *normalise_path(const char *path)
{
    size_t length = strlen(path);
    const char **segments = calloc(length + 1, sizeof *segments);
    size_t *lengths = calloc(length + 1, sizeof *lengths);
    size_t count = 0;
    if (segments == NULL || lengths == NULL) {
        free(segments);
        free(lengths);
        return NULL;
    }
    const char *p = path;
    while (*p) {
        while (*p == '/')
            p++;
        const char *start = p;
        while (*p && *p != '/')
            p++;
        size_t n = (size_t)(p - start);
        if (n == 0 || (n == 1 && start[0] == '.'))
            continue;
        if (n == 2 && start[0] == '.' && start[1] == '.') {
            if (count > 0)
                count--;
            continue;
        }
        segments[count] = start;
        lengths[count++] = n;
    }
    struct text text = {0};
    for (size_t i = 0; i < count; i++) {
        append(&text, "/");
        append_bytes(&text, segments[i], lengths[i]);
    }
    bool trailing = length > 0 && path[length - 1] == '/';
    if (count == 0 || trailing)
        append(&text, "/");
    free(segments);
    free(lengths);
    return finish(&text);
}

struct encoded_pair {
    char *name;
    char *value;
    size_t order;
};

static int compare_pairs(const void *a, const void *b)
{
    const struct encoded_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c == 0)
        c = strcmp(x->value, y->value);
    return c;
}

static int compare_headers(const void *a, const void *b)
{
    const struct encoded_pair *x = a, *y = b;
    int c = strcmp(x->name, y->name);
    if (c != 0)
        return c;
    return x->order < y->order ? -1 : (x->order > y->order);
}

/* Header values: trimmed, runs of spaces folded to one (the suite's
 * multi-line values included). */
static char *canonical_header_value(const char *value)
{
    struct text text = {0};
    bool pending_space = false;
    for (const char *p = value; *p; p++) {
        if (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') {
            pending_space = text.length > 0;
            continue;
        }
        if (pending_space)
            append(&text, " ");
        pending_space = false;
        append_bytes(&text, p, 1);
    }
    return finish(&text);
}

static char *lower(const char *s)
{
    char *copy = strdup(s);
    if (copy != NULL)
        for (char *p = copy; *p; p++)
            *p = (char)tolower((unsigned char)*p);
    return copy;
}

static void free_pairs(struct encoded_pair *pairs, size_t count)
{
    for (size_t i = 0; pairs != NULL && i < count; i++) {
        free(pairs[i].name);
        free(pairs[i].value);
    }
    free(pairs);
}

static char *header_line(const char *name, const char *value)
{
    size_t size = strlen(name) + strlen(value) + 3;
    char *line = malloc(size);
    if (line != NULL)
        snprintf(line, size, "%s: %s", name, value);
    return line;
}

/* The path as sent (result->encoded_path) and as signed (*canonical). */
static int encode_path(const struct sigv4_request *request, const struct sigv4_options *options,
                       struct sigv4_result *result, char **canonical)
{
    char *path = options->normalize_path ? normalise_path(request->path) : strdup(request->path);
    if (path == NULL)
        return -1;
    result->encoded_path = sigv4_uri_encode(path, strlen(path), true);
    free(path);
    if (result->encoded_path == NULL)
        return -1;
    *canonical = options->double_encode_path
                     ? sigv4_uri_encode(result->encoded_path, strlen(result->encoded_path), true)
                     : strdup(result->encoded_path);
    return *canonical ? 0 : -1;
}

/* The query: encoded, sorted by name then value. */
static int encode_query(const struct sigv4_request *request, struct sigv4_result *result)
{
    struct encoded_pair *query = calloc(request->query_count + 1, sizeof *query);
    if (query == NULL)
        return -1;
    for (size_t i = 0; i < request->query_count; i++) {
        const char *value = request->query[i].value ? request->query[i].value : "";
        query[i].name = sigv4_uri_encode(request->query[i].name, strlen(request->query[i].name),
                                         false);
        query[i].value = sigv4_uri_encode(value, strlen(value), false);
        if (query[i].name == NULL || query[i].value == NULL) {
            free_pairs(query, request->query_count);
            return -1;
        }
    }
    if (request->query_count > 1)
        qsort(query, request->query_count, sizeof *query, compare_pairs);
    struct text query_text = {0};
    for (size_t i = 0; i < request->query_count; i++) {
        if (i > 0)
            append(&query_text, "&");
        append(&query_text, query[i].name);
        append(&query_text, "=");
        append(&query_text, query[i].value);
    }
    result->encoded_query = finish(&query_text);
    free_pairs(query, request->query_count);
    return result->encoded_query ? 0 : -1;
}

static void add_header(struct encoded_pair *headers, size_t *count, char *name, char *value)
{
    headers[*count] = (struct encoded_pair){.name = name, .value = value, .order = *count};
    (*count)++;
}

/* The headers: the caller's and the signer's own, lower-cased, sorted;
 * values of one name joined by ',' in the order given. `headers` holds
 * header_count + 3 entries. */
static int collect_headers(const struct sigv4_request *request,
                           const struct sigv4_credentials *credentials,
                           const struct sigv4_options *options, struct sigv4_result *result,
                           struct encoded_pair *headers, size_t *count)
{
    const char *token = credentials->session_token;
    bool has_token = token != NULL && token[0] != '\0';
    size_t extra = 0;
    for (size_t i = 0; i < request->header_count; i++)
        add_header(headers, count, lower(request->headers[i].name),
                   canonical_header_value(request->headers[i].value));
    add_header(headers, count, strdup("x-amz-date"), strdup(options->amz_date));
    result->added_headers[extra++] = header_line("X-Amz-Date", options->amz_date);
    if (options->sign_payload_header) {
        add_header(headers, count, strdup("x-amz-content-sha256"), strdup(request->payload_hash));
        result->added_headers[extra++] = header_line("X-Amz-Content-Sha256", request->payload_hash);
    }
    if (has_token && !options->token_after_signing)
        add_header(headers, count, strdup("x-amz-security-token"), strdup(token));
    if (has_token)
        result->added_headers[extra++] = header_line("X-Amz-Security-Token", token);
    for (size_t i = 0; i < *count; i++)
        if (headers[i].name == NULL || headers[i].value == NULL)
            return -1;
    for (size_t i = 0; i < extra; i++)
        if (result->added_headers[i] == NULL)
            return -1;
    qsort(headers, *count, sizeof *headers, compare_headers);
    return 0;
}

/* The canonical request; *signed_headers is the caller's to free. */
static int canonical_request(const struct sigv4_request *request, const char *canonical_path,
                             const struct encoded_pair *headers, size_t header_count,
                             struct sigv4_result *result, char **signed_headers)
{
    struct text canonical = {0}, signed_names = {0};
    append(&canonical, request->method);
    append(&canonical, "\n");
    append(&canonical, canonical_path);
    append(&canonical, "\n");
    append(&canonical, result->encoded_query);
    append(&canonical, "\n");
    for (size_t i = 0; i < header_count; i++) {
        bool continues = i > 0 && strcmp(headers[i].name, headers[i - 1].name) == 0;
        if (continues) {
            append(&canonical, ",");
        } else {
            if (i > 0) {
                append(&canonical, "\n");
                append(&signed_names, ";");
            }
            append(&canonical, headers[i].name);
            append(&canonical, ":");
            append(&signed_names, headers[i].name);
        }
        append(&canonical, headers[i].value);
    }
    append(&canonical, "\n\n");
    *signed_headers = finish(&signed_names);
    append(&canonical, *signed_headers ? *signed_headers : "");
    append(&canonical, "\n");
    append(&canonical, request->payload_hash);
    result->canonical_request = finish(&canonical);
    return result->canonical_request && *signed_headers ? 0 : -1;
}

/* The string to sign, the signing key, the signature and the
 * Authorization header. */
static int sign_canonical(const struct sigv4_credentials *credentials,
                          const struct sigv4_options *options, const char *signed_headers,
                          struct sigv4_result *result)
{
    char date[9], scope[256], canonical_hash[65];
    snprintf(date, sizeof date, "%.8s", options->amz_date);
    snprintf(scope, sizeof scope, "%s/%s/%s/aws4_request", date, options->region,
             options->service);
    sigv4_sha256_hex(result->canonical_request, strlen(result->canonical_request),
                     canonical_hash);
    struct text to_sign = {0};
    append(&to_sign, "AWS4-HMAC-SHA256\n");
    append(&to_sign, options->amz_date);
    append(&to_sign, "\n");
    append(&to_sign, scope);
    append(&to_sign, "\n");
    append(&to_sign, canonical_hash);
    result->string_to_sign = finish(&to_sign);
    size_t secret_length = strlen(credentials->secret_access_key) + 5;
    char *secret = result->string_to_sign ? malloc(secret_length) : NULL;
    if (secret == NULL)
        return -1;
    snprintf(secret, secret_length, "AWS4%s", credentials->secret_access_key);
    unsigned char k_date[32], k_region[32], k_service[32], k_signing[32], signature[32];
    hmac(secret, strlen(secret), date, k_date);
    OPENSSL_cleanse(secret, secret_length);
    free(secret);
    hmac(k_date, 32, options->region, k_region);
    hmac(k_region, 32, options->service, k_service);
    hmac(k_service, 32, "aws4_request", k_signing);
    hmac(k_signing, 32, result->string_to_sign, signature);
    memcpy(result->signing_key, k_signing, sizeof k_signing);
    OPENSSL_cleanse(k_signing, sizeof k_signing);
    snprintf(result->scope, sizeof result->scope, "%s", scope);
    snprintf(result->amz_date, sizeof result->amz_date, "%s", options->amz_date);
    sigv4_hex(signature, 32, result->signature);
    size_t auth_size = strlen(credentials->access_key_id) + strlen(scope) +
                       strlen(signed_headers) + 160;
    result->authorization = malloc(auth_size);
    if (result->authorization == NULL)
        return -1;
    snprintf(result->authorization, auth_size,
             "AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s",
             credentials->access_key_id, scope, signed_headers, result->signature);
    return 0;
}

int sigv4_sign(const struct sigv4_request *request, const struct sigv4_credentials *credentials,
               const struct sigv4_options *options, struct sigv4_result *result)
{
    memset(result, 0, sizeof *result);
    char *canonical_path = NULL, *signed_headers = NULL;
    size_t header_count = 0;
    struct encoded_pair *headers = calloc(request->header_count + 3, sizeof *headers);
    int rc = headers ? 0 : -1;
    if (rc == 0)
        rc = encode_path(request, options, result, &canonical_path);
    if (rc == 0)
        rc = encode_query(request, result);
    if (rc == 0)
        rc = collect_headers(request, credentials, options, result, headers, &header_count);
    if (rc == 0)
        rc = canonical_request(request, canonical_path, headers, header_count, result,
                               &signed_headers);
    if (rc == 0)
        rc = sign_canonical(credentials, options, signed_headers, result);
    free(canonical_path);
    free(signed_headers);
    free_pairs(headers, header_count);
    if (rc != 0)
        sigv4_result_free(result);
    return rc;
}

void sigv4_result_free(struct sigv4_result *result)
{
    free(result->encoded_path);
    free(result->encoded_query);
    free(result->canonical_request);
    free(result->string_to_sign);
    free(result->authorization);
    for (size_t i = 0; i < 4; i++)
        free(result->added_headers[i]);
    OPENSSL_cleanse(result, sizeof *result);
}

/* ---- Streaming payloads ---------------------------------------------------- */

void sigv4_chain_start(struct sigv4_chain *chain, const struct sigv4_result *seed)
{
    memcpy(chain->key, seed->signing_key, sizeof chain->key);
    snprintf(chain->amz_date, sizeof chain->amz_date, "%s", seed->amz_date);
    snprintf(chain->scope, sizeof chain->scope, "%s", seed->scope);
    snprintf(chain->previous, sizeof chain->previous, "%s", seed->signature);
}

/* "ALGORITHM\ndate\nscope\nprevious\n<rest>", signed; the result is the
 * chain's previous signature from now on. */
static void chain_sign(struct sigv4_chain *chain, const char *algorithm, const char *rest,
                       char signature[65])
{
    char to_sign[512];
    snprintf(to_sign, sizeof to_sign, "%s\n%s\n%s\n%s\n%s", algorithm, chain->amz_date,
             chain->scope, chain->previous, rest);
    unsigned char mac[32];
    hmac(chain->key, sizeof chain->key, to_sign, mac);
    sigv4_hex(mac, 32, signature);
    memcpy(chain->previous, signature, 65);
}

void sigv4_chain_chunk(struct sigv4_chain *chain, const char data_sha256[65], char signature[65])
{
    char rest[140];
    snprintf(rest, sizeof rest,
             "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n%s",
             data_sha256); /* the SHA-256 of nothing: chunks have no headers */
    chain_sign(chain, "AWS4-HMAC-SHA256-PAYLOAD", rest, signature);
}

void sigv4_chain_trailer(struct sigv4_chain *chain, const char *lines, size_t length,
                         char signature[65])
{
    char lines_sha256[65];
    sigv4_sha256_hex(lines, length, lines_sha256);
    chain_sign(chain, "AWS4-HMAC-SHA256-TRAILER", lines_sha256, signature);
}

void sigv4_chain_end(struct sigv4_chain *chain)
{
    OPENSSL_cleanse(chain, sizeof *chain);
}
