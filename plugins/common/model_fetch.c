/* plugins/common/model_fetch.c: see model_fetch.h. */
#define _GNU_SOURCE
#include "model_fetch.h"

#include "s3_checksum.h"

#include <archive.h>
#include <archive_entry.h>
#include <curl/curl.h>
#include <isa-l/igzip_lib.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int s3_uri_split(const char *uri, char *bucket, size_t bucket_size, char *key, size_t key_size)
{
    if (strncmp(uri, "s3://", 5) != 0)
        return FAHR_EINVAL;
    const char *start = uri + 5;
    const char *slash = strchr(start, '/');
    if (slash == NULL || slash == start || slash[1] == '\0')
        return FAHR_EINVAL;
    snprintf(bucket, bucket_size, "%.*s", (int)(slash - start), start);
    snprintf(key, key_size, "%s", slash + 1);
    return FAHR_OK;
}

/* ---- Checking entries ----------------------------------------------------- */

/* A relative path that stays inside: no leading '/', no ".." component, no
 * control characters. */
static bool path_stays_inside(const char *path)
{
    if (path == NULL || path[0] == '\0' || path[0] == '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)path; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    const char *segment = path;
    while (*segment) {
        size_t length = strcspn(segment, "/");
        if (length == 2 && segment[0] == '.' && segment[1] == '.')
            return false;
        segment += length;
        while (*segment == '/')
            segment++;
    }
    return true;
}

/* Where a symlink at `path` pointing to `target` leads must stay inside:
 * resolved lexically against the link's directory. */
static bool link_stays_inside(const char *path, const char *target)
{
    if (target == NULL || target[0] == '\0' || target[0] == '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)target; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    int depth = 0;
    /* The link's own directory depth. */
    for (const char *p = path; *p; p++)
        if (*p == '/' && p[1] != '\0' && p[1] != '/')
            depth++;
    const char *segment = target;
    while (*segment) {
        size_t length = strcspn(segment, "/");
        if (length == 2 && segment[0] == '.' && segment[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (!(length == 0 || (length == 1 && segment[0] == '.'))) {
            depth++;
        }
        segment += length;
        while (*segment == '/')
            segment++;
    }
    return true;
}

static const char *entry_problem(struct archive_entry *entry)
{
    const char *path = archive_entry_pathname(entry);
    if (!path_stays_inside(path))
        return "its path leaves the destination or has control characters";
    /* A hard link's type reads as unknown; what matters is its target. */
    const char *hardlink = archive_entry_hardlink(entry);
    if (hardlink != NULL)
        return path_stays_inside(hardlink) ? NULL
                                           : "it is a hard link to a file outside the destination";
    switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
    case AE_IFDIR:
        break;
    case AE_IFLNK:
        if (!link_stays_inside(path, archive_entry_symlink(entry)))
            return "it is a symbolic link leading outside the destination";
        break;
    default:
        return "it is a device, FIFO or socket";
    }
    return NULL;
}

/* ---- gzip at ISA-L's speed ------------------------------------------------- */

/* Inflating is the bottleneck of a fetch: zlib (inside libarchive) inflates
 * at a few hundred MB/s, ISA-L's igzip several times faster; measured by
 * tests/perf/fetch_bench.sh, which also showed that inflating here, in the
 * thread that unpacks, beats inflating in the download's thread. A gzip
 * stream is inflated with every member's CRC checked, and libarchive reads
 * plain tar; anything else passes through unchanged. */
enum { GUNZIP_IN = 256 * 1024, GUNZIP_OUT = 1024 * 1024 };

struct gunzip {
    int fd;
    bool probed, gzip, input_done, finished;
    char error[128];
    struct inflate_state state;
    uint8_t *in;
    uint8_t *out;
};

static struct gunzip *gunzip_new(int fd)
{
    struct gunzip *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->fd = fd;
    g->in = malloc(GUNZIP_IN);
    g->out = malloc(GUNZIP_OUT);
    if (g->in == NULL || g->out == NULL) {
        free(g->in);
        free(g->out);
        free(g);
        return NULL;
    }
    isal_inflate_init(&g->state);
    g->state.crc_flag = ISAL_GZIP;
    return g;
}

static void gunzip_free(struct gunzip *g)
{
    if (g == NULL)
        return;
    free(g->in);
    free(g->out);
    free(g);
}

/* Top up the input buffer; false at the end of the input. */
static bool gunzip_fill(struct gunzip *g)
{
    if (g->input_done)
        return false;
    if (g->state.avail_in > 0 && g->state.next_in != g->in)
        memmove(g->in, g->state.next_in, g->state.avail_in);
    g->state.next_in = g->in;
    ssize_t n;
    do
        n = read(g->fd, g->in + g->state.avail_in, GUNZIP_IN - g->state.avail_in);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        g->input_done = true;
        return false;
    }
    g->state.avail_in += (uint32_t)n;
    return true;
}

/* The next piece of plain tar into g->out: its length, 0 at the end, -1 on
 * bad data (g->error says why). */
static ssize_t gunzip_next(struct gunzip *g)
{
    if (!g->probed) {
        g->probed = true;
        while (g->state.avail_in < 2 && gunzip_fill(g))
            ;
        g->gzip = g->state.avail_in >= 2 && g->in[0] == 0x1f && g->in[1] == 0x8b;
    }
    if (!g->gzip) { /* plain tar: hand on what was read, then the rest */
        if (g->state.avail_in > 0) {
            memcpy(g->out, g->state.next_in, g->state.avail_in);
            ssize_t n = (ssize_t)g->state.avail_in;
            g->state.avail_in = 0;
            return n;
        }
        ssize_t n;
        do
            n = read(g->fd, g->out, GUNZIP_OUT);
        while (n < 0 && errno == EINTR);
        return n;
    }
    for (;;) {
        if (g->finished)
            return 0;
        if (g->state.avail_in == 0 && !gunzip_fill(g)) {
            if (g->state.block_state == ISAL_BLOCK_FINISH) {
                g->finished = true;
                return 0;
            }
            snprintf(g->error, sizeof g->error, "gzip data ends early (truncated)");
            return -1;
        }
        if (g->state.block_state == ISAL_BLOCK_FINISH) {
            /* Another gzip member follows, or padding: zeros are allowed. */
            while (g->state.avail_in > 0 && g->state.next_in[0] == 0) {
                g->state.next_in++;
                g->state.avail_in--;
            }
            if (g->state.avail_in == 0)
                continue;
            if (g->state.next_in[0] != 0x1f) {
                snprintf(g->error, sizeof g->error, "garbage after the gzip data");
                return -1;
            }
            uint8_t *next = g->state.next_in;
            uint32_t avail = g->state.avail_in;
            isal_inflate_reset(&g->state);
            g->state.crc_flag = ISAL_GZIP;
            g->state.next_in = next;
            g->state.avail_in = avail;
        }
        g->state.next_out = g->out;
        g->state.avail_out = GUNZIP_OUT;
        int result = isal_inflate(&g->state);
        if (result < 0) {
            snprintf(g->error, sizeof g->error, "gzip data is corrupt (%s)",
                     result == ISAL_INCORRECT_CHECKSUM ? "CRC mismatch" : "invalid deflate data");
            return -1;
        }
        ssize_t produced = (ssize_t)(GUNZIP_OUT - g->state.avail_out);
        if (produced > 0)
            return produced;
    }
}

/* libarchive's read callback: the next piece of plain tar. */
static la_ssize_t gunzip_read(struct archive *archive, void *data, const void **buffer)
{
    struct gunzip *g = data;
    *buffer = g->out;
    ssize_t n = gunzip_next(g);
    if (n < 0)
        archive_set_error(archive, EILSEQ, "%s", g->error[0] ? g->error : strerror(errno));
    return n;
}

/* ---- Staging and moving into place ---------------------------------------- */

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

static void remove_tree(const char *path)
{
    nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* Check (moving == false) or move (true) everything under staging/relative
 * into dest/relative. Directories are merged; a file that exists is a
 * conflict unless overwrite; a path in dest that is a link or a file where a
 * directory must go is always refused. */
static int place(const char *staging, const char *dest, const char *relative, bool overwrite,
                 bool moving, struct fahr_error *err)
{
    char from[8192];
    snprintf(from, sizeof from, "%s%s%s", staging, relative[0] ? "/" : "", relative);
    DIR *dir = opendir(from);
    if (dir == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", from, strerror(errno));
    int rc = FAHR_OK;
    struct dirent *entry;
    while (rc == FAHR_OK && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        char child[4096], source[8192], target[8192];
        snprintf(child, sizeof child, "%s%s%s", relative, relative[0] ? "/" : "", entry->d_name);
        snprintf(source, sizeof source, "%s/%s", staging, child);
        snprintf(target, sizeof target, "%s/%s", dest, child);
        struct stat source_st, target_st;
        if (lstat(source, &source_st) != 0)
            continue;
        bool exists = lstat(target, &target_st) == 0;
        if (S_ISDIR(source_st.st_mode)) {
            if (exists && !S_ISDIR(target_st.st_mode)) {
                rc = fahr_error_set(err, FAHR_EFAIL,
                                    "%s exists and is not a directory; the model has a "
                                    "directory there",
                                    target);
            } else if (!exists && moving) {
                if (rename(source, target) != 0)
                    rc = fahr_error_set(err, FAHR_EFAIL, "cannot move %s into place: %s", child,
                                        strerror(errno));
            } else if (exists) {
                rc = place(staging, dest, child, overwrite, moving, err);
            }
            continue;
        }
        if (exists && S_ISDIR(target_st.st_mode)) {
            rc = fahr_error_set(err, FAHR_EFAIL, "%s is a directory; the model has a file there",
                                target);
        } else if (exists && !overwrite) {
            rc = fahr_error_set(err, FAHR_EFAIL, "%s exists; --overwrite replaces it", target);
        } else if (moving && rename(source, target) != 0) {
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot move %s into place: %s", child,
                                strerror(errno));
        }
    }
    closedir(dir);
    return rc;
}

/* Unpack into a new staging directory inside dest_dir (its path into
 * `staging`); on failure it is already removed. */
static int unpack_to_staging(const struct fahr_host *host, int fd, const char *dest_dir,
                             char *staging, size_t staging_size, struct fahr_error *err)
{
    snprintf(staging, staging_size, "%s/.fahr-fetch-XXXXXX", dest_dir);
    if (mkdtemp(staging) == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot write in %s: %s", dest_dir,
                              strerror(errno));
    struct archive *reader = archive_read_new();
    struct archive *writer = archive_write_disk_new();
    archive_read_support_filter_all(reader);
    archive_read_support_format_tar(reader);
    archive_read_support_format_gnutar(reader);
    archive_write_disk_set_options(writer, ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_PERM |
                                               ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                               ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                               ARCHIVE_EXTRACT_NO_OVERWRITE);
    /* Not ARCHIVE_EXTRACT_SECURE_NOABSOLUTEPATHS: entries are rewritten to
     * the (absolute) staging path after entry_problem() refused absolute
     * ones. */
    int rc = FAHR_OK;
    size_t files = 0;
    struct gunzip *gunzip = gunzip_new(fd);
    if (gunzip == NULL) {
        rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
    } else if (archive_read_open(reader, gunzip, NULL, gunzip_read, NULL) != ARCHIVE_OK) {
        rc = fahr_error_set(err, FAHR_EFAIL, "the model archive cannot be read: %s",
                            archive_error_string(reader));
    }
    struct archive_entry *entry;
    while (rc == FAHR_OK) {
        int r = archive_read_next_header(reader, &entry);
        if (r == ARCHIVE_EOF)
            break;
        if (r < ARCHIVE_WARN) {
            rc = fahr_error_set(err, FAHR_EFAIL, "the model archive is damaged: %s",
                                archive_error_string(reader));
            break;
        }
        if (host->interrupted()) {
            rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
            break;
        }
        const char *problem = entry_problem(entry);
        if (problem != NULL) {
            char shown[256];
            size_t n = 0;
            for (const char *p = archive_entry_pathname(entry); p && *p && n + 5 < sizeof shown; p++)
                n += (size_t)snprintf(shown + n, sizeof shown - n,
                                      (unsigned char)*p < 0x20 ? "\\x%02x" : "%c",
                                      (unsigned char)*p);
            shown[n] = '\0';
            rc = fahr_error_set(err, FAHR_EFAIL,
                                "refusing the model archive: entry '%s': %s; nothing was written",
                                shown, problem);
            break;
        }
        /* Strip a leading "./" and write under the staging directory. */
        char name[4096];
        const char *original = archive_entry_pathname(entry);
        while (original[0] == '.' && original[1] == '/')
            original += 2;
        snprintf(name, sizeof name, "%s", original);
        if (name[0] == '\0' || strcmp(name, ".") == 0)
            continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", staging, name);
        archive_entry_set_pathname(entry, path);
        const char *hardlink = archive_entry_hardlink(entry);
        if (hardlink != NULL) {
            while (hardlink[0] == '.' && hardlink[1] == '/')
                hardlink += 2;
            char link_path[8192];
            snprintf(link_path, sizeof link_path, "%s/%s", staging, hardlink);
            archive_entry_set_hardlink(entry, link_path);
        }
        archive_entry_set_perm(entry, archive_entry_perm(entry) & 0755);
        if (archive_write_header(writer, entry) != ARCHIVE_OK) {
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot unpack %s: %s", name,
                                archive_error_string(writer));
            break;
        }
        const void *block;
        size_t size;
        la_int64_t offset;
        while ((r = archive_read_data_block(reader, &block, &size, &offset)) == ARCHIVE_OK) {
            if (archive_write_data_block(writer, block, size, offset) != ARCHIVE_OK) {
                r = ARCHIVE_FATAL;
                break;
            }
        }
        if (r != ARCHIVE_EOF) {
            rc = fahr_error_set(err, FAHR_EFAIL, "the model archive is damaged at %s: %s", name,
                                archive_error_string(reader) ? archive_error_string(reader)
                                                             : archive_error_string(writer));
            break;
        }
        if (archive_write_finish_entry(writer) != ARCHIVE_OK) {
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot unpack %s: %s", name,
                                archive_error_string(writer));
            break;
        }
        files++;
    }
    archive_read_free(reader);
    archive_write_free(writer);
    gunzip_free(gunzip);
    if (rc != FAHR_OK)
        remove_tree(staging);
    else
        host->log(FAHR_LOG_DEBUG, "unpacked %zu entries", files);
    return rc;
}

/* Move the staged model into dest_dir, all or nothing as far as conflicts
 * go: every conflict is found before anything moves. */
static int commit_staging(const char *staging, const char *dest_dir, bool overwrite,
                          struct fahr_error *err)
{
    int rc = place(staging, dest_dir, "", overwrite, false, err);
    if (rc == FAHR_OK)
        rc = place(staging, dest_dir, "", overwrite, true, err);
    remove_tree(staging);
    return rc;
}

int model_unpack_fd(const struct fahr_host *host, int fd, const char *dest_dir, bool overwrite,
                    struct fahr_error *err)
{
    char staging[4096];
    int rc = unpack_to_staging(host, fd, dest_dir, staging, sizeof staging, err);
    return rc == FAHR_OK ? commit_staging(staging, dest_dir, overwrite, err) : rc;
}

/* ---- Streaming from S3 ---------------------------------------------------- */

struct download {
    struct aws_client *client;
    struct aws_request request;
    int write_fd;
    uint64_t received, total;
    uint64_t skip;      /* bytes to drop: a server that ignored our Range */
    char etag[256];     /* the object's, from HeadObject */
    struct s3_checksum checksum; /* of the bytes delivered */
    bool reader_gone;
    unsigned concurrency;
    uint64_t part_size;
    int rc;
    struct fahr_error err;
};

/* Hand bytes on to the unpacking thread, counting them into the checksum
 * and the progress. -1 when the reader has gone. */
static int write_part(struct download *d, const uint8_t *data, size_t length)
{
    size_t done = 0;
    while (done < length) {
        ssize_t n = write(d->write_fd, data + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            d->reader_gone = true;
            return -1;
        }
        done += (size_t)n;
    }
    s3_checksum_update(&d->checksum, data, length);
    d->received += length;
    d->client->host->progress("downloading", d->received, d->total, "B");
    return 0;
}

static size_t to_pipe(const char *data, size_t length, void *user)
{
    struct download *d = user;
    size_t taken = length;
    if (d->skip > 0) {
        long status = 0;
        curl_easy_getinfo(d->client->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status == 200) { /* the whole object again: drop what we have */
            size_t drop = length < d->skip ? length : (size_t)d->skip;
            d->skip -= drop;
            data += drop;
            length -= drop;
        } else {
            d->skip = 0;
        }
    }
    if (write_part(d, (const uint8_t *)data, length) != 0)
        return 0; /* the reader stopped: abort the transfer */
    return taken;
}

static void download_ranges(struct download *d, unsigned concurrency, uint64_t part_size);

/* GetObject, resumed with Range (and If-Match, so the object cannot change
 * under us) when a connection breaks in the middle of the body. Each
 * resume that brought bytes resets the count of attempts. */
static void *download_thread(void *data)
{
    struct download *d = data;
    if (d->concurrency > 1 && d->total >= 2 * d->part_size) {
        download_ranges(d, d->concurrency, d->part_size);
        close(d->write_fd);
        return NULL;
    }
    int failures = 0;
    for (;;) {
        char range[64], if_match[300];
        struct sigv4_pair headers[2];
        size_t count = 0;
        if (d->received > 0) {
            snprintf(range, sizeof range, "bytes=%llu-", (unsigned long long)d->received);
            headers[count++] = (struct sigv4_pair){"Range", range};
            d->skip = d->received;
            if (d->etag[0]) {
                snprintf(if_match, sizeof if_match, "%s", d->etag);
                headers[count++] = (struct sigv4_pair){"If-Match", if_match};
            }
        }
        d->request.headers = headers;
        d->request.header_count = count;
        uint64_t before = d->received;
        struct aws_response response;
        d->rc = aws_send(d->client, &d->request, &response, &d->err);
        aws_response_free(&response);
        if (d->rc == FAHR_OK || d->rc == FAHR_EINTERRUPTED || d->reader_gone ||
            d->client->host->interrupted())
            break;
        bool broke_mid_body = d->received > 0 && d->received < d->total;
        if (d->received > before)
            failures = 0;
        if (!broke_mid_body || ++failures >= aws_max_attempts())
            break;
        d->client->host->log(FAHR_LOG_DEBUG, "GetObject broke off at %llu bytes; resuming",
                             (unsigned long long)d->received);
    }
    close(d->write_fd);
    return NULL;
}

/* ---- Parallel ranged GETs --------------------------------------------------- */

/* Where one connection is slower than the disk (real S3 serves about
 * 100 MB/s a connection), parts of the object are fetched by several
 * connections at once, each into a buffer of its own, and handed on in
 * order: memory is concurrency x part size, whatever the object's size. */
struct part_slot {
    uint64_t index;
    uint8_t *data;
    size_t length;
    bool ready;
};

struct ranged {
    struct download *d;
    pthread_mutex_t lock;
    pthread_cond_t changed;
    uint64_t part_size, part_count, next_to_fetch, next_to_write;
    struct part_slot *slots;
    size_t slot_count;
    bool stop;
    int rc;
    struct fahr_error err;
};

struct part_sink {
    uint8_t *data;
    size_t length, capacity;
};

static size_t to_part(const char *data, size_t length, void *user)
{
    struct part_sink *sink = user;
    if (length > sink->capacity - sink->length)
        return 0; /* more than the range asked for: refuse */
    memcpy(sink->data + sink->length, data, length);
    sink->length += length;
    return length;
}

static void ranged_fail(struct ranged *r, int rc, const struct fahr_error *err)
{
    pthread_mutex_lock(&r->lock);
    if (!r->stop) {
        r->stop = true;
        r->rc = rc;
        if (err != NULL)
            r->err = *err;
    }
    pthread_cond_broadcast(&r->changed);
    pthread_mutex_unlock(&r->lock);
}

static void *range_worker(void *data)
{
    struct ranged *r = data;
    struct aws_client client = *r->d->client; /* its own connection */
    client.curl = curl_easy_init();
    for (;;) {
        pthread_mutex_lock(&r->lock);
        while (!r->stop && r->next_to_fetch < r->part_count &&
               r->next_to_fetch >= r->next_to_write + r->slot_count)
            pthread_cond_wait(&r->changed, &r->lock);
        if (r->stop || r->next_to_fetch >= r->part_count) {
            pthread_mutex_unlock(&r->lock);
            break;
        }
        uint64_t index = r->next_to_fetch++;
        struct part_slot *slot = &r->slots[index % r->slot_count];
        pthread_mutex_unlock(&r->lock);

        uint64_t first = index * r->part_size;
        uint64_t last = first + r->part_size - 1;
        if (last >= r->d->total)
            last = r->d->total - 1;
        char range[64], if_match[300];
        snprintf(range, sizeof range, "bytes=%llu-%llu", (unsigned long long)first,
                 (unsigned long long)last);
        snprintf(if_match, sizeof if_match, "%s", r->d->etag);
        struct sigv4_pair headers[2] = {{"Range", range}, {"If-Match", if_match}};
        struct part_sink sink = {slot->data, 0, (size_t)(last - first + 1)};
        struct aws_request request = r->d->request;
        request.headers = headers;
        request.header_count = r->d->etag[0] ? 2 : 1;
        request.on_body = to_part;
        request.on_body_data = &sink;
        int rc = FAHR_EFAIL;
        struct fahr_error err = {{0}};
        /* A part that broke off is fetched again whole. */
        for (int attempt = 0; attempt < aws_max_attempts(); attempt++) {
            sink.length = 0;
            struct aws_response response;
            rc = aws_send(&client, &request, &response, &err);
            aws_response_free(&response);
            if (rc == FAHR_OK && sink.length != sink.capacity)
                rc = fahr_error_set(&err, FAHR_EFAIL, "GetObject: part %llu came back short",
                                    (unsigned long long)index);
            if (rc == FAHR_OK || rc == FAHR_EINTERRUPTED || client.host->interrupted())
                break;
        }
        if (rc != FAHR_OK) {
            ranged_fail(r, rc, &err);
            break;
        }
        pthread_mutex_lock(&r->lock);
        slot->index = index;
        slot->length = sink.length;
        slot->ready = true;
        pthread_cond_broadcast(&r->changed);
        pthread_mutex_unlock(&r->lock);
    }
    curl_easy_cleanup(client.curl);
    return NULL;
}

/* The download thread's work in parallel mode: start the workers, then hand
 * the parts on in order. */
static void download_ranges(struct download *d, unsigned concurrency, uint64_t part_size)
{
    struct ranged r = {.d = d, .part_size = part_size, .slot_count = concurrency};
    r.part_count = (d->total + part_size - 1) / part_size;
    pthread_mutex_init(&r.lock, NULL);
    pthread_cond_init(&r.changed, NULL);
    r.slots = calloc(concurrency, sizeof *r.slots);
    pthread_t *workers = calloc(concurrency, sizeof *workers);
    size_t started = 0;
    bool ok = r.slots != NULL && workers != NULL;
    for (size_t i = 0; ok && i < concurrency; i++)
        ok = (r.slots[i].data = malloc(part_size)) != NULL;
    for (size_t i = 0; ok && i < concurrency; i++)
        if (pthread_create(&workers[i], NULL, range_worker, &r) == 0)
            started++;
    if (!ok || started == 0)
        ranged_fail(&r, FAHR_EFAIL, NULL);
    for (uint64_t index = 0; index < r.part_count; index++) {
        pthread_mutex_lock(&r.lock);
        struct part_slot *slot = &r.slots[index % r.slot_count];
        while (!r.stop && !(slot->ready && slot->index == index))
            pthread_cond_wait(&r.changed, &r.lock);
        bool stop = r.stop;
        pthread_mutex_unlock(&r.lock);
        if (stop)
            break;
        if (write_part(d, slot->data, slot->length) != 0) {
            ranged_fail(&r, FAHR_EFAIL, NULL);
            break;
        }
        pthread_mutex_lock(&r.lock);
        slot->ready = false;
        r.next_to_write = index + 1;
        pthread_cond_broadcast(&r.changed);
        pthread_mutex_unlock(&r.lock);
    }
    for (size_t i = 0; i < started; i++)
        pthread_join(workers[i], NULL);
    d->rc = r.stop ? (r.rc ? r.rc : FAHR_EFAIL) : FAHR_OK;
    if (r.stop && r.rc != 0)
        d->err = r.err;
    else if (r.stop)
        fahr_error_set(&d->err, FAHR_EFAIL, "GetObject: the download stopped");
    for (size_t i = 0; r.slots != NULL && i < concurrency; i++)
        free(r.slots[i].data);
    free(r.slots);
    free(workers);
    pthread_mutex_destroy(&r.lock);
    pthread_cond_destroy(&r.changed);
}

int model_fetch_s3(struct aws_client *client, const char *s3_uri, const char *dest_dir,
                   bool overwrite, const struct s3_download_options *options,
                   struct fahr_error *err)
{
    char bucket[256], key[2048], path[2400];
    if (s3_uri_split(s3_uri, bucket, sizeof bucket, key, sizeof key) != FAHR_OK)
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not an S3 object (s3://bucket/key)",
                              s3_uri);
    snprintf(path, sizeof path, "/%s/%s", bucket, key);

    /* Checksum mode: the answer carries the object's checksum. */
    struct sigv4_pair checksum_mode = {"x-amz-checksum-mode", "ENABLED"};
    struct aws_request head = {.service = &aws_s3, .operation = "HeadObject", .method = "HEAD",
                               .path = path, .headers = &checksum_mode, .header_count = 1};
    struct aws_response response;
    int rc = aws_send(client, &head, &response, err);
    aws_response_free(&response);
    if (rc == FAHR_ENOTFOUND)
        return fahr_error_set(err, FAHR_ENOTFOUND, "%s does not exist", s3_uri);
    if (rc != FAHR_OK)
        return rc;
    curl_off_t length = -1;
    curl_easy_getinfo(client->curl, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    struct download d = {.client = client};
    d.concurrency = options && options->concurrency > 0 ? options->concurrency : 1;
    d.part_size = options && options->part_size > 0 ? options->part_size : 8u * 1024 * 1024;
    const char *etag = aws_answer_header(client->curl, "ETag");
    snprintf(d.etag, sizeof d.etag, "%s", etag ? etag : "");
    s3_checksum_choose(&d.checksum, aws_answer_header, client->curl);
    client->host->log(FAHR_LOG_DEBUG, "%s: the download is checked against the object's %s",
                      s3_uri, d.checksum.name ? d.checksum.name : "size alone (S3 gave no checksum)");

    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0) {
        s3_checksum_free(&d.checksum);
        return fahr_error_set(err, FAHR_EFAIL, "cannot make a pipe: %s", strerror(errno));
    }
    d.write_fd = fds[1];
    d.total = length > 0 ? (uint64_t)length : 0;
    /* A deeper pipe: fewer hand-overs between the two threads. */
    fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
    d.request = (struct aws_request){.service = &aws_s3, .operation = "GetObject",
                                     .method = "GET", .path = path, .on_body = to_pipe,
                                     .on_body_data = &d};
    /* A reader that stops early must not kill fahr with SIGPIPE. */
    signal(SIGPIPE, SIG_IGN);
    pthread_t thread;
    if (pthread_create(&thread, NULL, download_thread, &d) != 0) {
        close(fds[0]);
        close(fds[1]);
        s3_checksum_free(&d.checksum);
        return fahr_error_set(err, FAHR_EFAIL, "cannot start the download");
    }
    char staging[4096];
    rc = unpack_to_staging(client->host, fds[0], dest_dir, staging, sizeof staging, err);
    close(fds[0]);
    pthread_join(thread, NULL);
    if (d.rc == FAHR_OK && d.total > 0 && d.received != d.total)
        d.rc = fahr_error_set(&d.err, FAHR_EFAIL, "%s: got %llu of %llu bytes", s3_uri,
                              (unsigned long long)d.received, (unsigned long long)d.total);
    char got[72];
    if (!s3_checksum_finish(&d.checksum, got, sizeof got) && d.rc == FAHR_OK && rc == FAHR_OK)
        d.rc = fahr_error_set(&d.err, FAHR_EFAIL,
                              "%s: the download's %s is %s, not the object's %s; "
                              "nothing was written",
                              s3_uri, d.checksum.name, got, d.checksum.expected_text);
    if (d.rc != FAHR_OK) {
        if (rc == FAHR_OK)
            remove_tree(staging);
        /* The download's own failure explains an unpacking error best. */
        *err = d.err;
        return d.rc;
    }
    return rc == FAHR_OK ? commit_staging(staging, dest_dir, overwrite, err) : rc;
}
