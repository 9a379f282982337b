/* plugins/train-local/prune.c: `fahr prune` for local jobs. A job of this
 * user's is a folder in the jobs directory (local.c) with its job.json, and
 * a container fahr-JOB labelled with it; both go once the container has
 * exited (or is gone) and the job is older than --older-than. A container
 * that runs, and its folder, stay. So does every container without a
 * folder here (another user's, or one whose jobs_dir was set otherwise),
 * every container without fahr's label, and the per-image checkpoint
 * folders (they are kept across runs on purpose, as SageMaker keeps them
 * on S3). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_prune.h"
#include "local.h"

/* A job folder with no container yet may be one `fit` is making: it is
 * left alone for this long whatever --older-than says. */
#define FOLDER_GRACE_S 60

/* nftw() takes no data pointer; the host calls a driver from one thread. */
static uint64_t tree_bytes;

static int add_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path, (void)type, (void)ftw;
    tree_bytes += (uint64_t)st->st_blocks * 512;
    return 0;
}

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path) == 0 || errno == ENOENT ? 0 : -1;
}

uint64_t tree_size(const char *path)
{
    tree_bytes = 0;
    nftw(path, add_entry, 16, FTW_PHYS | FTW_MOUNT);
    return tree_bytes;
}

int remove_tree(const char *path)
{
    return nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS | FTW_MOUNT);
}

/* The job's container in the engine's list: fahr-JOB, labelled with JOB. */
static json_t *container_of(json_t *containers, const char *job)
{
    char name[FAHR_JOB_ID_MAX + 8];
    snprintf(name, sizeof name, "/fahr-%s", job);
    size_t i, j;
    json_t *container, *each;
    json_array_foreach(containers, i, container)
    {
        const char *label = json_string_value(
            json_object_get(json_object_get(container, "Labels"), DOCKER_JOB_LABEL));
        if (label == NULL || strcmp(label, job) != 0)
            continue;
        json_array_foreach(json_object_get(container, "Names"), j, each)
        {
            const char *text = json_string_value(each);
            if (text != NULL && strcmp(text, name) == 0)
                return container;
        }
    }
    return NULL;
}

/* Remove (or, dry, report) the container; false where it stays. */
static bool prune_container(struct local *local, const struct fahr_prune_request *request,
                            const char *job, json_t *container)
{
    const char *id = json_string_value(json_object_get(container, "Id"));
    if (id == NULL || strspn(id, "0123456789abcdef") != strlen(id))
        return false;
    char name[FAHR_JOB_ID_MAX + 8], path[200];
    snprintf(name, sizeof name, "fahr-%s", job);
    if (!request->dry_run) {
        /* Without force: a container started again meanwhile stays. */
        snprintf(path, sizeof path, "/containers/%.128s", id);
        struct fahr_error err = {{0}};
        if (docker_engine_call(local->host, &local->engine, "DELETE", path, NULL, NULL, NULL,
                               &err) != FAHR_OK) {
            local->host->log(FAHR_LOG_WARN, "%s stays: %s", name, err.message);
            return false;
        }
    }
    json_int_t size = json_integer_value(json_object_get(container, "SizeRw"));
    prune_report(request, FAHR_PRUNE_CONTAINER, name, size > 0 ? (uint64_t)size : 0);
    return true;
}

static void prune_job(struct local *local, const struct fahr_prune_request *request,
                      const char *base, const char *job, json_t *containers)
{
    char dir[8192], path[8400];
    snprintf(dir, sizeof dir, "%s/%s", base, job);
    snprintf(path, sizeof path, "%s/job.json", dir);
    json_t *record = json_load_file(path, 0, NULL);
    json_t *created_value = json_object_get(record, "created");
    int64_t created = (int64_t)json_integer_value(created_value);
    bool is_job = json_is_integer(created_value);
    json_decref(record);
    if (!is_job)
        return; /* not a job's folder, or one half made: not ours to judge */
    json_t *container = container_of(containers, job);
    if (container != NULL) {
        if (!docker_job_container_goes(container, request) ||
            !prune_container(local, request, job, container))
            return;
    } else if (!prune_old_enough(request, created) || created > request->now - FOLDER_GRACE_S) {
        return;
    }
    uint64_t bytes = tree_size(dir);
    if (!request->dry_run && remove_tree(dir) != 0) {
        local->host->log(FAHR_LOG_WARN, "cannot remove all of %s: %s", dir, strerror(errno));
        return;
    }
    prune_report(request, FAHR_PRUNE_FILES, dir, bytes);
}

int local_prune(void *state, const struct fahr_prune_request *request, struct fahr_error *err)
{
    struct local *local = state;
    char base[4096];
    jobs_dir(local, NULL, base, sizeof base);
    DIR *dir = opendir(base);
    if (dir == NULL)
        return FAHR_OK; /* no local job ever ran */
    json_t *containers = NULL;
    int rc = FAHR_OK;
    if (!docker_engine_absent(&local->engine))
        rc = docker_engine_get_list(local->host, &local->engine,
                                    "/containers/json?all=1&size=1&filters=%7B%22label%22%3A%5B%22"
                                    DOCKER_JOB_LABEL "%22%5D%7D",
                                    &containers, err);
    struct dirent *entry;
    while (rc == FAHR_OK && (entry = readdir(dir)) != NULL && !local->host->interrupted())
        if (job_id_is_valid(entry->d_name))
            prune_job(local, request, base, entry->d_name, containers);
    closedir(dir);
    json_decref(containers);
    if (rc == FAHR_OK && local->host->interrupted())
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    return rc;
}
