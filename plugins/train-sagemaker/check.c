/* plugins/train-sagemaker/check.c: what fit checks before it builds
 * anything: SageMaker's own rules for the hyperparameters, the channels and
 * the config's values, then that the service can be used as asked
 * (credentials, the role, the output bucket, a --config.job_name not yet
 * taken). Nothing here creates anything. */
#define _GNU_SOURCE /* strcasestr */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sagemaker.h"
#include "training_inputs.h"

/* `text`, from `*at`, continues with one or more characters of `set`; `*at`
 * moves past them. */
static bool skip_run(const char *text, size_t *at, const char *set)
{
    size_t length = strspn(text + *at, set);
    *at += length;
    return length > 0;
}

#define LOWER_DIGITS "abcdefghijklmnopqrstuvwxyz0123456789"
#define ROLE_CHARS "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_+=,.@-"

/* "ml.m5.large": SageMaker's instance types are all ml.FAMILY.SIZE. */
static bool is_instance_type(const char *type)
{
    size_t at = 3;
    return strncmp(type, "ml.", 3) == 0 && skip_run(type, &at, LOWER_DIGITS) &&
           type[at++] == '.' && skip_run(type, &at, LOWER_DIGITS) && type[at] == '\0';
}

/* IAM's rules: a role name is 1 to 64 of ROLE_CHARS; its ARN is
 * arn:PARTITION:iam::ACCOUNT:role/[PATH/]NAME, as SageMaker's RoleArn. */
static bool is_role(const char *role)
{
    if (strncmp(role, "arn:", 4) != 0)
        return strlen(role) <= 64 && strspn(role, ROLE_CHARS) == strlen(role) && role[0];
    size_t at = 4;
    if (strncmp(role + at, "aws", 3) != 0)
        return false;
    at += 3;
    at += strspn(role + at, "abcdefghijklmnopqrstuvwxyz-"); /* aws-cn, aws-us-gov */
    if (strncmp(role + at, ":iam::", 6) != 0)
        return false;
    at += 6;
    size_t account = strspn(role + at, "0123456789");
    at += account;
    if (account != 12 || strncmp(role + at, ":role/", 6) != 0)
        return false;
    at += 6;
    return skip_run(role, &at, ROLE_CHARS "/") && role[at] == '\0' && at <= 2048;
}

/* A count SageMaker takes: 1 to 2^31-1. */
static int check_count(struct sagemaker *sm, const struct fahr_config *config, const char *key,
                       struct fahr_error *err)
{
    const char *value = sm->host->config_get(config, key);
    if (value == NULL)
        return FAHR_OK;
    errno = 0;
    long long number = strtoll(value, NULL, 10);
    if (number < 1)
        return fahr_error_set(err, FAHR_EINVAL, "--config.%s must be at least 1, not %s", key,
                              value);
    if (errno == ERANGE || number > INT_MAX)
        return fahr_error_set(err, FAHR_EINVAL, "--config.%s must be at most %d, not %s", key,
                              INT_MAX, value);
    return FAHR_OK;
}

int sagemaker_check_values(struct sagemaker *sm, const struct fahr_config *config,
                           struct fahr_error *err)
{
    const char *output_path = sm->host->config_get(config, "output_path");
    const char *role = sm->host->config_get(config, "role_name");
    if (output_path == NULL || role == NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "--config.output_path and --config.role_name are required");
    char shown[300];
    if (!is_role(role))
        return fahr_error_set(err, FAHR_EINVAL,
                              "--config.role_name: '%s' is neither an IAM role name (at most 64 "
                              "letters, digits and _+=,.@-) nor a role's ARN "
                              "(arn:aws:iam::ACCOUNT:role/NAME)",
                              aws_printable(role, shown, sizeof shown));
    const char *keys[] = {"train_instance_count", "volume_size", "max_runtime"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        int rc = check_count(sm, config, keys[i], err);
        if (rc != FAHR_OK)
            return rc;
    }
    const char *type = sm->host->config_get(config, "train_instance_type");
    if (type == NULL || !is_instance_type(type))
        return fahr_error_set(err, FAHR_EINVAL,
                              "--config.train_instance_type: '%s' is not a SageMaker instance "
                              "type (ml.FAMILY.SIZE, like ml.m5.large)",
                              aws_printable(type ? type : "", shown, sizeof shown));
    const char *job_name = sm->host->config_get(config, "job_name");
    if (job_name != NULL && job_name[0] != '\0' &&
        sagemaker_check_job_name(job_name, err) != FAHR_OK)
        return FAHR_EINVAL;
    return sagemaker_spot_check_values(sm, config, err);
}

int sagemaker_confirm_identity(struct sagemaker *sm, const struct fahr_config *config,
                               struct fahr_error *err)
{
    int rc = sagemaker_client(sm, config, err);
    if (rc != FAHR_OK || sm->identity_confirmed)
        return rc;
    struct xml_node *answer = NULL;
    rc = aws_query_call(&sm->client, &aws_sts, "GetCallerIdentity", NULL, 0, &answer, err);
    if (rc == FAHR_OK) {
        sm->host->log(FAHR_LOG_DEBUG, "AWS account %s",
                      xml_text(answer, "GetCallerIdentityResult/Account") ?: "?");
        sm->identity_confirmed = true;
    }
    xml_free(answer);
    return rc;
}

int sagemaker_role_arn(struct sagemaker *sm, const char *role, char *out, size_t size,
                       struct fahr_error *err)
{
    if (strncmp(role, "arn:", 4) == 0) {
        snprintf(out, size, "%s", role);
        return FAHR_OK;
    }
    if (sm->role_arn[0] && strcmp(sm->role_name, role) == 0) {
        snprintf(out, size, "%s", sm->role_arn);
        return FAHR_OK;
    }
    struct sigv4_pair params[] = {{"RoleName", role}};
    struct xml_node *answer = NULL;
    int rc = aws_query_call(&sm->client, &aws_iam, "GetRole", params, 1, &answer, err);
    if (rc == FAHR_OK) {
        const char *arn = xml_text(answer, "GetRoleResult/Role/Arn");
        if (arn == NULL || strlen(arn) >= sizeof sm->role_arn) {
            rc = fahr_error_set(err, FAHR_EFAIL, "GetRole: no ARN for role %s", role);
        } else {
            snprintf(sm->role_name, sizeof sm->role_name, "%s", role);
            snprintf(sm->role_arn, sizeof sm->role_arn, "%s", arn);
            snprintf(out, size, "%s", arn);
        }
    }
    xml_free(answer);
    return rc;
}

/* HeadBucket on the bucket of --config.KEY (the output path, the
 * checkpoints): SageMaker writes there only once the job runs, or after
 * the whole training run. */
static int check_bucket(struct sagemaker *sm, const char *output_path, const char *key,
                        struct fahr_error *err)
{
    char bucket[256], path[260];
    const char *name = output_path + strlen("s3://");
    snprintf(bucket, sizeof bucket, "%.*s", (int)strcspn(name, "/"), name);
    snprintf(path, sizeof path, "/%s", bucket);
    struct aws_request head = {.service = &aws_s3, .operation = "HeadBucket", .method = "HEAD",
                               .path = path};
    struct aws_response response;
    struct fahr_error head_err;
    int rc = aws_send(&sm->client, &head, &response, &head_err);
    long status = response.status;
    char region[64] = "";
    const char *answered_region = aws_answer_header(&response, "x-amz-bucket-region");
    snprintf(region, sizeof region, "%s", answered_region ? answered_region : "");
    aws_response_free(&response);
    if (rc == FAHR_OK)
        return FAHR_OK;
    if (rc == FAHR_EINTERRUPTED)
        status = 0;
    if (status == 404)
        return fahr_error_set(err, FAHR_EFAIL, "the bucket %s does not exist (--config.%s)",
                              bucket, key);
    if (status == 403)
        return fahr_error_set(err, FAHR_EFAIL, "no access to bucket %s (--config.%s)", bucket,
                              key);
    if (status == 301) {
        char shown[64];
        return fahr_error_set(err, FAHR_EFAIL,
                              "the bucket %s is in region %s, not %s (--config.region)", bucket,
                              aws_printable(region[0] ? region : "another", shown, sizeof shown),
                              sm->client.region);
    }
    *err = head_err;
    return rc;
}

/* The error of a DescribeTrainingJob says the job does not exist:
 * SageMaker documents ResourceNotFound and answers "ValidationException:
 * Requested resource not found."; moto says "Could not find training job". */
static bool says_not_found(const struct aws_client *client)
{
    const char *code = client->error_code, *message = client->error_message;
    if (strncmp(code, "ResourceNotFound", strlen("ResourceNotFound")) == 0)
        return true;
    return strcmp(code, "ValidationException") == 0 &&
           (strcasestr(message, "not found") != NULL ||
            strcasestr(message, "could not find") != NULL);
}

/* A --config.job_name that is taken is refused: SageMaker would refuse it
 * only after the build and the push. */
static int check_job_name_free(struct sagemaker *sm, const struct fahr_config *config,
                               const char *name, struct fahr_error *err)
{
    json_t *job = NULL;
    struct fahr_error describe_err;
    int rc = sagemaker_describe(sm, config, name, &job, &describe_err);
    json_decref(job);
    if (rc == FAHR_OK)
        return fahr_error_set(err, FAHR_EINVAL,
                              "a training job named %s already exists; choose another "
                              "--config.job_name",
                              name);
    if (rc != FAHR_EINTERRUPTED && says_not_found(&sm->client))
        return FAHR_OK;
    *err = describe_err;
    return rc;
}

/* "s3://bucket[/prefix]" with a bucket name S3 takes: 3 to 63 of [a-z0-9.-],
 * beginning and ending with a letter or digit. */
static bool is_s3_location(const char *uri)
{
    if (strncmp(uri, "s3://", 5) != 0)
        return false;
    const char *bucket = uri + 5;
    size_t length = strcspn(bucket, "/");
    return length >= 3 && length <= 63 && strspn(bucket, LOWER_DIGITS ".-") == length &&
           strchr(LOWER_DIGITS, bucket[0]) && strchr(LOWER_DIGITS, bucket[length - 1]);
}

/* SageMaker reads channels from S3: a local source is uploaded there first,
 * any other location (gs://, a dataset's name) cannot be read. */
static int check_channel_sources(const struct fahr_train_request *request,
                                 struct fahr_error *err)
{
    char shown[300];
    for (size_t i = 0; i < request->channel_count; i++) {
        const struct fahr_channel *channel = &request->channels[i];
        if (channel->is_local || is_s3_location(channel->source))
            continue;
        aws_printable(channel->source, shown, sizeof shown);
        if (strncmp(channel->source, "s3://", 5) == 0)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "--input %s: '%s' is not an S3 location (like "
                                  "s3://bucket/prefix)",
                                  channel->name, shown);
        return fahr_error_set(err, FAHR_EINVAL,
                              "--input %s: SageMaker reads s3:// locations and local files and "
                              "directories, not %s",
                              channel->name, shown);
    }
    return FAHR_OK;
}

int sagemaker_check(void *state, const struct fahr_train_request *request,
                    struct fahr_error *err)
{
    struct sagemaker *sm = state;
    const struct fahr_config *config = request->config;
    /* The user's own input first, then the service's reach. */
    int rc = sagemaker_inputs_check(request, err);
    if (rc == FAHR_OK)
        rc = check_channel_sources(request, err);
    if (rc == FAHR_OK)
        rc = sagemaker_check_values(sm, config, err);
    if (rc == FAHR_OK)
        rc = sagemaker_confirm_identity(sm, config, err);
    char arn[512], checkpoints[FAHR_URI_MAX];
    if (rc == FAHR_OK) /* a default location too long for SageMaker */
        rc = sagemaker_checkpoint_uri(sm, config, request->image_name, checkpoints,
                                      sizeof checkpoints, err);
    if (rc == FAHR_OK)
        rc = sagemaker_role_arn(sm, sm->host->config_get(config, "role_name"), arn, sizeof arn,
                                err);
    if (rc == FAHR_OK)
        rc = check_bucket(sm, sm->host->config_get(config, "output_path"), "output_path", err);
    if (rc == FAHR_OK && sm->host->config_get(config, "checkpoint_s3_uri") != NULL)
        rc = check_bucket(sm, checkpoints, "checkpoint_s3_uri", err);
    const char *job_name = sm->host->config_get(config, "job_name");
    if (rc == FAHR_OK && job_name != NULL && job_name[0] != '\0')
        rc = check_job_name_free(sm, config, job_name, err);
    /* check() runs before every fit and is all of --dry-run: the plan line
     * belongs here. */
    if (rc == FAHR_OK)
        sagemaker_plan_log(sm, config);
    return rc;
}
