/* plugins/common/s3_upload.c: see s3_upload.h. */
#define _GNU_SOURCE
#include "s3_upload.h"

#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "digest_cache.h"
#include "model_fetch.h"

struct upload_file {
    char *path;
    char *relative;
    uint64_t size;
    char sha256[65]; /* of the whole file: the prefix's, the object's metadata */
    size_t part_count; /* 0: one PUT */
};

struct upload {
    struct aws_client *client;
    uint64_t part_size; /* files larger go up in parts of this size */
    size_t concurrency; /* parts at once */
    char bucket[256];
    char prefix[2048];
    struct upload_file *files;
    size_t count;
    uint64_t total, done;
    size_t uploaded, skipped;
};

/* The user metadata that names an object's content: S3's ETag is an MD5
 * (or an MD5 of MD5s) that fahr would read the file once more to learn. */
#define SHA256_METADATA "x-amz-meta-fahr-sha256"

/* SHA-256 of `length` bytes of `stream` from where it stands. */
static int sha256_stream(FILE *stream, uint64_t length, char hex[65])
{
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    if (sha == NULL || !EVP_DigestInit_ex(sha, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(sha);
        return -1;
    }
    unsigned char buffer[1 << 16], digest[32];
    unsigned int digest_length;
    size_t n;
    while (length > 0 &&
           (n = fread(buffer, 1, length < sizeof buffer ? (size_t)length : sizeof buffer,
                      stream)) > 0) {
        EVP_DigestUpdate(sha, buffer, n);
        length -= n;
    }
    EVP_DigestFinal_ex(sha, digest, &digest_length);
    EVP_MD_CTX_free(sha);
    sigv4_hex(digest, 32, hex);
    return ferror(stream) || length > 0 ? -1 : 0;
}

static bool same_file_state(const struct stat *a, const struct stat *b)
{
    return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec &&
           a->st_ctim.tv_sec == b->st_ctim.tv_sec && a->st_ctim.tv_nsec == b->st_ctim.tv_nsec;
}

/* The file's SHA-256: from the digest cache where its stat matches, else
 * read once (and remembered if it did not change meanwhile). */
static int digest_file(struct upload *up, struct upload_file *file, const struct stat *st)
{
    if (digest_cache_get(file->path, st, file->sha256)) {
        up->client->host->log(FAHR_LOG_DEBUG, "%s: digest cached", file->path);
        return 0;
    }
    FILE *stream = fopen(file->path, "rb");
    if (stream == NULL)
        return -1;
    int rc = sha256_stream(stream, file->size, file->sha256);
    struct stat after;
    bool unchanged = rc == 0 && fstat(fileno(stream), &after) == 0 && same_file_state(st, &after);
    fclose(stream);
    if (unchanged)
        digest_cache_put(file->path, st, file->sha256);
    return rc;
}

static void count_bytes(struct upload *up, uint64_t bytes)
{
    up->done += bytes;
    up->client->host->progress("uploading inputs", up->done, up->total, "B");
}

struct part_upload {
    struct upload *up;
    const struct upload_file *file;
    const char *object;
    const char *upload_id;
    pthread_mutex_t lock;
    size_t next_part;
    char (*etags)[128];
    char (*crc32s)[16]; /* each part's CRC32, base64, as sent */
    int rc;
    struct fahr_error err;
};

static void part_failed(struct part_upload *job, int rc, const struct fahr_error *err)
{
    pthread_mutex_lock(&job->lock);
    if (job->rc == FAHR_OK) {
        job->rc = rc;
        if (err != NULL)
            job->err = *err;
    }
    pthread_mutex_unlock(&job->lock);
}

/* A body sent aws-chunked goes once per aws_send (the transport cannot
 * replay it): answers that are worth another try (none came, 5xx, 408,
 * 429) get one here, after a short pause, up to AWS_MAX_ATTEMPTS. */
static int send_chunked(struct aws_client *client, const struct aws_request *request,
                        struct aws_response *response, struct fahr_error *err)
{
    int attempts = aws_max_attempts();
    for (int attempt = 1;; attempt++) {
        int rc = aws_send(client, request, response, err);
        long status = response->status;
        bool again = rc != FAHR_OK && rc != FAHR_EINTERRUPTED &&
                     (status == 0 || status >= 500 || status == 408 || status == 429);
        if (!again || attempt >= attempts)
            return rc;
        aws_response_free(response);
        const char *scale_env = getenv("FAHR_RETRY_SCALE");
        double scale = scale_env ? atof(scale_env) : 1.0;
        usleep((useconds_t)(scale * 100000.0 * (1 << (attempt < 6 ? attempt : 6))));
    }
}

static void *part_worker(void *data)
{
    struct part_upload *job = data;
    struct upload *up = job->up;
    struct aws_client client;
    struct fahr_error open_err;
    int open_rc = aws_client_clone(up->client, &client, &open_err);
    if (open_rc != FAHR_OK) {
        part_failed(job, open_rc, &open_err);
        return NULL;
    }
    for (;;) {
        pthread_mutex_lock(&job->lock);
        size_t part = job->next_part++;
        bool stop = job->rc != FAHR_OK || part >= job->file->part_count;
        pthread_mutex_unlock(&job->lock);
        if (stop)
            break;
        char number[24];
        snprintf(number, sizeof number, "%zu", part + 1);
        struct sigv4_pair query[] = {{"partNumber", number}, {"uploadId", job->upload_id}};
        uint64_t offset = (uint64_t)part * up->part_size;
        uint64_t length = job->file->size - offset < up->part_size ? job->file->size - offset
                                                                   : up->part_size;
        struct aws_request put = {.service = &aws_s3, .operation = "UploadPart", .method = "PUT",
                                  .path = job->object, .query = query, .query_count = 2,
                                  .body_path = job->file->path, .body_file_offset = offset,
                                  .body_file_length = length, .chunked = true,
                                  .crc32_sent = job->crc32s[part]};
        struct aws_response response;
        struct fahr_error err = {{0}};
        int rc = send_chunked(&client, &put, &response, &err);
        const char *etag = rc == FAHR_OK ? aws_answer_header(&response, "ETag") : NULL;
        if (rc == FAHR_OK && etag == NULL)
            rc = fahr_error_set(&err, FAHR_EFAIL, "UploadPart: no ETag for part %s", number);
        if (rc != FAHR_OK) {
            aws_response_free(&response);
            part_failed(job, rc, &err);
            break;
        }
        pthread_mutex_lock(&job->lock);
        snprintf(job->etags[part], sizeof job->etags[part], "%s", etag);
        aws_response_free(&response);
        count_bytes(up, length);
        pthread_mutex_unlock(&job->lock);
    }
    aws_client_close(&client);
    return NULL;
}

/* CreateMultipartUpload: the upload's id into upload_id. */
static int create_upload(struct upload *up, const struct upload_file *file, const char *object,
                         char *upload_id, size_t id_size, struct fahr_error *err)
{
    struct sigv4_pair create_query[] = {{"uploads", ""}};
    /* The parts carry CRC32s, which S3 combines into the whole object's
     * (FULL_OBJECT), the checksum fetch checks. */
    struct sigv4_pair headers[] = {{SHA256_METADATA, file->sha256},
                                   {"x-amz-checksum-algorithm", "CRC32"},
                                   {"x-amz-checksum-type", "FULL_OBJECT"}};
    struct aws_request create = {.service = &aws_s3, .operation = "CreateMultipartUpload",
                                 .method = "POST", .path = object, .query = create_query,
                                 .query_count = 1, .headers = headers, .header_count = 3,
                                 .body = "", .body_length = 0};
    struct aws_response response;
    int rc = aws_send(up->client, &create, &response, err);
    struct xml_node *answer = rc == FAHR_OK ? xml_parse(response.body ? response.body : "",
                                                        response.length)
                                            : NULL;
    aws_response_free(&response);
    if (rc != FAHR_OK)
        return rc;
    const char *id = xml_text(answer, "UploadId");
    snprintf(upload_id, id_size, "%s", id ? id : "");
    xml_free(answer);
    if (upload_id[0] == '\0')
        return fahr_error_set(err, FAHR_EFAIL, "CreateMultipartUpload: no UploadId");
    return FAHR_OK;
}

/* The parts go up over several connections at once; each reads its range
 * of the file as it is sent, so memory stays flat. */
static int upload_each_part(struct part_upload *job, struct fahr_error *err)
{
    size_t workers = job->up->concurrency < job->file->part_count ? job->up->concurrency
                                                                  : job->file->part_count;
    pthread_t *threads = calloc(workers, sizeof *threads);
    size_t started = 0;
    if (job->etags != NULL && job->crc32s != NULL && threads != NULL)
        for (size_t i = 0; i < workers; i++)
            if (pthread_create(&threads[i], NULL, part_worker, job) == 0)
                started++;
    if (started == 0)
        part_failed(job, FAHR_EFAIL, NULL);
    for (size_t i = 0; i < started; i++)
        pthread_join(threads[i], NULL);
    free(threads);
    int rc = job->rc;
    if (rc != FAHR_OK && job->err.message[0] != '\0')
        *err = job->err;
    else if (rc != FAHR_OK)
        fahr_error_set(err, rc, "UploadPart: cannot start the uploads");
    return rc;
}

/* CompleteMultipartUpload with every part's ETag. */
static int complete_upload(struct part_upload *job, struct fahr_error *err)
{
    char *complete = NULL;
    size_t complete_length = 0;
    FILE *xml = open_memstream(&complete, &complete_length);
    if (xml == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    fputs("<CompleteMultipartUpload>", xml);
    for (size_t part = 0; part < job->file->part_count; part++)
        fprintf(xml,
                "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag>"
                "<ChecksumCRC32>%s</ChecksumCRC32></Part>",
                part + 1, job->etags[part], job->crc32s[part]);
    fputs("</CompleteMultipartUpload>", xml);
    fclose(xml);
    struct sigv4_pair id_query[] = {{"uploadId", job->upload_id}};
    /* Without a Content-Type, the XML would be sent as a form. */
    struct sigv4_pair headers[] = {{"Content-Type", "application/xml"}};
    struct aws_request finish = {.service = &aws_s3, .operation = "CompleteMultipartUpload",
                                 .method = "POST", .path = job->object, .query = id_query,
                                 .query_count = 1, .headers = headers, .header_count = 1,
                                 .body = complete, .body_length = complete_length};
    struct aws_response response;
    int rc = aws_send(job->up->client, &finish, &response, err);
    /* S3 may answer 200 and put the error in the body. */
    if (rc == FAHR_OK && response.body != NULL && strstr(response.body, "<Error>") != NULL)
        rc = fahr_error_set(err, FAHR_EFAIL, "CompleteMultipartUpload failed: %.200s",
                            response.body);
    aws_response_free(&response);
    free(complete);
    return rc;
}

/* CreateMultipartUpload, UploadPart for each part, CompleteMultipartUpload;
 * AbortMultipartUpload when anything fails, so no parts are left behind. */
static int upload_parts(struct upload *up, const struct upload_file *file, const char *object,
                        struct fahr_error *err)
{
    char upload_id[1024];
    int rc = create_upload(up, file, object, upload_id, sizeof upload_id, err);
    if (rc != FAHR_OK)
        return rc;
    struct part_upload job = {.up = up, .file = file, .object = object, .upload_id = upload_id};
    job.etags = calloc(file->part_count, sizeof *job.etags);
    job.crc32s = calloc(file->part_count, sizeof *job.crc32s);
    pthread_mutex_init(&job.lock, NULL);
    rc = upload_each_part(&job, err);
    pthread_mutex_destroy(&job.lock);
    if (rc == FAHR_OK)
        rc = complete_upload(&job, err);
    free(job.etags);
    free(job.crc32s);
    if (rc != FAHR_OK) {
        struct sigv4_pair id_query[] = {{"uploadId", upload_id}};
        struct aws_request abort_upload = {.service = &aws_s3,
                                           .operation = "AbortMultipartUpload",
                                           .method = "DELETE", .path = object,
                                           .query = id_query, .query_count = 1};
        struct aws_response response;
        struct fahr_error ignored;
        aws_send(up->client, &abort_upload, &response, &ignored);
        aws_response_free(&response);
    }
    return rc;
}

static int upload_file(struct upload *up, const struct upload_file *file, struct fahr_error *err)
{
    char key[4096], object[4400];
    snprintf(key, sizeof key, "%s/%s", up->prefix, file->relative);
    snprintf(object, sizeof object, "/%s/%s", up->bucket, key);

    /* Already there with the same size and content: skip it. */
    struct aws_request head = {.service = &aws_s3, .operation = "HeadObject", .method = "HEAD",
                               .path = object};
    struct aws_response response;
    struct fahr_error head_err;
    int rc = aws_send(up->client, &head, &response, &head_err);
    if (rc == FAHR_OK) {
        int64_t length = aws_answer_length(&response);
        const char *sha256 = aws_answer_header(&response, SHA256_METADATA);
        bool same = sha256 != NULL && length == (int64_t)file->size &&
                    strcmp(sha256, file->sha256) == 0;
        aws_response_free(&response);
        if (same) {
            up->skipped++;
            count_bytes(up, file->size);
            return FAHR_OK;
        }
    } else {
        aws_response_free(&response);
        if (rc != FAHR_ENOTFOUND) {
            *err = head_err;
            return rc;
        }
    }
    if (file->part_count > 0) {
        rc = upload_parts(up, file, object, err);
    } else {
        struct sigv4_pair metadata[] = {{SHA256_METADATA, file->sha256}};
        struct aws_request put = {.service = &aws_s3, .operation = "PutObject", .method = "PUT",
                                  .path = object, .headers = metadata, .header_count = 1,
                                  .body_path = file->path, .body_file_length = file->size,
                                  .chunked = true};
        rc = send_chunked(up->client, &put, &response, err);
        aws_response_free(&response);
        if (rc == FAHR_OK)
            count_bytes(up, file->size);
    }
    if (rc == FAHR_OK)
        up->uploaded++;
    return rc;
}

/* List and digest every regular file under `path` (itself if a file). */
static int collect(struct upload *up, const char *path, const char *relative,
                   struct fahr_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "%s: %s", path, strerror(errno));
    if (S_ISREG(st.st_mode)) {
        struct upload_file *grown = realloc(up->files, (up->count + 1) * sizeof *grown);
        if (grown == NULL)
            return fahr_error_set(err, FAHR_EFAIL, "out of memory");
        up->files = grown;
        struct upload_file *file = &up->files[up->count];
        memset(file, 0, sizeof *file);
        file->path = strdup(path);
        file->relative = strdup(relative);
        file->size = (uint64_t)st.st_size;
        up->count++;
        if (file->path == NULL || file->relative == NULL)
            return fahr_error_set(err, FAHR_EFAIL, "out of memory");
        if (file->size > up->part_size)
            file->part_count = (size_t)((file->size + up->part_size - 1) / up->part_size);
        if (digest_file(up, file, &st) != 0)
            return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", path, strerror(errno));
        up->total += file->size;
        return FAHR_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return FAHR_OK; /* sockets, FIFOs: not data */
    DIR *dir = opendir(path);
    if (dir == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", path, strerror(errno));
    struct dirent *entry;
    int rc = FAHR_OK;
    while (rc == FAHR_OK && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[8192], child_relative[4096];
        snprintf(child, sizeof child, "%s/%s", path, entry->d_name);
        snprintf(child_relative, sizeof child_relative, "%s%s%s", relative,
                 relative[0] ? "/" : "", entry->d_name);
        rc = collect(up, child, child_relative, err);
    }
    closedir(dir);
    return rc;
}

static int by_relative_path(const void *a, const void *b)
{
    return strcmp(((const struct upload_file *)a)->relative,
                  ((const struct upload_file *)b)->relative);
}

int s3_upload_path(struct aws_client *client, const char *local_path, const char *s3_base,
                   char *uri, size_t uri_size, struct fahr_error *err)
{
    if (strncmp(s3_base, "s3://", 5) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not an S3 location", s3_base);
    /* S3's parts are 5 MiB at least; FAHR_S3_PART_SIZE (bytes) changes the
     * default of 64 MiB. */
    const char *part_env = getenv("FAHR_S3_PART_SIZE");
    uint64_t part_size = part_env ? strtoull(part_env, NULL, 10) : 0;
    if (part_size < 5u * 1024 * 1024)
        part_size = part_env ? 5u * 1024 * 1024 : 64u * 1024 * 1024;
    /* Parts at once: FAHR_S3_UPLOAD_CONCURRENCY, 4 by default. */
    const char *concurrency_env = getenv("FAHR_S3_UPLOAD_CONCURRENCY");
    long concurrency = concurrency_env ? atol(concurrency_env) : 4;
    struct upload up = {.client = client, .part_size = part_size,
                        .concurrency = concurrency > 0 ? (size_t)concurrency : 1};
    const char *start = s3_base + 5;
    const char *slash = strchr(start, '/');
    snprintf(up.bucket, sizeof up.bucket, "%.*s",
             slash ? (int)(slash - start) : (int)strlen(start), start);
    char base[2048];
    snprintf(base, sizeof base, "%s", slash ? slash + 1 : "");
    size_t length = strlen(base);
    while (length > 0 && base[length - 1] == '/')
        base[--length] = '\0';

    struct stat st;
    if (stat(local_path, &st) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "%s: %s", local_path, strerror(errno));
    const char *name = strrchr(local_path, '/');
    int rc = collect(&up, local_path, S_ISDIR(st.st_mode) ? "" : (name ? name + 1 : local_path),
                     err);
    if (rc == FAHR_OK) {
        /* The content's digest names the prefix: paths, sizes and SHA-256s. */
        if (up.count > 1)
            qsort(up.files, up.count, sizeof *up.files, by_relative_path);
        EVP_MD_CTX *manifest = EVP_MD_CTX_new();
        EVP_DigestInit_ex(manifest, EVP_sha256(), NULL);
        for (size_t i = 0; i < up.count; i++) {
            char line[4300];
            int n = snprintf(line, sizeof line, "%s\t%llu\t%s\n", up.files[i].relative,
                             (unsigned long long)up.files[i].size, up.files[i].sha256);
            EVP_DigestUpdate(manifest, line, (size_t)n);
        }
        unsigned char digest[32];
        unsigned int digest_length;
        EVP_DigestFinal_ex(manifest, digest, &digest_length);
        EVP_MD_CTX_free(manifest);
        char hex[17];
        sigv4_hex(digest, 8, hex);
        snprintf(up.prefix, sizeof up.prefix, "%s%s%s", base, base[0] ? "/" : "", hex);
        snprintf(uri, uri_size, "s3://%s/%s", up.bucket, up.prefix);
        for (size_t i = 0; rc == FAHR_OK && i < up.count; i++)
            rc = upload_file(&up, &up.files[i], err);
    }
    if (rc == FAHR_OK)
        client->host->log(FAHR_LOG_INFO, "%s: %zu file(s) uploaded, %zu already there", uri,
                          up.uploaded, up.skipped);
    for (size_t i = 0; i < up.count; i++) {
        free(up.files[i].path);
        free(up.files[i].relative);
    }
    free(up.files);
    return rc;
}
