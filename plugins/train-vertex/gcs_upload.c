/* gcs_upload.c: a local file or directory to Cloud Storage with the
 * resumable protocol: a session (POST uploadType=resumable), then chunks of
 * 8 MiB (multiples of 256 KiB, as Cloud Storage requires of all but the
 * last). A chunk that breaks is not sent again blindly: the status query
 * (Content-Range: bytes * /TOTAL) says what arrived (308 + Range), and the
 * upload goes on from there. The finished object's CRC32C is compared with
 * the file's. */
#define _GNU_SOURCE
#include "vertex.h"

#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define CHUNK (8u << 20)
#define STALLED_RESUMES 5 /* status queries in a row that show no progress */
#define CHUNK_BROKEN 1    /* a chunk that did not arrive whole: query, then go on */

struct upload {
    struct vertex *vertex;
    const char *path, *bucket, *name;
    uint64_t size;
    char session[FAHR_URI_MAX];
    char root[1024];
};

static const char *header_of(const struct fahr_http_response *response, const char *name)
{
    for (size_t i = 0; i < response->header_count; i++)
        if (strcasecmp(response->headers[i].name, name) == 0)
            return response->headers[i].value;
    return NULL;
}

/* The session's URL from the POST's Location, on the storage root's origin
 * only: the token goes nowhere else. */
static int open_session(struct upload *upload, struct fahr_error *err)
{
    char bucket[768], name[3400], url[sizeof bucket + sizeof name + 1200], length[32];
    vertex_escape(upload->bucket, bucket, sizeof bucket);
    vertex_escape(upload->name, name, sizeof name);
    snprintf(url, sizeof url, "%supload/storage/v1/b/%s/o?uploadType=resumable&name=%s",
             upload->root, bucket, name);
    snprintf(length, sizeof length, "%" PRIu64, upload->size);
    const struct fahr_http_header headers[] = {{"X-Upload-Content-Length", length},
                                               {"Content-Type", "application/json"}};
    /* a body, so that a Content-Length goes too (Google answers 411 without) */
    json_t *metadata = json_pack("{s:s}", "name", upload->name);
    char *text = json_dumps(metadata, JSON_COMPACT);
    json_decref(metadata);
    if (text == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    struct fahr_http_request request = {
        .size = sizeof request, .method = "POST", .url = url, .headers = headers,
        .header_count = 2, .body = text, .body_length = strlen(text),
        .sign = vertex_auth_sign, .sign_data = upload->vertex->auth,
    };
    struct fahr_http_response response = {.size = sizeof response};
    int rc = vertex_host->http_send(upload->vertex->http, &request, &response, err);
    free(text);
    const char *location = rc == FAHR_OK ? header_of(&response, "Location") : NULL;
    char what[1400];
    snprintf(what, sizeof what, "Cloud Storage upload of gs://%s/%.1024s", upload->bucket,
             upload->name);
    if (rc == FAHR_OK && response.status != 200 && response.status != 201)
        rc = vertex_answer_error(what, &response, err);
    else if (rc == FAHR_OK && (location == NULL || !vertex_same_origin(location, upload->root) ||
                               strlen(location) >= sizeof upload->session))
        rc = fahr_error_set(err, FAHR_EFAIL, "%s: the session's Location is missing or not at "
                            "%.200s", what, upload->root);
    if (rc == FAHR_OK)
        snprintf(upload->session, sizeof upload->session, "%s", location);
    vertex_host->http_release(&response);
    return rc;
}

/* Where the session stands from a 308's Range ("bytes=0-K"): K+1, or 0. */
static uint64_t persisted(const struct fahr_http_response *response)
{
    const char *range = header_of(response, "Range");
    unsigned long long first, last;
    if (range == NULL || sscanf(range, "bytes=%llu-%llu", &first, &last) != 2 || first != 0)
        return 0;
    return (uint64_t)last + 1;
}

/* One PUT to the session: a chunk from `offset`, or the status query
 * (query). *done: the object exists; *offset: where to go on. */
static int put_chunk(struct upload *upload, int query, uint64_t *offset, int *done,
                     json_t **object, struct fahr_error *err)
{
    uint64_t length = upload->size - *offset > CHUNK ? CHUNK : upload->size - *offset;
    char range[96];
    if (query || length == 0)
        snprintf(range, sizeof range, "bytes */%" PRIu64, upload->size);
    else
        snprintf(range, sizeof range, "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, *offset,
                 *offset + length - 1, upload->size);
    const struct fahr_http_header headers[] = {{"Content-Range", range}};
    struct fahr_http_request request = {
        .size = sizeof request, .method = "PUT", .url = upload->session, .headers = headers,
        .header_count = 1, .sign = vertex_auth_sign, .sign_data = upload->vertex->auth,
        /* no bytes: an empty body still, for its Content-Length: 0 */
        .body = query || length == 0 ? "" : NULL,
        .body_path = query || length == 0 ? NULL : upload->path, .body_offset = *offset,
        .body_path_length = length, .progress = query ? NULL : upload->name,
        /* a broken chunk is resumed from the status query, not sent again */
        .max_attempts = query ? 0 : 1,
    };
    struct fahr_http_response response = {.size = sizeof response};
    int rc = vertex_host->http_send(upload->vertex->http, &request, &response, err);
    if (rc == FAHR_OK && response.status == 308) {
        *offset = persisted(&response);
    } else if (rc == FAHR_OK && (response.status == 200 || response.status == 201)) {
        *done = 1;
        *object = json_loadb(response.body ? response.body : "", response.body_length, 0, NULL);
    } else if (rc == FAHR_OK && response.status == 401) { /* the token ran out meanwhile */
        const char *token;
        rc = vertex_auth_token(upload->vertex->auth, 1, &token, err);
        if (rc == FAHR_OK)
            rc = (fahr_error_set(err, FAHR_EFAIL, "the token expired"), CHUNK_BROKEN);
    } else if (rc == FAHR_OK) {
        char what[1400];
        snprintf(what, sizeof what, "Cloud Storage upload of gs://%s/%.1024s", upload->bucket,
                 upload->name);
        rc = vertex_answer_error(what, &response, err);
        if (response.status >= 500 || response.status == 429 || response.status == 408)
            rc = CHUNK_BROKEN;
    } else if (rc != FAHR_EINTERRUPTED) {
        rc = CHUNK_BROKEN;
    }
    vertex_host->http_release(&response);
    return rc;
}

/* The file's size and CRC32C, read once before it goes up. */
static int file_crc32c(const char *path, uint64_t *size, uint32_t *crc, struct fahr_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return fahr_error_set(err, FAHR_EINVAL, "cannot read %s", path);
    }
    static __thread unsigned char buffer[1 << 16];
    ssize_t got;
    *crc = 0;
    while ((got = read(fd, buffer, sizeof buffer)) > 0)
        *crc = vertex_crc32c(*crc, buffer, (size_t)got);
    close(fd);
    *size = (uint64_t)st.st_size;
    return got < 0 ? fahr_error_set(err, FAHR_EINVAL, "cannot read %s", path) : FAHR_OK;
}

/* The chunks, with the status query after a break; the object's CRC32C
 * compared with the file's at the end. */
static int send_chunks(struct upload *upload, uint32_t crc, struct fahr_error *err)
{
    uint64_t offset = 0;
    int done = 0, stalls = 0, rc = FAHR_OK;
    json_t *object = NULL;
    while (rc == FAHR_OK && !done) {
        if (vertex_host->interrupted())
            return fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
        rc = put_chunk(upload, 0, &offset, &done, &object, err);
        while (rc == CHUNK_BROKEN && stalls < STALLED_RESUMES) {
            uint64_t before = offset;
            vertex_host->log(FAHR_LOG_INFO, "the upload of %s broke (%s); asking Cloud Storage "
                             "what arrived", upload->name, err->message);
            rc = put_chunk(upload, 1, &offset, &done, &object, err);
            stalls = offset > before ? 0 : stalls + 1;
        }
        if (rc == CHUNK_BROKEN)
            rc = FAHR_EFAIL; /* err holds the last break */
    }
    char expected[16];
    vertex_crc32c_base64(crc, expected);
    const char *stored = json_string_value(json_object_get(object, "crc32c"));
    if (rc == FAHR_OK && stored != NULL && strcmp(stored, expected) != 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "gs://%s/%.1024s arrived damaged (CRC32C %s, the "
                            "file's is %s)", upload->bucket, upload->name, stored, expected);
    json_decref(object);
    return rc;
}

static int upload_file(struct vertex *vertex, const char *path, const char *bucket,
                       const char *name, struct fahr_error *err)
{
    struct upload upload = {.vertex = vertex, .path = path, .bucket = bucket, .name = name};
    uint32_t crc = 0; /* set by file_crc32c when it succeeds; -O3 cannot tell */
    int rc = file_crc32c(path, &upload.size, &crc, err);
    if (rc == FAHR_OK)
        rc = vertex_endpoint(VERTEX_STORAGE, NULL, upload.root, sizeof upload.root, err);
    if (rc == FAHR_OK && vertex->auth == NULL)
        rc = vertex_credential(vertex, err);
    if (rc == FAHR_OK)
        rc = open_session(&upload, err);
    if (rc == FAHR_OK)
        rc = send_chunks(&upload, crc, err);
    return rc;
}

/* A directory's regular files (links not followed), relative names. */
static __thread json_t *walked;
static __thread size_t walked_root;

static int on_walk(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (type == FTW_F)
        json_array_append_new(walked, json_string(path + walked_root + 1));
    return 0;
}

int vertex_gcs_upload(struct vertex *vertex, const char *local_path, const char *gs_uri,
                      struct fahr_error *err)
{
    char bucket[256], object[1100], name[2200], path[FAHR_URI_MAX * 2];
    struct stat st;
    int rc = vertex_gcs_parse(gs_uri, bucket, sizeof bucket, object, sizeof object, err);
    if (rc == FAHR_OK && stat(local_path, &st) != 0)
        rc = fahr_error_set(err, FAHR_EINVAL, "cannot read %s", local_path);
    if (rc != FAHR_OK)
        return rc;
    if (!S_ISDIR(st.st_mode))
        return upload_file(vertex, local_path, bucket, object, err);
    walked = json_array();
    walked_root = strlen(local_path);
    while (walked_root > 1 && local_path[walked_root - 1] == '/')
        walked_root--;
    if (nftw(local_path, on_walk, 16, FTW_PHYS) != 0)
        rc = fahr_error_set(err, FAHR_EINVAL, "cannot read the directory %s", local_path);
    size_t i, length = strlen(object);
    json_t *relative;
    json_array_foreach(walked, i, relative) {
        if (rc != FAHR_OK)
            break;
        snprintf(name, sizeof name, "%s%s%s", object,
                 length == 0 || object[length - 1] == '/' ? "" : "/",
                 json_string_value(relative));
        snprintf(path, sizeof path, "%.*s/%s", (int)walked_root, local_path,
                 json_string_value(relative));
        rc = upload_file(vertex, path, bucket, name, err);
    }
    json_decref(walked);
    walked = NULL;
    return rc;
}
