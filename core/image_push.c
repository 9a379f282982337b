/* core/image_push.c: host->push_image, a built image pushed to a registry
 * through the build driver that built it (its build_ops.push), so that no
 * train driver carries a container engine client. */
#include <stdio.h>
#include <string.h>

#include "fahr.h"

/* The build driver that built this command's image, and the image's
 * reference; NULL in commands that build none (the job commands). Only
 * that image is pushed: a train driver cannot have the build driver push
 * some other image of the engine's. */
static struct plugin *image_builder;
static char built_reference[FAHR_IMAGE_REF_MAX];

void image_push_route(struct plugin *build_driver, const struct fahr_image *built)
{
    image_builder = build_driver != NULL && built != NULL ? build_driver : NULL;
    snprintf(built_reference, sizeof built_reference, "%s",
             image_builder != NULL ? built->reference : "");
}

/* A versioned struct of the other side, `their_size` bytes of it, in a
 * whole zeroed one of ours: what it lacks reads as zero. */
static void take_versioned(void *ours, size_t our_size, const void *theirs, uint32_t their_size)
{
    memset(ours, 0, our_size);
    memcpy(ours, theirs, their_size < our_size ? their_size : our_size);
}

int host_push_image(const struct fahr_image *image, const char *remote_ref,
                    const struct fahr_registry_auth *auth, struct fahr_image *pushed,
                    struct fahr_error *err)
{
    struct plugin *builder = image_builder;
    if (builder == NULL)
        return fahr_error_set(err, FAHR_ENOTSUP, "no image was built in this command to push");
    if (!FAHR_HAS(&builder->build, push))
        return fahr_error_set(err, FAHR_ENOTSUP, "the %s build driver cannot push images",
                              builder->desc.name);
    if (image == NULL || image->size < offsetof(struct fahr_image, digest) ||
        remote_ref == NULL || remote_ref[0] == '\0' || pushed == NULL ||
        pushed->size < offsetof(struct fahr_image, digest))
        return fahr_error_set(err, FAHR_EINVAL,
                              "push_image needs an image, a remote reference and a result");
    /* The build driver may be newer than the caller: it gets whole structs. */
    struct fahr_image source, result;
    take_versioned(&source, sizeof source, image, image->size);
    source.size = sizeof source;
    source.reference[sizeof source.reference - 1] = '\0';
    source.digest[sizeof source.digest - 1] = '\0';
    source.platform[sizeof source.platform - 1] = '\0';
    if (strcmp(source.reference, built_reference) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "push_image pushes only the image built here, %s",
                              built_reference);
    memset(&result, 0, sizeof result);
    result.size = sizeof result;
    struct fahr_registry_auth credentials;
    if (auth != NULL) {
        take_versioned(&credentials, sizeof credentials, auth, auth->size);
        credentials.size = sizeof credentials;
    }
    int rc = builder->build.push(builder->state, &source, remote_ref,
                                 auth != NULL ? &credentials : NULL, &result, err);
    if (rc != FAHR_OK)
        return rc;
    /* Into the caller's, as long as the caller compiled it. */
    uint32_t size = pushed->size;
    memcpy((char *)pushed + sizeof size, (const char *)&result + sizeof size,
           (size < sizeof result ? size : sizeof result) - sizeof size);
    pushed->size = size;
    return FAHR_OK;
}
