/* fetch.c: a completed session's model. Kaggle keeps what the kernel left
 * in /kaggle/working as the session's output, listed page by page with a
 * pre-signed URL for each file; the prelude (source.c) made /opt/ml/model
 * lead into /kaggle/working/model, so the model is the files under
 * "model/". They are placed into dest_dir through the host's placement,
 * all or nothing. The URLs are pre-signed: no Kaggle credential goes to
 * them. Each file's size and, where the storage sends one, its MD5
 * (x-goog-hash) are checked, and a download that breaks off is resumed
 * with a Range request where the bytes so far are kept. */
#include "kaggle.h"

#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define PAGE_SIZE 20     /* the CLI's page */
#define RESUMES_MAX 5    /* tries to go on after a download broke off */
#define REDIRECTS_MAX 5  /* kaggleusercontent.com -> storage.googleapis.com */
#define MODEL_PREFIX "model/"

struct download {
    const struct fahr_http_response *response; /* its status and headers */
    struct fahr_place *place;
    EVP_MD_CTX *md5;
    uint64_t received;    /* bytes placed so far */
    uint64_t total;       /* the file's size where the storage said it */
    int started;          /* this answer's first bytes were checked */
    char md5_b64[64];     /* the storage's MD5 (x-goog-hash), if any */
    struct fahr_error err; /* why on_bytes stopped the transfer */
    int failed;
};

static const char *header(const struct fahr_http_response *response, const char *name)
{
    for (size_t i = 0; i < response->header_count; i++)
        if (strcasecmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    return NULL;
}

/* What the answer's headers say: the file's size, and its MD5 from any
 * x-goog-hash ("crc32c=..,md5=..", in one header or several). */
static void read_headers(struct download *download)
{
    const struct fahr_http_response *response = download->response;
    const char *length = header(response, "Content-Length");
    const char *range = header(response, "Content-Range");
    const char *total = range ? strchr(range, '/') : NULL;
    if (response->status == 200 && length != NULL)
        download->total = strtoull(length, NULL, 10);
    else if (response->status == 206 && total != NULL && total[1] != '*')
        download->total = strtoull(total + 1, NULL, 10);
    for (size_t i = 0; i < response->header_count; i++) {
        if (strcasecmp(response->headers[i].name, "x-goog-hash") != 0)
            continue;
        const char *md5 = strstr(response->headers[i].value, "md5=");
        if (md5 != NULL)
            snprintf(download->md5_b64, sizeof download->md5_b64, "%.*s",
                     (int)strcspn(md5 + 4, ", "), md5 + 4);
    }
}

/* An answer that goes on where the last broke off: 206 from that byte. */
static int resumes_at(const struct fahr_http_response *response, uint64_t offset)
{
    const char *range = header(response, "Content-Range");
    if (offset == 0)
        return response->status == 200 || response->status == 206;
    return response->status == 206 && range != NULL && strncmp(range, "bytes ", 6) == 0 &&
           strtoull(range + 6, NULL, 10) == offset;
}

static int on_bytes(void *data, const void *chunk, size_t length)
{
    struct download *download = data;
    if (!download->started) {
        download->started = 1;
        if (!resumes_at(download->response, download->received)) {
            download->failed = 1;
            fahr_error_set(&download->err, FAHR_EFAIL, "the storage did not resume the "
                           "download at byte %llu", (unsigned long long)download->received);
            return 1;
        }
        read_headers(download);
    }
    if (kaggle_host->place_write(download->place, chunk, length, &download->err) != FAHR_OK ||
        EVP_DigestUpdate(download->md5, chunk, length) != 1) {
        download->failed = 1;
        return 1;
    }
    download->received += length;
    return 0;
}

/* One GET of `url`: with no Kaggle header (the URL is pre-signed), from
 * download->received on. Follows a redirect into *url. */
static int get_once(struct kaggle *kaggle, char *url, size_t url_size, const char *name,
                    struct download *download, int *redirected, struct fahr_error *err)
{
    char range[64];
    snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)download->received);
    const struct fahr_http_header headers[] = {{"Range", range}};
    struct fahr_http_response response = {.size = sizeof response};
    struct fahr_http_request get = {
        .size = sizeof get,
        .method = "GET",
        .url = url,
        .headers = headers,
        .header_count = download->received > 0,
        .on_body = on_bytes,
        .on_body_data = download,
        .progress = name,
    };
    download->response = &response;
    download->started = 0;
    *redirected = 0;
    int rc = kaggle_host->http_send(kaggle->http, &get, &response, err);
    const char *location = header(&response, "Location");
    if (download->failed)
        rc = fahr_error_set(err, FAHR_EFAIL, "%s: %s", name, download->err.message);
    else if (rc == FAHR_OK && response.status >= 300 && response.status < 400 && location &&
             (strncmp(location, "https://", 8) == 0 || strncmp(location, "http://", 7) == 0) &&
             strlen(location) < url_size) {
        memmove(url, location, strlen(location) + 1);
        *redirected = 1;
    } else if (rc == FAHR_OK && (response.status < 200 || response.status > 299))
        rc = fahr_error_set(err, FAHR_EFAIL, "%s: the storage answered HTTP %ld", name,
                            response.status);
    kaggle_host->http_release(&response);
    download->response = NULL;
    return rc;
}

/* The file's bytes, the size and MD5 checked. */
static int check_file(const char *name, struct download *download, struct fahr_error *err)
{
    unsigned char digest[EVP_MAX_MD_SIZE], encoded[64];
    unsigned int digest_length = 0;
    if (download->total != 0 && download->received != download->total)
        return fahr_error_set(err, FAHR_EFAIL, "%s: received %llu bytes of %llu", name,
                              (unsigned long long)download->received,
                              (unsigned long long)download->total);
    if (download->md5_b64[0] == '\0')
        return FAHR_OK; /* the storage gave no hash; the size is all there is */
    EVP_DigestFinal_ex(download->md5, digest, &digest_length);
    EVP_EncodeBlock(encoded, digest, (int)digest_length);
    if (strcmp((const char *)encoded, download->md5_b64) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "%s: its MD5 is not the one the storage "
                              "holds; the download is damaged", name);
    return FAHR_OK;
}

/* One output file into `place`, as RELATIVE (its name under model/). */
static int download_file(struct kaggle *kaggle, const char *file_url, const char *relative,
                         struct fahr_place *place, struct fahr_error *err)
{
    char url[FAHR_URI_MAX];
    if (strncmp(file_url, "https://", 8) != 0 && strncmp(file_url, "http://", 7) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "%s: Kaggle gave no http(s) URL for it",
                              relative);
    snprintf(url, sizeof url, "%s", file_url);
    int rc = kaggle_host->place_file(place, relative, 0644, err);
    if (rc != FAHR_OK)
        return rc;
    struct download download = {.place = place, .md5 = EVP_MD_CTX_new()};
    if (download.md5 == NULL || EVP_DigestInit_ex(download.md5, EVP_md5(), NULL) != 1)
        rc = fahr_error_set(err, FAHR_EFAIL, "cannot compute MD5");
    int redirects = 0, resumes = 0, redirected = 0;
    while (rc == FAHR_OK) {
        uint64_t before = download.received;
        rc = get_once(kaggle, url, sizeof url, relative, &download, &redirected, err);
        if (rc == FAHR_OK && redirected && ++redirects <= REDIRECTS_MAX)
            continue;
        if (rc == FAHR_OK && redirected)
            rc = fahr_error_set(err, FAHR_EFAIL, "%s: too many redirects", relative);
        else if (rc == FAHR_EFAIL && !download.failed && download.received > before &&
                 ++resumes <= RESUMES_MAX) {
            kaggle_host->log(FAHR_LOG_INFO, "%s broke off at byte %llu; resuming", relative,
                             (unsigned long long)download.received);
            rc = FAHR_OK;
            continue;
        }
        break;
    }
    if (rc == FAHR_OK)
        rc = check_file(relative, &download, err);
    EVP_MD_CTX_free(download.md5);
    return rc;
}

/* The session's output files under model/, all pages, as
 * [[relative name, url], ...]. */
static int model_files(struct kaggle *kaggle, const struct fahr_config *config,
                       const struct kaggle_job *job, json_t *files, struct fahr_error *err)
{
    char token[1024] = "";
    int rc;
    do {
        json_t *answer = NULL, *file;
        json_t *body = kaggle_version_request(job);
        json_object_set_new(body, "pageSize", json_integer(PAGE_SIZE));
        if (token[0] != '\0')
            json_object_set_new(body, "pageToken", json_string(token));
        rc = kaggle_call(kaggle, config, "ListKernelSessionOutput", body, &answer, err);
        size_t i;
        json_array_foreach(json_object_get(answer, "files"), i, file) {
            const char *name = json_string_value(json_object_get(file, "fileName"));
            const char *url = json_string_value(json_object_get(file, "url"));
            if (name != NULL && strncmp(name, "/kaggle/working/", 16) == 0)
                name += 16; /* a full path, where Kaggle gives one */
            if (name != NULL && url != NULL && strncmp(name, MODEL_PREFIX, 6) == 0 &&
                name[6] != '\0')
                json_array_append_new(files, json_pack("[s, s]", name + 6, url));
        }
        const char *next = json_string_value(json_object_get(answer, "nextPageToken"));
        if (rc == FAHR_OK && next != NULL && strlen(next) >= sizeof token)
            rc = fahr_error_set(err, FAHR_EFAIL, "Kaggle's page token is too long");
        snprintf(token, sizeof token, "%s", rc == FAHR_OK && next ? next : "");
        json_decref(answer);
    } while (rc == FAHR_OK && token[0] != '\0');
    return rc;
}

/* The job must have completed: a failed or running session has no model. */
static int completed(struct kaggle *kaggle, const struct fahr_config *config,
                     const char *job_id, struct fahr_error *err)
{
    struct fahr_job_status status = {.size = sizeof status};
    int rc = kaggle_poll(kaggle, config, job_id, &status, err);
    if (rc == FAHR_OK && status.state != FAHR_JOB_COMPLETED)
        rc = fahr_error_set(err, FAHR_EFAIL, "job %s has not completed (Kaggle says %s)",
                            job_id, status.detail);
    return rc;
}

int kaggle_fetch(void *state, const struct fahr_fetch_request *request, struct fahr_error *err)
{
    struct kaggle *kaggle = state;
    struct kaggle_job job;
    if (request->job_id == NULL)
        return fahr_error_set(err, FAHR_ENOTSUP, "Kaggle's models are fetched by job id only");
    int rc = kaggle_job_parse(request->job_id, &job, err);
    if (rc == FAHR_OK)
        rc = completed(kaggle, request->config, request->job_id, err);
    json_t *files = json_array(), *file;
    if (rc == FAHR_OK)
        rc = model_files(kaggle, request->config, &job, files, err);
    if (rc == FAHR_OK && json_array_size(files) == 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "job %s left nothing in /kaggle/working/model "
                            "(/opt/ml/model)", request->job_id);
    struct fahr_place *place = NULL;
    if (rc == FAHR_OK)
        rc = kaggle_host->place_open(request->dest_dir, request->overwrite, &place, err);
    size_t i;
    json_array_foreach(files, i, file) {
        if (rc != FAHR_OK)
            break;
        if (kaggle_host->interrupted())
            rc = FAHR_EINTERRUPTED;
        else /* the name is Kaggle's word: place_file confines it to dest_dir */
            rc = download_file(kaggle, json_string_value(json_array_get(file, 1)),
                               json_string_value(json_array_get(file, 0)), place, err);
    }
    if (rc == FAHR_OK) {
        rc = kaggle_host->place_commit(place, err); /* frees the placement either way */
        place = NULL;
    }
    kaggle_host->place_abort(place);
    json_decref(files);
    return rc;
}
