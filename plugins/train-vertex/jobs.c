/* jobs.c: following a CustomJob from its name alone: its state, stopping it
 * (:cancel), and the listing of fahr's jobs (labels fahr=1 and fahr-image). */
#define _GNU_SOURCE /* strptime, timegm, asprintf */
#include "vertex.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_PAGE_SIZE 100
#define LIST_MAX 1000 /* jobs listed at most: the newest of them */

int vertex_job_open(struct vertex *vertex, const char *job_id, struct vertex_job *job,
                    struct fahr_error *err)
{
    int rc = vertex_job_parse(job_id, job, err);
    return rc == FAHR_OK ? vertex_credential(vertex, err) : rc;
}

int vertex_job_get(struct vertex *vertex, const char *job_id, json_t **answer,
                   struct fahr_error *err)
{
    struct vertex_job job;
    int rc = vertex_job_open(vertex, job_id, &job, err);
    if (rc != FAHR_OK)
        return rc;
    char path[1024];
    snprintf(path, sizeof path, "v1/%s", job_id);
    return vertex_call(vertex, VERTEX_AIPLATFORM, job.region, "GET", path, NULL, answer, err);
}

int vertex_poll(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_job_status *status, struct fahr_error *err)
{
    (void)config;
    json_t *job = NULL;
    int rc = vertex_job_get(state, job_id, &job, err);
    if (rc != FAHR_OK)
        return rc;
    const char *said = json_string_value(json_object_get(job, "state"));
    status->state = vertex_state_of(said);
    if (status->state == 0) {
        json_decref(job);
        return fahr_error_set(err, FAHR_EFAIL, "Vertex AI gave job %s an unknown state",
                              job_id);
    }
    vertex_text(said + 10, status->detail, sizeof status->detail);
    const char *message = json_string_value(
        json_object_get(json_object_get(job, "error"), "message"));
    if (message != NULL)
        vertex_text(message, status->failure_reason, sizeof status->failure_reason);
    vertex_model_uri(job, status->artifact_uri, sizeof status->artifact_uri);
    if (status->size >= offsetof(struct fahr_job_status, next_poll_ms) + sizeof(uint32_t))
        /* A job is queued and provisioned for minutes; it runs (and logs)
         * in the seconds between. */
        status->next_poll_ms = status->state == FAHR_JOB_PENDING ? 5000 : 2000;
    json_decref(job);
    return FAHR_OK;
}

int vertex_stop(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_error *err)
{
    (void)config;
    struct vertex *vertex = state;
    struct vertex_job job;
    int rc = vertex_job_open(vertex, job_id, &job, err);
    if (rc != FAHR_OK)
        return rc;
    char path[1024];
    snprintf(path, sizeof path, "v1/%s:cancel", job_id);
    return vertex_call(vertex, VERTEX_AIPLATFORM, job.region, "POST", path, json_object(), NULL,
                       err);
}

/* A job's createTime (RFC 3339, UTC) as Unix time; 0 if unreadable. */
static int64_t created_at(json_t *job)
{
    const char *text = json_string_value(json_object_get(job, "createTime"));
    struct tm tm = {0};
    if (text == NULL || strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return (int64_t)timegm(&tm);
}

static int newest_first(const void *a, const void *b)
{
    int64_t a_time = created_at(*(json_t *const *)a), b_time = created_at(*(json_t *const *)b);
    if (a_time != b_time)
        return a_time < b_time ? 1 : -1;
    const char *left = json_string_value(json_object_get(*(json_t *const *)a, "createTime"));
    const char *right = json_string_value(json_object_get(*(json_t *const *)b, "createTime"));
    return strcmp(right ? right : "", left ? left : "");
}

/* One page of the listing into `jobs`; *token gets the next page's. */
static int list_page(struct vertex *vertex, const struct vertex_settings *settings,
                     const char *filter, char *token, size_t token_size, json_t *jobs,
                     struct fahr_error *err)
{
    char path[4096], escaped_filter[512], escaped_token[1024];
    vertex_escape(filter, escaped_filter, sizeof escaped_filter);
    vertex_escape(token, escaped_token, sizeof escaped_token);
    snprintf(path, sizeof path, "v1/projects/%s/locations/%s/customJobs?filter=%s&pageSize=%d%s%s",
             settings->project, settings->region, escaped_filter, LIST_PAGE_SIZE,
             token[0] ? "&pageToken=" : "", escaped_token);
    json_t *answer = NULL, *job;
    int rc = vertex_call(vertex, VERTEX_AIPLATFORM, settings->region, "GET", path, NULL,
                         &answer, err);
    size_t i;
    json_array_foreach(json_object_get(answer, "customJobs"), i, job)
        if (json_array_size(jobs) < LIST_MAX)
            json_array_append(jobs, job);
    const char *next = json_string_value(json_object_get(answer, "nextPageToken"));
    snprintf(token, token_size, "%s", next && json_array_size(jobs) < LIST_MAX ? next : "");
    json_decref(answer);
    return rc;
}

int vertex_list(void *state, const struct fahr_config *config, const char *image_name,
                fahr_job_fn on_job, void *on_job_data, struct fahr_error *err)
{
    struct vertex *vertex = state;
    struct vertex_settings settings;
    int rc = vertex_settings_read(vertex, config, &settings, err);
    if (rc == FAHR_OK)
        rc = vertex_credential(vertex, err);
    if (rc != FAHR_OK)
        return rc;
    char filter[256], label[64], token[1024] = "";
    if (image_name != NULL) {
        vertex_label_value(image_name, label, sizeof label);
        snprintf(filter, sizeof filter, "labels.fahr=\"1\" AND labels.fahr-image=\"%s\"",
                 label);
    } else {
        snprintf(filter, sizeof filter, "labels.fahr=\"1\"");
    }
    json_t *jobs = json_array();
    do
        rc = list_page(vertex, &settings, filter, token, sizeof token, jobs, err);
    while (rc == FAHR_OK && token[0] != '\0');
    size_t count = json_array_size(jobs);
    json_t **sorted = calloc(count ? count : 1, sizeof *sorted);
    if (rc == FAHR_OK && sorted == NULL)
        rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
    for (size_t i = 0; rc == FAHR_OK && i < count; i++)
        sorted[i] = json_array_get(jobs, i);
    if (rc == FAHR_OK)
        qsort(sorted, count, sizeof *sorted, newest_first);
    for (size_t i = 0; rc == FAHR_OK && i < count; i++) {
        const char *name = json_string_value(json_object_get(sorted[i], "name"));
        const char *said = json_string_value(json_object_get(sorted[i], "state"));
        char detail[64];
        vertex_text(said && strlen(said) > 10 ? said + 10 : "", detail, sizeof detail);
        struct vertex_job parsed;
        struct fahr_error ignored;
        if (name == NULL || vertex_job_parse(name, &parsed, &ignored) != FAHR_OK)
            continue; /* not a name fahr could follow */
        struct fahr_job_summary summary = {
            .size = sizeof summary, .job_id = name, .state = vertex_state_of(said),
            .created = created_at(sorted[i]), .detail = detail,
        };
        if (summary.state == 0)
            summary.state = FAHR_JOB_PENDING;
        if (on_job(on_job_data, &summary) != 0)
            break;
    }
    free(sorted);
    json_decref(jobs);
    return rc;
}
