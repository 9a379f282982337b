/* plugins/train-local: runs the image on this machine through the Docker
 * Engine API, under SageMaker's container contract, so that an image that
 * trains here trains on SageMaker unchanged: started as `IMAGE train`, with
 * /opt/ml/input/config/{hyperparameters,inputdataconfig,resourceconfig}.json,
 * each channel at /opt/ml/input/data/<channel> (read-only), the model
 * collected from /opt/ml/model, the failure reason from
 * /opt/ml/output/failure, and TRAINING_JOB_NAME set.
 *
 * Each job has a folder in $XDG_DATA_HOME/fahr/jobs/<job> (default
 * ~/.local/share/fahr/jobs) holding job.json, its config, output and model;
 * its container is named fahr-<job>.
 *
 * Here: the driver's table, its job folders and the listing; submit.c
 * starts a job, status.c polls and stops it, logs.c reads its output and
 * fetch.c brings its model back. */
#define _GNU_SOURCE
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "local.h"

static const struct fahr_config_key local_keys[] = {
    {"jobs_dir", FAHR_CONFIG_STRING, NULL,
     "where local jobs keep their files (default: $XDG_DATA_HOME/fahr/jobs)", FAHR_CONFIG_JOB},
    {NULL, 0, NULL, NULL, 0},
};

static int local_open(const struct fahr_host *host, void **state, struct fahr_error *err)
{
    struct local *local = calloc(1, sizeof *local);
    if (local == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    local->host = host;
    int rc = docker_engine_from_env(&local->engine, err);
    if (rc != FAHR_OK) {
        free(local);
        return rc;
    }
    *state = local;
    return FAHR_OK;
}

static void local_close(void *state)
{
    free(state);
}

void jobs_dir(const struct local *local, const struct fahr_config *config, char *out,
              size_t size)
{
    const char *configured = config ? local->host->config_get(config, "jobs_dir") : NULL;
    const char *xdg = getenv("XDG_DATA_HOME");
    if (configured != NULL && configured[0])
        snprintf(out, size, "%s", configured);
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(out, size, "%s/fahr/jobs", xdg);
    else
        snprintf(out, size, "%s/.local/share/fahr/jobs", getenv("HOME") ? getenv("HOME") : "");
}

void job_path(const struct local *local, const struct fahr_config *config,
              const char *job_id, const char *part, char *out, size_t size)
{
    char base[4096];
    jobs_dir(local, config, base, sizeof base);
    snprintf(out, size, "%s/%s%s%s", base, job_id, part[0] ? "/" : "", part);
}

bool job_id_is_valid(const char *job_id)
{
    if (job_id == NULL || job_id[0] == '\0' || strlen(job_id) > 63)
        return false;
    for (const char *p = job_id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return false;
    return true;
}

struct listed {
    char name[FAHR_JOB_ID_MAX];
    json_int_t created;
};

static int newest_first(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;
    return (y->created > x->created) - (y->created < x->created);
}

static int local_list(void *state, const struct fahr_config *config, const char *image_name,
                      fahr_job_fn on_job, void *on_job_data, struct fahr_error *err)
{
    struct local *local = state;
    char base[4096];
    jobs_dir(local, config, base, sizeof base);
    DIR *dir = opendir(base);
    if (dir == NULL)
        return FAHR_OK; /* no jobs yet */
    struct listed *jobs = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!job_id_is_valid(entry->d_name))
            continue;
        char path[8400];
        snprintf(path, sizeof path, "%s/%s/job.json", base, entry->d_name);
        json_t *job = json_load_file(path, 0, NULL);
        const char *name = json_string_value(json_object_get(job, "image_name"));
        if (job != NULL && (image_name == NULL || (name && strcmp(name, image_name) == 0))) {
            struct listed *grown = realloc(jobs, (count + 1) * sizeof *grown);
            if (grown != NULL) {
                jobs = grown;
                snprintf(jobs[count].name, sizeof jobs[count].name, "%s", entry->d_name);
                jobs[count].created = json_integer_value(json_object_get(job, "created"));
                count++;
            }
        }
        json_decref(job);
    }
    closedir(dir);
    if (count > 1)
        qsort(jobs, count, sizeof *jobs, newest_first);
    for (size_t i = 0; i < count; i++) {
        struct fahr_job_status status = {.size = sizeof status};
        struct fahr_error poll_err;
        /* A job whose container is gone is listed as stopped. */
        if (local_poll(state, config, jobs[i].name, &status, &poll_err) != FAHR_OK) {
            status.state = FAHR_JOB_STOPPED;
            snprintf(status.detail, sizeof status.detail, "container removed");
        }
        struct fahr_job_summary summary = {sizeof summary, jobs[i].name, status.state,
                                           (int64_t)jobs[i].created, status.detail};
        if (on_job(on_job_data, &summary) != 0)
            break;
    }
    free(jobs);
    (void)err; /* a listing of local folders does not fail */
    return FAHR_OK;
}

static const struct fahr_train_ops local_ops = {
    FAHR_STRUCT_HEADER(struct fahr_train_ops),
    .input = FAHR_TRAIN_IMAGE,
    .submit = local_submit,
    .poll = local_poll,
    .read_logs2 = local_read_logs2,
    .stop = local_stop,
    .fetch = local_fetch_model,
    .list = local_list,
    .poll_interval_ms = 300, /* the container's output, live */
    .check = local_check,
};

FAHR_EXPORT const struct fahr_plugin fahr_plugin = {
    FAHR_PLUGIN_HEADER,
    .kind = FAHR_DRIVER_TRAIN,
    .name = "local",
    .version = FAHR_DRIVER_VERSION,
    .description = "train on this machine in the local Docker engine, under SageMaker's "
                   "container contract",
    .config_keys = local_keys,
    .open = local_open,
    .close = local_close,
    .train = &local_ops,
    .prune = local_prune,
};

