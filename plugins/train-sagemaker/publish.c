/* plugins/train-sagemaker/publish.c: the built image, pushed where
 * SageMaker pulls it: the account's ECR repository named after the image
 * (made if missing), or --config.registry. ECR's credentials go to ECR's
 * registry alone: the host GetAuthorizationToken's proxyEndpoint names. */
#include <openssl/crypto.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64.h"
#include "job_name.h"
#include "sagemaker.h"

/* ECR's credentials for its registry, decoded from GetAuthorizationToken's
 * "user:password". Secret: wiped once the push is done. */
struct ecr_login {
    char server[1024];
    char decoded[8192];
    struct fahr_registry_auth auth;
};

/* CreateRepository, with fahr's tag where `tagged`. Tagging at creation
 * needs ecr:TagResource beside ecr:CreateRepository: where the caller's
 * policy lacks it, the repository is made untagged rather than the fit
 * failing (as every fit before the tag did), and the user is told that
 * `fahr prune --registry` will not look at it. */
static int create_repository(struct sagemaker *sm, const char *name, bool tagged, json_t **output,
                             struct fahr_error *err)
{
    json_t *input = json_pack("{s:s}", "repositoryName", name);
    if (tagged)
        json_object_set_new(input, "tags",
                            json_pack("[{s:s, s:s}]", "Key", IMAGE_TAG_KEY, "Value", name));
    int rc = aws_json_call(&sm->client, &aws_ecr, "CreateRepository", input, output, err);
    if (rc != FAHR_OK && tagged && strcmp(sm->client.error_code, "AccessDeniedException") == 0) {
        sm->host->log(FAHR_LOG_WARN,
                      "ECR refused the tag %s=%s (no ecr:TagResource permission); the "
                      "repository is made without it, and 'fahr prune --registry' will not "
                      "remove its tags",
                      IMAGE_TAG_KEY, name);
        json_object_del(input, "tags");
        rc = aws_json_call(&sm->client, &aws_ecr, "CreateRepository", input, output, err);
    }
    json_decref(input);
    return rc;
}

/* The account's ECR repository for the image (made if missing). One made
 * for the image itself (`fahrs`: not one that --config.registry names) is
 * tagged fahr:image=NAME, which is how `fahr prune --registry` (prune.c)
 * knows the repositories whose stamp tags are fahr's. */
static int ecr_repository(struct sagemaker *sm, const char *image_name, bool fahrs,
                          char *repository_uri, size_t uri_size, struct fahr_error *err)
{
    json_t *input = json_pack("{s:[s]}", "repositoryNames", image_name);
    json_t *output = NULL;
    struct fahr_error describe_err;
    int rc = aws_json_call(&sm->client, &aws_ecr, "DescribeRepositories", input, &output,
                           &describe_err);
    json_decref(input);
    if (rc != FAHR_OK && strcmp(sm->client.error_code, "RepositoryNotFoundException") == 0) {
        sm->host->log(FAHR_LOG_INFO, "creating the ECR repository %s", image_name);
        rc = create_repository(sm, image_name, fahrs, &output, err);
        if (rc != FAHR_OK)
            return rc;
        snprintf(repository_uri, uri_size, "%s",
                 json_string_value(json_object_get(json_object_get(output, "repository"),
                                                   "repositoryUri"))
                     ?: "");
    } else if (rc != FAHR_OK) {
        *err = describe_err;
        return rc;
    } else {
        json_t *first = json_array_get(json_object_get(output, "repositories"), 0);
        snprintf(repository_uri, uri_size, "%s",
                 json_string_value(json_object_get(first, "repositoryUri")) ?: "");
    }
    json_decref(output);
    if (repository_uri[0] == '\0')
        return fahr_error_set(err, FAHR_EFAIL, "ECR did not say where repository %s is",
                              image_name);
    return FAHR_OK;
}

/* The registry's credentials, from ECR's authorization token. */
static int ecr_login(struct sagemaker *sm, struct ecr_login *login, struct fahr_error *err)
{
    json_t *input = json_object(), *output = NULL;
    int rc = aws_json_call(&sm->client, &aws_ecr, "GetAuthorizationToken", input, &output, err);
    json_decref(input);
    if (rc != FAHR_OK)
        return rc;
    json_t *data = json_array_get(json_object_get(output, "authorizationData"), 0);
    const char *token = json_string_value(json_object_get(data, "authorizationToken"));
    const char *endpoint = json_string_value(json_object_get(data, "proxyEndpoint"));
    char *colon = NULL;
    long length = token ? base64_decode(token, login->decoded, sizeof login->decoded - 1) : -1;
    if (length >= 0) {
        login->decoded[length] = '\0';
        colon = strchr(login->decoded, ':');
    }
    if (colon == NULL || endpoint == NULL) {
        json_decref(output);
        return fahr_error_set(err, FAHR_EFAIL, "ECR's authorization token cannot be read");
    }
    *colon = '\0';
    snprintf(login->server, sizeof login->server, "%s", endpoint);
    login->auth.size = sizeof login->auth;
    login->auth.server = login->server;
    login->auth.username = login->decoded;
    login->auth.password = colon + 1;
    json_decref(output);
    return FAHR_OK;
}

/* The registry host (and port) of a reference or an endpoint: what lies
 * between an optional "scheme://" and the first '/'. */
static const char *registry_host(const char *reference, size_t *length)
{
    const char *scheme = strstr(reference, "://");
    const char *host = scheme != NULL ? scheme + 3 : reference;
    *length = strcspn(host, "/");
    return host;
}

/* Whether `reference` lies on the registry `login` is for. */
static bool on_login_registry(const char *reference, const struct ecr_login *login)
{
    size_t length, login_length;
    const char *host = registry_host(reference, &length);
    const char *login_host = registry_host(login->server, &login_length);
    return length > 0 && length == login_length && strncasecmp(host, login_host, length) == 0;
}

/* --config.registry: ECR's credentials and repository where it names the
 * account's ECR registry (as a user who pushes there by hand would write
 * it), else none: ECR's password is not for another registry. A failed
 * GetAuthorizationToken matters only for a registry named as ECR's. */
static int registry_login(struct sagemaker *sm, const char *registry, const char *image_name,
                          struct ecr_login *login, bool *use_login, struct fahr_error *err)
{
    *use_login = false;
    struct fahr_error login_err;
    int rc = ecr_login(sm, login, &login_err);
    if (rc != FAHR_OK) {
        if (strstr(registry, ".dkr.ecr.") != NULL) {
            *err = login_err;
            return rc;
        }
        sm->host->log(FAHR_LOG_DEBUG, "no ECR token (%s): pushing to %s without credentials",
                      login_err.message, registry);
        return FAHR_OK;
    }
    if (!on_login_registry(registry, login)) {
        sm->host->log(FAHR_LOG_DEBUG, "%s is not ECR's registry: pushing without credentials",
                      registry);
        return FAHR_OK;
    }
    /* ECR's repository is the path after the host, then the image. */
    size_t host_length;
    const char *host = registry_host(registry, &host_length);
    const char *path = host + host_length + strspn(host + host_length, "/");
    char name[1024], uri[1024];
    snprintf(name, sizeof name, "%s%s%s", path, path[0] ? "/" : "", image_name);
    *use_login = true;
    return ecr_repository(sm, name, false, uri, sizeof uri, err);
}

/* A push that the registry refused with ECR's credentials says whose they
 * were (never what). */
static void refused_credentials(struct fahr_error *err, const struct ecr_login *login)
{
    char why[sizeof err->message];
    snprintf(why, sizeof why, "%s", err->message);
    fahr_error_set(err, FAHR_EFAIL, "%s (the registry refused ECR's credentials for %s)", why,
                   login->server);
}

/* The built image as the host described it, or (a host before ABI 1.1) its
 * local reference alone. */
static void built_image(const struct fahr_train_request *request, struct fahr_image *image)
{
    memset(image, 0, sizeof *image);
    image->size = sizeof *image;
    if (FAHR_HAS(request, image) && request->image->size >= offsetof(struct fahr_image, digest))
        snprintf(image->reference, sizeof image->reference, "%s", request->image->reference);
    else
        snprintf(image->reference, sizeof image->reference, "%s", request->image_ref);
    if (FAHR_HAS(request, image) && request->image->size >= sizeof *image) {
        snprintf(image->platform, sizeof image->platform, "%s", request->image->platform);
        image->gpu = request->image->gpu;
    }
}

int sagemaker_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                      size_t remote_ref_size, struct fahr_error *err)
{
    struct sagemaker *sm = state;
    /* The image is pushed through the build driver that built it: this
     * driver carries no container engine client. */
    if (!FAHR_HAS(sm->host, push_image))
        return fahr_error_set(err, FAHR_ENOTSUP,
                              "this fahr cannot push images (push_image came with ABI 1.1)");
    const char *registry = sm->host->config_get(request->config, "registry");
    char repository[1024], stamp[16];
    /* Values that submit() would refuse, and wrong credentials, are refused
     * before the push (check() found them already where the host called it). */
    int rc = sagemaker_check_values(sm, request->config, err);
    if (rc == FAHR_OK)
        rc = sagemaker_confirm_identity(sm, request->config, err);
    if (rc != FAHR_OK)
        return rc;
    struct ecr_login *login = calloc(1, sizeof *login);
    if (login == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    bool use_login = false;
    if (registry != NULL && registry[0] != '\0') {
        snprintf(repository, sizeof repository, "%s/%s", registry, request->image_name);
        rc = registry_login(sm, registry, request->image_name, login, &use_login, err);
    } else {
        rc = ecr_repository(sm, request->image_name, true, repository, sizeof repository,
                            err);
        if (rc == FAHR_OK)
            rc = ecr_login(sm, login, err);
        use_login = true;
        if (rc == FAHR_OK && !on_login_registry(repository, login))
            rc = fahr_error_set(err, FAHR_EFAIL,
                                "ECR put repository %s outside its registry %s: not pushed",
                                repository, login->server);
    }
    job_name_stamp(stamp);
    snprintf(remote_ref, remote_ref_size, "%s:%s", repository, stamp);
    struct fahr_image image, pushed = {.size = sizeof pushed};
    built_image(request, &image);
    if (rc == FAHR_OK)
        rc = sm->host->push_image(&image, remote_ref, use_login ? &login->auth : NULL, &pushed,
                                  err);
    if (rc != FAHR_OK && use_login && strstr(err->message, "unauthorized") != NULL)
        refused_credentials(err, login);
    if (rc == FAHR_OK)
        sm->host->log(FAHR_LOG_DEBUG, "pushed %s, manifest %s%s", remote_ref,
                      pushed.digest[0] ? pushed.digest : "(no digest reported)",
                      use_login ? ", with ECR's credentials" : "");
    OPENSSL_cleanse(login, sizeof *login);
    free(login);
    return rc;
}
