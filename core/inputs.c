/* core/inputs.c: hyperparameters and input data channels, checked before
 * anything is built, against SageMaker's limits so that a job that starts
 * here also starts there. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

enum {
    MAX_HYPERPARAMETERS = 100,
    MAX_KEY_LENGTH = 256,
    MAX_VALUE_LENGTH = 2500,
    MAX_CHANNEL_NAME = 64,
    MAX_CHANNELS = 20
};

static bool channel_name_is_valid(const char *name, size_t length)
{
    if (length == 0 || length > MAX_CHANNEL_NAME)
        return false;
    for (size_t i = 0; i < length; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '-' || c == '_'))
            return false;
    }
    return true;
}

void inputs_free(struct fahr_channel *channels, size_t count)
{
    for (size_t i = 0; channels != NULL && i < count; i++) {
        free((char *)channels[i].name);
        free((char *)channels[i].source);
    }
    free(channels);
}

int inputs_prepare(const struct cli *cli, struct fahr_channel **channels)
{
    *channels = NULL;
    if (cli->hyperparameter_count > MAX_HYPERPARAMETERS) {
        host_error("%zu hyperparameters; SageMaker takes at most %d", cli->hyperparameter_count,
                   MAX_HYPERPARAMETERS);
        return FAHR_EXIT_USAGE;
    }
    for (size_t i = 0; i < cli->hyperparameter_count; i++) {
        const struct fahr_hyperparameter *hp = &cli->hyperparameters[i];
        if (strlen(hp->key) > MAX_KEY_LENGTH) {
            host_error("--hp.%.40s...: a hyperparameter's name is at most %d characters", hp->key,
                       MAX_KEY_LENGTH);
            return FAHR_EXIT_USAGE;
        }
        if (strlen(hp->value) > MAX_VALUE_LENGTH) {
            host_error("--hp.%s: a hyperparameter's value is at most %d characters", hp->key,
                       MAX_VALUE_LENGTH);
            return FAHR_EXIT_USAGE;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(cli->hyperparameters[j].key, hp->key) == 0) {
                host_error("--hp.%s is given twice", hp->key);
                return FAHR_EXIT_USAGE;
            }
    }
    if (cli->input_count > MAX_CHANNELS) {
        host_error("%zu input channels; SageMaker takes at most %d", cli->input_count,
                   MAX_CHANNELS);
        return FAHR_EXIT_USAGE;
    }
    struct fahr_channel *list = calloc(cli->input_count + 1, sizeof *list);
    if (list == NULL)
        abort();
    for (size_t i = 0; i < cli->input_count; i++) {
        const char *raw = cli->inputs[i];
        const char *eq = strchr(raw, '=');
        size_t name_length = eq ? (size_t)(eq - raw) : 0;
        if (eq == NULL || !channel_name_is_valid(raw, name_length) || eq[1] == '\0') {
            host_error("--input '%s': expected NAME=SOURCE, NAME of letters, digits, '.', '-' "
                       "and '_' (at most %d)",
                       raw, MAX_CHANNEL_NAME);
            inputs_free(list, i);
            return FAHR_EXIT_USAGE;
        }
        list[i].name = strndup(raw, name_length);
        for (size_t j = 0; j < i; j++)
            if (strcmp(list[j].name, list[i].name) == 0) {
                host_error("--input: channel '%s' is given twice", list[i].name);
                inputs_free(list, i + 1);
                return FAHR_EXIT_USAGE;
            }
        const char *source = eq + 1;
        if (strncmp(source, "s3://", 5) == 0) {
            char checked[2048];
            struct fahr_error err;
            if (config_check_value(FAHR_CONFIG_S3_URI, source, checked, sizeof checked, &err) !=
                FAHR_OK) {
                host_error("--input %s: %s", list[i].name, err.message);
                inputs_free(list, i + 1);
                return FAHR_EXIT_USAGE;
            }
            list[i].source = strdup(source);
        } else {
            char *absolute = realpath(source, NULL);
            if (absolute == NULL) {
                host_error("--input %s: '%s': %s", list[i].name, source, strerror(errno));
                inputs_free(list, i + 1);
                return FAHR_EXIT_USAGE;
            }
            list[i].source = absolute;
            list[i].is_local = 1;
        }
    }
    *channels = list;
    return FAHR_EXIT_OK;
}
