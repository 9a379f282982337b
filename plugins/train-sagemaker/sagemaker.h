/* plugins/train-sagemaker/sagemaker.h: what the driver's files share. */
#ifndef FAHR_TRAIN_SAGEMAKER_H
#define FAHR_TRAIN_SAGEMAKER_H

#include "aws_http.h"

/* The tag fahr puts on each job it creates: the image's name, so that a
 * listing by image is exact (job names only start with a form of it). Also
 * on each ECR repository it creates for an image: the repositories whose
 * stamp tags `fahr prune --registry` may remove (prune.c). */
#define IMAGE_TAG_KEY "fahr:image"

/* The price of a training instance, asked once per command (pricing.c). */
struct sagemaker_price {
    bool asked;
    char type[64];        /* the instance type priced */
    int rc;               /* FAHR_OK: usd_per_hour holds; else `why` says */
    double usd_per_hour;
    char why[FAHR_ERROR_MAX];
};

struct sagemaker {
    const struct fahr_host *host;
    struct aws_client client;
    bool client_open;
    /* STS has confirmed the credentials: check() did, publish() need not. */
    bool identity_confirmed;
    /* The last role name turned into its ARN, asked once per command. */
    char role_name[128];
    char role_arn[512];
    struct sagemaker_price price;
};

/* The AWS client, opened on first use: credentials and region are resolved
 * then, so that listing the driver never needs them. */
int sagemaker_client(struct sagemaker *sm, const struct fahr_config *config,
                     struct fahr_error *err);

/* FAHR_OK where `name` is a SageMaker training job name (job_name.h), so
 * that one given on the command line or in --config.job_name is refused,
 * control characters shown escaped, before anything is sent. */
int sagemaker_check_job_name(const char *name, struct fahr_error *err);

/* A TrainingJobStatus as fahr's job state. */
enum fahr_job_state sagemaker_state_of(const char *status);

/* DescribeTrainingJob; `*output` is the caller's to json_decref(). */
int sagemaker_describe(struct sagemaker *sm, const struct fahr_config *config,
                       const char *job_id, json_t **output, struct fahr_error *err);

/* ---- check.c ---- */

/* SageMaker's rules for the config's values, which need no request:
 * FAHR_EINVAL (exit 2) for a value SageMaker would refuse. submit() and
 * publish() apply them too, for a host that does not call check(). */
int sagemaker_check_values(struct sagemaker *sm, const struct fahr_config *config,
                           struct fahr_error *err);

/* The client opened and its credentials confirmed by STS GetCallerIdentity
 * (once per command). */
int sagemaker_confirm_identity(struct sagemaker *sm, const struct fahr_config *config,
                               struct fahr_error *err);

/* The role's ARN: `role` itself where it is one, else IAM GetRole's. */
int sagemaker_role_arn(struct sagemaker *sm, const char *role, char *out, size_t size,
                       struct fahr_error *err);

/* fahr_train_ops.check. */
int sagemaker_check(void *state, const struct fahr_train_request *request,
                    struct fahr_error *err);

/* ---- spot.c ---- */

/* --config.max_wait: only with --config.spot, and at least max_runtime. */
int sagemaker_spot_check_values(struct sagemaker *sm, const struct fahr_config *config,
                                struct fahr_error *err);

/* The checkpoint location: --config.checkpoint_s3_uri, else
 * OUTPUT_PATH/checkpoints/IMAGE_NAME; no trailing '/'. */
int sagemaker_checkpoint_uri(struct sagemaker *sm, const struct fahr_config *config,
                             const char *image_name, char *out, size_t size,
                             struct fahr_error *err);

/* CreateTrainingJob's CheckpointConfig and, for spot, its
 * EnableManagedSpotTraining and StoppingCondition.MaxWaitTimeInSeconds,
 * added to `input`. */
int sagemaker_spot_request(struct sagemaker *sm, const struct fahr_config *config,
                           const char *image_name, json_t *input, struct fahr_error *err);

/* ---- jobs_list.c ---- */

/* fahr_train_ops.list: the jobs fahr made of one image, exactly. */
int sagemaker_list(void *state, const struct fahr_config *config, const char *image_name,
                   fahr_job_fn on_job, void *on_job_data, struct fahr_error *err);

/* ---- logs.c ---- */

/* fahr_train_ops.read_logs2: the job's CloudWatch streams, each from where
 * the cursor says. */
int sagemaker_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                         struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                         void *on_line_data, struct fahr_error *err);

/* ---- job_status.c ---- */

/* The secondary status with its message, as the last of the job's
 * SecondaryStatusTransitions gives it ("Training: Downloading the training
 * image"), or the secondary status alone; control characters shown
 * escaped. */
void sagemaker_status_detail(json_t *job, char *out, size_t size);

/* The job's console and CloudWatch Logs addresses, logged on submit. */
void sagemaker_log_urls(struct sagemaker *sm, const char *job_id);

/* ---- publish.c ---- */

/* fahr_train_ops.publish. */
int sagemaker_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                      size_t remote_ref_size, struct fahr_error *err);

/* ---- prune.c ---- */

/* fahr_plugin.prune: with request->remote, the stamp tags fahr pushed to
 * the account's ECR that no unended job uses; without it, nothing. */
int sagemaker_prune(void *state, const struct fahr_prune_request *request,
                    struct fahr_error *err);

/* ---- pricing.c ---- */

/* Log the plan line: instance type and count, on-demand or spot, the price
 * per hour from the AWS Price List and the ceiling max_runtime sets, or why
 * there is no price. Never fails. */
void sagemaker_plan_log(struct sagemaker *sm, const struct fahr_config *config);

/* Add to a finished job's `detail` (DescribeTrainingJob's answer `job`)
 * its training and billable seconds, the spot saving, and their cost. */
void sagemaker_cost_detail(struct sagemaker *sm, json_t *job, char *detail, size_t size);

#endif
