/* google_call.c: one JSON call to a Google REST API through the host's
 * HTTP service (which retries 429 and 5xx), with the bearer token of the
 * credential, and Google's error answers made one line for the user. */
#include "vertex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const api_names[] = {
    [VERTEX_AIPLATFORM] = "Vertex AI",
    [VERTEX_STORAGE] = "Cloud Storage",
    [VERTEX_LOGGING] = "Cloud Logging",
    [VERTEX_ARTIFACTREGISTRY] = "Artifact Registry",
};

void vertex_escape(const char *in, char *out, size_t size)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = 0;
    if (size == 0)
        return;
    for (const unsigned char *p = (const unsigned char *)(in ? in : ""); *p; p++) {
        int plain = (*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                    (*p >= '0' && *p <= '9') || *p == '-' || *p == '.' || *p == '_' ||
                    *p == '~';
        if (n + (plain ? 1 : 3) >= size)
            break;
        if (plain) {
            out[n++] = (char)*p;
        } else {
            out[n++] = '%';
            out[n++] = hex[*p >> 4];
            out[n++] = hex[*p & 15];
        }
    }
    out[n] = '\0';
}

void vertex_text(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = in ? in : ""; *p && n + 1 < size; p++)
        out[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? ' ' : *p;
    out[n] = '\0';
}

int vertex_answer_error(const char *what, const struct fahr_http_response *response,
                        struct fahr_error *err)
{
    json_t *answer = json_loadb(response->body ? response->body : "", response->body_length,
                                0, NULL);
    json_t *error = json_object_get(answer, "error");
    const char *message = json_string_value(json_object_get(error, "message"));
    const char *status = json_string_value(json_object_get(error, "status"));
    if (json_is_string(error)) { /* OAuth: {"error", "error_description"} */
        status = json_string_value(error);
        message = json_string_value(json_object_get(answer, "error_description"));
    }
    char said[300], code[64];
    vertex_text(message ? message
                        : answer == NULL && response->body && response->body[0]
                              ? response->body : "no reason given",
                said, sizeof said > 200 ? 200 : sizeof said);
    if (status != NULL)
        vertex_text(status, code, sizeof code);
    else
        snprintf(code, sizeof code, "HTTP %ld", response->status);
    int rc = response->status == 404 ? FAHR_ENOTFOUND
             : response->status == 400 ? FAHR_EINVAL : FAHR_EFAIL;
    fahr_error_set(err, rc, "%s: %s (%s)", what, said, code);
    json_decref(answer);
    return rc;
}

static int send_json(struct vertex *vertex, const char *method, const char *url,
                     const char *text, struct fahr_http_response *response,
                     struct fahr_error *err)
{
    static const struct fahr_http_header json_type[] = {{"Content-Type", "application/json"}};
    struct fahr_http_request request = {
        .size = sizeof request, .method = method, .url = url,
        .headers = text ? json_type : NULL, .header_count = text ? 1 : 0,
        .body = text, .body_length = text ? strlen(text) : 0,
        .sign = vertex_auth_sign, .sign_data = vertex->auth,
        .answer_max = 16u << 20, .timeout_ms = 120000,
        /* creating a job twice would run it twice; a list (entries:list) only reads */
        .flags = strcmp(method, "POST") == 0 && strstr(url, ":list") == NULL
                     ? FAHR_HTTP_NOT_IDEMPOTENT : 0,
    };
    return vertex_host->http_send(vertex->http, &request, response, err);
}

int vertex_call(struct vertex *vertex, enum vertex_api api, const char *region,
                const char *method, const char *path, json_t *body, json_t **answer,
                struct fahr_error *err)
{
    char root[1024], url[FAHR_URI_MAX + 1024], what[FAHR_URI_MAX];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    int has_body = body != NULL;
    json_decref(body);
    if (has_body && text == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot encode a request to %s", api_names[api]);
    int rc = vertex_endpoint(api, region, root, sizeof root, err);
    if (rc == FAHR_OK && (size_t)snprintf(url, sizeof url, "%s%s", root, path) >= sizeof url)
        rc = fahr_error_set(err, FAHR_EINVAL, "a request to %s is too long", api_names[api]);
    if (rc == FAHR_OK && vertex->auth == NULL)
        rc = vertex_credential(vertex, err);
    struct fahr_http_response response = {.size = sizeof response};
    if (rc == FAHR_OK)
        rc = send_json(vertex, method, url, text, &response, err);
    if (rc == FAHR_OK && response.status == 401) { /* expired or revoked: once more */
        vertex_host->http_release(&response);
        const char *token;
        response = (struct fahr_http_response){.size = sizeof response};
        rc = vertex_auth_token(vertex->auth, 1, &token, err);
        if (rc == FAHR_OK)
            rc = send_json(vertex, method, url, text, &response, err);
    }
    snprintf(what, sizeof what, "%s %s %.*s", api_names[api], method,
             (int)strcspn(path, "?"), path);
    if (rc == FAHR_OK && (response.status < 200 || response.status > 299))
        rc = vertex_answer_error(what, &response, err);
    json_t *parsed = NULL;
    if (rc == FAHR_OK && answer != NULL) {
        parsed = json_loadb(response.body ? response.body : "", response.body_length, 0, NULL);
        if (!json_is_object(parsed))
            rc = fahr_error_set(err, FAHR_EFAIL, "%s: the answer is not a JSON object", what);
    }
    if (rc == FAHR_OK && answer != NULL)
        *answer = parsed;
    else
        json_decref(parsed);
    vertex_host->http_release(&response);
    free(text);
    return rc;
}
