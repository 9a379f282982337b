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

struct upload {
    struct aws_client *client;
    char bucket[256];
    char prefix[2048];
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

static int upload_file(struct upload *up, const char *path, const char *relative,
                       uint64_t size, struct fahr_error *err)
{
    char key[4096], object[4400];
    snprintf(key, sizeof key, "%s%s%s", up->prefix, up->prefix[0] ? "/" : "", relative);
    snprintf(object, sizeof object, "/%s/%s", up->bucket, key);
    char sha256[65], md5[33];
    if (digest_file(path, sha256, md5) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", path, strerror(errno));

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
        snprintf(quoted, sizeof quoted, "\"%s\"", md5);
        if (curl_easy_header(up->client->curl, "ETag", 0, CURLH_HEADER, -1, &etag) == CURLHE_OK &&
            length == (curl_off_t)size && strcasecmp(etag->value, quoted) == 0) {
            up->skipped++;
            up->done += size;
            up->client->host->progress("uploading inputs", up->done, up->total, "B");
            return FAHR_OK;
        }
    } else if (rc != FAHR_ENOTFOUND) {
        *err = head_err;
        return rc;
    }
    struct aws_request put = {.service = &aws_s3, .operation = "PutObject", .method = "PUT",
                              .path = object, .body_path = path, .body_sha256 = sha256};
    rc = aws_send(up->client, &put, &response, err);
    aws_response_free(&response);
    if (rc == FAHR_OK) {
        up->uploaded++;
        up->done += size;
        up->client->host->progress("uploading inputs", up->done, up->total, "B");
    }
    return rc;
}

/* Visit every regular file under `path` (itself if a file); `visit` NULL
 * only adds up sizes. */
static int walk(struct upload *up, const char *path, const char *relative, bool sizing,
                struct fahr_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "%s: %s", path, strerror(errno));
    if (S_ISREG(st.st_mode)) {
        if (sizing) {
            up->total += (uint64_t)st.st_size;
            return FAHR_OK;
        }
        return upload_file(up, path, relative, (uint64_t)st.st_size, err);
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
        rc = walk(up, child, child_relative, sizing, err);
    }
    closedir(dir);
    return rc;
}

int s3_upload_path(struct aws_client *client, const char *local_path, const char *s3_prefix,
                   struct fahr_error *err)
{
    struct upload up = {.client = client};
    const char *start = s3_prefix + 5;
    const char *slash = strchr(start, '/');
    if (strncmp(s3_prefix, "s3://", 5) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not an S3 location", s3_prefix);
    snprintf(up.bucket, sizeof up.bucket, "%.*s", slash ? (int)(slash - start) : (int)strlen(start),
             start);
    snprintf(up.prefix, sizeof up.prefix, "%s", slash ? slash + 1 : "");
    size_t length = strlen(up.prefix);
    while (length > 0 && up.prefix[length - 1] == '/')
        up.prefix[--length] = '\0';
    struct stat st;
    if (stat(local_path, &st) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "%s: %s", local_path, strerror(errno));
    /* A file goes under the prefix by its name; a directory's contents by
     * their paths inside it. */
    const char *name = strrchr(local_path, '/');
    const char *relative = S_ISDIR(st.st_mode) ? "" : (name ? name + 1 : local_path);
    int rc = walk(&up, local_path, relative, true, err);
    if (rc == FAHR_OK)
        rc = walk(&up, local_path, relative, false, err);
    if (rc == FAHR_OK)
        client->host->log(FAHR_LOG_INFO, "%s: %zu file(s) uploaded, %zu already there",
                          s3_prefix, up.uploaded, up.skipped);
    return rc;
}
