/* plugins/train-sagemaker/logs.c: a job's log lines from CloudWatch Logs
 * (read_logs2). Each instance writes one stream, JOB/algo-N-TIME; where
 * each was read to (GetLogEvents' nextForwardToken) lives in the host's
 * cursor, so that the driver keeps no state between calls. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagemaker.h"

#define LOG_GROUP "/aws/sagemaker/TrainingJobs"

/* One stream of the job and the token to read it on from ("" before the
 * first page). `name` lacks the job's "JOB/" prefix. */
struct stream_position {
    char *name;
    char *token;
};

struct positions {
    struct stream_position items[MAX_STREAMS];
    size_t count;
};

static void positions_free(struct positions *p)
{
    for (size_t i = 0; i < p->count; i++) {
        free(p->items[i].name);
        free(p->items[i].token);
    }
    p->count = 0;
}

static int positions_add(struct positions *p, const char *name, size_t name_length,
                         const char *token, size_t token_length)
{
    if (p->count == MAX_STREAMS)
        return FAHR_OK; /* as many as a job has instances we follow */
    char *n = strndup(name, name_length), *t = strndup(token, token_length);
    if (n == NULL || t == NULL) {
        free(n);
        free(t);
        return FAHR_EFAIL;
    }
    p->items[p->count].name = n;
    p->items[p->count++].token = t;
    return FAHR_OK;
}

/* The cursor holds one line per stream, "NAME\tTOKEN\n"; neither has a tab
 * or a newline (CloudWatch's names and tokens cannot). */
static int positions_load(struct positions *p, const struct fahr_log_cursor *cursor,
                          struct fahr_error *err)
{
    memset(p, 0, sizeof *p);
    if (cursor->size < sizeof *cursor || cursor->length > sizeof cursor->data)
        return fahr_error_set(err, FAHR_EFAIL, "the log cursor is not one of this driver's");
    const char *at = (const char *)cursor->data, *end = at + cursor->length;
    while (at < end) {
        const char *tab = memchr(at, '\t', (size_t)(end - at));
        const char *newline = tab ? memchr(tab, '\n', (size_t)(end - tab)) : NULL;
        if (newline == NULL) {
            positions_free(p);
            return fahr_error_set(err, FAHR_EFAIL, "the log cursor is not one of this driver's");
        }
        if (positions_add(p, at, (size_t)(tab - at), tab + 1, (size_t)(newline - tab - 1)) !=
            FAHR_OK) {
            positions_free(p);
            return fahr_error_set(err, FAHR_EFAIL, "out of memory");
        }
        at = newline + 1;
    }
    return FAHR_OK;
}

/* Back into the cursor. A stream whose line no longer fits is left out, so
 * it is read from its head again next time: said once, on the last call. */
static void positions_store(const struct positions *p, struct fahr_log_cursor *cursor,
                            const struct fahr_host *host, int job_over)
{
    size_t used = 0;
    for (size_t i = 0; i < p->count; i++) {
        size_t name = strlen(p->items[i].name), token = strlen(p->items[i].token);
        if (used + name + token + 2 > sizeof cursor->data) {
            if (job_over)
                host->log(FAHR_LOG_WARN, "log stream %s: no room left to track it",
                          p->items[i].name);
            continue;
        }
        memcpy(cursor->data + used, p->items[i].name, name);
        cursor->data[used + name] = '\t';
        memcpy(cursor->data + used + name + 1, p->items[i].token, token);
        cursor->data[used + name + 1 + token] = '\n';
        used += name + token + 2;
    }
    cursor->length = (uint32_t)used;
}

/* Add the job's streams that are not in `p` yet. */
static int find_streams(struct sagemaker *sm, const char *job_id, struct positions *p,
                        struct fahr_error *err)
{
    char prefix[FAHR_JOB_ID_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s/", job_id);
    json_t *input = json_pack("{s:s, s:s}", "logGroupName", LOG_GROUP, "logStreamNamePrefix",
                              prefix);
    json_t *output = NULL;
    struct fahr_error describe_err;
    int rc = aws_json_call(&sm->client, &aws_logs, "DescribeLogStreams", input, &output,
                           &describe_err);
    json_decref(input);
    if (rc != FAHR_OK) {
        /* No log group yet: the job has written nothing. */
        if (strcmp(sm->client.error_code, "ResourceNotFoundException") == 0)
            return FAHR_OK;
        *err = describe_err;
        return rc;
    }
    size_t i;
    json_t *stream;
    json_array_foreach(json_object_get(output, "logStreams"), i, stream)
    {
        const char *name = json_string_value(json_object_get(stream, "logStreamName"));
        if (name == NULL || strncmp(name, prefix, strlen(prefix)) != 0 ||
            strpbrk(name, "\t\n") != NULL)
            continue;
        name += strlen(prefix);
        size_t k = 0;
        while (k < p->count && strcmp(p->items[k].name, name) != 0)
            k++;
        if (k == p->count && positions_add(p, name, strlen(name), "", 0) != FAHR_OK) {
            rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
            break;
        }
    }
    json_decref(output);
    return rc;
}

/* Deliver one page's events; nonzero where the reader asked to stop. */
static int deliver_events(json_t *events, fahr_log_line_fn on_line, void *on_line_data)
{
    size_t i;
    json_t *event;
    json_array_foreach(events, i, event)
    {
        const char *message = json_string_value(json_object_get(event, "message"));
        if (message == NULL)
            continue;
        size_t length = strlen(message);
        while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r'))
            length--;
        if (on_line(on_line_data, message, length) != 0)
            return 1;
    }
    return 0;
}

static int read_stream(struct sagemaker *sm, const char *job_id, struct stream_position *stream,
                       fahr_log_line_fn on_line, void *on_line_data, struct fahr_error *err)
{
    char name[FAHR_JOB_ID_MAX + 1024];
    snprintf(name, sizeof name, "%s/%s", job_id, stream->name);
    for (;;) {
        json_t *input = json_pack("{s:s, s:s, s:b}", "logGroupName", LOG_GROUP, "logStreamName",
                                  name, "startFromHead", 1);
        if (stream->token[0])
            json_object_set_new(input, "nextToken", json_string(stream->token));
        json_t *output = NULL;
        int rc = aws_json_call(&sm->client, &aws_logs, "GetLogEvents", input, &output, err);
        json_decref(input);
        if (rc != FAHR_OK)
            return rc;
        json_t *events = json_object_get(output, "events");
        int stop = deliver_events(events, on_line, on_line_data);
        const char *next = json_string_value(json_object_get(output, "nextForwardToken"));
        /* The same token again means the stream is read to its end; one
         * the cursor cannot hold ends the reading too, rather than loop. */
        bool trackable = next != NULL && strpbrk(next, "\t\n") == NULL;
        bool at_end = !trackable || strcmp(next, stream->token) == 0 ||
                      json_array_size(events) == 0;
        if (trackable && !stop) {
            char *copy = strdup(next);
            if (copy == NULL)
                rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
            else {
                free(stream->token);
                stream->token = copy;
            }
        }
        json_decref(output);
        if (at_end || stop || rc != FAHR_OK)
            return rc;
    }
}

int sagemaker_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                         struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                         void *on_line_data, struct fahr_error *err)
{
    struct sagemaker *sm = state;
    int rc = sagemaker_check_job_name(job_id, err);
    if (rc == FAHR_OK)
        rc = sagemaker_client(sm, config, err);
    struct positions positions;
    if (rc == FAHR_OK)
        rc = positions_load(&positions, cursor, err);
    if (rc != FAHR_OK)
        return rc;
    rc = find_streams(sm, job_id, &positions, err);
    /* CloudWatch keeps whole lines: the last call has nothing more to add. */
    for (size_t k = 0; k < positions.count && rc == FAHR_OK; k++)
        rc = read_stream(sm, job_id, &positions.items[k], on_line, on_line_data, err);
    positions_store(&positions, cursor, sm->host, job_over);
    positions_free(&positions);
    return rc;
}
