/* plugins/common/build_context.c: see build_context.h.
 *
 * libarchive writes into a small buffer as the consumer pulls: each read
 * produces at most one header or one 64 KiB piece of a file, so memory stays
 * flat whatever the context's size. */
#define _GNU_SOURCE
#include "build_context.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dockerignore.h"

enum { READ_CHUNK = 64 * 1024 };

struct build_context {
    char *root;
    char **paths; /* relative, in tar order */
    size_t count;
    size_t next;
    uint64_t content_bytes;
    uint64_t content_sent;
    struct archive *archive;
    char *buffer; /* what libarchive wrote and the reader has not taken */
    size_t length, offset, capacity;
    int fd; /* the file being streamed, or -1 */
    bool finished;
    char *chunk;
};

static int add_path(struct build_context *context, const char *relative)
{
    char **grown = realloc(context->paths, (context->count + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    context->paths = grown;
    context->paths[context->count] = strdup(relative);
    if (context->paths[context->count] == NULL)
        return -1;
    context->count++;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Walk DIR (relative to the root; "" for the root itself) in name order. */
static int walk(struct build_context *context, const struct dockerignore *ignore,
                const char *relative_dir, struct fahr_error *err)
{
    char dir_path[4096];
    snprintf(dir_path, sizeof dir_path, "%s%s%s", context->root, relative_dir[0] ? "/" : "",
             relative_dir);
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", dir_path, strerror(errno));
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    int rc = FAHR_OK;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char **grown = realloc(names, (count + 1) * sizeof *grown);
        if (grown == NULL || (grown[count] = strdup(entry->d_name)) == NULL) {
            free(grown ? grown : names);
            names = NULL;
            count = 0;
            rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
            break;
        }
        names = grown;
        count++;
    }
    closedir(dir);
    if (count > 1)
        qsort(names, count, sizeof *names, compare_names);
    for (size_t i = 0; i < count; i++) {
        char relative[4096], path[8192];
        snprintf(relative, sizeof relative, "%s%s%s", relative_dir, relative_dir[0] ? "/" : "",
                 names[i]);
        snprintf(path, sizeof path, "%s/%s", context->root, relative);
        struct stat st;
        if (rc != FAHR_OK || lstat(path, &st) != 0) {
            free(names[i]);
            continue; /* vanished since readdir: nothing to send */
        }
        /* Like the Docker CLI, always send the Dockerfile and .dockerignore. */
        bool always = relative_dir[0] == '\0' &&
                      (strcmp(names[i], "Dockerfile") == 0 || strcmp(names[i], ".dockerignore") == 0);
        bool excluded = !always && dockerignore_excludes(ignore, relative);
        if (!excluded && (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode) || S_ISLNK(st.st_mode))) {
            if (add_path(context, relative) != 0)
                rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
            if (S_ISREG(st.st_mode))
                context->content_bytes += (uint64_t)st.st_size;
        }
        if (rc == FAHR_OK && S_ISDIR(st.st_mode) &&
            (!excluded || dockerignore_may_reinclude(ignore)))
            rc = walk(context, ignore, relative, err);
        free(names[i]);
    }
    free(names);
    return rc;
}

static la_ssize_t collect(struct archive *archive, void *data, const void *bytes, size_t length)
{
    (void)archive;
    struct build_context *context = data;
    if (context->length + length > context->capacity) {
        size_t capacity = (context->length + length) * 2;
        char *grown = realloc(context->buffer, capacity);
        if (grown == NULL)
            return -1;
        context->buffer = grown;
        context->capacity = capacity;
    }
    memcpy(context->buffer + context->length, bytes, length);
    context->length += length;
    return (la_ssize_t)length;
}

int build_context_open(const char *dir, struct build_context **out, struct fahr_error *err)
{
    struct build_context *context = calloc(1, sizeof *context);
    if (context == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    context->fd = -1;
    context->root = strdup(dir);
    context->chunk = malloc(READ_CHUNK);
    struct dockerignore *ignore = dockerignore_load(dir);
    int rc = FAHR_OK;
    if (context->root == NULL || context->chunk == NULL || ignore == NULL)
        rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
    if (rc == FAHR_OK)
        rc = walk(context, ignore, "", err);
    dockerignore_free(ignore);
    if (rc == FAHR_OK) {
        context->archive = archive_write_new();
        if (context->archive == NULL ||
            archive_write_set_format_pax_restricted(context->archive) != ARCHIVE_OK ||
            archive_write_set_bytes_in_last_block(context->archive, 1) != ARCHIVE_OK ||
            archive_write_open(context->archive, context, NULL, collect, NULL) != ARCHIVE_OK)
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot start the build context archive: %s",
                                context->archive ? archive_error_string(context->archive) : "");
    }
    if (rc != FAHR_OK) {
        build_context_close(context);
        return rc;
    }
    *out = context;
    return FAHR_OK;
}

size_t build_context_entries(const struct build_context *context)
{
    return context->count;
}

uint64_t build_context_content_bytes(const struct build_context *context)
{
    return context->content_bytes;
}

uint64_t build_context_content_sent(const struct build_context *context)
{
    return context->content_sent;
}

static int archive_failed(struct build_context *context, const char *what,
                          struct fahr_error *err)
{
    return fahr_error_set(err, FAHR_EFAIL, "build context: %s: %s", what,
                          archive_error_string(context->archive));
}

/* Write the next header or the next piece of the current file. */
static int produce(struct build_context *context, struct fahr_error *err)
{
    if (context->fd >= 0) {
        ssize_t n = read(context->fd, context->chunk, READ_CHUNK);
        if (n < 0 && errno == EINTR)
            return FAHR_OK;
        if (n < 0)
            return fahr_error_set(err, FAHR_EFAIL, "build context: %s: %s",
                                  context->paths[context->next - 1], strerror(errno));
        if (n == 0) {
            close(context->fd);
            context->fd = -1;
            return archive_write_finish_entry(context->archive) == ARCHIVE_OK
                       ? FAHR_OK
                       : archive_failed(context, context->paths[context->next - 1], err);
        }
        if (archive_write_data(context->archive, context->chunk, (size_t)n) < 0)
            return archive_failed(context, context->paths[context->next - 1], err);
        context->content_sent += (uint64_t)n;
        return FAHR_OK;
    }
    if (context->next == context->count) {
        context->finished = true;
        return archive_write_close(context->archive) == ARCHIVE_OK
                   ? FAHR_OK
                   : archive_failed(context, "closing", err);
    }
    const char *relative = context->paths[context->next++];
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", context->root, relative);
    struct stat st;
    if (lstat(path, &st) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "build context: %s: %s", relative, strerror(errno));
    int fd = -1;
    if (S_ISREG(st.st_mode)) {
        fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return fahr_error_set(err, FAHR_EFAIL, "build context: %s: %s", relative,
                                  strerror(errno));
        fstat(fd, &st); /* the size of what is actually read */
    }
    struct archive_entry *entry = archive_entry_new();
    archive_entry_copy_stat(entry, &st);
    archive_entry_set_pathname(entry, relative);
    /* Owned by root in the image, as the Docker CLI sends contexts. */
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_uname(entry, "");
    archive_entry_set_gname(entry, "");
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0) {
            archive_entry_free(entry);
            return fahr_error_set(err, FAHR_EFAIL, "build context: %s: %s", relative,
                                  strerror(errno));
        }
        target[n] = '\0';
        archive_entry_set_symlink(entry, target);
    }
    int rc = archive_write_header(context->archive, entry);
    archive_entry_free(entry);
    if (rc != ARCHIVE_OK) {
        if (fd >= 0)
            close(fd);
        return archive_failed(context, relative, err);
    }
    context->fd = fd;
    return FAHR_OK;
}

ssize_t build_context_read(struct build_context *context, char *buffer, size_t size,
                           struct fahr_error *err)
{
    while (context->offset == context->length) {
        context->offset = context->length = 0;
        if (context->finished)
            return 0;
        if (produce(context, err) != FAHR_OK)
            return -1;
    }
    size_t n = context->length - context->offset;
    if (n > size)
        n = size;
    memcpy(buffer, context->buffer + context->offset, n);
    context->offset += n;
    return (ssize_t)n;
}

void build_context_close(struct build_context *context)
{
    if (context == NULL)
        return;
    if (context->fd >= 0)
        close(context->fd);
    if (context->archive != NULL)
        archive_write_free(context->archive);
    for (size_t i = 0; i < context->count; i++)
        free(context->paths[i]);
    free(context->paths);
    free(context->buffer);
    free(context->chunk);
    free(context->root);
    free(context);
}
