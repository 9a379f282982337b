/* plugin.c: the Kaggle Kernels train driver's descriptor: its config keys
 * and operations, and its state. Kaggle runs the artifact's source itself
 * (FAHR_TRAIN_SOURCE): fahr builds no image for it. */
#include "kaggle.h"

#include <stdlib.h>
#include <string.h>

static int kaggle_open(const struct fahr_host *host, void **state, struct fahr_error *err)
{
    /* Everything this driver uses came with ABI 1.1 (a host older than the
     * plugin's minor refuses to load it anyway). */
    if (!FAHR_HAS(host, http_open) || !FAHR_HAS(host, place_file) ||
        !FAHR_HAS(host, place_commit))
        return fahr_error_set(err, FAHR_ENOTSUP, "this fahr lacks the services of ABI 1.1");
    kaggle_host = host;
    struct kaggle *kaggle = calloc(1, sizeof *kaggle);
    if (kaggle == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    int rc = host->http_open(&kaggle->http, err);
    if (rc != FAHR_OK) {
        free(kaggle);
        return rc;
    }
    kaggle->credential_source = "no credential";
    *state = kaggle;
    return FAHR_OK;
}

static void kaggle_close(void *state)
{
    struct kaggle *kaggle = state;
    if (kaggle == NULL)
        return;
    kaggle_host->http_close(kaggle->http);
    explicit_bzero(kaggle->authorization, sizeof kaggle->authorization);
    free(kaggle);
}

/* The endpoint addresses the job: the host records it in its job index, so
 * that `fahr status JOB` finds the same Kaggle (or test server) again. */
static const struct fahr_config_key2 endpoint_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "endpoint",
    .type = FAHR_CONFIG_URL,
    .default_value = "https://api.kaggle.com",
    .help = "the Kaggle API's base URL",
    .flags = FAHR_CONFIG_JOB,
    .default_env = "KAGGLE_API_ENDPOINT",
};
static const struct fahr_config_key2 accelerator_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "accelerator",
    .type = FAHR_CONFIG_STRING,
    .default_value = "none",
    .help = "none, or a Kaggle machine shape: NvidiaTeslaT4, NvidiaTeslaP100, NvidiaL4, "
            "NvidiaH100, TpuV38, TpuV5E8, ...",
};
static const struct fahr_config_key2 internet_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "internet",
    .type = FAHR_CONFIG_BOOL,
    .default_value = "false",
    .help = "give the kernel internet access (needed to install requirements.txt)",
};
static const struct fahr_config_key2 timeout_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "timeout",
    .type = FAHR_CONFIG_INT,
    .help = "the session's limit in seconds (at most 43200; 32400 on a TPU)",
};
static const struct fahr_config_key2 private_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "private",
    .type = FAHR_CONFIG_BOOL,
    .default_value = "true",
    .help = "keep the kernel private",
};
static const struct fahr_config_key2 slug_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "slug",
    .type = FAHR_CONFIG_STRING,
    .help = "the kernel's [OWNER/]SLUG (default: from the title, else the image name)",
};
static const struct fahr_config_key2 title_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "title",
    .type = FAHR_CONFIG_STRING,
    .help = "the kernel's title (default: its slug)",
};
static const struct fahr_config_key2 *const kaggle_keys[] = {
    &endpoint_key, &accelerator_key, &internet_key, &timeout_key,
    &private_key, &slug_key, &title_key, NULL,
};

static const struct fahr_train_ops kaggle_ops = {
    FAHR_STRUCT_HEADER(struct fahr_train_ops),
    .input = FAHR_TRAIN_SOURCE,
    .submit = kaggle_submit,
    .poll = kaggle_poll,
    .stop = kaggle_stop,
    .fetch = kaggle_fetch,
    .list = kaggle_list,
    .poll_interval_ms = 2000,
    .check = kaggle_check,
    .read_logs2 = kaggle_read_logs2,
};

FAHR_EXPORT const struct fahr_plugin fahr_plugin = {
    FAHR_PLUGIN_HEADER,
    .kind = FAHR_DRIVER_TRAIN,
    .name = "kaggle",
    .version = "1.0.0",
    .description = "run the script or notebook as a Kaggle kernel (Kaggle Kernels API)",
    .open = kaggle_open,
    .close = kaggle_close,
    .train = &kaggle_ops,
    .config_keys2 = kaggle_keys,
};
