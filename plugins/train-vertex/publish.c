/* publish.c: the built image, pushed where Vertex AI pulls it:
 * HOST/PROJECT/REPO/IMAGE:TAG in Artifact Registry (HOST REGION-docker.pkg.dev
 * or --config.registry), the repository made through its REST API when
 * missing. The tag is the job's displayName, which submit() uses too. */
#include "vertex.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define OPERATION_POLLS 60 /* one a second: a repository is made in seconds */

/* Wait for a long-running Operation (`answer`, taken) to be done. */
static int wait_operation(struct vertex *vertex, json_t *answer, struct fahr_error *err)
{
    int rc = FAHR_OK;
    for (int polls = 0; rc == FAHR_OK; polls++) {
        if (json_is_true(json_object_get(answer, "done")))
            break;
        const char *name = json_string_value(json_object_get(answer, "name"));
        if (name == NULL || strstr(name, "..") != NULL || polls == OPERATION_POLLS) {
            rc = fahr_error_set(err, FAHR_EFAIL,
                                "Artifact Registry did not finish making the repository");
            break;
        }
        if (vertex_host->interrupted()) {
            rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
            break;
        }
        sleep(1);
        char path[1024];
        snprintf(path, sizeof path, "v1/%s", name);
        json_t *next = NULL;
        rc = vertex_call(vertex, VERTEX_ARTIFACTREGISTRY, NULL, "GET", path, NULL, &next, err);
        json_decref(answer);
        answer = next;
    }
    json_t *error = json_object_get(answer, "error");
    if (rc == FAHR_OK && error != NULL) {
        const char *message = json_string_value(json_object_get(error, "message"));
        rc = fahr_error_set(err, FAHR_EFAIL, "Artifact Registry could not make the repository: %s",
                            message ? message : "no reason given");
    }
    json_decref(answer);
    return rc;
}

/* The Docker repository, made when Artifact Registry answers 404. */
static int ensure_repository(struct vertex *vertex, const struct vertex_settings *settings,
                             struct fahr_error *err)
{
    char path[1024];
    snprintf(path, sizeof path, "v1/projects/%s/locations/%s/repositories/%s",
             settings->project, settings->region, settings->repository);
    struct fahr_error get_err;
    int rc = vertex_call(vertex, VERTEX_ARTIFACTREGISTRY, NULL, "GET", path, NULL, NULL,
                         &get_err);
    if (rc != FAHR_ENOTFOUND) {
        if (rc != FAHR_OK)
            *err = get_err;
        return rc;
    }
    vertex_host->log(FAHR_LOG_INFO, "creating the Artifact Registry repository %s in %s",
                     settings->repository, settings->region);
    snprintf(path, sizeof path, "v1/projects/%s/locations/%s/repositories?repositoryId=%s",
             settings->project, settings->region, settings->repository);
    json_t *body = json_pack("{s:s, s:s}", "format", "DOCKER", "description",
                             "container images of fahr's training jobs");
    json_t *answer = NULL;
    rc = vertex_call(vertex, VERTEX_ARTIFACTREGISTRY, NULL, "POST", path, body, &answer, err);
    return rc == FAHR_OK ? wait_operation(vertex, answer, err) : rc;
}

/* The built image as the host described it. */
static void built_image(const struct fahr_train_request *request, struct fahr_image *image)
{
    memset(image, 0, sizeof *image);
    image->size = sizeof *image;
    const char *reference = request->image_ref;
    if (FAHR_HAS(request, image) && request->image->size >= sizeof *image) {
        reference = request->image->reference;
        snprintf(image->platform, sizeof image->platform, "%s", request->image->platform);
        image->gpu = request->image->gpu;
    }
    snprintf(image->reference, sizeof image->reference, "%s", reference ? reference : "");
}

int vertex_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                   size_t remote_ref_size, struct fahr_error *err)
{
    struct vertex *vertex = state;
    struct vertex_settings settings;
    int rc = vertex_settings_read(vertex, request->config, &settings, err);
    if (rc == FAHR_OK)
        rc = vertex_host->job_name(request->image_name, VERTEX_JOB_NAME_MAX - 1,
                                   vertex->display_name, sizeof vertex->display_name, err);
    if (rc == FAHR_OK)
        rc = vertex_credential(vertex, err);
    if (rc == FAHR_OK)
        rc = ensure_repository(vertex, &settings, err);
    const char *token = NULL;
    if (rc == FAHR_OK)
        rc = vertex_auth_token(vertex->auth, 0, &token, err);
    if (rc != FAHR_OK)
        return rc;
    char host[VERTEX_NAME_MAX + 32];
    if (settings.registry != NULL)
        snprintf(host, sizeof host, "%s", settings.registry);
    else
        snprintf(host, sizeof host, "%s-docker.pkg.dev", settings.region);
    int n = snprintf(remote_ref, remote_ref_size, "%s/%s/%s/%s:%s", host, settings.project,
                     settings.repository, request->image_name, vertex->display_name);
    if (n < 0 || (size_t)n >= remote_ref_size)
        return fahr_error_set(err, FAHR_EINVAL, "the image reference would be too long");
    /* The token is the password of oauth2accesstoken (Artifact Registry's
     * documented login); the host's push never logs it. */
    struct fahr_registry_auth auth = {
        .size = sizeof auth, .server = host, .username = "oauth2accesstoken", .password = token,
    };
    struct fahr_image image, pushed = {.size = sizeof pushed};
    built_image(request, &image);
    return vertex_host->push_image(&image, remote_ref, &auth, &pushed, err);
}
