/* check.c: a request checked against Kaggle's own rules before anything is
 * pushed: the keys, the kernel's name, the hyperparameters and inputs, the
 * credential (one cheap call that Kaggle must accept), and the weekly
 * accelerator quota before a GPU or TPU kernel. */
#include "kaggle.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* Kaggle's session limits (about 12 hours on CPU and GPU, 9 on TPU). */
#define TIMEOUT_MAX_SECONDS (12 * 3600)
#define TPU_TIMEOUT_MAX_SECONDS (9 * 3600)
#define SLUG_MIN 5 /* Kaggle's shortest kernel slug and title */
#define SLUG_MAX 50

/* Kaggle's machine shapes (kernel push's machine_shape, as of Feb 2026). */
static const struct { const char *shape; int tpu; } shapes[] = {
    {"NvidiaTeslaT4", 0}, {"NvidiaTeslaP100", 0}, {"NvidiaTeslaT4Highmem", 0},
    {"NvidiaTeslaA100", 0}, {"NvidiaL4", 0}, {"NvidiaL4X1", 0}, {"NvidiaH100", 0},
    {"NvidiaRtxPro6000", 0}, {"TpuV38", 1}, {"Tpu1VmV38", 1}, {"TpuV5E8", 1},
    {"TpuV6E8", 1},
};

int kaggle_accelerator(const char *value, int *gpu, int *tpu, struct fahr_error *err)
{
    *gpu = *tpu = 0;
    if (value == NULL || strcmp(value, "none") == 0)
        return FAHR_OK;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        if (strcmp(value, shapes[i].shape) == 0) {
            *gpu = !shapes[i].tpu;
            *tpu = shapes[i].tpu;
            return FAHR_OK;
        }
    char shown[64];
    kaggle_text(value, shown, sizeof shown);
    return fahr_error_set(err, FAHR_EINVAL, "--config.accelerator=%s: Kaggle has none, "
                          "NvidiaTeslaT4, NvidiaTeslaP100, NvidiaTeslaT4Highmem, "
                          "NvidiaTeslaA100, NvidiaL4, NvidiaL4X1, NvidiaH100, NvidiaRtxPro6000, "
                          "TpuV38, Tpu1VmV38, TpuV5E8, TpuV6E8", shown);
}

/* "foo/model" -> "foo-model": lower case, runs of anything else one '-'. */
static void slug_of(const char *name, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = name; *p && n + 1 < size; p++) {
        if (isalnum((unsigned char)*p))
            out[n++] = (char)tolower((unsigned char)*p);
        else if (n > 0 && out[n - 1] != '-')
            out[n++] = '-';
    }
    while (n > 0 && out[n - 1] == '-')
        n--;
    out[n] = '\0';
}

/* --config.slug ([OWNER/]SLUG), else from --config.title, else from the
 * image name; the owner, else the credential's user. */
int kaggle_kernel_name(struct kaggle *kaggle, const struct fahr_train_request *request,
                       struct kaggle_job *kernel, char *title, size_t title_size,
                       struct fahr_error *err)
{
    const char *slug = kaggle_host->config_get(request->config, "slug");
    const char *given_title = kaggle_host->config_get(request->config, "title");
    const char *slash = slug ? strchr(slug, '/') : NULL;
    kernel->version = 0;
    if (slash != NULL) {
        snprintf(kernel->owner, sizeof kernel->owner, "%.*s", (int)(slash - slug), slug);
        slug = slash + 1;
    } else {
        int rc = kaggle_user(kaggle, request->config, err);
        if (rc != FAHR_OK)
            return rc;
        snprintf(kernel->owner, sizeof kernel->owner, "%s", kaggle->username);
    }
    if (slug != NULL)
        snprintf(kernel->slug, sizeof kernel->slug, "%s", slug);
    else
        slug_of(given_title ? given_title : request->image_name, kernel->slug,
                sizeof kernel->slug);
    /* Kaggle ties the slug to the title (lower case, spaces to dashes). */
    snprintf(title, title_size, "%s", given_title ? given_title : kernel->slug);
    size_t length = strlen(kernel->slug);
    if (!kaggle_is_slug(kernel->owner, strlen(kernel->owner)))
        return fahr_error_set(err, FAHR_EINVAL, "the Kaggle user name is not one Kaggle has");
    if (length < SLUG_MIN || length > SLUG_MAX || strchr(kernel->slug, '_') ||
        !kaggle_is_slug(kernel->slug, length))
        return fahr_error_set(err, FAHR_EINVAL, "the kernel slug '%s' is not one Kaggle takes "
                              "(%d to %d of a-z, 0-9 and '-'); set --config.slug",
                              kernel->slug, SLUG_MIN, SLUG_MAX);
    if (strlen(title) < SLUG_MIN || strlen(title) > SLUG_MAX)
        return fahr_error_set(err, FAHR_EINVAL, "--config.title must have %d to %d characters",
                              SLUG_MIN, SLUG_MAX);
    return FAHR_OK;
}

static int check_keys(const struct fahr_train_request *request, int *gpu, int *tpu,
                      struct fahr_error *err)
{
    int rc = kaggle_accelerator(kaggle_host->config_get(request->config, "accelerator"), gpu,
                                tpu, err);
    const char *timeout = kaggle_host->config_get(request->config, "timeout");
    long most = *tpu ? TPU_TIMEOUT_MAX_SECONDS : TIMEOUT_MAX_SECONDS;
    if (rc == FAHR_OK && timeout != NULL && (strtol(timeout, NULL, 10) > most ||
                                             strlen(timeout) > 9 || atol(timeout) == 0))
        rc = fahr_error_set(err, FAHR_EINVAL, "--config.timeout=%s: Kaggle runs a %s session "
                            "for 1 to %ld seconds", timeout, *tpu ? "TPU" : "CPU or GPU", most);
    for (size_t i = 0; rc == FAHR_OK && i < request->hyperparameter_count; i++) {
        json_t *value = json_string(request->hyperparameters[i].value);
        json_t *key = json_string(request->hyperparameters[i].key);
        if (value == NULL || key == NULL)
            rc = fahr_error_set(err, FAHR_EINVAL, "--hp.%s is not UTF-8 text",
                                request->hyperparameters[i].key);
        json_decref(value);
        json_decref(key);
    }
    return rc;
}

/* Each input a Kaggle source (inputs.c). */
static int check_channels(const struct fahr_train_request *request, struct fahr_error *err)
{
    for (size_t i = 0; i < request->channel_count; i++) {
        const struct fahr_channel *channel = &request->channels[i];
        struct kaggle_source source;
        if (channel->is_local)
            return fahr_error_set(err, FAHR_EINVAL, "--input %s: Kaggle cannot read files "
                                  "of this machine; publish %s as a Kaggle dataset (kaggle "
                                  "datasets create -p DIR) and give --input %s=kaggle:OWNER/"
                                  "DATASET", channel->name, channel->source, channel->name);
        if (!kaggle_source_parse(channel->source, &source))
            return fahr_error_set(err, FAHR_EINVAL, "--input %s: not a Kaggle source; Kaggle "
                                  "reads kaggle:OWNER/DATASET, kaggle-competition:NAME, "
                                  "kaggle-kernel:OWNER/KERNEL or kaggle-model:OWNER/MODEL/"
                                  "FRAMEWORK/VARIATION[/VERSION] (or kaggle://... and so on)",
                                  channel->name);
    }
    return FAHR_OK;
}

/* "5400s" (a protobuf Duration in JSON) in hours. */
static double hours_of(const json_t *quota, const char *field)
{
    const char *text = json_string_value(json_object_get(quota, field));
    double seconds = text ? strtod(text, NULL) : json_number_value(json_object_get(quota, field));
    return seconds / 3600.0;
}

/* Before a GPU or TPU push: how much of the week's quota is left, and an
 * error where none is (a kernel that would wait for next week). */
static int check_quota(struct kaggle *kaggle, const struct fahr_config *config, int tpu,
                       struct fahr_error *err)
{
    json_t *answer = NULL;
    int rc = kaggle_call(kaggle, config, "GetAcceleratorQuotaStatistics", json_object(),
                         &answer, err);
    if (rc != FAHR_OK)
        return rc;
    const char *kind = tpu ? "TPU" : "GPU";
    json_t *quota = json_object_get(answer, tpu ? "tpuQuota" : "gpuQuota");
    double total = hours_of(quota, "totalTimeAllowed");
    double left = total - hours_of(quota, "timeUsed") - hours_of(quota, "timeReserved");
    char refresh[64];
    kaggle_text(json_string_value(json_object_get(answer, "quotaRefreshTime")), refresh,
                sizeof refresh);
    if (!json_is_object(quota))
        rc = fahr_error_set(err, FAHR_EFAIL, "Kaggle did not say how much %s quota is left",
                            kind);
    else if (left <= 0.0)
        rc = fahr_error_set(err, FAHR_EFAIL, "the weekly %s quota is used up (%.1f of %.1f "
                            "hours); it refreshes at %s", kind, total - left, total,
                            refresh[0] ? refresh : "the week's end");
    else
        kaggle_host->log(FAHR_LOG_INFO, "%.1f of %.1f %s hours left this week", left, total,
                         kind);
    json_decref(answer);
    return rc;
}

int kaggle_check(void *state, const struct fahr_train_request *request, struct fahr_error *err)
{
    struct kaggle *kaggle = state;
    struct kaggle_job kernel = {.owner = ""};
    char title[256];
    int gpu, tpu;
    int rc = check_keys(request, &gpu, &tpu, err);
    if (rc == FAHR_OK)
        rc = check_channels(request, err);
    if (rc == FAHR_OK)
        rc = kaggle_kernel_name(kaggle, request, &kernel, title, sizeof title, err);
    /* One call Kaggle must accept: a missing or refused credential is one
     * line now, not after the push. */
    json_t *probe = json_pack("{s:s, s:i}", "user", kernel.owner, "pageSize", 1);
    if (rc == FAHR_OK)
        rc = kaggle_call(kaggle, request->config, "ListKernels", probe, NULL, err);
    else
        json_decref(probe);
    if (rc == FAHR_OK && (gpu || tpu))
        rc = check_quota(kaggle, request->config, tpu, err);
    return rc;
}
