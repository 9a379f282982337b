/* plugins/train-sagemaker/logs.c: a job's log lines from CloudWatch Logs
 * (read_logs2). Each instance writes one stream, JOB/algo-N-EPOCH; the
 * streams are found by the job's prefix on every call (a host starts
 * writing later, a spot restart adds streams), read with GetLogEvents from
 * where the cursor says, and merged in time order (log_merge.c). With more
 * than one instance each line is prefixed with its host, "[algo-2] ...";
 * with one, lines are shown as the job wrote them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_merge.h"
#include "sagemaker.h"

#define LOG_GROUP "/aws/sagemaker/TrainingJobs"

/* DescribeLogStreams pages read at most per call (50 streams each). */
#define MAX_STREAM_PAGES 4

struct reading {
    struct sagemaker *sm;
    const char *job_id;
};

/* Adds the job's streams not known yet; returns with `*output` the page's
 * answer, for its nextToken. */
static int find_streams_page(struct sagemaker *sm, const char *prefix, const char *token,
                             struct log_streams *streams, bool *full, json_t **output,
                             struct fahr_error *err)
{
    json_t *input = json_pack("{s:s, s:s}", "logGroupName", LOG_GROUP, "logStreamNamePrefix",
                              prefix);
    if (token != NULL)
        json_object_set_new(input, "nextToken", json_string(token));
    int rc = aws_json_call(&sm->client, &aws_logs, "DescribeLogStreams", input, output, err);
    json_decref(input);
    if (rc != FAHR_OK)
        return rc;
    size_t i;
    json_t *stream;
    json_array_foreach(json_object_get(*output, "logStreams"), i, stream)
    {
        const char *name = json_string_value(json_object_get(stream, "logStreamName"));
        if (name == NULL || strncmp(name, prefix, strlen(prefix)) != 0)
            continue;
        if ((rc = log_streams_add(streams, name + strlen(prefix), full, err)) != FAHR_OK)
            break;
    }
    return rc;
}

static int find_streams(struct sagemaker *sm, const char *job_id, struct log_streams *streams,
                        bool *full, struct fahr_error *err)
{
    char prefix[FAHR_JOB_ID_MAX + 2];
    snprintf(prefix, sizeof prefix, "%s/", job_id);
    char *token = NULL;
    int rc = FAHR_OK;
    for (int page = 0; page < MAX_STREAM_PAGES && rc == FAHR_OK; page++) {
        json_t *output = NULL;
        rc = find_streams_page(sm, prefix, token, streams, full, &output, err);
        /* No log group yet: the job has written nothing. */
        if (rc != FAHR_OK && strcmp(sm->client.error_code, "ResourceNotFoundException") == 0)
            rc = FAHR_OK;
        const char *next = json_string_value(json_object_get(output, "nextToken"));
        bool more = rc == FAHR_OK && next != NULL && next[0] != '\0' &&
                    (token == NULL || strcmp(next, token) != 0);
        free(token);
        token = more ? strdup(next) : NULL;
        json_decref(output);
        if (token == NULL)
            break;
    }
    free(token);
    return rc;
}

static int read_page(void *data, const char *stream, const char *token, json_t **page,
                     struct fahr_error *err)
{
    const struct reading *reading = data;
    char name[FAHR_JOB_ID_MAX + FAHR_LOG_CURSOR_MAX];
    snprintf(name, sizeof name, "%s/%s", reading->job_id, stream);
    json_t *input = json_pack("{s:s, s:s, s:b}", "logGroupName", LOG_GROUP, "logStreamName",
                              name, "startFromHead", 1);
    if (token[0])
        json_object_set_new(input, "nextToken", json_string(token));
    int rc = aws_json_call(&reading->sm->client, &aws_logs, "GetLogEvents", input, page, err);
    json_decref(input);
    return rc;
}

/* The job's instance count, asked once (the cursor keeps it). */
static int count_hosts(struct sagemaker *sm, const struct fahr_config *config,
                       const char *job_id, unsigned *hosts, struct fahr_error *err)
{
    json_t *job = NULL;
    int rc = sagemaker_describe(sm, config, job_id, &job, err);
    if (rc != FAHR_OK)
        return rc;
    json_int_t count =
        json_integer_value(json_object_get(json_object_get(job, "ResourceConfig"), "InstanceCount"));
    *hosts = count > 1 ? (count > 99999 ? 99999 : (unsigned)count) : 1;
    json_decref(job);
    return FAHR_OK;
}

int sagemaker_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                         struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                         void *on_line_data, struct fahr_error *err)
{
    struct sagemaker *sm = state;
    int rc = sagemaker_check_job_name(job_id, err);
    if (rc == FAHR_OK)
        rc = sagemaker_client(sm, config, err);
    struct log_streams streams;
    if (rc == FAHR_OK)
        rc = log_streams_load(&streams, cursor, err);
    if (rc != FAHR_OK)
        return rc;
    if (streams.hosts == 0)
        rc = count_hosts(sm, config, job_id, &streams.hosts, err);
    bool full = false;
    if (rc == FAHR_OK)
        rc = find_streams(sm, job_id, &streams, &full, err);
    struct reading reading = {sm, job_id};
    if (rc == FAHR_OK)
        rc = log_streams_merge(&streams, read_page, &reading, on_line, on_line_data, err);
    if (streams.hosts > 0) {
        size_t left_out = log_streams_store(&streams, cursor);
        /* Said once, on the last call: those streams were read from their
         * head on every call. */
        if (job_over && (left_out > 0 || full))
            sm->host->log(FAHR_LOG_WARN,
                          "job %s has more log streams than fahr follows; some lines may be "
                          "missing or shown twice",
                          job_id);
    }
    log_streams_free(&streams);
    return rc;
}
