/* gcs.c: Cloud Storage names (gs://BUCKET/OBJECT), listing under a prefix,
 * and the CRC32C Cloud Storage keeps of every object. */
#include "vertex.h"

#include <isa-l/crc.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint32_t vertex_crc32c(uint32_t crc, const void *data, size_t length)
{
    /* ISA-L's takes an int length and leaves the inversions to the caller */
    while (length > 0) {
        int step = length > INT_MAX ? INT_MAX : (int)length;
        crc = ~crc32_iscsi((unsigned char *)data, step, ~crc);
        data = (const unsigned char *)data + step;
        length -= (size_t)step;
    }
    return crc;
}

void vertex_crc32c_base64(uint32_t crc, char out[16])
{
    unsigned char bytes[4] = {crc >> 24, crc >> 16, crc >> 8, crc};
    EVP_EncodeBlock((unsigned char *)out, bytes, 4);
}

int vertex_gcs_parse(const char *uri, char *bucket, size_t bsize, char *object, size_t osize,
                     struct fahr_error *err)
{
    if (uri == NULL || strncmp(uri, "gs://", 5) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "a Cloud Storage location is gs://BUCKET[/PATH]");
    const char *name = uri + 5;
    size_t length = strcspn(name, "/");
    /* bucket names: 3-222 of [a-z0-9._-] (Cloud Storage's rule) */
    int ok = length >= 3 && length <= 222 && length < bsize;
    for (size_t i = 0; ok && i < length; i++)
        ok = (name[i] >= 'a' && name[i] <= 'z') || (name[i] >= '0' && name[i] <= '9') ||
             name[i] == '-' || name[i] == '_' || name[i] == '.';
    if (!ok)
        return fahr_error_set(err, FAHR_EINVAL, "%.*s is not a Cloud Storage bucket name",
                              (int)(length > 80 ? 80 : length), name);
    const char *rest = name[length] == '/' ? name + length + 1 : name + length;
    for (const char *p = rest; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fahr_error_set(err, FAHR_EINVAL, "gs://%.*s/...: a control character in "
                                  "the object name", (int)length, name);
    /* The container reaches gs://B/P as /gcs/B/P, where "." and ".." would
     * mean another place than the object name says. */
    for (const char *segment = rest; *segment; ) {
        size_t n = strcspn(segment, "/");
        if ((n == 1 && segment[0] == '.') || (n == 2 && segment[0] == '.' && segment[1] == '.'))
            return fahr_error_set(err, FAHR_EINVAL, "gs://%.*s/...: \".\" and \"..\" are not "
                                  "taken as parts of an object name", (int)length, name);
        segment += n + (segment[n] == '/');
    }
    if (strlen(rest) >= osize || strlen(rest) > 1024)
        return fahr_error_set(err, FAHR_EINVAL, "the object name in %.80s... is too long", uri);
    memcpy(bucket, name, length);
    bucket[length] = '\0';
    strcpy(object, rest);
    return FAHR_OK;
}

/* One page of objects; *next gets the next page's token ("" at the end). */
static int list_page(struct vertex *vertex, const char *bucket, const char *prefix,
                     char *next, size_t next_size,
                     int (*on_object)(void *, const char *, uint64_t, const char *),
                     void *data, struct fahr_error *err)
{
    char escaped_bucket[3 * 256], escaped_prefix[3 * 1100], escaped_token[3 * 1024];
    char path[sizeof escaped_bucket + sizeof escaped_prefix + sizeof escaped_token + 100];
    vertex_escape(bucket, escaped_bucket, sizeof escaped_bucket);
    vertex_escape(prefix, escaped_prefix, sizeof escaped_prefix);
    vertex_escape(next, escaped_token, sizeof escaped_token);
    snprintf(path, sizeof path, "storage/v1/b/%s/o?prefix=%s%s%s", escaped_bucket,
             escaped_prefix, next[0] ? "&pageToken=" : "", escaped_token);
    json_t *answer = NULL;
    int rc = vertex_call(vertex, VERTEX_STORAGE, NULL, "GET", path, NULL, &answer, err);
    if (rc != FAHR_OK)
        return rc;
    size_t i;
    json_t *item;
    json_array_foreach(json_object_get(answer, "items"), i, item) {
        const char *name = json_string_value(json_object_get(item, "name"));
        const char *size = json_string_value(json_object_get(item, "size"));
        char *end = NULL;
        unsigned long long bytes = size ? strtoull(size, &end, 10) : 0;
        if (name == NULL || size == NULL || end == size || *end != '\0') {
            rc = fahr_error_set(err, FAHR_EFAIL, "Cloud Storage listed an object of gs://%s "
                                "without a name or size", bucket);
            break;
        }
        /* A folder placeholder ("dir/", as Cloud Storage FUSE's mkdir makes
         * it) is no file of the model. */
        if (name[0] != '\0' && name[strlen(name) - 1] == '/' && bytes == 0)
            continue;
        if (on_object(data, name, bytes,
                      json_string_value(json_object_get(item, "crc32c"))) != 0) {
            rc = FAHR_EINTERRUPTED;
            break;
        }
    }
    const char *token = json_string_value(json_object_get(answer, "nextPageToken"));
    if (rc == FAHR_OK && token != NULL && strlen(token) >= next_size)
        rc = fahr_error_set(err, FAHR_EFAIL, "Cloud Storage's page token is too long");
    snprintf(next, next_size, "%s", rc == FAHR_OK && token ? token : "");
    json_decref(answer);
    return rc;
}

int vertex_gcs_list(struct vertex *vertex, const char *gs_prefix,
                    int (*on_object)(void *data, const char *name, uint64_t size,
                                     const char *crc32c), void *data, struct fahr_error *err)
{
    char bucket[256], prefix[1100], next[1024] = "";
    int rc = vertex_gcs_parse(gs_prefix, bucket, sizeof bucket, prefix, sizeof prefix, err);
    do {
        if (rc == FAHR_OK && vertex_host->interrupted())
            rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
        if (rc == FAHR_OK)
            rc = list_page(vertex, bucket, prefix, next, sizeof next, on_object, data, err);
    } while (rc == FAHR_OK && next[0] != '\0');
    if (rc == FAHR_EINTERRUPTED && !vertex_host->interrupted())
        rc = FAHR_OK; /* the caller's on_object stopped it */
    return rc;
}
