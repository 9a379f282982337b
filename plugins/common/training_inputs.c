/* plugins/common/training_inputs.c: see training_inputs.h. */
#include "training_inputs.h"

#include <stdbool.h>
#include <string.h>

static bool channel_name_is_valid(const char *name)
{
    size_t length = strlen(name);
    return length > 0 && length <= SAGEMAKER_MAX_CHANNEL_NAME &&
           strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") ==
               length;
}

/* The host has refused control characters in names already; a name is cut
 * in messages because it may be long. */
static int check_hyperparameters(const struct fahr_train_request *request,
                                 struct fahr_error *err)
{
    if (request->hyperparameter_count > SAGEMAKER_MAX_HYPERPARAMETERS)
        return fahr_error_set(err, FAHR_EINVAL, "%zu hyperparameters; SageMaker takes at most %d",
                              request->hyperparameter_count, SAGEMAKER_MAX_HYPERPARAMETERS);
    for (size_t i = 0; i < request->hyperparameter_count; i++) {
        const struct fahr_hyperparameter *hp = &request->hyperparameters[i];
        if (strlen(hp->key) > SAGEMAKER_MAX_KEY_LENGTH)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "--hp.%.40s...: a hyperparameter's name is at most %d "
                                  "characters",
                                  hp->key, SAGEMAKER_MAX_KEY_LENGTH);
        if (strlen(hp->value) > SAGEMAKER_MAX_VALUE_LENGTH)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "--hp.%s: a hyperparameter's value is at most %d characters",
                                  hp->key, SAGEMAKER_MAX_VALUE_LENGTH);
    }
    return FAHR_OK;
}

int sagemaker_inputs_check(const struct fahr_train_request *request, struct fahr_error *err)
{
    int rc = check_hyperparameters(request, err);
    if (rc != FAHR_OK)
        return rc;
    if (request->channel_count > SAGEMAKER_MAX_CHANNELS)
        return fahr_error_set(err, FAHR_EINVAL, "%zu input channels; SageMaker takes at most %d",
                              request->channel_count, SAGEMAKER_MAX_CHANNELS);
    for (size_t i = 0; i < request->channel_count; i++)
        if (!channel_name_is_valid(request->channels[i].name))
            return fahr_error_set(err, FAHR_EINVAL,
                                  "--input %.80s: a channel's name is letters, digits, '.', '-' "
                                  "and '_' (at most %d) on SageMaker",
                                  request->channels[i].name, SAGEMAKER_MAX_CHANNEL_NAME);
    return FAHR_OK;
}
