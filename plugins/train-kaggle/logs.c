/* logs.c: a session's log. While the session runs, Kaggle streams it
 * (GetKernelSessionLogsStream: server-sent events "data: {entry}", then
 * "data: END_OF_LOG"); once it has ended, the stored log comes with the
 * session's output (ListKernelSessionOutput's "log"). Either way the log is
 * a list of entries {stream_name, time, data}, and its text the entries'
 * data one after another.
 *
 * The host's cursor holds how many bytes of that text were delivered (as
 * decimal text): Kaggle gives the log from its start each time, so an
 * offset is all it takes to go on, in this process or another. A line is
 * delivered once its newline has come, or on the last call (job_over). */
#include "kaggle.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define STREAM_WINDOW_MS 3000 /* how long one call follows the stream */

struct log_reader {
    const struct fahr_http_response *response; /* the stream's, while it runs */
    char *text;          /* the log's text so far */
    size_t length, capacity;
    char *raw;           /* the answer's bytes not yet taken apart */
    size_t raw_length, raw_capacity;
    size_t done;         /* bytes of text delivered: the cursor */
    int json;            /* the answer is the stored log, not a stream */
    int stopped;         /* the reader wants no more */
    int too_large;
    fahr_log_line_fn on_line;
    void *on_line_data;
};

static int append(char **buffer, size_t *length, size_t *capacity, const void *data, size_t n)
{
    if (*length + n + 1 > KAGGLE_LOG_MAX)
        return -1;
    if (*length + n + 1 > *capacity) {
        size_t grown = (*length + n + 1) * 2;
        char *bigger = realloc(*buffer, grown);
        if (bigger == NULL)
            return -1;
        *buffer = bigger;
        *capacity = grown;
    }
    memcpy(*buffer + *length, data, n);
    *length += n;
    (*buffer)[*length] = '\0';
    return 0;
}

/* The complete lines after `done` (with `last`, the rest too) to on_line. */
static void deliver(struct log_reader *reader, int last)
{
    while (!reader->stopped && reader->done < reader->length) {
        const char *line = reader->text + reader->done;
        const char *newline = memchr(line, '\n', reader->length - reader->done);
        if (newline == NULL && !last)
            break;
        size_t length = newline ? (size_t)(newline - line) : reader->length - reader->done;
        reader->done += length + (newline != NULL);
        if (reader->on_line(reader->on_line_data, line, length) != 0)
            reader->stopped = 1;
    }
}

/* The stored log, [{stream_name, time, data}] (or plain text), as text. */
static int take_stored_log(struct log_reader *reader, const char *log, size_t length)
{
    json_t *entries = json_loadb(log, length, 0, NULL), *entry;
    size_t i;
    reader->length = 0;
    if (!json_is_array(entries))
        return json_decref(entries),
               append(&reader->text, &reader->length, &reader->capacity, log, length);
    json_array_foreach(entries, i, entry) {
        json_t *data = json_object_get(entry, "data");
        if (json_is_string(data) && append(&reader->text, &reader->length, &reader->capacity,
                                           json_string_value(data), json_string_length(data)))
            return json_decref(entries), -1;
    }
    json_decref(entries);
    return 0;
}

/* One line of the stream: "data: {entry}" adds the entry's data. */
static void stream_line(struct log_reader *reader, const char *line, size_t length)
{
    if (length < 5 || memcmp(line, "data:", 5) != 0)
        return; /* comments, event names, the blank line between events */
    size_t skip = 5 + (length > 5 && line[5] == ' ');
    line += skip;
    length -= skip;
    json_t *entry = json_loadb(line, length, 0, NULL); /* END_OF_LOG is not JSON */
    json_t *data = json_object_get(entry, "data");
    if (json_is_string(data) && append(&reader->text, &reader->length, &reader->capacity,
                                       json_string_value(data), json_string_length(data)))
        reader->too_large = 1;
    json_decref(entry);
}

static int on_stream_bytes(void *data, const void *chunk, size_t length)
{
    struct log_reader *reader = data;
    if (reader->raw_length == 0 && reader->length == 0) {
        const char *type = NULL;
        for (size_t i = 0; i < reader->response->header_count; i++)
            if (strcasecmp(reader->response->headers[i].name, "Content-Type") == 0)
                type = reader->response->headers[i].value;
        reader->json = type == NULL || strstr(type, "event-stream") == NULL;
    }
    if (append(&reader->raw, &reader->raw_length, &reader->raw_capacity, chunk, length) != 0)
        reader->too_large = 1;
    char *newline;
    while (!reader->json && !reader->too_large &&
           (newline = memchr(reader->raw, '\n', reader->raw_length)) != NULL) {
        size_t line = (size_t)(newline - reader->raw);
        stream_line(reader, reader->raw, line > 0 && newline[-1] == '\r' ? line - 1 : line);
        reader->raw_length -= line + 1;
        memmove(reader->raw, newline + 1, reader->raw_length + 1);
    }
    if (!reader->json)
        deliver(reader, 0); /* live, as the lines come */
    return reader->stopped || reader->too_large;
}

/* A retried stream starts from the log's start again: what was delivered
 * stays delivered (`done`). */
static void on_stream_restart(void *data)
{
    struct log_reader *reader = data;
    reader->length = reader->raw_length = 0;
}

/* The stored log, from the first page of the session's output. */
static int stored_log(struct kaggle *kaggle, const struct fahr_config *config,
                      const struct kaggle_job *job, struct log_reader *reader,
                      struct fahr_error *err)
{
    json_t *answer = NULL, *body = kaggle_version_request(job);
    json_object_set_new(body, "pageSize", json_integer(1));
    int rc = kaggle_call(kaggle, config, "ListKernelSessionOutput", body, &answer, err);
    json_t *log = json_object_get(answer, "log");
    if (rc == FAHR_OK &&
        take_stored_log(reader, json_string_value(log) ? json_string_value(log) : "",
                        json_string_length(log)) != 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "the log of %s/%s is over 64 MiB", job->owner,
                            job->slug);
    json_decref(answer);
    return rc;
}

/* Follow the stream for a while (STREAM_WINDOW_MS): lines go out as they
 * come; the window's end is not an error. Where the stream cannot be had
 * (a 429 or 5xx, which a stream is not retried on), the stored log. */
static int stream_log(struct kaggle *kaggle, const struct fahr_config *config,
                      const struct kaggle_job *job, struct log_reader *reader,
                      struct fahr_error *err)
{
    struct fahr_http_request request = {
        .on_body = on_stream_bytes,
        .on_restart = on_stream_restart,
        .on_body_data = reader,
        .timeout_ms = STREAM_WINDOW_MS,
        .max_attempts = 1, /* a window cut short is retried by the next call */
    };
    struct fahr_http_response response = {.size = sizeof response};
    reader->response = &response;
    int rc = kaggle_post(kaggle, config, "GetKernelSessionLogsStream",
                         kaggle_version_request(job), &request, &response, err);
    long status = response.status;
    if (rc == FAHR_EINTERRUPTED || reader->stopped) {
        /* as it is */
    } else if (reader->too_large) {
        rc = fahr_error_set(err, FAHR_EFAIL, "the log of %s/%s is over 64 MiB", job->owner,
                            job->slug);
    } else if (status >= 200 && status < 300 && (rc == FAHR_OK || rc == FAHR_EFAIL)) {
        rc = FAHR_OK; /* ended, or the window's end */
        if (reader->json && take_stored_log(reader, reader->raw, reader->raw_length) != 0)
            rc = fahr_error_set(err, FAHR_EFAIL, "the log is over 64 MiB");
    } else if (status == 429 || status >= 500 || rc != FAHR_OK) {
        rc = stored_log(kaggle, config, job, reader, err);
    } else {
        rc = kaggle_read_answer(kaggle, "GetKernelSessionLogsStream", &response, NULL, err);
    }
    kaggle_host->http_release(&response);
    reader->response = NULL;
    return rc;
}

int kaggle_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                      void *on_line_data, struct fahr_error *err)
{
    struct kaggle_job job;
    struct log_reader reader = {.on_line = on_line, .on_line_data = on_line_data};
    char offset[32] = "0";
    if (cursor->length > 0 && cursor->length < sizeof offset) {
        memcpy(offset, cursor->data, cursor->length);
        offset[cursor->length] = '\0';
    }
    reader.done = strtoull(offset, NULL, 10);
    int rc = kaggle_job_parse(job_id, &job, err);
    if (rc == FAHR_OK && job_over)
        rc = stored_log(state, config, &job, &reader, err);
    else if (rc == FAHR_OK)
        rc = stream_log(state, config, &job, &reader, err);
    if (rc == FAHR_OK)
        deliver(&reader, job_over);
    cursor->length =
        (uint32_t)snprintf((char *)cursor->data, sizeof cursor->data, "%zu", reader.done);
    free(reader.text);
    free(reader.raw);
    return rc;
}
