/* logs.c: a job's log from Cloud Logging (entries:list, resource.type
 * "ml_job", oldest first, paged). The host's cursor holds the last entry
 * delivered, "TIMESTAMP\nINSERTID", and the next call goes on after it with
 * gcloud's own continuation, (timestamp="T" AND insertId>"I") OR
 * timestamp>"T": entries of one timestamp are ordered by insertId, so no
 * line comes twice, across pages or polls. */
#define _GNU_SOURCE /* strptime, timegm, asprintf */
#include "vertex.h"

#include <stdlib.h>
#include <string.h>

#define LOG_PAGE_SIZE 1000 /* Logging's maximum */

struct log_position {
    char timestamp[64];
    char insert_id[256];
};

/* `in` as the inside of a Logging filter's "string". */
static void filter_string(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (; *in && n + 3 < size; in++) {
        if (*in == '"' || *in == '\\')
            out[n++] = '\\';
        out[n++] = (unsigned char)*in < 0x20 ? ' ' : *in;
    }
    out[n] = '\0';
}

static void cursor_read(const struct fahr_log_cursor *cursor, struct log_position *at)
{
    memset(at, 0, sizeof *at);
    if (cursor->length == 0 || cursor->length > sizeof cursor->data)
        return;
    const char *data = (const char *)cursor->data;
    const char *newline = memchr(data, '\n', cursor->length);
    if (newline == NULL || (size_t)(newline - data) >= sizeof at->timestamp ||
        cursor->length - (size_t)(newline - data) - 1 >= sizeof at->insert_id)
        return;
    memcpy(at->timestamp, data, (size_t)(newline - data));
    memcpy(at->insert_id, newline + 1, cursor->length - (size_t)(newline - data) - 1);
}

static void cursor_write(struct fahr_log_cursor *cursor, const struct log_position *at)
{
    int n = snprintf((char *)cursor->data, sizeof cursor->data, "%s\n%s", at->timestamp,
                     at->insert_id);
    cursor->length = n > 0 && (size_t)n < sizeof cursor->data ? (uint32_t)n : 0;
}

static char *log_filter(const struct vertex_job *job, const struct log_position *at)
{
    char timestamp[160], insert_id[520], *filter = NULL;
    filter_string(at->timestamp, timestamp, sizeof timestamp);
    filter_string(at->insert_id, insert_id, sizeof insert_id);
    int n;
    if (at->timestamp[0] == '\0')
        n = asprintf(&filter, "resource.type=\"ml_job\" AND resource.labels.job_id=\"%s\"",
                     job->id);
    else
        n = asprintf(&filter,
                     "resource.type=\"ml_job\" AND resource.labels.job_id=\"%s\" AND "
                     "((timestamp=\"%s\" AND insertId>\"%s\") OR timestamp>\"%s\")",
                     job->id, timestamp, insert_id, timestamp);
    return n < 0 ? NULL : filter;
}

/* An entry's text, line by line, to on_line; nonzero if it wants no more. */
static int deliver_entry(json_t *entry, fahr_log_line_fn on_line, void *on_line_data)
{
    json_t *text = json_object_get(entry, "textPayload");
    if (!json_is_string(text))
        text = json_object_get(json_object_get(entry, "jsonPayload"), "message");
    if (!json_is_string(text))
        return 0;
    const char *line = json_string_value(text);
    size_t left = json_string_length(text);
    while (left > 0 && line[left - 1] == '\n')
        left--; /* one entry is one line as the container wrote it */
    do {
        const char *newline = memchr(line, '\n', left);
        size_t length = newline ? (size_t)(newline - line) : left;
        if (on_line(on_line_data, line, length) != 0)
            return 1;
        line += length + (newline != NULL);
        left -= length + (newline != NULL);
    } while (left > 0);
    return 0;
}

/* One page: its entries delivered, *at advanced past each. */
static int log_page(struct vertex *vertex, const struct vertex_job *job, const char *project,
                    const char *filter,
                    char *token, size_t token_size, struct log_position *at,
                    fahr_log_line_fn on_line, void *on_line_data, int *stopped,
                    struct fahr_error *err)
{
    char resource[VERTEX_NAME_MAX + 16];
    snprintf(resource, sizeof resource, "projects/%s", project);
    json_t *body = json_pack("{s:[s], s:s, s:s, s:i}", "resourceNames", resource, "filter",
                             filter, "orderBy", "timestamp asc", "pageSize", LOG_PAGE_SIZE);
    if (token[0] != '\0')
        json_object_set_new(body, "pageToken", json_string(token));
    json_t *answer = NULL, *entry;
    int rc = vertex_call(vertex, VERTEX_LOGGING, job->region, "POST", "v2/entries:list", body,
                         &answer, err);
    size_t i;
    json_array_foreach(json_object_get(answer, "entries"), i, entry) {
        const char *timestamp = json_string_value(json_object_get(entry, "timestamp"));
        const char *insert_id = json_string_value(json_object_get(entry, "insertId"));
        if (timestamp == NULL || insert_id == NULL || strlen(timestamp) >= sizeof at->timestamp ||
            strlen(insert_id) >= sizeof at->insert_id)
            continue; /* not one the continuation could go past */
        snprintf(at->timestamp, sizeof at->timestamp, "%s", timestamp);
        snprintf(at->insert_id, sizeof at->insert_id, "%s", insert_id);
        if (deliver_entry(entry, on_line, on_line_data) != 0) {
            *stopped = 1;
            break;
        }
    }
    const char *next = json_string_value(json_object_get(answer, "nextPageToken"));
    snprintf(token, token_size, "%s", next && !*stopped ? next : "");
    json_decref(answer);
    return rc;
}

int vertex_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                      void *on_line_data, struct fahr_error *err)
{
    (void)job_over; /* an entry is a whole line: every call delivers all there is */
    struct vertex *vertex = state;
    struct vertex_job job;
    int rc = vertex_job_open(vertex, job_id, &job, err);
    if (rc != FAHR_OK)
        return rc;
    struct log_position at;
    cursor_read(cursor, &at);
    char *filter = log_filter(&job, &at), token[2048] = "";
    if (filter == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    /* The project id the job was made in (the job index keeps it): the
     * job's name may hold the project's number instead. */
    const char *project = vertex_host->config_get(config, "project");
    if (project == NULL || project[0] == '\0' || strchr(project, '/') != NULL)
        project = job.project;
    int stopped = 0;
    do
        rc = log_page(vertex, &job, project, filter, token, sizeof token, &at, on_line, on_line_data,
                      &stopped, err);
    while (rc == FAHR_OK && token[0] != '\0');
    cursor_write(cursor, &at);
    free(filter);
    return rc;
}
