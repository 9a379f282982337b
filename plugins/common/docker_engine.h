/* plugins/common/docker_engine.h: the Docker Engine API over the host's
 * HTTP transport (host->http_send, unix_socket), for
 * every driver that talks to a local engine. DOCKER_HOST selects it:
 * unix:///path/docker.sock (default /var/run/docker.sock) or tcp://host:port. */
#ifndef FAHR_DOCKER_ENGINE_H
#define FAHR_DOCKER_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "fahr/plugin.h"

struct docker_engine {
    char socket_path[1024]; /* empty for tcp:// */
    char base_url[1100];    /* "http://localhost" for a socket */
    char display[1100];     /* what the user set, for messages */
};

/* The label of every image fahr's build drivers build (its value: the
 * driver's name) and of every local job's container (its value: the job),
 * which `fahr prune` goes by: nothing without it is ever removed. */
#define DOCKER_BUILD_LABEL "fahr.build"
#define DOCKER_JOB_LABEL "fahr.job"

/* Read DOCKER_HOST. Returns FAHR_EINVAL for a form fahr cannot use. */
int docker_engine_from_env(struct docker_engine *engine, struct fahr_error *err);

/* Build CONTEXT_DIR (its Dockerfile) into an image tagged TAG, streaming the
 * context as it is read and the engine's output to host->stream as it comes.
 * A failed step fails with the step's own message. */
int docker_engine_build(const struct fahr_host *host, const struct docker_engine *engine,
                        const char *context_dir, const char *tag, struct fahr_error *err);

/* Tag the local image SOURCE as TARGET ("registry/name:tag"). */
int docker_engine_tag(const struct fahr_host *host, const struct docker_engine *engine,
                      const char *source, const char *target, struct fahr_error *err);

/* Push REFERENCE to its registry, with `registry_auth_json` (the engine's
 * {"username","password","serveraddress"} object; NULL: anonymous), showing
 * the bytes pushed as progress. On success the manifest's digest is written
 * into `digest` (may be empty if the engine did not say). */
int docker_engine_push(const struct fahr_host *host, const struct docker_engine *engine,
                       const char *reference, const char *registry_auth_json, char *digest,
                       size_t digest_size, struct fahr_error *err);

/* An answer read into memory larger than this is refused (a container's
 * log is the largest the drivers read). */
#define DOCKER_ANSWER_MAX ((uint64_t)64 << 20)

/* METHOD PATH (with its query) with an optional JSON body. On a 2xx answer
 * `*answer` (if not NULL) holds its body, NUL-terminated, the caller's to
 * free; otherwise err has the engine's message. */
int docker_engine_call(const struct fahr_host *host, const struct docker_engine *engine,
                       const char *method, const char *path, const char *json_body,
                       char **answer, size_t *answer_length, struct fahr_error *err);

#endif
