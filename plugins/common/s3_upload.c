/* plugins/common/s3_upload.c: see s3_upload.h. */
#define _GNU_SOURCE
#include "s3_upload.h"

#include <curl/curl.h>
#include <dirent.h>
#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "model_fetch.h"

struct upload_file {
    char *path;
    char *relative;
    uint64_t size;
    char sha256[65];
    char md5[33];
};

struct upload {
    struct aws_client *client;
    char bucket[256];
    char prefix[2048];
    struct upload_file *files;
    size_t count;
    uint64_t total, done;
    size_t uploaded, skipped;
};

/* SHA-256 (for the signature) and MD5 (for the ETag) of a file, in hex. */
static int digest_file(const char *path, char sha256[65], char md5[33])
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return -1;
    EVP_MD_CTX *sha = EVP_MD_CTX_new(), *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(sha, EVP_sha256(), NULL);
    EVP_DigestInit_ex(md, EVP_md5(), NULL);
    unsigned char buffer[65536];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, file)) > 0) {
        EVP_DigestUpdate(sha, buffer, n);
        EVP_DigestUpdate(md, buffer, n);
    }
    int failed = ferror(file);
    fclose(file);
    unsigned char out[32];
    unsigned int length;
    EVP_DigestFinal_ex(sha, out, &length);
    for (unsigned i = 0; i < 32; i++)
        snprintf(sha256 + 2 * i, 3, "%02x", out[i]);
    EVP_DigestFinal_ex(md, out, &length);
    for (unsigned i = 0; i < 16; i++)
        snprintf(md5 + 2 * i, 3, "%02x", out[i]);
    EVP_MD_CTX_free(sha);
    EVP_MD_CTX_free(md);
    return failed ? -1 : 0;
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
    aws_response_free(&response);
    if (rc == FAHR_OK) {
        curl_off_t length = -1;
        struct curl_header *etag = NULL;
        curl_easy_getinfo(up->client->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
        char quoted[40];
        snprintf(quoted, sizeof quoted, "\"%s\"", file->md5);
        if (curl_easy_header(up->client->curl, "ETag", 0, CURLH_HEADER, -1, &etag) == CURLHE_OK &&
            length == (curl_off_t)file->size && strcasecmp(etag->value, quoted) == 0) {
            up->skipped++;
            up->done += file->size;
            up->client->host->progress("uploading inputs", up->done, up->total, "B");
            return FAHR_OK;
        }
    } else if (rc != FAHR_ENOTFOUND) {
        *err = head_err;
        return rc;
    }
    struct aws_request put = {.service = &aws_s3, .operation = "PutObject", .method = "PUT",
                              .path = object, .body_path = file->path,
                              .body_sha256 = file->sha256};
    rc = aws_send(up->client, &put, &response, err);
    aws_response_free(&response);
    if (rc == FAHR_OK) {
        up->uploaded++;
        up->done += file->size;
        up->client->host->progress("uploading inputs", up->done, up->total, "B");
    }
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
        if (digest_file(path, file->sha256, file->md5) != 0)
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
    struct upload up = {.client = client};
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
        for (int i = 0; i < 8; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
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
