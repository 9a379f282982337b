/* plugins/train-sagemaker: runs the image as an Amazon SageMaker training
 * job. The image is pushed to the account's ECR repository (or to
 * --config.registry), the role name is turned into its ARN with IAM, the job
 * is created and followed with SageMaker's API, its log lines come from
 * CloudWatch Logs (logs.c), and its model.tar.gz from S3. fit checks the
 * request first (check.c); listings by image are exact (jobs_list.c). */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "job_name.h"
#include "model_fetch.h"
#include "s3_upload.h"
#include "sagemaker.h"

static const struct fahr_config_key sagemaker_keys[] = {
    {"output_path", FAHR_CONFIG_S3_URI, NULL, "where SageMaker writes the model (s3://bucket/prefix)",
     FAHR_CONFIG_REQUIRED},
    {"role_name", FAHR_CONFIG_STRING, NULL, "the IAM role the job runs as (a name or an ARN)",
     FAHR_CONFIG_REQUIRED},
    {"train_instance_count", FAHR_CONFIG_INT, "1", "how many instances train", 0},
    {"train_instance_type", FAHR_CONFIG_STRING, "ml.c4.2xlarge", "the instance type", 0},
    {"volume_size", FAHR_CONFIG_INT, "30", "each instance's storage, in GB", 0},
    {"max_runtime", FAHR_CONFIG_INT, "86400", "seconds before SageMaker stops the job", 0},
    {"spot", FAHR_CONFIG_BOOL, "false", "managed spot training: spare capacity, interruptible",
     0},
    {"max_wait", FAHR_CONFIG_INT, NULL,
     "spot: seconds to wait for capacity plus train, at least max_runtime (default: max_runtime)",
     0},
    {"checkpoint_s3_uri", FAHR_CONFIG_S3_URI, NULL,
     "where /opt/ml/checkpoints is kept (default: OUTPUT_PATH/checkpoints/IMAGE_NAME)", 0},
    /* The region addresses a job: the job index keeps it for later commands. */
    {"region", FAHR_CONFIG_STRING, NULL, "the AWS region (default: AWS_REGION, the profile's)",
     FAHR_CONFIG_JOB},
    {"job_name", FAHR_CONFIG_STRING, NULL, "the training job's name (default: from the image name)",
     0},
    {"registry", FAHR_CONFIG_STRING, NULL,
     "push to this registry (HOST[:PORT][/PATH]) instead of the account's ECR; ECR's "
     "credentials go only to ECR's own registry", 0},
    {"download_concurrency", FAHR_CONFIG_INT, "0",
     "fetch: ranged GETs at once for a large model (0: 4, or 1 for an S3 endpoint on this "
     "machine, which one stream serves faster)",
     0},
    {"download_part_mb", FAHR_CONFIG_INT, "3",
     "fetch: the size of each ranged GET, in MiB (memory: concurrency x this)", 0},
    {NULL, 0, NULL, NULL, 0},
};

static int sagemaker_open(const struct fahr_host *host, void **state, struct fahr_error *err)
{
    struct sagemaker *sm = calloc(1, sizeof *sm);
    if (sm == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    sm->host = host;
    *state = sm;
    return FAHR_OK;
}

static void sagemaker_close(void *state)
{
    struct sagemaker *sm = state;
    if (sm->client_open)
        aws_client_close(&sm->client);
    free(sm);
}

int sagemaker_client(struct sagemaker *sm, const struct fahr_config *config,
                     struct fahr_error *err)
{
    if (sm->client_open)
        return FAHR_OK;
    int rc = aws_client_open(&sm->client, sm->host, sm->host->config_get(config, "region"), err);
    if (rc == FAHR_OK)
        sm->client_open = true;
    return rc;
}

int sagemaker_check_job_name(const char *name, struct fahr_error *err)
{
    char shown[300];
    if (job_name_is_valid(name))
        return FAHR_OK;
    return fahr_error_set(err, FAHR_EINVAL,
                          "'%s' is not a SageMaker training job name (letters, digits and '-', "
                          "at most 63, beginning and ending with a letter or digit)",
                          aws_printable(name, shown, sizeof shown));
}

/* ---- submit, poll, stop ---------------------------------------------------- */

static json_int_t config_int(struct sagemaker *sm, const struct fahr_config *config,
                             const char *key)
{
    const char *value = sm->host->config_get(config, key);
    return value ? (json_int_t)strtoll(value, NULL, 10) : 0;
}

/* The job's InputDataConfig: a channel per --input, local sources uploaded
 * to S3 first, beside the outputs, under a prefix named by their content. */
static int add_channels(struct sagemaker *sm, const struct fahr_train_request *request,
                        const char *output_path, json_t *input, struct fahr_error *err)
{
    json_t *channels = json_array();
    json_object_set_new(input, "InputDataConfig", channels);
    for (size_t i = 0; i < request->channel_count; i++) {
        const struct fahr_channel *channel = &request->channels[i];
        char uri[FAHR_URI_MAX];
        if (channel->is_local) {
            char base[FAHR_URI_MAX];
            snprintf(base, sizeof base, "%s/fahr-inputs/%s", output_path, channel->name);
            sm->host->log(FAHR_LOG_INFO, "uploading %s", channel->source);
            int rc = s3_upload_path(&sm->client, channel->source, base, uri, sizeof uri, err);
            if (rc != FAHR_OK)
                return rc;
        } else {
            snprintf(uri, sizeof uri, "%s", channel->source);
        }
        json_array_append_new(
            channels, json_pack("{s:s, s:{s:{s:s, s:s, s:s}}}", "ChannelName", channel->name,
                                "DataSource", "S3DataSource", "S3DataType", "S3Prefix", "S3Uri",
                                uri, "S3DataDistributionType", "FullyReplicated"));
    }
    return FAHR_OK;
}

static int sagemaker_submit(void *state, const struct fahr_train_request *request,
                            const char *image, char *job_id, size_t job_id_size,
                            struct fahr_error *err)
{
    struct sagemaker *sm = state;
    const struct fahr_config *config = request->config;
    /* Also here for a host that does not call check(). */
    int rc = sagemaker_check_values(sm, config, err);
    if (rc == FAHR_OK)
        rc = sagemaker_client(sm, config, err);
    if (rc != FAHR_OK)
        return rc;
    const char *output_path = sm->host->config_get(config, "output_path");
    char arn[512];
    rc = sagemaker_role_arn(sm, sm->host->config_get(config, "role_name"), arn, sizeof arn, err);
    if (rc != FAHR_OK)
        return rc;

    char name[FAHR_JOB_ID_MAX];
    const char *given = sm->host->config_get(config, "job_name");
    if (given != NULL && given[0] != '\0') {
        snprintf(name, sizeof name, "%s", given);
    } else {
        rc = sm->host->job_name(request->image_name, 63, name, sizeof name, err);
        if (rc != FAHR_OK)
            return rc;
    }

    json_t *input = json_pack(
        "{s:s, s:{s:s, s:s}, s:s, s:{s:s}, s:{s:s, s:I, s:I}, s:{s:I}}", "TrainingJobName", name,
        "AlgorithmSpecification", "TrainingImage", image, "TrainingInputMode", "File", "RoleArn",
        arn, "OutputDataConfig", "S3OutputPath", output_path, "ResourceConfig", "InstanceType",
        sm->host->config_get(config, "train_instance_type"), "InstanceCount",
        config_int(sm, config, "train_instance_count"), "VolumeSizeInGB",
        config_int(sm, config, "volume_size"), "StoppingCondition", "MaxRuntimeInSeconds",
        config_int(sm, config, "max_runtime"));
    if (input == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot encode the training job");
    /* Whose job this is, for listings by image (jobs_list.c); SageMaker
     * takes tag values of up to 256 characters. */
    if (strlen(request->image_name) <= 256)
        json_object_set_new(input, "Tags",
                            json_pack("[{s:s, s:s}]", "Key", IMAGE_TAG_KEY, "Value",
                                      request->image_name));
    if (request->hyperparameter_count > 0) {
        json_t *hyperparameters = json_object();
        for (size_t i = 0; i < request->hyperparameter_count; i++)
            json_object_set_new(hyperparameters, request->hyperparameters[i].key,
                                json_string(request->hyperparameters[i].value));
        json_object_set_new(input, "HyperParameters", hyperparameters);
    }
    if ((rc = sagemaker_spot_request(sm, config, request->image_name, input, err)) != FAHR_OK ||
        (request->channel_count > 0 &&
         (rc = add_channels(sm, request, output_path, input, err)) != FAHR_OK)) {
        json_decref(input);
        return rc;
    }
    json_t *output = NULL;
    rc = aws_json_call(&sm->client, &aws_sagemaker, "CreateTrainingJob", input, &output, err);
    json_decref(input);
    json_decref(output);
    if (rc != FAHR_OK)
        return rc;
    snprintf(job_id, job_id_size, "%s", name);
    sm->host->log(FAHR_LOG_INFO, "created training job %s (%s x%s, role %s)", name,
                  sm->host->config_get(config, "train_instance_type"),
                  sm->host->config_get(config, "train_instance_count"), arn);
    sagemaker_log_urls(sm, name);
    return FAHR_OK;
}

enum fahr_job_state sagemaker_state_of(const char *status)
{
    if (status == NULL)
        return FAHR_JOB_PENDING;
    if (strcmp(status, "Completed") == 0)
        return FAHR_JOB_COMPLETED;
    if (strcmp(status, "Failed") == 0)
        return FAHR_JOB_FAILED;
    if (strcmp(status, "Stopped") == 0)
        return FAHR_JOB_STOPPED;
    return FAHR_JOB_RUNNING; /* InProgress, Stopping */
}

int sagemaker_describe(struct sagemaker *sm, const struct fahr_config *config,
                       const char *job_id, json_t **output, struct fahr_error *err)
{
    int rc = sagemaker_check_job_name(job_id, err);
    if (rc == FAHR_OK)
        rc = sagemaker_client(sm, config, err);
    if (rc != FAHR_OK)
        return rc;
    json_t *input = json_pack("{s:s}", "TrainingJobName", job_id);
    rc = aws_json_call(&sm->client, &aws_sagemaker, "DescribeTrainingJob", input, output, err);
    json_decref(input);
    return rc;
}

static int sagemaker_poll(void *state, const struct fahr_config *config, const char *job_id,
                          struct fahr_job_status *status, struct fahr_error *err)
{
    struct sagemaker *sm = state;
    json_t *job = NULL;
    int rc = sagemaker_describe(sm, config, job_id, &job, err);
    if (rc != FAHR_OK)
        return rc;
    const char *job_status = json_string_value(json_object_get(job, "TrainingJobStatus"));
    status->state = sagemaker_state_of(job_status);
    sagemaker_status_detail(job, status->detail, sizeof status->detail);
    if (status->state != FAHR_JOB_PENDING && status->state != FAHR_JOB_RUNNING)
        sagemaker_cost_detail(sm, job, status->detail, sizeof status->detail);
    const char *reason = json_string_value(json_object_get(job, "FailureReason"));
    snprintf(status->failure_reason, sizeof status->failure_reason, "%s", reason ? reason : "");
    const char *artifact = json_string_value(
        json_object_get(json_object_get(job, "ModelArtifacts"), "S3ModelArtifacts"));
    snprintf(status->artifact_uri, sizeof status->artifact_uri, "%s", artifact ? artifact : "");
    json_decref(job);
    return FAHR_OK;
}

static int sagemaker_stop(void *state, const struct fahr_config *config, const char *job_id,
                          struct fahr_error *err)
{
    struct sagemaker *sm = state;
    int rc = sagemaker_check_job_name(job_id, err);
    if (rc == FAHR_OK)
        rc = sagemaker_client(sm, config, err);
    if (rc != FAHR_OK)
        return rc;
    json_t *input = json_pack("{s:s}", "TrainingJobName", job_id);
    rc = aws_json_call(&sm->client, &aws_sagemaker, "StopTrainingJob", input, NULL, err);
    json_decref(input);
    return rc;
}

/* ---- fetch ------------------------------------------------------------------ */

static int sagemaker_fetch(void *state, const struct fahr_fetch_request *request,
                           struct fahr_error *err)
{
    struct sagemaker *sm = state;
    int rc = sagemaker_client(sm, request->config, err);
    if (rc != FAHR_OK)
        return rc;
    char uri[FAHR_URI_MAX] = "";
    if (request->artifact_uri != NULL && request->artifact_uri[0]) {
        snprintf(uri, sizeof uri, "%s", request->artifact_uri);
    } else {
        json_t *job = NULL;
        if ((rc = sagemaker_describe(sm, request->config, request->job_id, &job, err)) != FAHR_OK)
            return rc;
        const char *status = json_string_value(json_object_get(job, "TrainingJobStatus"));
        const char *artifact = json_string_value(
            json_object_get(json_object_get(job, "ModelArtifacts"), "S3ModelArtifacts"));
        if (status == NULL || strcmp(status, "Completed") != 0)
            rc = fahr_error_set(err, FAHR_ENOTFOUND, "job %s is %s, not Completed: no model",
                                request->job_id, status ? status : "in an unknown state");
        else if (artifact == NULL)
            rc = fahr_error_set(err, FAHR_ENOTFOUND, "job %s names no model artifact",
                                request->job_id);
        else
            snprintf(uri, sizeof uri, "%s", artifact);
        json_decref(job);
        if (rc != FAHR_OK)
            return rc;
    }
    sm->host->log(FAHR_LOG_INFO, "fetching %s", uri);
    struct s3_download_options options = {
        (unsigned)config_int(sm, request->config, "download_concurrency"),
        (uint64_t)config_int(sm, request->config, "download_part_mb") * 1024 * 1024,
    };
    if (options.concurrency == 0) {
        /* Measured (tests/perf/fetch_bench.sh): an emulator on this machine
         * serves one stream faster than four; S3 serves each connection at
         * about 100 MB/s, so there several pay. */
        char endpoint[1024];
        if ((rc = aws_endpoint(aws_s3.id, aws_s3.default_host, sm->client.region, endpoint,
                               sizeof endpoint, err)) != FAHR_OK)
            return rc;
        const char *host = strstr(endpoint, "://");
        host = host ? host + 3 : endpoint;
        bool local = strncmp(host, "127.", 4) == 0 || strncmp(host, "localhost", 9) == 0 ||
                     strncmp(host, "[::1]", 5) == 0;
        options.concurrency = local ? 1 : 4;
    }
    return model_fetch_s3(&sm->client, uri, request->dest_dir, request->overwrite != 0,
                          &options, err);
}

static const struct fahr_train_ops sagemaker_ops = {
    FAHR_STRUCT_HEADER(struct fahr_train_ops),
    .input = FAHR_TRAIN_IMAGE,
    .publish = sagemaker_publish,
    .submit = sagemaker_submit,
    .poll = sagemaker_poll,
    .stop = sagemaker_stop,
    .fetch = sagemaker_fetch,
    .list = sagemaker_list,
    .check = sagemaker_check,
    .read_logs2 = sagemaker_read_logs2,
};

FAHR_EXPORT const struct fahr_plugin fahr_plugin = {
    FAHR_PLUGIN_HEADER,
    .kind = FAHR_DRIVER_TRAIN,
    .name = "sagemaker",
    .version = FAHR_DRIVER_VERSION,
    .description = "train on Amazon SageMaker (image in ECR or --config.registry, model on S3)",
    .config_keys = sagemaker_keys,
    .open = sagemaker_open,
    .close = sagemaker_close,
    .train = &sagemaker_ops,
    .prune = sagemaker_prune,
};
