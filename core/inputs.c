/* core/inputs.c: hyperparameters and input data channels, checked before
 * anything is built for the syntax every driver shares. A service's own
 * limits (SageMaker's 100 hyperparameters, its channel names) are its
 * driver's to check, in check(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static bool has_control_characters(const char *text, size_t length)
{
    return first_control_character(text, length) != NULL;
}

/* `text` for a message: control characters as '?', cut to fit `out`. */
static const char *shown(const char *text, char *out, size_t size)
{
    size_t used = 0;
    for (; text[used] != '\0' && used + 1 < size; used++)
        out[used] = has_control_characters(text + used, 1) ? '?' : text[used];
    out[used] = '\0';
    return out;
}

/* An RFC 3986 URI, a location the driver reads rather than a path here:
 * a scheme [a-z][a-z0-9+.-]*, ':', then "//" ("gs://bucket/x",
 * "kaggle://owner/set") or anything but '/' (the opaque form,
 * "kaggle:owner/set"). A path that begins with '/' or '.' is never one, so
 * a local file with a colon in its first segment is written ./name. */
static bool has_uri_scheme(const char *source)
{
    if (!(source[0] >= 'a' && source[0] <= 'z'))
        return false;
    size_t length = strspn(source, "abcdefghijklmnopqrstuvwxyz0123456789+.-");
    if (source[length] != ':')
        return false;
    const char *rest = source + length + 1;
    return strncmp(rest, "//", 2) == 0 || (rest[0] != '\0' && rest[0] != '/');
}

static int check_hyperparameters(const struct cli *cli)
{
    char key[128];
    for (size_t i = 0; i < cli->hyperparameter_count; i++) {
        const struct fahr_hyperparameter *hp = &cli->hyperparameters[i];
        shown(hp->key, key, sizeof key);
        if (hp->key[0] == '\0') {
            host_error("--hp.: a hyperparameter needs a name");
            return FAHR_EXIT_USAGE;
        }
        if (has_control_characters(hp->key, strlen(hp->key)) ||
            has_control_characters(hp->value, strlen(hp->value))) {
            host_error("--hp.%s: a hyperparameter has no control characters", key);
            return FAHR_EXIT_USAGE;
        }
        for (size_t j = 0; j < i; j++)
            if (strcmp(cli->hyperparameters[j].key, hp->key) == 0) {
                host_error("--hp.%s is given twice", key);
                return FAHR_EXIT_USAGE;
            }
    }
    return FAHR_EXIT_OK;
}

/* NAME=SOURCE into `channel`: a source with a URI scheme as it is, anything
 * else a local path that must exist, made absolute. */
static int parse_channel(const char *raw, struct fahr_channel *channel)
{
    char raw_shown[512];
    const char *eq = strchr(raw, '=');
    size_t name_length = eq ? (size_t)(eq - raw) : 0;
    if (eq == NULL || name_length == 0 || eq[1] == '\0' ||
        has_control_characters(raw, name_length) || memchr(raw, '/', name_length) != NULL) {
        host_error("--input '%s': expected NAME=SOURCE, NAME without '/' or control characters",
                   shown(raw, raw_shown, sizeof raw_shown));
        return FAHR_EXIT_USAGE;
    }
    channel->name = strndup(raw, name_length);
    const char *source = eq + 1;
    if (has_uri_scheme(source)) {
        if (has_control_characters(source, strlen(source))) {
            host_error("--input %s: a location has no control characters", channel->name);
            return FAHR_EXIT_USAGE;
        }
        channel->source = xstrdup(source);
        return FAHR_EXIT_OK;
    }
    char *absolute = realpath(source, NULL);
    if (absolute == NULL) {
        host_error("--input %s: '%s': %s", channel->name,
                   shown(source, raw_shown, sizeof raw_shown), strerror(errno));
        return FAHR_EXIT_USAGE;
    }
    channel->source = absolute;
    channel->is_local = 1;
    return FAHR_EXIT_OK;
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
    int rc = check_hyperparameters(cli);
    if (rc != FAHR_EXIT_OK)
        return rc;
    struct fahr_channel *list = calloc(cli->input_count + 1, sizeof *list);
    if (list == NULL)
        abort();
    for (size_t i = 0; i < cli->input_count; i++) {
        rc = parse_channel(cli->inputs[i], &list[i]);
        for (size_t j = 0; rc == FAHR_EXIT_OK && j < i; j++)
            if (strcmp(list[j].name, list[i].name) == 0) {
                host_error("--input: channel '%s' is given twice", list[i].name);
                rc = FAHR_EXIT_USAGE;
            }
        if (rc != FAHR_EXIT_OK) {
            inputs_free(list, i + 1);
            return rc;
        }
    }
    *channels = list;
    return FAHR_EXIT_OK;
}
