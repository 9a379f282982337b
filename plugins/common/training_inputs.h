/* plugins/common/training_inputs.h: SageMaker's limits on a job's
 * hyperparameters and input channels. The sagemaker driver applies them,
 * and the local driver too, which follows SageMaker's contract so that a job
 * that trains here also starts there. The host checks only what every
 * driver shares (names, no control characters). */
#ifndef FAHR_TRAINING_INPUTS_H
#define FAHR_TRAINING_INPUTS_H

#include <fahr/plugin.h>

enum {
    SAGEMAKER_MAX_HYPERPARAMETERS = 100,
    SAGEMAKER_MAX_KEY_LENGTH = 256,
    SAGEMAKER_MAX_VALUE_LENGTH = 2500,
    SAGEMAKER_MAX_CHANNEL_NAME = 64,
    SAGEMAKER_MAX_CHANNELS = 20
};

/* FAHR_EINVAL, with the limit named, where the request's hyperparameters
 * or channels break one of SageMaker's limits: at most 100 hyperparameters,
 * names up to 256 and values up to 2500 characters; at most 20 channels,
 * named [A-Za-z0-9._-]{1,64}. */
int sagemaker_inputs_check(const struct fahr_train_request *request, struct fahr_error *err);

#endif
