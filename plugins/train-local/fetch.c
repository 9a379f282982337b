/* plugins/train-local/fetch.c: a local job's model folder, streamed as a
 * tar archive through a pipe into the same unpacking as any downloaded
 * model. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "local.h"
#include "model_fetch.h"
#include "tar_stream.h"

struct model_stream {
    struct tar_stream *model;
    int fd;
    struct fahr_error err;
    int rc;
};

static void *stream_model(void *data)
{
    struct model_stream *stream = data;
    char buffer[65536];
    ssize_t n;
    while ((n = tar_stream_read(stream->model, buffer, sizeof buffer, &stream->err)) > 0) {
        for (ssize_t done = 0; done < n;) {
            ssize_t w = write(stream->fd, buffer + done, (size_t)(n - done));
            if (w <= 0) {
                stream->rc = FAHR_EFAIL;
                close(stream->fd);
                return NULL;
            }
            done += w;
        }
    }
    stream->rc = n < 0 ? FAHR_EFAIL : FAHR_OK;
    close(stream->fd);
    return NULL;
}

static int local_fetch(void *state, const struct fahr_fetch_request *request,
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
    /* The model folder as a tar stream, unpacked with the same care as any
     * downloaded archive. All of it: a model's .dockerignore is a file of
     * the model, not a rule. */
    struct model_stream stream = {0};
    int rc = tar_stream_open(model, NULL, NULL, &stream.model, err);
    if (rc != FAHR_OK)
        return rc;
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        tar_stream_close(stream.model);
        return fahr_error_set(err, FAHR_EFAIL, "cannot make a pipe: %s", strerror(errno));
    }
    signal(SIGPIPE, SIG_IGN);
    stream.fd = fds[1];
    pthread_t thread;
    if (pthread_create(&thread, NULL, stream_model, &stream) != 0) {
        close(fds[0]);
        close(fds[1]);
        tar_stream_close(stream.model);
        return fahr_error_set(err, FAHR_EFAIL, "cannot start copying the model");
    }
    rc = model_unpack_fd(local->host, fds[0], request->dest_dir, request->overwrite != 0, err);
    close(fds[0]);
    pthread_join(thread, NULL);
    tar_stream_close(stream.model);
    /* A model file that cannot be read ends the stream early: its reason,
     * not the archive's truncation, is the error. */
    if (stream.rc != FAHR_OK && (rc == FAHR_OK || stream.err.message[0] != '\0')) {
        *err = stream.err;
        rc = FAHR_EFAIL;
    }
    return rc;
}

/* The operation, for the driver's table in local.c. */
int local_fetch_model(void *state, const struct fahr_fetch_request *request,
                      struct fahr_error *err)
{
    return local_fetch(state, request, err);
}
