/* check.c: a fit's request against Vertex's rules, before anything is
 * built: the config's values, the hyperparameters and channels, and a
 * credential that gives a token (so a missing or rejected one is one line
 * before a build). Creates nothing. */
#include "vertex.h"

#include <string.h>

/* What the container contract takes as a channel (FAHR_CHANNELS' lines). */
static int check_channel(const struct fahr_channel *channel, struct fahr_error *err)
{
    const char *name = channel->name;
    if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '=') != NULL ||
        strchr(name, '/') != NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "the input name '%s' cannot be a directory name in the job", name);
    if (strchr(channel->source, '\n') != NULL)
        return fahr_error_set(err, FAHR_EINVAL, "input %s: its source has a newline", name);
    if (channel->is_local)
        return FAHR_OK;
    char bucket[VERTEX_NAME_MAX], object[1024];
    if (strncmp(channel->source, "gs://", 5) != 0)
        return fahr_error_set(err, FAHR_EINVAL,
                              "input %s: Vertex AI reads gs://BUCKET/PATH or a local path", name);
    return vertex_gcs_parse(channel->source, bucket, sizeof bucket, object, sizeof object, err);
}

int vertex_check(void *state, const struct fahr_train_request *request, struct fahr_error *err)
{
    struct vertex *vertex = state;
    struct vertex_settings settings;
    int rc = vertex_settings_read(vertex, request->config, &settings, err);
    if (rc != FAHR_OK)
        return rc;
    if (settings.output_path == NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "the job needs --config.output_path=gs://BUCKET[/PREFIX]");
    char bucket[VERTEX_NAME_MAX], object[1100];
    rc = vertex_gcs_parse(settings.output_path, bucket, sizeof bucket, object, sizeof object, err);
    if (rc != FAHR_OK)
        return rc;
    for (size_t i = 0; i < request->channel_count; i++)
        if ((rc = check_channel(&request->channels[i], err)) != FAHR_OK)
            return rc;
    const char *token;
    rc = vertex_credential(vertex, err);
    if (rc == FAHR_OK)
        rc = vertex_auth_token(vertex->auth, 0, &token, err);
    return rc == FAHR_EINVAL ? FAHR_EFAIL : rc; /* a credential is not the request's */
}
