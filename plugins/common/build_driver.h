/* plugins/common/build_driver.h: the one code path of the Docker build
 * drivers (local, local-gpu). A driver is this code plus a variant: its
 * name, base images and environment. */
#ifndef FAHR_BUILD_DRIVER_H
#define FAHR_BUILD_DRIVER_H

#include <stdbool.h>
#include <stddef.h>

#include "fahr/plugin.h"

struct build_variant {
    const char *name;               /* the driver's name, for file headers */
    const char *python_base_image;  /* default base image */
    const char *conda_base_image;   /* default when environment.yml exists */
    const char *const *environment; /* extra ENV lines, "KEY=VALUE", NULL-ended */
    int gpu;                        /* built to train on GPUs (fahr_image.gpu) */
};

/* What the Dockerfile must provide, found beside the artifact. */
struct build_inputs {
    const char *artifact_name;  /* file name, e.g. "model.py" */
    bool notebook;              /* .ipynb */
    bool requirements;          /* requirements.txt beside it */
    const char *conda_file;     /* "environment.yml"/".yaml" or NULL */
    const char *base_image;     /* chosen base image */
};

/* The config keys every build driver of this family takes. */
extern const struct fahr_config_key build_driver_config_keys[];

/* Look at the artifact's directory and the config to fill `inputs`. The
 * strings point into static storage or into `artifact_path`. */
void build_inputs_detect(const struct build_variant *variant, const char *artifact_path,
                         const char *base_image_override, struct build_inputs *inputs);

/* Appends to a fixed buffer; remembers overflow instead of failing each
 * call (the templates' writer). */
struct build_text {
    char *out;
    size_t size, used;
    bool overflow;
};
void build_text_emit(struct build_text *text, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Render the two files into `out` (NUL-terminated). Return FAHR_EFAIL if
 * `size` is too small. */
int build_render_dockerfile(const struct build_variant *variant, const struct build_inputs *inputs,
                            char *out, size_t size);
/* run_sh.c; BUILD_RUN_SH_MAX is room enough for any artifact name. */
#define BUILD_RUN_SH_MAX 32768
int build_render_run_sh(const struct build_inputs *inputs, char *out, size_t size);

/* The fahr_build_ops of the family: `state` is the struct build_driver
 * made by build_driver_open(). */
struct build_driver {
    const struct fahr_host *host;
    const struct build_variant *variant;
};
int build_driver_open(const struct fahr_host *host, const struct build_variant *variant,
                      void **state, struct fahr_error *err);
void build_driver_close(void *state);
int build_driver_init(void *state, const struct fahr_build_request *request,
                      struct fahr_error *err);
int build_driver_build(void *state, const struct fahr_build_request *request, char *image_ref,
                       size_t image_ref_size, struct fahr_error *err);
/* build_image.c: build(), then the image described from the engine's
 * account of it (GET /images/REF/json: its ID and platform). */
int build_driver_build2(void *state, const struct fahr_build_request *request,
                        struct fahr_image *image, struct fahr_error *err);
/* build_image.c: tag and push through the Docker engine (host->push_image). */
int build_driver_push(void *state, const struct fahr_image *image, const char *remote_ref,
                      const struct fahr_registry_auth *auth, struct fahr_image *pushed,
                      struct fahr_error *err);
/* build_prune.c: fahr_plugin.prune, the images this driver built that no
 * container uses. */
int build_driver_prune(void *state, const struct fahr_prune_request *request,
                       struct fahr_error *err);
/* build_prune.c: remember that this user built image `id` ("sha256:..."),
 * so that prune may remove it; a failure only costs that. */
void build_record_image(const struct fahr_host *host, const char *id, const char *reference);
/* Copy a whole descriptor into `out`, writing only the members inside
 * out->size (an older caller's shorter struct); out->size is kept. */
void build_image_copy_out(struct fahr_image *out, const struct fahr_image *full);

/* Define the plugin descriptor of one variant of the family. */
#define BUILD_DRIVER_PLUGIN(variant, driver_name, driver_description)                       \
    static int variant##_open(const struct fahr_host *host, void **state,            \
                              struct fahr_error *err)                                \
    {                                                                                \
        return build_driver_open(host, &variant, state, err);                        \
    }                                                                                \
    static const struct fahr_build_ops variant##_ops = {                             \
        FAHR_STRUCT_HEADER(struct fahr_build_ops),                                   \
        .init = build_driver_init,                                                   \
        .build = build_driver_build,                                                 \
        .build2 = build_driver_build2,                                               \
        .push = build_driver_push,                                                   \
    };                                                                               \
    FAHR_EXPORT const struct fahr_plugin fahr_plugin = {                             \
        FAHR_PLUGIN_HEADER,                                                          \
        .kind = FAHR_DRIVER_BUILD,                                                   \
        .name = driver_name,                                                         \
        .version = FAHR_DRIVER_VERSION,                                              \
        .description = driver_description,                                           \
        .config_keys = build_driver_config_keys,                                     \
        .open = variant##_open,                                                      \
        .close = build_driver_close,                                                 \
        .build = &variant##_ops,                                                     \
        .prune = build_driver_prune,                                                 \
    }

#endif
