/* plugins/common/docker_prune.h: what the Docker drivers' `fahr prune`
 * (fahr_plugin.prune) shares: the engine's lists, the one rule of which job
 * containers go (the train driver removes them, the build driver counts
 * them as gone when it looks at the images they hold), and the report. */
#ifndef FAHR_DOCKER_PRUNE_H
#define FAHR_DOCKER_PRUNE_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "docker_engine.h"
#include "prune_report.h"

/* Whether the engine is a unix socket that is not there: no engine on this
 * machine, so nothing of it to prune. */
bool docker_engine_absent(const struct docker_engine *engine);

/* GET PATH, an array of the engine's (containers, images) into `*list`;
 * the caller decrefs it. */
int docker_engine_get_list(const struct fahr_host *host, const struct docker_engine *engine,
                           const char *path, json_t **list, struct fahr_error *err);

/* Whether a container of GET /containers/json is a local job's that prune
 * removes: labelled DOCKER_JOB_LABEL, exited (or dead), and old enough by
 * its creation. */
bool docker_job_container_goes(json_t *container, const struct fahr_prune_request *request);

#endif
