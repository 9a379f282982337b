/* plugins/train-local/fetch.c: a local job's model folder, streamed as a
 * tar archive into the host's placement, like any downloaded model. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>

#include "local.h"
#include "tar_stream.h"

#include <sys/types.h>

int local_fetch_model(void *state, const struct fahr_fetch_request *request,
                      struct fahr_error *err)
{
    struct local *local = state;
    char model[8400];
    if (request->artifact_uri != NULL && strncmp(request->artifact_uri, "file://", 7) == 0) {
        snprintf(model, sizeof model, "%s", request->artifact_uri + 7);
    } else if (request->job_id != NULL) {
        struct fahr_job_status status = {.size = sizeof status};
        int rc = local_poll(state, request->config, request->job_id, &status, err);
        if (rc != FAHR_OK)
            return rc;
        if (status.state != FAHR_JOB_COMPLETED)
            return fahr_error_set(err, FAHR_ENOTFOUND, "job %s has not completed: no model",
                                  request->job_id);
        job_path(local, request->config, request->job_id, "model", model, sizeof model);
    } else {
        return fahr_error_set(err, FAHR_EINVAL,
                              "the local driver fetches jobs by name or file:// locations");
    }
    /* The model folder as a tar stream, placed by the host with the same
     * care as any downloaded archive. All of it: a model's .dockerignore is
     * a file of the model, not a rule. */
    struct tar_stream *stream;
    int rc = tar_stream_open(model, NULL, NULL, &stream, err);
    if (rc != FAHR_OK)
        return rc;
    const struct fahr_host *host = local->host;
    struct fahr_place *place = NULL;
    rc = host->place_open(request->dest_dir, request->overwrite, &place, err);
    char buffer[65536];
    ssize_t n = 0;
    struct fahr_error read_err = {{0}};
    while (rc == FAHR_OK && (n = tar_stream_read(stream, buffer, sizeof buffer, &read_err)) > 0)
        rc = host->place_archive(place, buffer, (size_t)n, err);
    /* A model file that cannot be read: its reason is the error. */
    if (rc == FAHR_OK && n < 0) {
        rc = FAHR_EFAIL;
        if (read_err.message[0] != '\0')
            *err = read_err;
        else
            fahr_error_set(err, rc, "cannot read the model in %s", model);
    }
    tar_stream_close(stream);
    if (rc != FAHR_OK) {
        host->place_abort(place);
        return rc;
    }
    return host->place_commit(place, err);
}
