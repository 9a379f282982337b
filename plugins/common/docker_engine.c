/* plugins/common/docker_engine.c: see docker_engine.h. */
#include "docker_engine.h"

#include <jansson.h>
#include <sys/types.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "dockerignore.h"
#include "output_tail.h"
#include "sigv4.h"
#include "tar_stream.h"

int docker_engine_from_env(struct docker_engine *engine, struct fahr_error *err)
{
    memset(engine, 0, sizeof *engine);
    const char *host = getenv("DOCKER_HOST");
    if (host == NULL || host[0] == '\0')
        host = "unix:///var/run/docker.sock";
    snprintf(engine->display, sizeof engine->display, "%s", host);
    if (strncmp(host, "unix://", 7) == 0) {
        if (host[7] != '/' || strlen(host + 7) >= sizeof engine->socket_path)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "DOCKER_HOST '%s': expected unix:///absolute/path", host);
        snprintf(engine->socket_path, sizeof engine->socket_path, "%s", host + 7);
        snprintf(engine->base_url, sizeof engine->base_url, "http://localhost");
        return FAHR_OK;
    }
    if (strncmp(host, "tcp://", 6) == 0 && host[6] != '\0') {
        if (getenv("DOCKER_TLS_VERIFY") != NULL && strcmp(getenv("DOCKER_TLS_VERIFY"), "") != 0)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "DOCKER_TLS_VERIFY is set, but fahr does not speak TLS to the "
                                  "engine yet; use a unix socket or an SSH tunnel");
        snprintf(engine->base_url, sizeof engine->base_url, "http://%s", host + 6);
        size_t len = strlen(engine->base_url);
        if (engine->base_url[len - 1] == '/')
            engine->base_url[len - 1] = '\0';
        return FAHR_OK;
    }
    return fahr_error_set(err, FAHR_EINVAL,
                          "DOCKER_HOST '%s': fahr speaks to unix:// and tcp:// engines", host);
}

/* ---- One streaming call: a request whose answer is JSON messages, one a
 * line, handed to `on_message` as they come (build and push answer so). */

struct engine_call {
    const struct fahr_host *host;
    char line[16384]; /* one JSON message, split across reads */
    size_t line_length;
    bool line_overflow;
    void (*on_message)(json_t *message, void *data);
    void *data;
    /* Optional request body, pulled as it is sent: bytes, 0 at its end, -1
     * when it cannot be made (with err written). */
    ssize_t (*read_body)(void *data, char *buffer, size_t size, struct fahr_error *err);
    struct fahr_error *body_err;
    bool body_failed;
};

static long send_body(void *data, void *buffer, size_t capacity)
{
    struct engine_call *call = data;
    ssize_t n = call->read_body(call->data, buffer, capacity, call->body_err);
    if (n < 0)
        call->body_failed = true;
    return (long)n;
}

static int receive_output(void *data, const void *chunk, size_t length)
{
    struct engine_call *call = data;
    const char *bytes = chunk;
    for (size_t i = 0; i < length; i++) {
        char c = bytes[i];
        if (c == '\n') {
            if (!call->line_overflow && call->line_length > 0 && call->on_message != NULL) {
                json_t *message = json_loadb(call->line, call->line_length, 0, NULL);
                if (message != NULL) {
                    call->on_message(message, call->data);
                    json_decref(message);
                }
            }
            call->line_length = 0;
            call->line_overflow = false;
        } else if (call->line_length + 1 < sizeof call->line) {
            call->line[call->line_length++] = c;
        } else {
            call->line_overflow = true; /* a huge message: skip it */
        }
    }
    return 0;
}

static void copy_trimmed(char *out, size_t size, const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    snprintf(out, size, "%.*s", (int)len, text);
}

/* One request to the engine over the host's transport: never retried (a
 * local engine does not throttle, and a build or push is not to be made
 * twice) and never given up for silence (a build step may print nothing for
 * minutes). Returns what http_send returns; `response` is the caller's to
 * release. */
static int engine_send(const struct fahr_host *host, const struct docker_engine *engine,
                       struct fahr_http_request *request, const char *path,
                       struct fahr_http_response *response, struct fahr_error *err)
{
    char url[4096];
    snprintf(url, sizeof url, "%s%s", engine->base_url, path);
    request->size = sizeof *request;
    request->url = url;
    request->unix_socket = engine->socket_path[0] ? engine->socket_path : NULL;
    request->max_attempts = 1;
    request->stall_seconds = FAHR_HTTP_NO_STALL;
    request->answer_max = DOCKER_ANSWER_MAX;
    response->size = sizeof *response;
    if (!FAHR_HAS(host, http_send))
        return fahr_error_set(err, FAHR_EFAIL, "this fahr offers no HTTP transport");
    struct fahr_http *http;
    int rc = host->http_open(&http, err);
    if (rc != FAHR_OK)
        return rc;
    rc = host->http_send(http, request, response, err);
    host->http_close(http);
    return rc;
}

static int unreachable(const struct docker_engine *engine, const struct fahr_error *sent,
                       struct fahr_error *err)
{
    /* The transport says "cannot reach <socket or URL>: <reason>"; the
     * engine's line names DOCKER_HOST's value instead, once. */
    const char *reason = sent->message;
    if (strncmp(reason, "cannot reach ", 13) == 0 && strstr(reason, ": ") != NULL)
        reason = strstr(reason, ": ") + 2;
    return fahr_error_set(err, FAHR_EFAIL,
                          "cannot reach the Docker engine at %s: %s (is it running? "
                          "DOCKER_HOST selects another)",
                          engine->display, reason);
}

/* The engine's own words from an error answer: its JSON "message", or the
 * body as it is. */
static void engine_message(const struct fahr_http_response *response, char *out, size_t size)
{
    json_t *answer = response->body ? json_loads(response->body, 0, NULL) : NULL;
    const char *message = json_string_value(json_object_get(answer, "message"));
    copy_trimmed(out, size, message ? message : response->body ? response->body : "");
    json_decref(answer);
}

/* POST `path` (with its query) to the engine. Returns FAHR_OK on a 2xx
 * answer; else writes "<what>: ..." into err. */
static int engine_post(const struct docker_engine *engine, struct engine_call *call,
                       const char *path, const struct fahr_http_header *headers,
                       size_t header_count, const char *what, struct fahr_error *err)
{
    struct fahr_http_request request = {.method = "POST", .headers = headers,
                                        .header_count = header_count,
                                        .on_body = receive_output, .on_body_data = call};
    if (call->read_body != NULL) {
        request.body_read = send_body;
        request.body_read_data = call;
    }
    struct fahr_http_response response;
    struct fahr_error sent = {{0}};
    int rc = engine_send(call->host, engine, &request, path, &response, &sent);
    if (call->body_failed) {
        rc = FAHR_EFAIL; /* the body's reader wrote err */
    } else if (rc == FAHR_EINTERRUPTED || call->host->interrupted()) {
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "%s interrupted", what);
    } else if (rc != FAHR_OK && !(response.status >= 300 && response.body_length > 0)) {
        /* An engine that refuses the request may answer before it has read
         * the body and close the connection while it is still sent: its
         * answer is the reason, not the broken connection. */
        rc = unreachable(engine, &sent, err);
    } else if (response.status < 200 || response.status >= 300) {
        char text[1024];
        engine_message(&response, text, sizeof text);
        rc = fahr_error_set(err, response.status == 404 ? FAHR_ENOTFOUND : FAHR_EFAIL,
                            "the Docker engine refused the %s (HTTP %ld): %s", what,
                            response.status, text);
    }
    call->host->http_release(&response);
    return rc;
}

/* ---- Build ---------------------------------------------------------------- */

struct build_state {
    const struct fahr_host *host;
    struct tar_stream *context;
    char current_step[512];
    char error[2048];
    char image_id[128];
    struct output_tail step_output; /* the current step's last lines */
    bool context_sent;              /* its progress line is finished */
};

/* The context's progress line ends the moment the last byte is handed to
 * the engine, before the engine's first line about the build: lines come
 * out in the order things happened. */
static void finish_context_progress(struct build_state *build)
{
    uint64_t total = build->context ? tar_stream_content_bytes(build->context) : 0;
    if (build->context_sent || total == 0 || tar_stream_content_sent(build->context) != total)
        return;
    build->context_sent = true;
    build->host->progress("sending build context", total, total, "B");
}

static ssize_t send_context(void *data, char *buffer, size_t size, struct fahr_error *err)
{
    struct build_state *build = data;
    ssize_t n = tar_stream_read(build->context, buffer, size, err);
    if (n == 0) {
        finish_context_progress(build);
        return n;
    }
    uint64_t total = tar_stream_content_bytes(build->context);
    uint64_t sent = tar_stream_content_sent(build->context);
    if (total > 0 && sent < total)
        build->host->progress("sending build context", sent, total, "B");
    return n;
}

static void build_message(json_t *message, void *data)
{
    struct build_state *build = data;
    finish_context_progress(build); /* an engine that answers before the end */
    const char *stream = json_string_value(json_object_get(message, "stream"));
    if (stream != NULL) {
        build->host->stream(stream, strlen(stream));
        if (strncmp(stream, "Step ", 5) == 0) {
            copy_trimmed(build->current_step, sizeof build->current_step, stream);
            output_tail_reset(&build->step_output);
        } else {
            output_tail_feed(&build->step_output, stream, strlen(stream));
        }
    }
    const char *status = json_string_value(json_object_get(message, "status"));
    if (status != NULL) {
        build->host->stream(status, strlen(status));
        build->host->stream("\n", 1);
    }
    const char *error =
        json_string_value(json_object_get(json_object_get(message, "errorDetail"), "message"));
    if (error == NULL)
        error = json_string_value(json_object_get(message, "error"));
    if (error != NULL)
        copy_trimmed(build->error, sizeof build->error, error);
    const char *id = json_string_value(json_object_get(json_object_get(message, "aux"), "ID"));
    if (id != NULL)
        snprintf(build->image_id, sizeof build->image_id, "%s", id);
}

/* TEXT on one line (control characters become spaces) in at most `max`
 * bytes, cut at a character's start with "..." where it is longer. */
static void one_line(char *out, size_t max, const char *text)
{
    size_t length = strlen(text);
    if (length >= max) {
        length = max - 4;
        while (length > 0 && ((unsigned char)text[length] & 0xc0) == 0x80)
            length--;
    }
    size_t used = 0;
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        out[used++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
    }
    if (length < strlen(text))
        used += (size_t)snprintf(out + used, 4, "...");
    out[used] = '\0';
}

/* The engine's error, the step it failed at and what the step printed last
 * (pip's "No module named pip" is in its output, not in the error). */
static int build_failed(struct build_state *build, struct fahr_error *err)
{
    char step[300] = "", error[400], last[260] = "";
    one_line(error, sizeof error, build->error);
    if (build->current_step[0]) {
        one_line(step + 4, sizeof step - 4, build->current_step);
        memcpy(step, " at ", 4);
    }
    output_tail_join(&build->step_output, last, sizeof last);
    return fahr_error_set(err, FAHR_EFAIL, "build failed%s: %s%s%s", step, error,
                          last[0] ? "; last output: " : "", last);
}

/* Lines of a build step's output that only tell the engine's own progress. */
static const char *const engine_chatter[] = {" ---> ", "Removing intermediate container ",
                                             NULL};

/* A query parameter's value, everything but A-Z a-z 0-9 - _ . ~ as %XX
 * (RFC 3986, as SigV4 encodes it); NULL when out of memory. Caller frees. */
static char *query_escape(const char *text)
{
    return sigv4_uri_encode(text, strlen(text), false);
}

/* POST the context as a tar, as it is read; the engine's answer to `build`. */
static int post_context(const struct docker_engine *engine, const char *tag,
                        struct build_state *build, struct fahr_error *err)
{
    char *escaped_tag = query_escape(tag);
    /* The mark `fahr prune` knows fahr's images by (docker_prune.h): the
     * driver that built it. */
    char labels[256];
    snprintf(labels, sizeof labels, "{\"%s\":\"%s\"}", DOCKER_BUILD_LABEL,
             FAHR_HAS(build->host, driver) ? build->host->driver : "fahr");
    char *escaped_labels = query_escape(labels);
    struct engine_call *call = calloc(1, sizeof *call);
    if (escaped_tag == NULL || escaped_labels == NULL || call == NULL) {
        free(escaped_tag);
        free(escaped_labels);
        free(call);
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    }
    char path[2048];
    snprintf(path, sizeof path, "/build?t=%s&labels=%s&dockerfile=Dockerfile&rm=1&forcerm=1",
             escaped_tag, escaped_labels);
    free(escaped_tag);
    free(escaped_labels);
    static const struct fahr_http_header headers[] = {
        {"Content-Type", "application/x-tar"}, {"Transfer-Encoding", "chunked"}};
    call->host = build->host;
    call->on_message = build_message;
    call->data = build;
    call->read_body = send_context;
    call->body_err = err;
    int rc = engine_post(engine, call, path, headers, 2, "build", err);
    free(call);
    return rc;
}

int docker_engine_build(const struct fahr_host *host, const struct docker_engine *engine,
                        const char *context_dir, const char *tag, struct fahr_error *err)
{
    struct build_state build = {.host = host};
    output_tail_init(&build.step_output, engine_chatter);
    struct dockerignore *ignore = dockerignore_load(context_dir);
    if (ignore == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    int rc = tar_stream_open(context_dir, dockerignore_filter, ignore, &build.context, err);
    if (rc == FAHR_OK)
        rc = post_context(engine, tag, &build, err);
    finish_context_progress(&build);
    if (rc != FAHR_OK)
        ; /* err is written */
    else if (build.error[0])
        rc = build_failed(&build, err);
    else if (build.image_id[0] == '\0')
        rc = fahr_error_set(err, FAHR_EFAIL, "the Docker engine ended the build without an image");
    else
        host->log(FAHR_LOG_DEBUG, "built %s (%s)", tag, build.image_id);
    tar_stream_close(build.context);
    dockerignore_free(ignore);
    return rc;
}

/* ---- Tag and push ----------------------------------------------------- */

/* "host:port/a/b:tag" -> repository "host:port/a/b" and tag "tag". */
static void split_reference(const char *ref, char *repository, size_t repository_size, char *tag,
                            size_t tag_size)
{
    const char *slash = strrchr(ref, '/');
    const char *colon = strrchr(slash ? slash : ref, ':');
    if (colon != NULL) {
        snprintf(repository, repository_size, "%.*s", (int)(colon - ref), ref);
        snprintf(tag, tag_size, "%s", colon + 1);
    } else {
        snprintf(repository, repository_size, "%s", ref);
        snprintf(tag, tag_size, "latest");
    }
}

int docker_engine_tag(const struct fahr_host *host, const struct docker_engine *engine,
                      const char *source, const char *target, struct fahr_error *err)
{
    char repository[1024], tag[256], path[4096];
    split_reference(target, repository, sizeof repository, tag, sizeof tag);
    char *escaped_repository = query_escape(repository);
    char *escaped_tag = query_escape(tag);
    snprintf(path, sizeof path, "/images/%s/tag?repo=%s&tag=%s", source,
             escaped_repository ? escaped_repository : "", escaped_tag ? escaped_tag : "");
    free(escaped_repository);
    free(escaped_tag);
    struct engine_call call = {.host = host};
    return engine_post(engine, &call, path, NULL, 0, "tag", err);
}

enum { MAX_LAYERS = 128 };

struct push_state {
    const struct fahr_host *host;
    char error[2048];
    char digest[160];
    struct {
        char id[80];
        uint64_t current, total;
    } layers[MAX_LAYERS];
    size_t layer_count;
};

static void push_message(json_t *message, void *data)
{
    struct push_state *push = data;
    const char *error =
        json_string_value(json_object_get(json_object_get(message, "errorDetail"), "message"));
    if (error == NULL)
        error = json_string_value(json_object_get(message, "error"));
    if (error != NULL)
        copy_trimmed(push->error, sizeof push->error, error);
    const char *digest =
        json_string_value(json_object_get(json_object_get(message, "aux"), "Digest"));
    if (digest != NULL)
        snprintf(push->digest, sizeof push->digest, "%s", digest);
    const char *id = json_string_value(json_object_get(message, "id"));
    json_t *detail = json_object_get(message, "progressDetail");
    const char *status = json_string_value(json_object_get(message, "status"));
    if (id == NULL || status == NULL)
        return;
    size_t i = 0;
    while (i < push->layer_count && strcmp(push->layers[i].id, id) != 0)
        i++;
    if (i == push->layer_count) {
        if (push->layer_count == MAX_LAYERS)
            return;
        snprintf(push->layers[i].id, sizeof push->layers[i].id, "%s", id);
        push->layer_count++;
    }
    json_int_t current = json_integer_value(json_object_get(detail, "current"));
    json_int_t total = json_integer_value(json_object_get(detail, "total"));
    if (total > 0) {
        push->layers[i].total = (uint64_t)total;
        push->layers[i].current = (uint64_t)current;
    }
    if ((strcmp(status, "Pushed") == 0 || strcmp(status, "Layer already exists") == 0) &&
        push->layers[i].total > 0)
        push->layers[i].current = push->layers[i].total;
    uint64_t done = 0, all = 0;
    for (size_t j = 0; j < push->layer_count; j++) {
        done += push->layers[j].current;
        all += push->layers[j].total;
    }
    if (all > 0 && done < all)
        push->host->progress("pushing", done, all, "B");
}

int docker_engine_push(const struct fahr_host *host, const struct docker_engine *engine,
                       const char *reference, const char *registry_auth_json,
                       char *digest, size_t digest_size, struct fahr_error *err)
{
    char repository[1024], tag[256], path[4096];
    split_reference(reference, repository, sizeof repository, tag, sizeof tag);
    char *escaped_tag = query_escape(tag);
    snprintf(path, sizeof path, "/images/%s/push?tag=%s", repository,
             escaped_tag ? escaped_tag : "latest");
    free(escaped_tag);

    /* X-Registry-Auth: the credentials as base64url JSON. */
    const char *json = registry_auth_json ? registry_auth_json : "{}";
    size_t length = strlen(json);
    char *header = malloc(BASE64_ENCODED_SIZE(length));
    if (header == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    size_t used = base64_encode(json, length, true, header);
    const struct fahr_http_header headers[] = {{"X-Registry-Auth", header}};

    struct push_state *push = calloc(1, sizeof *push);
    int rc = push == NULL ? fahr_error_set(err, FAHR_EFAIL, "out of memory") : FAHR_OK;
    if (rc == FAHR_OK) {
        push->host = host;
        struct engine_call call = {.host = host, .on_message = push_message, .data = push};
        rc = engine_post(engine, &call, path, headers, 1, "push", err);
    }
    OPENSSL_cleanse(header, used); /* it carries the registry password */
    free(header);
    if (rc == FAHR_OK && push->error[0])
        rc = fahr_error_set(err, FAHR_EFAIL, "push of %s failed: %s", reference, push->error);
    if (rc == FAHR_OK) {
        uint64_t all = 0;
        for (size_t j = 0; j < push->layer_count; j++)
            all += push->layers[j].total;
        if (all > 0)
            host->progress("pushing", all, all, "B");
        if (digest != NULL)
            snprintf(digest, digest_size, "%s", push->digest);
    }
    free(push);
    return rc;
}

/* ---- Plain calls ------------------------------------------------------------ */

int docker_engine_call(const struct fahr_host *host, const struct docker_engine *engine,
                       const char *method, const char *path, const char *json_body,
                       char **answer, size_t *answer_length, struct fahr_error *err)
{
    static const struct fahr_http_header json_type = {"Content-Type", "application/json"};
    struct fahr_http_request request = {.method = method, .headers = &json_type,
                                        .header_count = 1};
    if (json_body != NULL) {
        request.body = json_body;
        request.body_length = strlen(json_body);
    } else if (strcmp(method, "POST") == 0) {
        request.body = "";
    }
    struct fahr_http_response response;
    struct fahr_error sent = {{0}};
    int rc = engine_send(host, engine, &request, path, &response, &sent);
    if (rc == FAHR_EINTERRUPTED || host->interrupted()) {
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    } else if (rc != FAHR_OK && response.status > 0) {
        rc = fahr_error_set(err, FAHR_EFAIL, "the Docker engine's answer to %s %.*s: %s",
                            method, (int)strcspn(path, "?"), path, sent.message);
    } else if (rc != FAHR_OK) {
        rc = unreachable(engine, &sent, err);
    } else if (response.status < 200 || response.status >= 300) {
        char text[1024];
        engine_message(&response, text, sizeof text);
        rc = fahr_error_set(err, response.status == 404 ? FAHR_ENOTFOUND : FAHR_EFAIL,
                            "the Docker engine answered %s %s with HTTP %ld: %s", method, path,
                            response.status, text);
    }
    if (rc == FAHR_OK && answer != NULL) {
        /* A copy: the host's body goes back to the host. */
        *answer = malloc(response.body_length + 1);
        if (*answer == NULL) {
            rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
        } else {
            if (response.body_length > 0)
                memcpy(*answer, response.body, response.body_length);
            (*answer)[response.body_length] = '\0';
            if (answer_length != NULL)
                *answer_length = response.body_length;
        }
    }
    host->http_release(&response);
    return rc;
}
