/* inputs.c: the job's channels as FAHR_CHANNELS' "NAME=gs://..." lines.
 * A gs:// source is passed as it is; a local file or directory is uploaded
 * under OUTPUT_PATH/inputs/<sha256 of its content>/ (as the SageMaker
 * driver does for S3), and skipped where every file is there already with
 * its size and CRC32C: the same data is uploaded once. */
#define _GNU_SOURCE
#include "vertex.h"

#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The files of a local source, each with its size and CRC32C. */
struct local_files {
    json_t *files;        /* relative name -> {size, crc32c} */
    const char *root;     /* the source, a directory or a file */
    size_t root_length;
    int is_file;
};

static struct local_files *walking; /* nftw's callback has no data pointer */

static int on_walk(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (type != FTW_F)
        return 0; /* directories; links are not followed (FTW_PHYS) */
    const char *relative = walking->is_file ? strrchr(path, '/') + 1
                                            : path + walking->root_length + 1;
    json_object_set_new(walking->files, relative, json_object());
    return 0;
}

/* A file's bytes into the hash (as "NAME\0SIZE\0BYTES") and its CRC32C. */
static int hash_file(const char *path, const char *relative, EVP_MD_CTX *sha, json_t *entry)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    char size[32];
    snprintf(size, sizeof size, "%lld", (long long)st.st_size);
    EVP_DigestUpdate(sha, relative, strlen(relative) + 1);
    EVP_DigestUpdate(sha, size, strlen(size) + 1);
    static unsigned char buffer[1 << 16];
    uint32_t crc = 0;
    ssize_t got;
    while ((got = read(fd, buffer, sizeof buffer)) > 0) {
        EVP_DigestUpdate(sha, buffer, (size_t)got);
        crc = vertex_crc32c(crc, buffer, (size_t)got);
    }
    close(fd);
    char crc_text[16];
    vertex_crc32c_base64(crc, crc_text);
    json_object_set_new(entry, "size", json_integer(st.st_size));
    json_object_set_new(entry, "crc32c", json_string(crc_text));
    return got < 0 ? -1 : 0;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The source's files and the SHA-256 (hex) of them all, names included. */
static int content_hash(struct local_files *local, char hex[65], struct fahr_error *err)
{
    struct stat st;
    if (stat(local->root, &st) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "cannot read %s", local->root);
    local->is_file = S_ISREG(st.st_mode);
    local->root_length = strlen(local->root);
    local->files = json_object();
    walking = local;
    if (nftw(local->root, on_walk, 16, FTW_PHYS) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "cannot read %s", local->root);
    size_t count = json_object_size(local->files), i = 0;
    const char **names = calloc(count + 1, sizeof *names), *name;
    json_t *entry;
    EVP_MD_CTX *sha = EVP_MD_CTX_new();
    int rc = names && sha && EVP_DigestInit_ex(sha, EVP_sha256(), NULL)
                 ? FAHR_OK
                 : fahr_error_set(err, FAHR_EFAIL, "out of memory");
    if (rc == FAHR_OK) {
        json_object_foreach(local->files, name, entry)
            names[i++] = name;
        qsort(names, count, sizeof *names, by_name); /* the same data, the same hash */
    }
    for (i = 0; rc == FAHR_OK && i < count; i++) {
        char path[4096];
        if (local->is_file)
            snprintf(path, sizeof path, "%s", local->root);
        else
            snprintf(path, sizeof path, "%s/%s", local->root, names[i]);
        if (hash_file(path, names[i], sha, json_object_get(local->files, names[i])) != 0)
            rc = fahr_error_set(err, FAHR_EINVAL, "cannot read %s", path);
    }
    unsigned char digest[32];
    if (rc == FAHR_OK && EVP_DigestFinal_ex(sha, digest, NULL) == 1)
        for (i = 0; i < 32; i++)
            snprintf(hex + 2 * i, 3, "%02x", digest[i]);
    EVP_MD_CTX_free(sha);
    free(names);
    return rc;
}

/* What is already under the content's prefix. */
struct remote_files {
    json_t *files;          /* the local files, as content_hash found them */
    const char *prefix;     /* the object prefix they are under ("P/inputs/H/") */
    size_t matched;
};

static int on_remote_object(void *data, const char *name, uint64_t size, const char *crc32c)
{
    struct remote_files *remote = data;
    size_t prefix_length = strlen(remote->prefix);
    if (strncmp(name, remote->prefix, prefix_length) == 0)
        name += prefix_length; /* a full object name, or one relative to the prefix */
    json_t *local = json_object_get(remote->files, name);
    if (local != NULL &&
        (uint64_t)json_integer_value(json_object_get(local, "size")) == size && crc32c &&
        strcmp(json_string_value(json_object_get(local, "crc32c")), crc32c) == 0)
        remote->matched++;
    return 0;
}

/* A local source at gs://..., uploaded unless there already; *location
 * gets what the channel names. */
static int upload_source(struct vertex *vertex, const struct fahr_channel *channel,
                         const struct vertex_settings *settings, char *location, size_t size,
                         struct fahr_error *err)
{
    struct local_files local = {.root = channel->source};
    char hash[65], prefix[FAHR_URI_MAX], bucket[VERTEX_NAME_MAX], object[FAHR_URI_MAX];
    int rc = content_hash(&local, hash, err);
    snprintf(prefix, sizeof prefix, "%s/inputs/%s/", settings->output_path, hash);
    if (rc == FAHR_OK)
        rc = vertex_gcs_parse(prefix, bucket, sizeof bucket, object, sizeof object, err);
    struct remote_files remote = {.files = local.files, .prefix = object};
    if (rc == FAHR_OK)
        rc = vertex_gcs_list(vertex, prefix, on_remote_object, &remote, err);
    if (rc == FAHR_OK && local.is_file)
        snprintf(location, size, "%s%s", prefix, strrchr(channel->source, '/') + 1);
    else if (rc == FAHR_OK)
        snprintf(location, size, "%.*s", (int)strlen(prefix) - 1, prefix);
    if (rc == FAHR_OK && remote.matched == json_object_size(local.files))
        vertex_host->log(FAHR_LOG_INFO, "input %s is in %s already", channel->name, location);
    else if (rc == FAHR_OK)
        rc = vertex_gcs_upload(vertex, channel->source, location, err);
    json_decref(local.files);
    return rc;
}

char *vertex_channels(struct vertex *vertex, const struct fahr_train_request *request,
                      const struct vertex_settings *settings, struct fahr_error *err)
{
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (out == NULL) {
        fahr_error_set(err, FAHR_EFAIL, "out of memory");
        return NULL;
    }
    int rc = FAHR_OK;
    for (size_t i = 0; rc == FAHR_OK && i < request->channel_count; i++) {
        const struct fahr_channel *channel = &request->channels[i];
        char location[FAHR_URI_MAX];
        if (channel->is_local)
            rc = upload_source(vertex, channel, settings, location, sizeof location, err);
        else
            snprintf(location, sizeof location, "%s", channel->source);
        if (rc == FAHR_OK)
            fprintf(out, "%s%s=%s", i ? "\n" : "", channel->name, location);
    }
    fclose(out);
    if (rc != FAHR_OK) {
        free(text);
        return NULL;
    }
    return text;
}
