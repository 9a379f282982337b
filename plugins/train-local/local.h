/* plugins/train-local/local.h: what the local driver's files share. */
#ifndef FAHR_TRAIN_LOCAL_H
#define FAHR_TRAIN_LOCAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "docker_engine.h"

struct local {
    const struct fahr_host *host;
    struct docker_engine engine;
};

/* ---- local.c: job folders ---- */

/* --config.jobs_dir, else $XDG_DATA_HOME/fahr/jobs, else
 * ~/.local/share/fahr/jobs. */
void jobs_dir(const struct local *local, const struct fahr_config *config, char *out,
              size_t size);
/* The job's folder, or PART inside it ("" for the folder). */
void job_path(const struct local *local, const struct fahr_config *config, const char *job_id,
              const char *part, char *out, size_t size);
/* Letters, digits and '-', at most 63: a job name that is no path. */
bool job_id_is_valid(const char *job_id);

/* ---- submit.c ---- */

/* A new file of the job's (0600), never one already there nor through a
 * link; a file descriptor or -1. */
int create_private(const char *path);
int local_check(void *state, const struct fahr_train_request *request,
                struct fahr_error *err);
int local_submit(void *state, const struct fahr_train_request *request, const char *image,
                 char *job_id, size_t job_id_size, struct fahr_error *err);

/* ---- status.c ---- */

int local_poll(void *state, const struct fahr_config *config, const char *job_id,
               struct fahr_job_status *status, struct fahr_error *err);
int local_stop(void *state, const struct fahr_config *config, const char *job_id,
               struct fahr_error *err);

/* ---- logs.c ---- */

/* The container's whole log, demultiplexed; the caller frees `*text`. */
int container_log(struct local *local, const char *job_id, char **text, size_t *length,
                  struct fahr_error *err);
int local_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                     struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                     void *on_line_data, struct fahr_error *err);

/* ---- fetch.c ---- */

int local_fetch_model(void *state, const struct fahr_fetch_request *request,
                      struct fahr_error *err);

/* ---- prune.c ---- */

/* A folder and everything in it, never following a link nor leaving its
 * file system; the bytes it takes on disk. */
int remove_tree(const char *path);
uint64_t tree_size(const char *path);
int local_prune(void *state, const struct fahr_prune_request *request, struct fahr_error *err);

#endif
