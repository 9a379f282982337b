/* plugins/common/build_prune.c: `fahr prune` for the Docker build drivers:
 * the images this driver built for this user (labelled
 * DOCKER_BUILD_LABEL=its name at build time, and recorded in the driver's
 * data directory; nothing else is looked at) that no container uses and
 * that are older than --older-than. An image also carrying a tag fahr does not
 * make (NAME:latest of `build`, REGISTRY/NAME:TAG of a push) is kept: the
 * user tagged it. Registries are never touched. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "build_driver.h"
#include "docker_prune.h"

/* The record of an image this user built: BUILT/<the ID's hex> in the
 * driver's data directory. The engine is shared by every user of the
 * machine (and the label is on every copy of fahr's images), so only the
 * images recorded here are this user's to prune. */
static bool record_path(const struct fahr_host *host, const char *id, char *path, size_t size)
{
    char dir[4096];
    struct fahr_error ignored;
    const char *hex = strncmp(id, "sha256:", 7) == 0 ? id + 7 : NULL;
    if (hex == NULL || strlen(hex) != 64 || strspn(hex, "0123456789abcdef") != 64 ||
        !FAHR_HAS(host, data_dir) || host->data_dir(host, dir, sizeof dir, &ignored) != FAHR_OK)
        return false;
    int n = snprintf(path, size, "%s/built/%s", dir, hex);
    return n > 0 && (size_t)n < size;
}

void build_record_image(const struct fahr_host *host, const char *id, const char *reference)
{
    char path[4200];
    if (!record_path(host, id, path, sizeof path))
        return;
    char *slash = strrchr(path, '/');
    *slash = '\0';
    if (mkdir(path, 0700) != 0 && errno != EEXIST)
        return;
    *slash = '/';
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0) {
        host->log(FAHR_LOG_DEBUG, "cannot record the image for prune: %s", strerror(errno));
        return;
    }
    size_t length = strlen(reference);
    if (write(fd, reference, length) != (ssize_t)length)
        host->log(FAHR_LOG_DEBUG, "cannot record the image for prune");
    close(fd);
}

static bool image_recorded(const struct fahr_host *host, const char *id)
{
    char path[4200];
    struct stat st;
    return record_path(host, id, path, sizeof path) && lstat(path, &st) == 0 &&
           S_ISREG(st.st_mode);
}

static void forget_image(const struct fahr_host *host, const char *id)
{
    char path[4200];
    if (record_path(host, id, path, sizeof path))
        unlink(path);
}

/* A tag fahr makes: NAME:latest, or one with a registry host first (a
 * '.' or ':' before the first '/'), as a push makes. */
static bool tag_is_fahrs(const char *tag)
{
    size_t length = strlen(tag);
    if (length > 7 && strcmp(tag + length - 7, ":latest") == 0)
        return true;
    size_t host = strcspn(tag, "/");
    return tag[host] == '/' && strcspn(tag, ".:") < host;
}

/* The image's tags, or NULL for an untagged one ("<none>:<none>"). */
static json_t *real_tags(json_t *image)
{
    json_t *tags = json_object_get(image, "RepoTags");
    json_t *first = json_array_get(tags, 0);
    if (first == NULL || strcmp(json_string_value(first) ? json_string_value(first) : "",
                                "<none>:<none>") == 0)
        return NULL;
    return tags;
}

/* Whether a container that stays uses the image. The train driver went
 * first and removed its job containers; in a dry run they are still here
 * and count as gone by the rule it follows. */
static bool image_in_use(json_t *containers, const char *id,
                         const struct fahr_prune_request *request)
{
    size_t i;
    json_t *container;
    json_array_foreach(containers, i, container)
    {
        const char *used = json_string_value(json_object_get(container, "ImageID"));
        if (used != NULL && strcmp(used, id) == 0 &&
            !(request->dry_run && docker_job_container_goes(container, request)))
            return true;
    }
    return false;
}

/* The space the image alone takes (its size less what it shares with other
 * images, such as its base), by the engine's disk usage report. */
static uint64_t unique_size(json_t *usage, json_t *image)
{
    const char *id = json_string_value(json_object_get(image, "Id"));
    size_t i;
    json_t *each;
    json_array_foreach(json_object_get(usage, "Images"), i, each)
    {
        const char *other = json_string_value(json_object_get(each, "Id"));
        json_int_t size = json_integer_value(json_object_get(each, "Size"));
        json_int_t shared = json_integer_value(json_object_get(each, "SharedSize"));
        if (other != NULL && id != NULL && strcmp(other, id) == 0 && size >= shared)
            return (uint64_t)(size - (shared > 0 ? shared : 0));
    }
    json_int_t size = json_integer_value(json_object_get(image, "Size"));
    return size > 0 ? (uint64_t)size : 0;
}

/* DELETE /images/REF without force: a container that came meanwhile, or a
 * tag added meanwhile, keeps the image. */
static bool delete_image(const struct build_driver *driver, const struct docker_engine *engine,
                         const char *reference)
{
    size_t length = strlen(reference);
    if (length == 0 || length >= FAHR_IMAGE_REF_MAX ||
        strspn(reference, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") !=
            length)
        return false;
    char path[FAHR_IMAGE_REF_MAX + 32];
    snprintf(path, sizeof path, "/images/%s", reference);
    struct fahr_error err = {{0}};
    if (docker_engine_call(driver->host, engine, "DELETE", path, NULL, NULL, NULL, &err) ==
        FAHR_OK)
        return true;
    driver->host->log(FAHR_LOG_WARN, "%s stays: %s", reference, err.message);
    return false;
}

/* The engine's disk usage report (slow on a big engine: asked for once,
 * and only once an image is to go), or NULL. */
static json_t *disk_usage(const struct build_driver *driver, const struct docker_engine *engine)
{
    char *answer = NULL;
    struct fahr_error ignored;
    json_t *usage = NULL;
    if (docker_engine_call(driver->host, engine, "GET", "/system/df", NULL, &answer, NULL,
                           &ignored) == FAHR_OK)
        usage = json_loads(answer, 0, NULL);
    free(answer);
    return usage;
}

static void prune_image(const struct build_driver *driver, const struct docker_engine *engine,
                        const struct fahr_prune_request *request, json_t *image,
                        json_t *containers, json_t **usage)
{
    const char *id = json_string_value(json_object_get(image, "Id"));
    json_int_t created = json_integer_value(json_object_get(image, "Created"));
    if (id == NULL || !image_recorded(driver->host, id) ||
        !prune_old_enough(request, (int64_t)created) || image_in_use(containers, id, request))
        return;
    json_t *tags = real_tags(image);
    size_t i;
    json_t *tag;
    json_array_foreach(tags, i, tag)
        if (json_string_value(tag) == NULL || !tag_is_fahrs(json_string_value(tag)))
            return;
    if (*usage == NULL)
        *usage = disk_usage(driver, engine);
    uint64_t bytes = unique_size(*usage, image);
    char shown[FAHR_IMAGE_REF_MAX];
    if (tags == NULL)
        snprintf(shown, sizeof shown, "%.19s (untagged)", id);
    else
        snprintf(shown, sizeof shown, "%s", json_string_value(json_array_get(tags, 0)));
    if (!request->dry_run) {
        /* Each tag untagged; the last takes the image with it. */
        if (tags == NULL && !delete_image(driver, engine, id))
            return;
        json_array_foreach(tags, i, tag)
            if (!delete_image(driver, engine, json_string_value(tag)))
                return;
        forget_image(driver->host, id);
    }
    prune_report(request, FAHR_PRUNE_IMAGE, shown, bytes);
}

int build_driver_prune(void *state, const struct fahr_prune_request *request,
                       struct fahr_error *err)
{
    const struct build_driver *driver = state;
    struct docker_engine engine;
    int rc = docker_engine_from_env(&engine, err);
    if (rc != FAHR_OK || docker_engine_absent(&engine))
        return rc;
    /* filters={"label":["fahr.build=NAME"]}: this driver's images alone. */
    char filter[256], path[400];
    snprintf(filter, sizeof filter, "%s=%s", DOCKER_BUILD_LABEL, driver->variant->name);
    snprintf(path, sizeof path, "/images/json?filters=%%7B%%22label%%22%%3A%%5B%%22%s%%22%%5D%%7D",
             filter);
    json_t *images = NULL, *containers = NULL, *usage = NULL;
    rc = docker_engine_get_list(driver->host, &engine, path, &images, err);
    if (rc == FAHR_OK)
        rc = docker_engine_get_list(driver->host, &engine, "/containers/json?all=1", &containers,
                                    err);
    size_t i;
    json_t *image;
    json_array_foreach(images, i, image)
    {
        if (rc != FAHR_OK || driver->host->interrupted())
            break;
        prune_image(driver, &engine, request, image, containers, &usage);
    }
    json_decref(images);
    json_decref(containers);
    json_decref(usage);
    if (rc == FAHR_OK && driver->host->interrupted())
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    return rc;
}
