/* plugins/train-sagemaker/sagemaker.h: what the driver's files share. */
#ifndef FAHR_TRAIN_SAGEMAKER_H
#define FAHR_TRAIN_SAGEMAKER_H

#include "aws_http.h"

#define MAX_STREAMS 32

struct sagemaker {
    const struct fahr_host *host;
    struct aws_client client;
    bool client_open;
    /* Where each log stream of the job being followed has been read to. */
    char log_job[FAHR_JOB_ID_MAX];
    struct {
        char name[512];
        char token[1024];
    } streams[MAX_STREAMS];
    size_t stream_count;
};

/* The AWS client, opened on first use: credentials and region are resolved
 * then, so that listing the driver never needs them. */
int sagemaker_client(struct sagemaker *sm, const struct fahr_config *config,
                     struct fahr_error *err);

/* FAHR_OK where `name` is a SageMaker training job name (job_name.h), so
 * that one given on the command line or in --config.job_name is refused,
 * control characters shown escaped, before anything is sent. */
int sagemaker_check_job_name(const char *name, struct fahr_error *err);

/* fahr_train_ops.publish (publish.c). */
int sagemaker_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                      size_t remote_ref_size, struct fahr_error *err);

#endif
