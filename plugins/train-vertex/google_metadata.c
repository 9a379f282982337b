/* google_metadata.c: the metadata server of a Google Cloud machine, when ADC
 * found no credential file: first a probe, one short attempt as google-auth
 * makes (a machine elsewhere has no such server, and the host's retries
 * would only delay the "no Google credentials" line), then the project the
 * machine belongs to, as gcloud and google-auth ask it. */
#include "google_auth.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#define PROBE_TIMEOUT_MS 3000 /* google-auth's _METADATA_DEFAULT_TIMEOUT */

static const struct fahr_http_header flavor[] = {{"Metadata-Flavor", "Google"}};

static int says_google(const struct fahr_http_response *response)
{
    for (size_t i = 0; i < response->header_count; i++)
        if (strcasecmp(response->headers[i].name, "Metadata-Flavor") == 0)
            return strcmp(response->headers[i].value, "Google") == 0;
    return 0;
}

static int no_credentials(struct vertex_auth *auth, const char *why, struct fahr_error *err)
{
    char said[FAHR_ERROR_MAX];
    snprintf(said, sizeof said, "%s", why);
    return fahr_error_set(err, FAHR_EINVAL, "no Google credentials: set "
                          "GOOGLE_APPLICATION_CREDENTIALS or run gcloud auth "
                          "application-default login (no metadata server answered at %.*s: "
                          "%.300s)", (int)strlen(auth->probe_url) - 8, auth->probe_url + 7, said);
}

int vertex_metadata_probe(struct vertex_auth *auth, struct fahr_error *err)
{
    if (auth->metadata_answered)
        return FAHR_OK;
    int rc = auth->http ? FAHR_OK : vertex_host->http_open(&auth->http, err);
    if (rc != FAHR_OK)
        return rc;
    struct fahr_http_request request = {
        .size = sizeof request, .method = "GET", .url = auth->probe_url,
        .headers = flavor, .header_count = 1,
        .max_attempts = 1, .timeout_ms = PROBE_TIMEOUT_MS,
    };
    struct fahr_http_response response = {.size = sizeof response};
    rc = vertex_host->http_send(auth->http, &request, &response, err);
    if (rc == FAHR_OK && response.status == 200 && says_google(&response))
        auth->metadata_answered = 1;
    else if (rc == FAHR_OK)
        rc = no_credentials(auth, "the answer is not a Google metadata server's", err);
    else if (rc != FAHR_EINTERRUPTED)
        rc = no_credentials(auth, err->message, err);
    vertex_host->http_release(&response);
    return rc;
}

/* The machine's project id, printable and one line, into out. */
static int ask_project(struct vertex_auth *auth, char *out, size_t size, struct fahr_error *err)
{
    char url[FAHR_URI_MAX + 64];
    snprintf(url, sizeof url, "http://%s/computeMetadata/v1/project/project-id",
             auth->metadata_host);
    struct fahr_http_request request = {
        .size = sizeof request, .method = "GET", .url = url,
        .headers = flavor, .header_count = 1, .timeout_ms = 30000,
    };
    struct fahr_http_response response = {.size = sizeof response};
    int rc = vertex_host->http_send(auth->http, &request, &response, err);
    if (rc == FAHR_OK && response.status != 200)
        rc = vertex_answer_error("the metadata server's project id", &response, err);
    else if (rc == FAHR_OK && (response.body_length == 0 || response.body_length >= size))
        rc = fahr_error_set(err, FAHR_EFAIL, "the metadata server gave no usable project id");
    if (rc == FAHR_OK)
        vertex_text(response.body, out, size);
    vertex_host->http_release(&response);
    return rc;
}

int vertex_auth_project(struct vertex_auth *auth, char *project, size_t size,
                        struct fahr_error *err)
{
    if (auth == NULL || auth->kind != CREDENTIAL_METADATA)
        return FAHR_OK; /* a file's project came with the file */
    pthread_mutex_lock(&auth->lock);
    int rc = vertex_metadata_probe(auth, err);
    if (rc == FAHR_OK)
        rc = ask_project(auth, project, size, err);
    pthread_mutex_unlock(&auth->lock);
    return rc;
}
