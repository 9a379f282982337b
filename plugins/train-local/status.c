/* plugins/train-local/status.c: a local job's state, from its container's
 * (and its folder's "stopped" marker and failure file), and stopping it. */
#define _GNU_SOURCE
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "local.h"

static int inspect(struct local *local, const char *job_id, json_t **state_out,
                   struct fahr_error *err)
{
    if (!job_id_is_valid(job_id))
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not a local job name", job_id);
    char path[512], *answer = NULL;
    snprintf(path, sizeof path, "/containers/fahr-%s/json", job_id);
    int rc = docker_engine_call(local->host, &local->engine, "GET", path, NULL, &answer, NULL, err);
    if (rc == FAHR_ENOTFOUND)
        return fahr_error_set(err, FAHR_ENOTFOUND, "no local job %s", job_id);
    if (rc != FAHR_OK)
        return rc;
    json_t *doc = json_loads(answer, 0, NULL);
    free(answer);
    *state_out = json_incref(json_object_get(doc, "State"));
    json_decref(doc);
    return *state_out ? FAHR_OK : fahr_error_set(err, FAHR_EFAIL, "the engine's answer is odd");
}

/* The container's state ("created", "running", "exited", ...) and exit
 * code. */
static int container_state(struct local *local, const char *job_id, char *status, size_t size,
                           long long *exit_code, struct fahr_error *err)
{
    json_t *container = NULL;
    int rc = inspect(local, job_id, &container, err);
    if (rc != FAHR_OK)
        return rc;
    const char *text = json_string_value(json_object_get(container, "Status"));
    snprintf(status, size, "%s", text ? text : "");
    *exit_code = (long long)json_integer_value(json_object_get(container, "ExitCode"));
    json_decref(container);
    return FAHR_OK;
}

static bool container_over(const char *status)
{
    return strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0;
}

static void read_failure(struct local *local, const struct fahr_config *config,
                         const char *job_id, char *out, size_t size)
{
    char path[8400];
    job_path(local, config, job_id, "output/failure", path, sizeof path);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return;
    size_t n = fread(out, 1, size - 1, file);
    fclose(file);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
}

/* Without a failure file, the reason is the exit status and the last line
 * the job printed. */
static void last_output_line(struct local *local, const char *job_id, long long code, char *out,
                             size_t size)
{
    char *text = NULL;
    size_t length = 0;
    struct fahr_error ignored;
    const char *line = "";
    size_t line_length = 0;
    if (container_log(local, job_id, &text, &length, &ignored) == FAHR_OK) {
        while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
            length--;
        size_t start = length;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        line = text + start;
        line_length = length - start;
    }
    if (line_length > 0)
        snprintf(out, size, "exit status %lld: %.*s", code, (int)line_length, line);
    else
        snprintf(out, size, "the container exited with status %lld", code);
    free(text);
}

int local_poll(void *state, const struct fahr_config *config, const char *job_id,
               struct fahr_job_status *status, struct fahr_error *err)
{
    struct local *local = state;
    char running[32];
    long long code;
    int rc = container_state(local, job_id, running, sizeof running, &code, err);
    if (rc != FAHR_OK)
        return rc;
    char marker[8400];
    job_path(local, config, job_id, "stopped", marker, sizeof marker);
    bool stopped = access(marker, F_OK) == 0;
    if (running[0] == '\0' || strcmp(running, "created") == 0) {
        status->state = FAHR_JOB_PENDING;
        snprintf(status->detail, sizeof status->detail, "Starting");
    } else if (!container_over(running)) {
        status->state = FAHR_JOB_RUNNING;
        snprintf(status->detail, sizeof status->detail, stopped ? "Stopping" : "Training");
    } else if (stopped) {
        status->state = FAHR_JOB_STOPPED;
        snprintf(status->detail, sizeof status->detail, "Stopped");
        snprintf(status->failure_reason, sizeof status->failure_reason, "stopped by fahr stop");
    } else if (code == 0) {
        status->state = FAHR_JOB_COMPLETED;
        snprintf(status->detail, sizeof status->detail, "Completed");
        char model[8400];
        job_path(local, config, job_id, "model", model, sizeof model);
        snprintf(status->artifact_uri, sizeof status->artifact_uri, "file://%.2030s", model);
    } else {
        status->state = FAHR_JOB_FAILED;
        snprintf(status->detail, sizeof status->detail, "Failed");
        read_failure(local, config, job_id, status->failure_reason,
                     sizeof status->failure_reason);
        if (status->failure_reason[0] == '\0')
            last_output_line(local, job_id, code, status->failure_reason,
                             sizeof status->failure_reason);
    }
    return FAHR_OK;
}

int local_stop(void *state, const struct fahr_config *config, const char *job_id,
               struct fahr_error *err)
{
    struct local *local = state;
    json_t *container = NULL;
    int rc = inspect(local, job_id, &container, err);
    if (rc != FAHR_OK)
        return rc;
    json_decref(container);
    char marker[8400], path[512];
    job_path(local, config, job_id, "stopped", marker, sizeof marker);
    int fd = create_private(marker);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "/containers/fahr-%s/stop?t=10", job_id);
    rc = docker_engine_call(local->host, &local->engine, "POST", path, NULL, NULL, NULL, err);
    return rc;
}

