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

#define VERTEX_JOB_NAME_MAX 128 /* a displayName (and the image's tag) */

/* The driver's state. vd1 may add members at the end. */
struct vertex {
    struct fahr_http *http;
    struct vertex_auth *auth;           /* NULL until first needed */
    char credential_project[VERTEX_NAME_MAX]; /* the credential's project_id */
    /* The job's displayName, made by publish (it is the image's tag too)
     * and taken by submit; "" before. */
    char display_name[VERTEX_JOB_NAME_MAX];
};

/* ---- credentials, endpoints, calls, storage (vd1's) ---- */
#include "google.h"

/* ---- plugin.c ---- */
/* The credential found and opened (once); a token not yet fetched. */
int vertex_credential(struct vertex *vertex, struct fahr_error *err);

/* ---- settings.c ---- */
/* The config of a command, read and checked against Vertex's rules. */
struct vertex_settings {
    char project[VERTEX_NAME_MAX];
    char region[VERTEX_NAME_MAX];
    const char *output_path;      /* gs://B[/P] without a trailing '/'; NULL: unset */
    const char *repository;
    const char *registry;         /* NULL: REGION-docker.pkg.dev */
    const char *machine_type;
    const char *accelerator_type; /* NULL: none */
    long accelerator_count;       /* 0 without a type */
    long replica_count;
    long boot_disk_gb;
    long timeout;                 /* seconds; 0: Vertex's default */
    int spot;
    const char *service_account;  /* NULL: Vertex's default */
};
/* Read and check every key; the project from the key, $GOOGLE_CLOUD_PROJECT
 * or the credential. FAHR_EINVAL for a value the user must change. */
int vertex_settings_read(struct vertex *vertex, const struct fahr_config *config,
                         struct vertex_settings *settings, struct fahr_error *err);
/* 1 if `type` is a machineSpec.acceleratorType the discovery doc lists. */
int vertex_accelerator_known(const char *type);
/* An image name as a label value: [a-z0-9_-], at most 63 characters. */
void vertex_label_value(const char *image_name, char *out, size_t size);

/* A job's name, projects/P/locations/L/customJobs/ID, taken apart. */
struct vertex_job {
    char project[VERTEX_NAME_MAX];
    char region[VERTEX_NAME_MAX];
    char id[VERTEX_NAME_MAX];     /* the numeric id Logging knows it by */
};
int vertex_job_parse(const char *job_id, struct vertex_job *job, struct fahr_error *err);
/* A job command's start: `job_id` parsed into `job` and the credential
 * found (jobs.c). */
int vertex_job_open(struct vertex *vertex, const char *job_id, struct vertex_job *job,
                    struct fahr_error *err);

/* ---- check.c ---- */
int vertex_check(void *state, const struct fahr_train_request *request, struct fahr_error *err);

/* ---- publish.c ---- */
int vertex_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                   size_t remote_ref_size, struct fahr_error *err);

/* ---- submit.c ---- */
int vertex_submit(void *state, const struct fahr_train_request *request, const char *image,
                  char *job_id, size_t job_id_size, struct fahr_error *err);

/* ---- inputs.c ---- */
/* FAHR_CHANNELS' text, "NAME=gs://..." lines: gs:// sources as they are,
 * local ones uploaded under OUTPUT_PATH/inputs/<sha256>/ (skipped when
 * there already). malloc'ed; NULL with err set. */
char *vertex_channels(struct vertex *vertex, const struct fahr_train_request *request,
                      const struct vertex_settings *settings, struct fahr_error *err);

/* ---- jobs.c ---- */
/* The CustomJob `job_id` (its JSON) into *answer. */
int vertex_job_get(struct vertex *vertex, const char *job_id, json_t **answer,
                   struct fahr_error *err);
/* A CustomJob's state as fahr's; 0 if unknown. */
enum fahr_job_state vertex_state_of(const char *state);
/* Where a CustomJob's model is: its baseOutputDirectory + "/model". */
int vertex_model_uri(json_t *job, char *out, size_t size);
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
