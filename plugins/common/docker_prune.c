/* plugins/common/docker_prune.c: see docker_prune.h. */
#include "docker_prune.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

bool docker_engine_absent(const struct docker_engine *engine)
{
    struct stat st;
    return engine->socket_path[0] != '\0' && stat(engine->socket_path, &st) != 0 &&
           errno == ENOENT;
}

int docker_engine_get_list(const struct fahr_host *host, const struct docker_engine *engine,
                           const char *path, json_t **list, struct fahr_error *err)
{
    char *answer = NULL;
    int rc = docker_engine_call(host, engine, "GET", path, NULL, &answer, NULL, err);
    if (rc != FAHR_OK)
        return rc;
    *list = json_loads(answer, 0, NULL);
    free(answer);
    if (!json_is_array(*list)) {
        json_decref(*list);
        *list = NULL;
        return fahr_error_set(err, FAHR_EFAIL, "the Docker engine's answer to GET %.*s is no list",
                              (int)strcspn(path, "?"), path);
    }
    return FAHR_OK;
}

bool docker_job_container_goes(json_t *container, const struct fahr_prune_request *request)
{
    const char *state = json_string_value(json_object_get(container, "State"));
    json_t *labels = json_object_get(container, "Labels");
    return json_string_value(json_object_get(labels, DOCKER_JOB_LABEL)) != NULL &&
           state != NULL && (strcmp(state, "exited") == 0 || strcmp(state, "dead") == 0) &&
           prune_old_enough(request,
                            (int64_t)json_integer_value(json_object_get(container, "Created")));
}
