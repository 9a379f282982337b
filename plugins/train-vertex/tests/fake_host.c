/* fake_host.c: the scripted host of the unit tests (see fake_host.h). */
#define _GNU_SOURCE
#include "fake_host.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

const struct fahr_host *vertex_host = &fake_host;
void (*fake_server)(const struct fake_request *request, struct fake_answer *answer);
char fake_log[1 << 14];
int fake_placed_files;
char fake_placed_names[1 << 14];
char fake_scratch[256];
static pthread_mutex_t server_lock = PTHREAD_MUTEX_INITIALIZER;
static int failed, count;

void expect(int ok, const char *what)
{
    count++;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", count, what);
    failed |= !ok;
}

int expect_done(void)
{
    printf("1..%d\n", count);
    return failed;
}

/* The driver's own (plugin.c's) way to the credential. */
int vertex_credential(struct vertex *vertex, struct fahr_error *err)
{
    if (vertex->auth != NULL)
        return FAHR_OK;
    return vertex_auth_open(&vertex->auth, vertex->credential_project,
                            sizeof vertex->credential_project, err);
}

void fake_reset(void)
{
    fake_log[0] = '\0';
    fake_placed_files = 0;
    fake_placed_names[0] = '\0';
}

int fake_probes;

int fake_metadata_answer(const struct fake_request *request, struct fake_answer *answer)
{
    const char *project = FAKE_METADATA "computeMetadata/v1/project/project-id";
    if (strcmp(request->url, FAKE_METADATA) == 0)
        fake_probes++, strcpy(answer->body, "ok");
    else if (strcmp(request->url, project) == 0 && fake_header(request, "Metadata-Flavor"))
        strcpy(answer->body, FAKE_METADATA_PROJECT);
    else
        return 0;
    answer->status = 200;
    answer->header[0][0] = "Metadata-Flavor";
    answer->header[0][1] = "Google";
    return 1;
}

const char *fake_header(const struct fake_request *request, const char *name)
{
    for (size_t i = 0; i < request->header_count; i++)
        if (strcasecmp(request->header[i][0], name) == 0)
            return request->header[i][1];
    return NULL;
}

static void fake_log_line(enum fahr_log_level level, const char *fmt, ...)
{
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    size_t used = strlen(fake_log);
    vsnprintf(fake_log + used, sizeof fake_log - used, fmt, ap);
    va_end(ap);
    strncat(fake_log, "\n", sizeof fake_log - strlen(fake_log) - 1);
}

static int fake_interrupted(void) { return 0; }

static int fake_http_open(struct fahr_http **http, struct fahr_error *err)
{
    (void)err;
    *http = malloc(1);
    return FAHR_OK;
}

static void fake_http_close(struct fahr_http *http) { free(http); }

static char *request_body(const struct fahr_http_request *request, size_t *length)
{
    if (request->body != NULL) {
        *length = request->body_length;
        return memcpy(malloc(*length + 1), request->body, *length);
    }
    *length = 0;
    if (request->body_path == NULL)
        return NULL;
    FILE *file = fopen(request->body_path, "rb");
    char *body = malloc(request->body_path_length + 1);
    if (file && fseek(file, (long)request->body_offset, SEEK_SET) == 0)
        *length = fread(body, 1, request->body_path_length, file);
    if (file)
        fclose(file);
    return body;
}

struct held {
    struct fake_answer answer;
    struct fahr_http_header headers[4];
};

static int fake_http_send(struct fahr_http *http, const struct fahr_http_request *request,
                          struct fahr_http_response *response, struct fahr_error *err)
{
    (void)http;
    struct fake_request seen = {.method = request->method, .url = request->url,
                                .max_attempts = request->max_attempts,
                                .timeout_ms = request->timeout_ms};
    for (size_t i = 0; i < request->header_count && i < 8; i++, seen.header_count++)
        seen.header[i][0] = request->headers[i].name, seen.header[i][1] = request->headers[i].value;
    struct fahr_http_header extra[4];
    size_t added = 0;
    if (request->sign != NULL) {
        struct fahr_http_sign sign = {.size = sizeof sign, .method = request->method,
                                      .url = request->url};
        int rc = request->sign(request->sign_data, &sign, extra, 4, &added, err);
        if (rc != FAHR_OK)
            return rc;
        for (size_t i = 0; i < added; i++)
            if (strcmp(extra[i].name, "Authorization") == 0)
                seen.authorization = extra[i].value;
    }
    char *body = request_body(request, &seen.body_length);
    seen.body = body;
    struct held *held = calloc(1, sizeof *held);
    pthread_mutex_lock(&server_lock);
    fake_server(&seen, &held->answer);
    pthread_mutex_unlock(&server_lock);
    free(body);
    struct fake_answer *answer = &held->answer;
    if (answer->broken) {
        free(held);
        return fahr_error_set(err, FAHR_EFAIL, "the connection was cut");
    }
    size_t length = answer->body_length ? answer->body_length : strlen(answer->body);
    response->status = answer->status;
    response->host_private = held;
    for (size_t i = 0; i < 4 && answer->header[i][0]; i++, response->header_count++)
        held->headers[i] = (struct fahr_http_header){answer->header[i][0], answer->header[i][1]};
    response->headers = held->headers;
    if (request->on_body != NULL && answer->status / 100 == 2) {
        if (request->on_body(request->on_body_data, answer->body, length) != 0)
            return fahr_error_set(err, FAHR_EFAIL, "on_body refused");
    } else {
        response->body = answer->body;
        response->body_length = length;
    }
    return FAHR_OK;
}

static void fake_http_release(struct fahr_http_response *response)
{
    free(response->host_private);
    response->host_private = NULL;
}

struct fahr_place { int unused; };
static int fake_place_file(struct fahr_place *place, const char *path, uint32_t mode,
                           struct fahr_error *err)
{
    (void)place, (void)mode, (void)err;
    fake_placed_files++;
    strncat(fake_placed_names, path, sizeof fake_placed_names - strlen(fake_placed_names) - 2);
    strcat(fake_placed_names, "\n");
    return FAHR_OK;
}

static int fake_place_write(struct fahr_place *place, const void *data, size_t length,
                            struct fahr_error *err)
{
    (void)place, (void)data, (void)length, (void)err;
    return FAHR_OK;
}

static int fake_place_open(const char *dest_dir, int overwrite, struct fahr_place **place,
                           struct fahr_error *err)
{
    (void)dest_dir, (void)overwrite, (void)err;
    *place = calloc(1, sizeof **place);
    return FAHR_OK;
}

static int fake_place_commit(struct fahr_place *place, struct fahr_error *err)
{
    (void)err;
    free(place);
    return FAHR_OK;
}

static void fake_place_abort(struct fahr_place *place) { free(place); }

static int fake_scratch_dir(char *path, size_t size, struct fahr_error *err)
{
    (void)err;
    if (fake_scratch[0] == '\0') {
        strcpy(fake_scratch, "/tmp/vertex-units-XXXXXX");
        if (mkdtemp(fake_scratch) == NULL)
            return FAHR_EFAIL;
    }
    snprintf(path, size, "%s", fake_scratch);
    return FAHR_OK;
}

const struct fahr_host fake_host = {
    .size = sizeof fake_host,
    .log = fake_log_line,
    .interrupted = fake_interrupted,
    .http_open = fake_http_open,
    .http_send = fake_http_send,
    .http_release = fake_http_release,
    .http_close = fake_http_close,
    .place_open = fake_place_open,
    .place_file = fake_place_file,
    .place_commit = fake_place_commit,
    .place_abort = fake_place_abort,
    .place_write = fake_place_write,
    .scratch_dir = fake_scratch_dir,
};
