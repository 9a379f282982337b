/* plugins/common/docker_engine.c: see docker_engine.h. */
#include "docker_engine.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "build_context.h"

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

struct build_call {
    const struct fahr_host *host;
    struct build_context *context;
    struct fahr_error *err;
    bool context_failed;
    char line[16384]; /* one JSON message, split across reads */
    size_t line_length;
    bool line_overflow;
    char current_step[512];
    char error[2048];
    char image_id[128];
    char body[2048]; /* the start of a non-200 answer */
    size_t body_length;
    long http_status;
    CURL *curl;
};

static size_t send_context(char *buffer, size_t size, size_t nitems, void *data)
{
    struct build_call *call = data;
    ssize_t n = build_context_read(call->context, buffer, size * nitems, call->err);
    if (n < 0) {
        call->context_failed = true;
        return CURL_READFUNC_ABORT;
    }
    return (size_t)n;
}

static void copy_trimmed(char *out, size_t size, const char *text)
{
    size_t len = strlen(text);
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r' || text[len - 1] == ' '))
        len--;
    snprintf(out, size, "%.*s", (int)len, text);
}

static void handle_message(struct build_call *call, const char *text, size_t length)
{
    json_t *message = json_loadb(text, length, 0, NULL);
    if (message == NULL)
        return;
    const char *stream = json_string_value(json_object_get(message, "stream"));
    if (stream != NULL) {
        call->host->stream(stream, strlen(stream));
        if (strncmp(stream, "Step ", 5) == 0)
            copy_trimmed(call->current_step, sizeof call->current_step, stream);
    }
    const char *status = json_string_value(json_object_get(message, "status"));
    if (status != NULL) {
        call->host->stream(status, strlen(status));
        call->host->stream("\n", 1);
    }
    json_t *detail = json_object_get(message, "errorDetail");
    const char *error = json_string_value(json_object_get(detail, "message"));
    if (error == NULL)
        error = json_string_value(json_object_get(message, "error"));
    if (error != NULL)
        copy_trimmed(call->error, sizeof call->error, error);
    const char *id = json_string_value(json_object_get(json_object_get(message, "aux"), "ID"));
    if (id != NULL)
        snprintf(call->image_id, sizeof call->image_id, "%s", id);
    json_decref(message);
}

static size_t receive_output(char *bytes, size_t size, size_t nitems, void *data)
{
    struct build_call *call = data;
    size_t length = size * nitems;
    if (call->http_status != 200) {
        size_t room = sizeof call->body - 1 - call->body_length;
        size_t n = length < room ? length : room;
        memcpy(call->body + call->body_length, bytes, n);
        call->body_length += n;
        call->body[call->body_length] = '\0';
        return length;
    }
    for (size_t i = 0; i < length; i++) {
        char c = bytes[i];
        if (c == '\n') {
            if (!call->line_overflow && call->line_length > 0)
                handle_message(call, call->line, call->line_length);
            call->line_length = 0;
            call->line_overflow = false;
        } else if (call->line_length + 1 < sizeof call->line) {
            call->line[call->line_length++] = c;
        } else {
            call->line_overflow = true; /* a huge message: skip it */
        }
    }
    return length;
}

static int watch(void *data, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                 curl_off_t ulnow)
{
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct build_call *call = data;
    if (call->host->interrupted())
        return 1;
    uint64_t total = build_context_content_bytes(call->context);
    uint64_t sent = build_context_content_sent(call->context);
    if (total > 0 && sent < total)
        call->host->progress("sending build context", sent, total, "B");
    return 0;
}

/* The status is known once headers arrive, before the body is parsed. */
static size_t receive_header(char *bytes, size_t size, size_t nitems, void *data)
{
    (void)bytes;
    struct build_call *call = data;
    curl_easy_getinfo(call->curl, CURLINFO_RESPONSE_CODE, &call->http_status);
    return size * nitems;
}

int docker_engine_build(const struct fahr_host *host, const struct docker_engine *engine,
                        const char *context_dir, const char *tag, struct fahr_error *err)
{
    struct build_call *call = calloc(1, sizeof *call);
    if (call == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    call->host = host;
    call->err = err;
    int rc = build_context_open(context_dir, &call->context, err);
    if (rc != FAHR_OK) {
        free(call);
        return rc;
    }
    CURL *curl = curl_easy_init();
    char *escaped_tag = curl ? curl_easy_escape(curl, tag, 0) : NULL;
    if (curl == NULL || escaped_tag == NULL) {
        build_context_close(call->context);
        free(call);
        if (curl)
            curl_easy_cleanup(curl);
        return fahr_error_set(err, FAHR_EFAIL, "cannot start an HTTP client");
    }
    char url[2048];
    snprintf(url, sizeof url, "%s/build?t=%s&dockerfile=Dockerfile&rm=1&forcerm=1",
             engine->base_url, escaped_tag);
    curl_free(escaped_tag);
    struct curl_slist *headers = NULL;
    headers = curl_slist_append(headers, "Content-Type: application/x-tar");
    headers = curl_slist_append(headers, "Transfer-Encoding: chunked");
    headers = curl_slist_append(headers, "Expect:");
    call->curl = curl;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    if (engine->socket_path[0])
        curl_easy_setopt(curl, CURLOPT_UNIX_SOCKET_PATH, engine->socket_path);
    curl_easy_setopt(curl, CURLOPT_POST, 1L);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(curl, CURLOPT_READFUNCTION, send_context);
    curl_easy_setopt(curl, CURLOPT_READDATA, call);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, receive_output);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, call);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, receive_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, call);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, watch);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, call);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode result = curl_easy_perform(curl);
    uint64_t total = build_context_content_bytes(call->context);
    if (total > 0 && build_context_content_sent(call->context) == total)
        host->progress("sending build context", total, total, "B");

    if (call->context_failed) {
        rc = FAHR_EFAIL; /* err already holds the context's own message */
    } else if (result == CURLE_ABORTED_BY_CALLBACK || host->interrupted()) {
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "build interrupted");
    } else if (result != CURLE_OK) {
        rc = fahr_error_set(err, FAHR_EFAIL,
                            "cannot reach the Docker engine at %s: %s (is it running? "
                            "DOCKER_HOST selects another)",
                            engine->display, curl_easy_strerror(result));
    } else if (call->http_status != 200) {
        json_t *answer = json_loads(call->body, 0, NULL);
        const char *message = json_string_value(json_object_get(answer, "message"));
        char text[1024];
        copy_trimmed(text, sizeof text, message ? message : call->body);
        rc = fahr_error_set(err, FAHR_EFAIL, "the Docker engine refused the build (HTTP %ld): %s",
                            call->http_status, text);
        json_decref(answer);
    } else if (call->error[0]) {
        if (call->current_step[0])
            rc = fahr_error_set(err, FAHR_EFAIL, "build failed at %s: %s", call->current_step,
                                call->error);
        else
            rc = fahr_error_set(err, FAHR_EFAIL, "build failed: %s", call->error);
    } else if (call->image_id[0] == '\0') {
        rc = fahr_error_set(err, FAHR_EFAIL, "the Docker engine ended the build without an image");
    } else {
        host->log(FAHR_LOG_DEBUG, "built %s (%s)", tag, call->image_id);
        rc = FAHR_OK;
    }
    curl_slist_free_all(headers);
    curl_easy_cleanup(curl);
    build_context_close(call->context);
    free(call);
    return rc;
}
