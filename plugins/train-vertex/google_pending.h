/* google_pending.h: vd1's interface as the design's §5 declares it, so that
 * vd2's files compile before vd1's branch is merged. Removed (with its
 * #include in vertex.h) once google.h holds vd1's own declarations. */
#ifndef VERTEX_GOOGLE_PENDING_H
#define VERTEX_GOOGLE_PENDING_H

#include <stddef.h>
#include <stdint.h>

struct vertex;

int vertex_auth_open(struct vertex_auth **auth, char *project_out, size_t project_size,
                     struct fahr_error *err);
int vertex_auth_token(struct vertex_auth *auth, int force, const char **token,
                      struct fahr_error *err);
int vertex_auth_sign(void *hook_data, const struct fahr_http_sign *request,
                     struct fahr_http_header *extra, size_t capacity, size_t *count,
                     struct fahr_error *err);
void vertex_auth_close(struct vertex_auth *auth);
const char *vertex_auth_source(const struct vertex_auth *auth);

enum vertex_api { VERTEX_AIPLATFORM, VERTEX_STORAGE, VERTEX_LOGGING, VERTEX_ARTIFACTREGISTRY };
int vertex_endpoint(enum vertex_api api, const char *region, char *out, size_t size,
                    struct fahr_error *err);

int vertex_call(struct vertex *vertex, enum vertex_api api, const char *region,
                const char *method, const char *path, json_t *body, json_t **answer,
                struct fahr_error *err);
void vertex_escape(const char *in, char *out, size_t size);

int vertex_gcs_parse(const char *uri, char *bucket, size_t bsize, char *object, size_t osize,
                     struct fahr_error *err);
int vertex_gcs_upload(struct vertex *vertex, const char *local_path, const char *gs_uri,
                      struct fahr_error *err);
int vertex_gcs_list(struct vertex *vertex, const char *gs_prefix,
                    int (*on_object)(void *data, const char *name, uint64_t size,
                                     const char *crc32c), void *data, struct fahr_error *err);
int vertex_gcs_fetch(struct vertex *vertex, const char *gs_prefix, struct fahr_place *place,
                     struct fahr_error *err);

#endif
