/* vertex.h: the Vertex AI train driver's parts, shared between its files.
 * The driver speaks Google's REST APIs (Vertex AI, Artifact Registry, Cloud
 * Logging, Cloud Storage) through the host's HTTP service (ABI 1.1), with a
 * bearer token from Application Default Credentials.
 * A job's id is the CustomJob's name, projects/P/locations/L/customJobs/ID,
 * as the API returned it: every job command works from it alone. */
#ifndef VERTEX_H
#define VERTEX_H

#include <fahr/plugin.h>
#include <jansson.h>
#include <stdint.h>

#define VERTEX_NAME_MAX 256   /* a project, region, repository, ... */

/* The host's table: valid from open() until close() (plugin.h). */
extern const struct fahr_host *vertex_host;

struct vertex_auth;

/* The driver's state. vd1 may add members at the end. */
struct vertex {
    struct fahr_http *http;
    struct vertex_auth *auth;           /* NULL until first needed */
    char credential_project[VERTEX_NAME_MAX]; /* the credential's project_id */
};

/* ---- credentials, endpoints, calls, storage (vd1's) ---- */
#include "google.h"

/* ---- plugin.c ---- */
/* The credential found and opened (once); a token not yet fetched. */
int vertex_credential(struct vertex *vertex, struct fahr_error *err);

/* ---- check.c ---- */
int vertex_check(void *state, const struct fahr_train_request *request, struct fahr_error *err);

/* ---- publish.c ---- */
int vertex_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                   size_t remote_ref_size, struct fahr_error *err);

/* ---- submit.c ---- */
int vertex_submit(void *state, const struct fahr_train_request *request, const char *image,
                  char *job_id, size_t job_id_size, struct fahr_error *err);

/* ---- jobs.c ---- */
int vertex_poll(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_job_status *status, struct fahr_error *err);
int vertex_stop(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_error *err);
int vertex_list(void *state, const struct fahr_config *config, const char *image_name,
                fahr_job_fn on_job, void *on_job_data, struct fahr_error *err);

/* ---- logs.c ---- */
int vertex_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                      void *on_line_data, struct fahr_error *err);

/* ---- fetch.c ---- */
int vertex_fetch(void *state, const struct fahr_fetch_request *request, struct fahr_error *err);

#endif
