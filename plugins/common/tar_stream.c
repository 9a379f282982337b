/* plugins/common/tar_stream.c: see tar_stream.h.
 *
 * libarchive writes into a small buffer as the consumer pulls: each read
 * produces at most one header or one 64 KiB piece of a file, so memory stays
 * flat whatever the directory's size. */
#define _GNU_SOURCE
#include "tar_stream.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

enum { READ_CHUNK = 64 * 1024 };

struct tar_stream {
    char *root;
    tar_filter_fn filter;
    const void *filter_data;
    char **paths; /* relative, in tar order */
    size_t count;
    size_t next;
    uint64_t content_bytes;
    uint64_t content_sent;
    struct archive *archive;
    char *buffer; /* what libarchive wrote and the reader has not taken */
    size_t length, offset, capacity;
    int fd;             /* the file being streamed, or -1 */
    uint64_t remaining; /* of its size as its header says */
    bool finished;
    char *chunk;
};

/* "A/B", or B alone where A is empty; false if it does not fit. */
static bool join(char *out, size_t size, const char *a, const char *b)
{
    int n = snprintf(out, size, "%s%s%s", a, a[0] && b[0] ? "/" : "", b);
    return n >= 0 && (size_t)n < size;
}

static int cannot_read(const struct tar_stream *stream, const char *relative, int error,
                       struct fahr_error *err)
{
    return fahr_error_set(err, FAHR_EFAIL, "cannot read %s%s%s: %s", stream->root,
                          relative[0] ? "/" : "", relative, strerror(error));
}

static int add_path(struct tar_stream *stream, const char *relative)
{
    char **grown = realloc(stream->paths, (stream->count + 1) * sizeof *grown);
    if (grown == NULL)
        return -1;
    stream->paths = grown;
    stream->paths[stream->count] = strdup(relative);
    if (stream->paths[stream->count] == NULL)
        return -1;
    stream->count++;
    return 0;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void free_names(char **names, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(names[i]);
    free(names);
}

/* The names in RELATIVE_DIR ("" for the root), sorted. */
static int list_directory(const struct tar_stream *stream, const char *relative_dir,
                          char ***names_out, size_t *count_out, struct fahr_error *err)
{
    char dir_path[PATH_MAX];
    if (!join(dir_path, sizeof dir_path, stream->root, relative_dir))
        return cannot_read(stream, relative_dir, ENAMETOOLONG, err);
    DIR *dir = opendir(dir_path);
    if (dir == NULL)
        return cannot_read(stream, relative_dir, errno, err);
    char **names = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char **grown = realloc(names, (count + 1) * sizeof *grown);
        if (grown == NULL || (grown[count] = strdup(entry->d_name)) == NULL) {
            free_names(grown ? grown : names, count);
            closedir(dir);
            return fahr_error_set(err, FAHR_EFAIL, "out of memory");
        }
        names = grown;
        count++;
    }
    closedir(dir);
    if (count > 1)
        qsort(names, count, sizeof *names, compare_names);
    *names_out = names;
    *count_out = count;
    return FAHR_OK;
}

/* Walk RELATIVE_DIR in name order, listing what the filter keeps. */
static int walk(struct tar_stream *stream, const char *relative_dir, struct fahr_error *err)
{
    char **names = NULL;
    size_t count = 0;
    int rc = list_directory(stream, relative_dir, &names, &count, err);
    for (size_t i = 0; rc == FAHR_OK && i < count; i++) {
        char relative[PATH_MAX], path[PATH_MAX];
        if (!join(relative, sizeof relative, relative_dir, names[i]) ||
            !join(path, sizeof path, stream->root, relative)) {
            rc = cannot_read(stream, relative_dir, ENAMETOOLONG, err);
            break;
        }
        struct stat st;
        if (lstat(path, &st) != 0)
            continue; /* vanished since readdir: nothing to send */
        bool directory = S_ISDIR(st.st_mode);
        enum tar_verdict verdict =
            stream->filter ? stream->filter(stream->filter_data, relative, directory) : TAR_KEEP;
        if (verdict == TAR_KEEP && (S_ISREG(st.st_mode) || directory || S_ISLNK(st.st_mode))) {
            if (add_path(stream, relative) != 0)
                rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
            if (S_ISREG(st.st_mode))
                stream->content_bytes += (uint64_t)st.st_size;
        }
        if (rc == FAHR_OK && directory && verdict != TAR_LEAVE_OUT)
            rc = walk(stream, relative, err);
    }
    free_names(names, count);
    return rc;
}

static la_ssize_t collect(struct archive *archive, void *data, const void *bytes, size_t length)
{
    (void)archive;
    struct tar_stream *stream = data;
    if (stream->length + length > stream->capacity) {
        size_t capacity = (stream->length + length) * 2;
        char *grown = realloc(stream->buffer, capacity);
        if (grown == NULL)
            return -1;
        stream->buffer = grown;
        stream->capacity = capacity;
    }
    memcpy(stream->buffer + stream->length, bytes, length);
    stream->length += length;
    return (la_ssize_t)length;
}

/* Names go as raw bytes (hdrcharset=BINARY), never translated through the
 * locale: in the C locale fahr runs in, libarchive cannot translate a UTF-8
 * name and refuses the entry. A long or non-ASCII name goes in a pax header
 * (as the Docker CLI's Go archive/tar writes it); with BINARY every entry
 * carries a small pax header that says so, which readers accept. */
static int start_archive(struct tar_stream *stream, struct fahr_error *err)
{
    stream->archive = archive_write_new();
    if (stream->archive == NULL ||
        archive_write_set_format_pax_restricted(stream->archive) != ARCHIVE_OK ||
        archive_write_set_format_option(stream->archive, "pax", "hdrcharset", "BINARY") !=
            ARCHIVE_OK ||
        archive_write_set_bytes_in_last_block(stream->archive, 1) != ARCHIVE_OK ||
        archive_write_open(stream->archive, stream, NULL, collect, NULL) != ARCHIVE_OK)
        return fahr_error_set(err, FAHR_EFAIL, "cannot start a tar stream: %s",
                              stream->archive ? archive_error_string(stream->archive)
                                              : "out of memory");
    return FAHR_OK;
}

int tar_stream_open(const char *dir, tar_filter_fn filter, const void *filter_data,
                    struct tar_stream **out, struct fahr_error *err)
{
    struct tar_stream *stream = calloc(1, sizeof *stream);
    if (stream == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    stream->fd = -1;
    stream->filter = filter;
    stream->filter_data = filter_data;
    stream->root = strdup(dir);
    stream->chunk = malloc(READ_CHUNK);
    int rc = FAHR_OK;
    if (stream->root == NULL || stream->chunk == NULL)
        rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
    if (rc == FAHR_OK)
        rc = walk(stream, "", err);
    if (rc == FAHR_OK)
        rc = start_archive(stream, err);
    if (rc != FAHR_OK) {
        tar_stream_close(stream);
        return rc;
    }
    *out = stream;
    return FAHR_OK;
}

size_t tar_stream_entries(const struct tar_stream *stream)
{
    return stream->count;
}

uint64_t tar_stream_content_bytes(const struct tar_stream *stream)
{
    return stream->content_bytes;
}

uint64_t tar_stream_content_sent(const struct tar_stream *stream)
{
    return stream->content_sent;
}

static int archive_failed(struct tar_stream *stream, const char *what, struct fahr_error *err)
{
    return fahr_error_set(err, FAHR_EFAIL, "tar stream: %s: %s", what,
                          archive_error_string(stream->archive));
}

/* The next piece of the file being streamed; its end ends the entry. */
static int produce_content(struct tar_stream *stream, struct fahr_error *err)
{
    const char *relative = stream->paths[stream->next - 1];
    size_t want = stream->remaining < READ_CHUNK ? (size_t)stream->remaining : READ_CHUNK;
    ssize_t n = want > 0 ? read(stream->fd, stream->chunk, want) : 0;
    if (n < 0 && errno == EINTR)
        return FAHR_OK;
    if (n < 0)
        return cannot_read(stream, relative, errno, err);
    if (n == 0 && stream->remaining > 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s/%s: it shrank while being read",
                              stream->root, relative);
    if (n == 0) {
        close(stream->fd);
        stream->fd = -1;
        return archive_write_finish_entry(stream->archive) == ARCHIVE_OK
                   ? FAHR_OK
                   : archive_failed(stream, relative, err);
    }
    if (archive_write_data(stream->archive, stream->chunk, (size_t)n) < 0)
        return archive_failed(stream, relative, err);
    stream->remaining -= (uint64_t)n;
    stream->content_sent += (uint64_t)n;
    return FAHR_OK;
}

/* Open what RELATIVE names for its header: a regular file's descriptor in
 * *fd (O_NONBLOCK: a file swapped for a FIFO must not hang the stream), a
 * symbolic link's target in the entry. */
static int describe_entry(struct tar_stream *stream, const char *relative,
                          struct archive_entry *entry, int *fd, struct fahr_error *err)
{
    char path[PATH_MAX];
    struct stat st;
    if (!join(path, sizeof path, stream->root, relative))
        return cannot_read(stream, relative, ENAMETOOLONG, err);
    if (lstat(path, &st) != 0)
        return cannot_read(stream, relative, errno, err);
    if (S_ISREG(st.st_mode)) {
        *fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
        if (*fd < 0)
            return cannot_read(stream, relative, errno, err);
        if (fstat(*fd, &st) != 0 || !S_ISREG(st.st_mode))
            return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: it changed while being read",
                                  path);
        stream->remaining = (uint64_t)st.st_size;
    }
    archive_entry_copy_stat(entry, &st);
    archive_entry_set_pathname(entry, relative);
    /* Owned by root, as the Docker CLI sends contexts. */
    archive_entry_set_uid(entry, 0);
    archive_entry_set_gid(entry, 0);
    archive_entry_set_uname(entry, "");
    archive_entry_set_gname(entry, "");
    if (S_ISLNK(st.st_mode)) {
        char target[PATH_MAX];
        ssize_t n = readlink(path, target, sizeof target - 1);
        if (n < 0)
            return cannot_read(stream, relative, errno, err);
        target[n] = '\0';
        archive_entry_set_symlink(entry, target);
    }
    return FAHR_OK;
}

/* Write the next header or the next piece of the current file. */
static int produce(struct tar_stream *stream, struct fahr_error *err)
{
    if (stream->fd >= 0)
        return produce_content(stream, err);
    if (stream->next == stream->count) {
        stream->finished = true;
        return archive_write_close(stream->archive) == ARCHIVE_OK
                   ? FAHR_OK
                   : archive_failed(stream, "closing", err);
    }
    const char *relative = stream->paths[stream->next++];
    struct archive_entry *entry = archive_entry_new();
    if (entry == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    int fd = -1;
    int rc = describe_entry(stream, relative, entry, &fd, err);
    if (rc == FAHR_OK && archive_write_header(stream->archive, entry) != ARCHIVE_OK)
        rc = archive_failed(stream, relative, err);
    archive_entry_free(entry);
    if (rc != FAHR_OK && fd >= 0)
        close(fd);
    else
        stream->fd = fd;
    return rc;
}

ssize_t tar_stream_read(struct tar_stream *stream, char *buffer, size_t size,
                        struct fahr_error *err)
{
    while (stream->offset == stream->length) {
        stream->offset = stream->length = 0;
        if (stream->finished)
            return 0;
        if (produce(stream, err) != FAHR_OK)
            return -1;
    }
    size_t n = stream->length - stream->offset;
    if (n > size)
        n = size;
    memcpy(buffer, stream->buffer + stream->offset, n);
    stream->offset += n;
    return (ssize_t)n;
}

void tar_stream_close(struct tar_stream *stream)
{
    if (stream == NULL)
        return;
    if (stream->fd >= 0)
        close(stream->fd);
    if (stream->archive != NULL)
        archive_write_free(stream->archive);
    for (size_t i = 0; i < stream->count; i++)
        free(stream->paths[i]);
    free(stream->paths);
    free(stream->buffer);
    free(stream->chunk);
    free(stream->root);
    free(stream);
}
