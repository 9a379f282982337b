/* plugins/train-local/prune.c: `fahr prune` for local jobs. A job of this
 * user's is a folder in the jobs directory (local.c) with its job.json, and
 * a container fahr-JOB labelled with it; both go once the container has
 * exited (or is gone) and the job is older than --older-than. A container
 * that runs, and its folder, stay. So does every container without a
 * folder here (another user's, or one whose jobs_dir was set otherwise),
 * every container without fahr's label. The per-image checkpoint folders
 * are kept across runs on purpose (as SageMaker keeps them on S3): one goes
 * only once its image is gone too (see below). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "docker_prune.h"
#include "local.h"

/* A job folder with no container yet may be one `fit` is making: it is
 * left alone for this long whatever --older-than says. */
#define FOLDER_GRACE_S 60

/* nftw() takes no data pointer; the host calls a driver from one thread. */
static uint64_t tree_bytes;
static int64_t tree_newest;

static int add_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)path, (void)type, (void)ftw;
    tree_bytes += (uint64_t)st->st_blocks * 512;
    if ((int64_t)st->st_mtime > tree_newest)
        tree_newest = (int64_t)st->st_mtime;
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
    tree_newest = 0;
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

/* Prune one job; where its folder stays (also in a dry run), its image's
 * name goes into `kept_images`: its checkpoints stay too. */
static void prune_job(struct local *local, const struct fahr_prune_request *request,
                      const char *base, const char *job, json_t *containers, json_t *kept_images)
{
    char dir[8192], path[8400];
    snprintf(dir, sizeof dir, "%s/%s", base, job);
    snprintf(path, sizeof path, "%s/job.json", dir);
    json_t *record = json_load_file(path, 0, NULL);
    json_t *created_value = json_object_get(record, "created");
    int64_t created = (int64_t)json_integer_value(created_value);
    bool is_job = json_is_integer(created_value);
    json_t *image_name = json_object_get(record, "image_name");
    if (json_is_string(image_name))
        json_array_append(kept_images, image_name);
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
    if (!request->dry_run && json_is_string(image_name))
        json_array_remove(kept_images, json_array_size(kept_images) - 1);
    prune_report(request, FAHR_PRUNE_FILES, dir, bytes);
}

/* ---- Checkpoints: checkpoints/IMAGE_NAME in the driver's data directory,
 * kept across runs on purpose. One goes only once no image of its name is
 * left in the engine and no job folder left names it (so the prune that
 * removes an image leaves its checkpoints to the next one), and once
 * nothing in it changed for --older-than. */

/* Whether a name found under checkpoints/ may be part of an image name. */
static bool name_part_is_valid(const char *name)
{
    return name[0] != '\0' && name[0] != '.' &&
           strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789._-") == strlen(name);
}

/* Whether an image named `name` (or, with `below`, named `name/...`) is in
 * the engine or a kept job names it. In doubt (the engine did not answer),
 * yes. */
static bool image_name_used(struct local *local, json_t *kept_images, const char *name, bool below)
{
    size_t i, length = strlen(name);
    json_t *each;
    json_array_foreach(kept_images, i, each)
    {
        const char *kept = json_string_value(each);
        if (kept != NULL && strncmp(kept, name, length) == 0 &&
            (below ? kept[length] == '/' : kept[length] == '\0'))
            return true;
    }
    /* filters={"reference":["NAME"]}, or NAME/ and a star: any tag of it. */
    char path[1200];
    snprintf(path, sizeof path, "/images/json?filters=%%7B%%22reference%%22%%3A%%5B%%22%s%s%%22%%5D%%7D",
             name, below ? "%2F%2A" : "");
    json_t *images = NULL;
    struct fahr_error ignored;
    bool used = docker_engine_get_list(local->host, &local->engine, path, &images, &ignored) !=
                    FAHR_OK ||
                json_array_size(images) > 0;
    json_decref(images);
    return used;
}

static void prune_checkpoint(struct local *local, const struct fahr_prune_request *request,
                             const char *path)
{
    uint64_t bytes = tree_size(path);
    if (!prune_old_enough(request, tree_newest))
        return;
    if (!request->dry_run && remove_tree(path) != 0) {
        local->host->log(FAHR_LOG_WARN, "cannot remove all of %s: %s", path, strerror(errno));
        return;
    }
    prune_report(request, FAHR_PRUNE_FILES, path, bytes);
}

/* checkpoints/TOP: the folder of image TOP, or the parent of TOP/NAME's. */
static void prune_checkpoint_top(struct local *local, const struct fahr_prune_request *request,
                                 const char *base, const char *top, json_t *kept_images)
{
    char path[8400];
    snprintf(path, sizeof path, "%s/%s", base, top);
    if (image_name_used(local, kept_images, top, false))
        return;
    if (!image_name_used(local, kept_images, top, true)) {
        prune_checkpoint(local, request, path);
        return;
    }
    DIR *dir = opendir(path);
    struct dirent *entry;
    while (dir != NULL && (entry = readdir(dir)) != NULL) {
        char name[600], inner[8800];
        if (!name_part_is_valid(entry->d_name) || strlen(entry->d_name) >= 256)
            continue;
        snprintf(name, sizeof name, "%s/%s", top, entry->d_name);
        snprintf(inner, sizeof inner, "%s/%s", path, entry->d_name);
        struct stat st;
        if (lstat(inner, &st) == 0 && S_ISDIR(st.st_mode) &&
            !image_name_used(local, kept_images, name, false))
            prune_checkpoint(local, request, inner);
    }
    if (dir != NULL)
        closedir(dir);
}

static void prune_checkpoints(struct local *local, const struct fahr_prune_request *request,
                              json_t *kept_images)
{
    char data[4096], base[4200];
    struct fahr_error ignored;
    if (!FAHR_HAS(local->host, data_dir) ||
        local->host->data_dir(local->host, data, sizeof data, &ignored) != FAHR_OK)
        return;
    snprintf(base, sizeof base, "%s/checkpoints", data);
    DIR *dir = opendir(base);
    struct dirent *entry;
    while (dir != NULL && (entry = readdir(dir)) != NULL && !local->host->interrupted())
        if (name_part_is_valid(entry->d_name) && strlen(entry->d_name) < 256)
            prune_checkpoint_top(local, request, base, entry->d_name, kept_images);
    if (dir != NULL)
        closedir(dir);
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
    json_t *kept_images = json_array();
    struct dirent *entry;
    while (rc == FAHR_OK && (entry = readdir(dir)) != NULL && !local->host->interrupted())
        if (job_id_is_valid(entry->d_name))
            prune_job(local, request, base, entry->d_name, containers, kept_images);
    closedir(dir);
    if (rc == FAHR_OK && containers != NULL)
        prune_checkpoints(local, request, kept_images);
    json_decref(kept_images);
    json_decref(containers);
    if (rc == FAHR_OK && local->host->interrupted())
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    return rc;
}
