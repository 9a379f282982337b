/* plugins/train-sagemaker/spot.c: managed spot training and checkpoints.
 * --config.spot asks for EnableManagedSpotTraining, with a MaxWaitTime
 * (--config.max_wait, at least max_runtime, as SageMaker requires). Every
 * job gets a CheckpointConfig: SageMaker copies its S3Uri into
 * /opt/ml/checkpoints before the script starts and the folder back while
 * and after it runs, so a job restarted after a spot interruption, or a
 * re-run of the same artifact, finds what the script saved. The default
 * location is per image, under the output path, as the local driver keeps
 * one folder per image. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagemaker.h"

/* SageMaker's default, and the contract's folder on both drivers. */
#define CHECKPOINT_LOCAL_PATH "/opt/ml/checkpoints"

static bool config_true(struct sagemaker *sm, const struct fahr_config *config, const char *key)
{
    const char *value = sm->host->config_get(config, key);
    return value != NULL && strcmp(value, "1") == 0;
}

int sagemaker_spot_check_values(struct sagemaker *sm, const struct fahr_config *config,
                                struct fahr_error *err)
{
    const char *max_wait = sm->host->config_get(config, "max_wait");
    if (max_wait == NULL)
        return FAHR_OK;
    if (!config_true(sm, config, "spot"))
        return fahr_error_set(err, FAHR_EINVAL,
                              "--config.max_wait applies to spot training only; add "
                              "--config.spot=true or drop it");
    const char *max_runtime = sm->host->config_get(config, "max_runtime");
    errno = 0;
    long long wait = strtoll(max_wait, NULL, 10);
    long long runtime = max_runtime ? strtoll(max_runtime, NULL, 10) : 0;
    if (errno == ERANGE || wait > INT_MAX)
        return fahr_error_set(err, FAHR_EINVAL, "--config.max_wait must be at most %d, not %s",
                              INT_MAX, max_wait);
    if (wait < runtime)
        return fahr_error_set(err, FAHR_EINVAL,
                              "--config.max_wait (%s s) must be at least --config.max_runtime "
                              "(%s s): it is the time to wait for spot capacity plus the time "
                              "to train",
                              max_wait, max_runtime);
    return FAHR_OK;
}

int sagemaker_checkpoint_uri(struct sagemaker *sm, const struct fahr_config *config,
                             const char *image_name, char *out, size_t size,
                             struct fahr_error *err)
{
    const char *given = sm->host->config_get(config, "checkpoint_s3_uri");
    int length;
    if (given != NULL && given[0] != '\0') {
        length = snprintf(out, size, "%s", given);
    } else {
        const char *output_path = sm->host->config_get(config, "output_path");
        size_t base = strlen(output_path);
        while (base > 0 && output_path[base - 1] == '/')
            base--;
        length = snprintf(out, size, "%.*s/checkpoints/%s", (int)base, output_path, image_name);
    }
    /* CheckpointConfig.S3Uri is at most 1024 characters. */
    if (length < 0 || (size_t)length >= size || length > 1024)
        return fahr_error_set(err, FAHR_EINVAL,
                              "the checkpoint location is longer than SageMaker's 1024 "
                              "characters; set a shorter --config.checkpoint_s3_uri");
    while (length > 5 && out[length - 1] == '/')
        out[--length] = '\0';
    return FAHR_OK;
}

int sagemaker_spot_request(struct sagemaker *sm, const struct fahr_config *config,
                           const char *image_name, json_t *input, struct fahr_error *err)
{
    char uri[FAHR_URI_MAX];
    int rc = sagemaker_checkpoint_uri(sm, config, image_name, uri, sizeof uri, err);
    if (rc != FAHR_OK)
        return rc;
    json_object_set_new(input, "CheckpointConfig",
                        json_pack("{s:s, s:s}", "S3Uri", uri, "LocalPath",
                                  CHECKPOINT_LOCAL_PATH));
    if (!config_true(sm, config, "spot"))
        return FAHR_OK;
    /* Without --config.max_wait, no time is spent waiting for capacity
     * beyond the run itself: the least SageMaker takes. */
    const char *max_wait = sm->host->config_get(config, "max_wait");
    if (max_wait == NULL)
        max_wait = sm->host->config_get(config, "max_runtime");
    json_object_set_new(input, "EnableManagedSpotTraining", json_true());
    json_object_set_new(json_object_get(input, "StoppingCondition"), "MaxWaitTimeInSeconds",
                        json_integer((json_int_t)strtoll(max_wait, NULL, 10)));
    return FAHR_OK;
}
