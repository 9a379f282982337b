/* fetch.c: a succeeded job's model: the files its script wrote, which the
 * container copied to AIP_MODEL_DIR (FAHR_MODEL_DIR_URI), fetched through
 * vd1's parallel, CRC32C-checked download into the host's all-or-nothing
 * placement; or, where the location holds model.tar.gz alone (the
 * FAHR_MODEL_URI form), that archive unpacked by the host. */
#include "vertex.h"

#include <stdio.h>
#include <string.h>

struct model_listing {
    size_t count;
    int archive_alone;     /* the one object is model.tar.gz */
    uint64_t size;
    char crc32c[16];
};

static int on_model_object(void *data, const char *name, uint64_t size, const char *crc32c)
{
    struct model_listing *listing = data;
    const char *slash = strrchr(name, '/');
    listing->count++;
    listing->archive_alone =
        listing->count == 1 && strcmp(slash ? slash + 1 : name, "model.tar.gz") == 0;
    listing->size = size;
    snprintf(listing->crc32c, sizeof listing->crc32c, "%s", crc32c ? crc32c : "");
    return 0;
}

struct archive_download {
    struct fahr_place *place;
    uint32_t crc;
    uint64_t length;
    struct fahr_error err;
    int failed;
};

static int on_archive_bytes(void *data, const void *chunk, size_t length)
{
    struct archive_download *download = data;
    download->crc = vertex_crc32c(download->crc, chunk, length);
    download->length += length;
    if (vertex_host->place_archive(download->place, chunk, length, &download->err) != FAHR_OK)
        download->failed = 1;
    return download->failed;
}

/* gs://B/PREFIX/model.tar.gz, unpacked into `place` as it comes. */
static int fetch_archive(struct vertex *vertex, const char *prefix,
                         const struct model_listing *listing, struct fahr_place *place,
                         struct fahr_error *err)
{
    char bucket[VERTEX_NAME_MAX], object[1024], name[1100], escaped_bucket[3 * VERTEX_NAME_MAX],
        escaped_name[3400], root[1024], url[6000];
    int rc = vertex_gcs_parse(prefix, bucket, sizeof bucket, object, sizeof object, err);
    if (rc == FAHR_OK)
        rc = vertex_endpoint(VERTEX_STORAGE, NULL, root, sizeof root, err);
    if (rc != FAHR_OK)
        return rc;
    size_t length = strlen(object);
    snprintf(name, sizeof name, "%.*s%smodel.tar.gz", (int)length, object,
             length == 0 || object[length - 1] == '/' ? "" : "/");
    vertex_escape(bucket, escaped_bucket, sizeof escaped_bucket);
    vertex_escape(name, escaped_name, sizeof escaped_name);
    snprintf(url, sizeof url, "%sdownload/storage/v1/b/%s/o/%s?alt=media", root, escaped_bucket,
             escaped_name);
    struct archive_download download = {.place = place};
    struct fahr_http_request request = {
        .size = sizeof request, .method = "GET", .url = url,
        .sign = vertex_auth_sign, .sign_data = vertex->auth,
        .on_body = on_archive_bytes, .on_body_data = &download, .progress = "model.tar.gz",
    };
    struct fahr_http_response response = {.size = sizeof response};
    rc = vertex_host->http_send(vertex->http, &request, &response, err);
    char crc[16];
    vertex_crc32c_base64(download.crc, crc);
    if (download.failed)
        rc = (*err = download.err, FAHR_EFAIL);
    else if (rc == FAHR_OK && response.status != 200)
        rc = fahr_error_set(err, FAHR_EFAIL, "Cloud Storage answered %ld for gs://%s/%s",
                            response.status, bucket, name);
    else if (rc == FAHR_OK && (download.length != listing->size ||
                               (listing->crc32c[0] && strcmp(crc, listing->crc32c) != 0)))
        rc = fahr_error_set(err, FAHR_EFAIL,
                            "gs://%s/%s came damaged (its size or CRC32C is not the stored "
                            "one); nothing was placed", bucket, name);
    vertex_host->http_release(&response);
    return rc;
}

/* The model's location: the artifact_uri given, or a succeeded job's. */
static int model_location(struct vertex *vertex, const struct fahr_fetch_request *request,
                          char *prefix, size_t size, struct fahr_error *err)
{
    if (request->artifact_uri != NULL && request->artifact_uri[0] != '\0') {
        if (strncmp(request->artifact_uri, "gs://", 5) != 0)
            return fahr_error_set(err, FAHR_EINVAL, "a Vertex AI model is at gs://BUCKET/PATH");
        int n = snprintf(prefix, size, "%s", request->artifact_uri);
        return n < 0 || (size_t)n >= size
                   ? fahr_error_set(err, FAHR_EINVAL, "the model's location is too long")
                   : FAHR_OK;
    }
    if (request->job_id == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "fetch needs a job id or gs://BUCKET/PATH");
    json_t *job = NULL;
    int rc = vertex_job_get(vertex, request->job_id, &job, err);
    if (rc != FAHR_OK)
        return rc;
    const char *state = json_string_value(json_object_get(job, "state"));
    if (vertex_state_of(state) != FAHR_JOB_COMPLETED)
        rc = fahr_error_set(err, FAHR_EINVAL, "job %s has not succeeded (%s): it has no model",
                            request->job_id,
                            state && strlen(state) > 10 ? state + 10 : "its state is unknown");
    else if (vertex_model_uri(job, prefix, size) != 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "Vertex AI did not say where job %s wrote its output",
                            request->job_id);
    json_decref(job);
    return rc;
}

int vertex_fetch(void *state, const struct fahr_fetch_request *request, struct fahr_error *err)
{
    struct vertex *vertex = state;
    char prefix[FAHR_URI_MAX];
    int rc = vertex_credential(vertex, err);
    if (rc == FAHR_OK)
        rc = model_location(vertex, request, prefix, sizeof prefix - 1, err);
    if (rc != FAHR_OK)
        return rc;
    if (prefix[strlen(prefix) - 1] != '/') /* under it, not beside it (model2/) */
        strcat(prefix, "/");
    /* A job's model is its files as the script wrote them (the driver sets
     * FAHR_MODEL_DIR_URI only), even a lone model.tar.gz, listed once by
     * vertex_gcs_fetch; a location the user names may hold the
     * FAHR_MODEL_URI form, which is unpacked: only there is it listed first
     * to tell. */
    int from_job = request->artifact_uri == NULL || request->artifact_uri[0] == '\0';
    struct model_listing listing = {0};
    if (!from_job)
        rc = vertex_gcs_list(vertex, prefix, on_model_object, &listing, err);
    struct fahr_place *place = NULL;
    if (rc == FAHR_OK)
        rc = vertex_host->place_open(request->dest_dir, request->overwrite, &place, err);
    if (rc == FAHR_OK && listing.archive_alone)
        rc = fetch_archive(vertex, prefix, &listing, place, err);
    else if (rc == FAHR_OK)
        rc = vertex_gcs_fetch(vertex, prefix, place, err);
    if (rc == FAHR_OK)
        return vertex_host->place_commit(place, err); /* frees the placement either way */
    vertex_host->place_abort(place);
    return rc;
}
