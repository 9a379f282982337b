/* stubs.c: the operations not written yet (the skeleton's; each moves to
 * its own file as it is written). */
#include "vertex.h"

#define VERTEX_TODO(err) fahr_error_set(err, FAHR_ENOTSUP, "not implemented yet")

int vertex_credential(struct vertex *vertex, struct fahr_error *err)
{ (void)vertex; return VERTEX_TODO(err); }
int vertex_check(void *state, const struct fahr_train_request *request, struct fahr_error *err)
{ (void)state; (void)request; return VERTEX_TODO(err); }
int vertex_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                   size_t remote_ref_size, struct fahr_error *err)
{ (void)state; (void)request; (void)remote_ref; (void)remote_ref_size; return VERTEX_TODO(err); }
int vertex_submit(void *state, const struct fahr_train_request *request, const char *image,
                  char *job_id, size_t job_id_size, struct fahr_error *err)
{ (void)state; (void)request; (void)image; (void)job_id; (void)job_id_size;
  return VERTEX_TODO(err); }
int vertex_poll(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_job_status *status, struct fahr_error *err)
{ (void)state; (void)config; (void)job_id; (void)status; return VERTEX_TODO(err); }
int vertex_stop(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_error *err)
{ (void)state; (void)config; (void)job_id; return VERTEX_TODO(err); }
int vertex_list(void *state, const struct fahr_config *config, const char *image_name,
                fahr_job_fn on_job, void *on_job_data, struct fahr_error *err)
{ (void)state; (void)config; (void)image_name; (void)on_job; (void)on_job_data;
  return VERTEX_TODO(err); }
int vertex_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                      void *on_line_data, struct fahr_error *err)
{ (void)state; (void)config; (void)job_id; (void)cursor; (void)job_over; (void)on_line;
  (void)on_line_data; return VERTEX_TODO(err); }
int vertex_fetch(void *state, const struct fahr_fetch_request *request, struct fahr_error *err)
{ (void)state; (void)request; return VERTEX_TODO(err); }
