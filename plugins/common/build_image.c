/* plugins/common/build_image.c: the ABI 1.1 image operations of the Docker
 * build drivers (build2, push): what was built, described, and a built
 * image pushed to a registry for a train driver (host->push_image). */
#include <jansson.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "build_driver.h"
#include "docker_engine.h"

/* Copy a whole descriptor into the caller's, which may be an older, shorter
 * one: only the members inside its size are written, its size is kept. */
void build_image_copy_out(struct fahr_image *out, const struct fahr_image *full)
{
    uint32_t size = out->size;
    size_t length = size < sizeof *full ? size : sizeof *full;
    if (length > sizeof size)
        memcpy((char *)out + sizeof size, (const char *)full + sizeof size, length - sizeof size);
    out->size = size;
}

/* The engine's own account of `reference`: its image ID and platform. */
static int inspect_image(const struct fahr_host *host, const struct docker_engine *engine,
                         const char *reference, struct fahr_image *image, struct fahr_error *err)
{
    char path[FAHR_IMAGE_REF_MAX + 32], *answer = NULL;
    snprintf(path, sizeof path, "/images/%s/json", reference);
    int rc = docker_engine_call(host, engine, "GET", path, NULL, &answer, NULL, err);
    if (rc != FAHR_OK)
        return rc;
    json_t *inspect = json_loads(answer, 0, NULL);
    free(answer);
    const char *id = json_string_value(json_object_get(inspect, "Id"));
    const char *os = json_string_value(json_object_get(inspect, "Os"));
    const char *arch = json_string_value(json_object_get(inspect, "Architecture"));
    const char *variant = json_string_value(json_object_get(inspect, "Variant"));
    if (id == NULL || os == NULL || arch == NULL) {
        json_decref(inspect);
        return fahr_error_set(err, FAHR_EFAIL,
                              "the Docker engine did not describe the image %s it built",
                              reference);
    }
    snprintf(image->digest, sizeof image->digest, "%s", id);
    if (variant != NULL && variant[0] != '\0')
        snprintf(image->platform, sizeof image->platform, "%s/%s/%s", os, arch, variant);
    else
        snprintf(image->platform, sizeof image->platform, "%s/%s", os, arch);
    json_decref(inspect);
    return FAHR_OK;
}

int build_driver_build2(void *state, const struct fahr_build_request *request,
                        struct fahr_image *image, struct fahr_error *err)
{
    struct build_driver *driver = state;
    struct fahr_image built;
    memset(&built, 0, sizeof built);
    built.size = sizeof built;
    built.gpu = driver->variant->gpu;
    int rc = build_driver_build(state, request, built.reference, sizeof built.reference, err);
    struct docker_engine engine;
    if (rc == FAHR_OK)
        rc = docker_engine_from_env(&engine, err);
    if (rc == FAHR_OK)
        rc = inspect_image(driver->host, &engine, built.reference, &built, err);
    if (rc == FAHR_OK) {
        build_record_image(driver->host, built.digest, built.reference);
        build_image_copy_out(image, &built);
    }
    return rc;
}

/* The engine's X-Registry-Auth object for `auth` (checked whole); NULL if
 * out of memory. A secret: cleanse, then free. */
static char *registry_auth_json(const struct fahr_registry_auth *auth)
{
    json_t *object = json_pack("{s:s,s:s,s:s}", "username", auth->username, "password",
                               auth->password, "serveraddress", auth->server ? auth->server : "");
    char *text = object ? json_dumps(object, JSON_COMPACT) : NULL;
    json_decref(object);
    return text;
}

int build_driver_push(void *state, const struct fahr_image *image, const char *remote_ref,
                      const struct fahr_registry_auth *auth, struct fahr_image *pushed,
                      struct fahr_error *err)
{
    struct build_driver *driver = state;
    /* A reference's own characters (registry/name:tag) and nothing that
     * could change the engine's request it goes into. */
    size_t length = strlen(remote_ref);
    if (length == 0 || length >= FAHR_IMAGE_REF_MAX ||
        strspn(remote_ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
                           "._-/:") != length || strstr(remote_ref, "..") != NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "the push's target is not an image reference (registry/name:tag)");
    if (auth != NULL && (auth->size < sizeof *auth || auth->username == NULL ||
                         auth->password == NULL))
        return fahr_error_set(err, FAHR_EINVAL, "the registry credentials lack a user or password");
    char *auth_json = auth != NULL ? registry_auth_json(auth) : NULL;
    if (auth != NULL && auth_json == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    struct fahr_image result;
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    snprintf(result.reference, sizeof result.reference, "%s", remote_ref);
    snprintf(result.platform, sizeof result.platform, "%s", image->platform);
    result.gpu = image->gpu;
    struct docker_engine engine;
    int rc = docker_engine_from_env(&engine, err);
    if (rc == FAHR_OK)
        rc = docker_engine_tag(driver->host, &engine, image->reference, remote_ref, err);
    if (rc == FAHR_OK) {
        driver->host->log(FAHR_LOG_INFO, "pushing %s", remote_ref);
        rc = docker_engine_push(driver->host, &engine, remote_ref, auth_json, result.digest,
                                sizeof result.digest, err);
    }
    if (auth_json != NULL) {
        OPENSSL_cleanse(auth_json, strlen(auth_json));
        free(auth_json);
    }
    if (rc == FAHR_OK && driver->host->interrupted())
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    if (rc == FAHR_OK)
        build_image_copy_out(pushed, &result);
    return rc;
}
