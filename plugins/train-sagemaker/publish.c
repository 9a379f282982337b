/* plugins/train-sagemaker/publish.c: the built image, pushed where
 * SageMaker pulls it: the account's ECR repository named after the image
 * (made if missing), or --config.registry. */
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "docker_engine.h"
#include "job_name.h"
#include "sagemaker.h"

static int decode_base64(const char *in, char *out, size_t size)
{
    size_t used = 0;
    unsigned value = 0;
    int bits = 0;
    for (const char *p = in; *p && *p != '='; p++) {
        const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        const char *found = strchr(alphabet, *p);
        if (found == NULL)
            return -1;
        value = (value << 6) | (unsigned)(found - alphabet);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (used + 1 >= size)
                return -1;
            out[used++] = (char)((value >> bits) & 0xff);
        }
    }
    out[used] = '\0';
    return 0;
}

/* The account's ECR repository for the image (made if missing), and the
 * engine's credentials for it. */
static int ecr_target(struct sagemaker *sm, const char *image_name, char *repository_uri,
                      size_t uri_size, char **auth_json, struct fahr_error *err)
{
    json_t *input = json_pack("{s:[s]}", "repositoryNames", image_name);
    json_t *output = NULL;
    struct fahr_error describe_err;
    int rc = aws_json_call(&sm->client, &aws_ecr, "DescribeRepositories", input, &output,
                           &describe_err);
    json_decref(input);
    if (rc != FAHR_OK && strcmp(sm->client.error_code, "RepositoryNotFoundException") == 0) {
        sm->host->log(FAHR_LOG_INFO, "creating the ECR repository %s", image_name);
        input = json_pack("{s:s}", "repositoryName", image_name);
        rc = aws_json_call(&sm->client, &aws_ecr, "CreateRepository", input, &output, err);
        json_decref(input);
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

    input = json_object();
    rc = aws_json_call(&sm->client, &aws_ecr, "GetAuthorizationToken", input, &output, err);
    json_decref(input);
    if (rc != FAHR_OK)
        return rc;
    json_t *data = json_array_get(json_object_get(output, "authorizationData"), 0);
    const char *token = json_string_value(json_object_get(data, "authorizationToken"));
    const char *endpoint = json_string_value(json_object_get(data, "proxyEndpoint"));
    char decoded[8192];
    char *colon = NULL;
    if (token != NULL && decode_base64(token, decoded, sizeof decoded) == 0)
        colon = strchr(decoded, ':');
    if (colon == NULL || endpoint == NULL) {
        json_decref(output);
        return fahr_error_set(err, FAHR_EFAIL, "ECR's authorization token cannot be read");
    }
    *colon = '\0';
    json_t *auth = json_pack("{s:s,s:s,s:s}", "username", decoded, "password", colon + 1,
                             "serveraddress", endpoint);
    *auth_json = json_dumps(auth, JSON_COMPACT);
    json_decref(auth);
    json_decref(output);
    OPENSSL_cleanse(decoded, sizeof decoded);
    return FAHR_OK;
}

int sagemaker_publish(void *state, const struct fahr_train_request *request, char *remote_ref,
                      size_t remote_ref_size, struct fahr_error *err)
{
    struct sagemaker *sm = state;
    const char *registry = sm->host->config_get(request->config, "registry");
    char repository[1024], stamp[16];
    char *auth_json = NULL;
    /* Values that submit() would refuse, and wrong credentials, are refused
     * before the push (check() found them already where the host called it). */
    int rc = sagemaker_check_values(sm, request->config, err);
    if (rc == FAHR_OK)
        rc = sagemaker_confirm_identity(sm, request->config, err);
    if (rc != FAHR_OK)
        return rc;
    if (registry != NULL && registry[0] != '\0') {
        snprintf(repository, sizeof repository, "%s/%s", registry, request->image_name);
    } else if ((rc = ecr_target(sm, request->image_name, repository, sizeof repository,
                                &auth_json, err)) != FAHR_OK) {
        return rc;
    }
    job_name_stamp(stamp);
    snprintf(remote_ref, remote_ref_size, "%s:%s", repository, stamp);
    struct docker_engine engine;
    rc = docker_engine_from_env(&engine, err);
    if (rc == FAHR_OK)
        rc = docker_engine_tag(sm->host, &engine, request->image_ref, remote_ref, err);
    if (rc == FAHR_OK) {
        sm->host->log(FAHR_LOG_INFO, "pushing %s", remote_ref);
        rc = docker_engine_push(sm->host, &engine, remote_ref, auth_json, NULL, 0, err);
    }
    if (auth_json != NULL) {
        OPENSSL_cleanse(auth_json, strlen(auth_json));
        free(auth_json);
    }
    return rc;
}
