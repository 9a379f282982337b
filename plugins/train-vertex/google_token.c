/* google_token.c: access tokens from the credential: a service account's
 * JWT (RS256, OpenSSL) exchanged with the jwt-bearer grant, an authorized
 * user's refresh grant, or the metadata server's token; kept until 60 s
 * before it expires and shared by every thread. Tokens, keys and grants
 * travel only in request bodies and headers, which the host never logs. */
#define _GNU_SOURCE
#include "google_auth.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCOPE "https://www.googleapis.com/auth/cloud-platform"
#define EARLY_SECONDS 60

void vertex_base64url(const unsigned char *in, size_t length, char *out, size_t size)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    size_t n = 0;
    for (size_t i = 0; i < length && n + 5 < size; i += 3) {
        uint32_t v = (uint32_t)in[i] << 16;
        if (i + 1 < length)
            v |= (uint32_t)in[i + 1] << 8;
        if (i + 2 < length)
            v |= in[i + 2];
        out[n++] = alphabet[v >> 18 & 63];
        out[n++] = alphabet[v >> 12 & 63];
        if (i + 1 < length)
            out[n++] = alphabet[v >> 6 & 63];
        if (i + 2 < length)
            out[n++] = alphabet[v & 63];
    }
    out[n] = '\0';
}

static char *base64url_json(json_t *value)
{
    char *text = json_dumps(value, JSON_COMPACT);
    json_decref(value);
    if (text == NULL)
        return NULL;
    size_t length = strlen(text), size = length / 3 * 4 + 8;
    char *out = malloc(size);
    if (out != NULL)
        vertex_base64url((unsigned char *)text, length, out, size);
    free(text);
    return out;
}

/* RS256 of `input` with the PEM key into base64url. */
static char *sign_rs256(const char *input, const char *key_pem)
{
    BIO *bio = BIO_new_mem_buf(key_pem, -1);
    EVP_PKEY *key = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char signature[1024];
    size_t length = sizeof signature;
    char *out = NULL;
    if (key != NULL && md != NULL && EVP_PKEY_base_id(key) == EVP_PKEY_RSA &&
        EVP_PKEY_get_size(key) <= (int)sizeof signature &&
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(md, signature, &length, (const unsigned char *)input,
                       strlen(input)) == 1 &&
        (out = malloc(length / 3 * 4 + 8)) != NULL)
        vertex_base64url(signature, length, out, length / 3 * 4 + 8);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    return out;
}

int vertex_jwt_make(const char *email, const char *key_id, const char *key_pem,
                    const char *audience, long issued_at, char **out, struct fahr_error *err)
{
    json_t *header = json_pack("{s:s, s:s}", "alg", "RS256", "typ", "JWT");
    if (header != NULL && key_id != NULL)
        json_object_set_new(header, "kid", json_string(key_id));
    char *head = base64url_json(header);
    char *claims = base64url_json(json_pack("{s:s, s:s, s:s, s:I, s:I}", "iss", email,
                                            "scope", SCOPE, "aud", audience,
                                            "iat", (json_int_t)issued_at,
                                            "exp", (json_int_t)issued_at + 3600));
    char *input = NULL, *signature = NULL;
    if (head != NULL && claims != NULL && asprintf(&input, "%s.%s", head, claims) < 0)
        input = NULL;
    if (input != NULL)
        signature = sign_rs256(input, key_pem);
    int rc = FAHR_OK;
    if (input == NULL)
        rc = fahr_error_set(err, FAHR_EFAIL, "cannot make the token request: out of memory");
    else if (signature == NULL)
        rc = fahr_error_set(err, FAHR_EINVAL, "the private key cannot sign (not an RSA key "
                            "in PEM form?)");
    else if (asprintf(out, "%s.%s", input, signature) < 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
    free(head);
    free(claims);
    free(input);
    free(signature);
    return rc;
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The form body of the grant (malloc'ed, secret). */
static char *grant_body(struct vertex_auth *auth, struct fahr_error *err)
{
    char *body = NULL;
    if (auth->kind == CREDENTIAL_SERVICE_ACCOUNT) {
        char *jwt = NULL;
        /* Google takes its own token URL as aud whatever token_uri says */
        if (vertex_jwt_make(auth->client_email, auth->private_key_id, auth->private_key,
                            auth->token_uri, (long)time(NULL), &jwt, err) != FAHR_OK)
            return NULL;
        if (asprintf(&body, "grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3Agrant-type%%3A"
                     "jwt-bearer&assertion=%s", jwt) < 0)
            body = NULL;
        free(jwt);
    } else {
        size_t size = 3 * (strlen(auth->client_id) + strlen(auth->client_secret) +
                           strlen(auth->refresh_token)) + 3;
        char *id = malloc(size), *secret = malloc(size), *refresh = malloc(size);
        if (id && secret && refresh) {
            vertex_escape(auth->client_id, id, size);
            vertex_escape(auth->client_secret, secret, size);
            vertex_escape(auth->refresh_token, refresh, size);
            if (asprintf(&body, "grant_type=refresh_token&client_id=%s&client_secret=%s"
                         "&refresh_token=%s", id, secret, refresh) < 0)
                body = NULL;
            OPENSSL_cleanse(secret, size);
            OPENSSL_cleanse(refresh, size);
        }
        free(id), free(secret), free(refresh);
    }
    if (body == NULL && err->message[0] == '\0')
        fahr_error_set(err, FAHR_EFAIL, "out of memory");
    return body;
}

/* The token request's answer into auth->token and expires_at. */
static int take_token(struct vertex_auth *auth, const struct fahr_http_response *response,
                      struct fahr_error *err)
{
    char what[FAHR_URI_MAX + 64];
    snprintf(what, sizeof what, "no access token for the credential from %s", auth->source);
    if (response->status < 200 || response->status > 299)
        return vertex_answer_error(what, response, err);
    json_t *answer = json_loadb(response->body ? response->body : "", response->body_length, 0,
                                NULL);
    const char *token = json_string_value(json_object_get(answer, "access_token"));
    json_int_t lifetime = json_integer_value(json_object_get(answer, "expires_in"));
    int rc = FAHR_OK;
    if (token == NULL || token[0] == '\0' || strlen(token) >= sizeof auth->token ||
        strpbrk(token, "\r\n") != NULL)
        rc = fahr_error_set(err, FAHR_EFAIL, "%s: the answer holds no usable access_token",
                            what);
    else {
        snprintf(auth->token, sizeof auth->token, "%s", token);
        auth->expires_at = now_seconds() + (double)(lifetime > 0 ? lifetime : 3600);
    }
    if (answer != NULL && token != NULL)
        OPENSSL_cleanse((char *)token, strlen(token));
    json_decref(answer);
    return rc;
}

int vertex_auth_fetch(struct vertex_auth *auth, struct fahr_error *err)
{
    int rc = auth->http ? FAHR_OK : vertex_host->http_open(&auth->http, err);
    if (rc != FAHR_OK)
        return rc;
    err->message[0] = '\0';
    if (auth->kind == CREDENTIAL_METADATA && (rc = vertex_metadata_probe(auth, err)) != FAHR_OK)
        return rc;
    char *body = auth->kind == CREDENTIAL_METADATA ? NULL : grant_body(auth, err);
    if (auth->kind != CREDENTIAL_METADATA && body == NULL)
        return FAHR_EINVAL;
    static const struct fahr_http_header form[] = {
        {"Content-Type", "application/x-www-form-urlencoded"}};
    static const struct fahr_http_header flavor[] = {{"Metadata-Flavor", "Google"}};
    struct fahr_http_request request = {
        .size = sizeof request, .method = body ? "POST" : "GET", .url = auth->token_uri,
        .headers = body ? form : flavor, .header_count = 1,
        .body = body, .body_length = body ? strlen(body) : 0, .timeout_ms = 30000,
    };
    struct fahr_http_response response = {.size = sizeof response};
    rc = vertex_host->http_send(auth->http, &request, &response, err);
    if (rc == FAHR_OK)
        rc = take_token(auth, &response, err);
    if (response.body != NULL)
        OPENSSL_cleanse(response.body, response.body_length);
    vertex_host->http_release(&response);
    if (body != NULL)
        OPENSSL_cleanse(body, strlen(body));
    free(body);
    return rc;
}

/* The calling thread's copy: the shared token may be replaced by another
 * thread while this one's request is still being sent. */
static __thread char thread_token[VERTEX_TOKEN_MAX];
static __thread char thread_header[VERTEX_TOKEN_MAX + 8];

int vertex_auth_token(struct vertex_auth *auth, int force, const char **token,
                      struct fahr_error *err)
{
    if (auth == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "no Google credential was opened");
    int rc = FAHR_OK;
    pthread_mutex_lock(&auth->lock);
    if (force || auth->token[0] == '\0' || now_seconds() >= auth->expires_at - EARLY_SECONDS)
        rc = vertex_auth_fetch(auth, err);
    if (rc == FAHR_OK)
        memcpy(thread_token, auth->token, sizeof thread_token);
    pthread_mutex_unlock(&auth->lock);
    *token = thread_token;
    return rc;
}

int vertex_auth_sign(void *hook_data, const struct fahr_http_sign *request,
                     struct fahr_http_header *extra, size_t capacity, size_t *count,
                     struct fahr_error *err)
{
    (void)request;
    const char *token;
    *count = 0;
    if (capacity < 1)
        return fahr_error_set(err, FAHR_EFAIL, "no room for the Authorization header");
    int rc = vertex_auth_token(hook_data, 0, &token, err);
    if (rc != FAHR_OK)
        return rc;
    snprintf(thread_header, sizeof thread_header, "Bearer %s", token);
    extra[0] = (struct fahr_http_header){"Authorization", thread_header};
    *count = 1;
    return FAHR_OK;
}
