/* gcs_fetch.c: every object under a prefix, downloaded by up to 4 threads
 * (each its own host HTTP session) into the command's scratch directory,
 * each checked against the size and CRC32C Cloud Storage listed, and only
 * when all arrived whole handed to the host's placement. One damaged or
 * missing object fails the fetch, naming it, and nothing is placed. */
#include "vertex.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define THREADS 4

struct object {
    char *name;          /* the full object name */
    uint64_t size;
    char crc32c[16];     /* "" if Cloud Storage gave none */
};

struct fetch {
    struct vertex *vertex;
    char bucket[256], prefix[1100], root[1024], scratch[FAHR_URI_MAX];
    struct object *objects;
    size_t count, capacity;
    pthread_mutex_t lock;    /* guards next, failed, err and the progress */
    size_t next;
    int failed;
    struct fahr_error err;
    uint64_t total, done;    /* bytes, for the progress line */
    uint32_t files_done;
};

static int on_listed(void *data, const char *name, uint64_t size, const char *crc32c)
{
    struct fetch *fetch = data;
    size_t length = strlen(name);
    if (length == 0 || name[length - 1] == '/')
        return 0; /* a "folder" placeholder, not a file */
    if (fetch->count == fetch->capacity) {
        size_t capacity = fetch->capacity ? 2 * fetch->capacity : 64;
        struct object *grown = realloc(fetch->objects, capacity * sizeof *grown);
        if (grown == NULL)
            return -1;
        fetch->objects = grown, fetch->capacity = capacity;
    }
    struct object *object = &fetch->objects[fetch->count];
    object->name = strdup(name);
    object->size = size;
    snprintf(object->crc32c, sizeof object->crc32c, "%s", crc32c ? crc32c : "");
    if (object->name == NULL)
        return -1;
    fetch->count++;
    fetch->total += size;
    return 0;
}

/* The progress line over every file (the host draws it on a terminal). */
static void show_progress(struct fetch *fetch, uint64_t bytes, int file_done)
{
    pthread_mutex_lock(&fetch->lock);
    fetch->done += bytes;
    fetch->files_done += file_done;
    if (FAHR_HAS(vertex_host, progress_files) && vertex_host->progress_files != NULL)
        vertex_host->progress_files("model", fetch->done, fetch->total, fetch->files_done,
                                    (uint32_t)fetch->count);
    pthread_mutex_unlock(&fetch->lock);
}

struct download {
    struct fetch *fetch;
    int fd;
    uint32_t crc;
    uint64_t length;
};

static int on_bytes(void *data, const void *chunk, size_t length)
{
    struct download *download = data;
    download->crc = vertex_crc32c(download->crc, chunk, length);
    download->length += length;
    show_progress(download->fetch, length, 0);
    for (size_t done = 0; done < length;) {
        ssize_t put = write(download->fd, (const char *)chunk + done, length - done);
        if (put < 0 && errno == EINTR)
            continue;
        if (put <= 0)
            return -1;
        done += (size_t)put;
    }
    return 0;
}

static void on_restart(void *data)
{
    struct download *download = data;
    pthread_mutex_lock(&download->fetch->lock); /* what was shown is taken back */
    download->fetch->done -= download->length;
    pthread_mutex_unlock(&download->fetch->lock);
    download->crc = 0, download->length = 0;
    if (ftruncate(download->fd, 0) != 0 || lseek(download->fd, 0, SEEK_SET) != 0)
        download->length = UINT64_MAX; /* fails the size check */
}

/* One GET of the media (a 401 gets one fresh token and one more try). */
static int get_media(struct fetch *fetch, struct fahr_http *http, const char *url,
                     struct download *download, struct fahr_http_response *response,
                     struct fahr_error *err)
{
    for (int attempt = 0;; attempt++) {
        struct fahr_http_request request = {
            .size = sizeof request, .method = "GET", .url = url,
            .sign = vertex_auth_sign, .sign_data = fetch->vertex->auth,
            .on_body = on_bytes, .on_restart = on_restart, .on_body_data = download,
        };
        *response = (struct fahr_http_response){.size = sizeof *response};
        int rc = vertex_host->http_send(http, &request, response, err);
        if (rc != FAHR_OK || response->status != 401 || attempt > 0)
            return rc;
        vertex_host->http_release(response);
        const char *token;
        rc = vertex_auth_token(fetch->vertex->auth, 1, &token, err);
        if (rc != FAHR_OK)
            return rc;
    }
}

/* Object i into SCRATCH/i, checked. */
static int download_one(struct fetch *fetch, struct fahr_http *http, size_t i,
                        struct fahr_error *err)
{
    const struct object *object = &fetch->objects[i];
    char bucket[768], name[3400], url[sizeof bucket + sizeof name + 1100], file[FAHR_URI_MAX + 32];
    vertex_escape(fetch->bucket, bucket, sizeof bucket);
    vertex_escape(object->name, name, sizeof name);
    snprintf(url, sizeof url, "%sdownload/storage/v1/b/%s/o/%s?alt=media", fetch->root, bucket,
             name);
    snprintf(file, sizeof file, "%s/%zu", fetch->scratch, i);
    struct download download = {.fetch = fetch, .fd = open(file, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)};
    if (download.fd < 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot write %s: %s", file, strerror(errno));
    struct fahr_http_response response;
    int rc = get_media(fetch, http, url, &download, &response, err);
    char what[1400], crc[16];
    snprintf(what, sizeof what, "Cloud Storage download of gs://%s/%.1024s", fetch->bucket,
             object->name);
    vertex_crc32c_base64(download.crc, crc);
    if (rc == FAHR_OK && response.status != 200)
        rc = vertex_answer_error(what, &response, err);
    else if (rc == FAHR_OK && download.length != object->size)
        rc = fahr_error_set(err, FAHR_EFAIL, "gs://%s/%.1024s came with %llu bytes, not the "
                            "%llu stored; nothing was placed", fetch->bucket, object->name,
                            (unsigned long long)download.length,
                            (unsigned long long)object->size);
    else if (rc == FAHR_OK && object->crc32c[0] && strcmp(crc, object->crc32c) != 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "gs://%s/%.1024s came damaged (CRC32C %s, not the "
                            "stored %s); nothing was placed", fetch->bucket, object->name, crc,
                            object->crc32c);
    vertex_host->http_release(&response);
    if (close(download.fd) != 0 && rc == FAHR_OK)
        rc = fahr_error_set(err, FAHR_EFAIL, "cannot write %s", file);
    if (rc == FAHR_OK)
        show_progress(fetch, 0, 1);
    return rc;
}

struct worker {
    struct fetch *fetch;
    struct fahr_http *http;
    pthread_t thread;
};

static void *work(void *data)
{
    struct worker *worker = data;
    struct fetch *fetch = worker->fetch;
    for (;;) {
        pthread_mutex_lock(&fetch->lock);
        size_t i = fetch->next++;
        int stop = fetch->failed || i >= fetch->count;
        pthread_mutex_unlock(&fetch->lock);
        if (stop)
            return NULL;
        struct fahr_error err = {{0}};
        if (vertex_host->interrupted())
            fahr_error_set(&err, FAHR_EINTERRUPTED, "interrupted");
        int rc = err.message[0] ? FAHR_EINTERRUPTED : download_one(fetch, worker->http, i, &err);
        if (rc != FAHR_OK) {
            pthread_mutex_lock(&fetch->lock);
            if (!fetch->failed)
                fetch->failed = rc, fetch->err = err;
            pthread_mutex_unlock(&fetch->lock);
        }
    }
}

/* Download everything with up to THREADS workers, each its own session. */
static int download_all(struct fetch *fetch, struct fahr_error *err)
{
    struct worker workers[THREADS];
    size_t started = 0, wanted = fetch->count < THREADS ? fetch->count : THREADS;
    int rc = FAHR_OK;
    for (; started < wanted; started++) {
        workers[started] = (struct worker){.fetch = fetch};
        rc = vertex_host->http_open(&workers[started].http, err);
        if (rc == FAHR_OK &&
            pthread_create(&workers[started].thread, NULL, work, &workers[started]) != 0) {
            vertex_host->http_close(workers[started].http);
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot start a download thread");
        }
        if (rc != FAHR_OK)
            break;
    }
    if (rc != FAHR_OK) { /* the started ones stop at their next object */
        pthread_mutex_lock(&fetch->lock);
        fetch->failed = rc, fetch->err = *err;
        pthread_mutex_unlock(&fetch->lock);
    }
    for (size_t i = 0; i < started; i++) {
        pthread_join(workers[i].thread, NULL);
        vertex_host->http_close(workers[i].http);
    }
    if (fetch->failed)
        *err = fetch->err;
    return fetch->failed ? fetch->failed : rc;
}

/* The downloaded files into the placement, under names below the prefix. */
static int place_all(struct fetch *fetch, struct fahr_place *place, struct fahr_error *err)
{
    size_t prefix_length = strlen(fetch->prefix);
    static __thread char buffer[1 << 16];
    int rc = FAHR_OK;
    for (size_t i = 0; rc == FAHR_OK && i < fetch->count; i++) {
        const char *relative = fetch->objects[i].name;
        if (strncmp(relative, fetch->prefix, prefix_length) == 0)
            relative += prefix_length;
        while (*relative == '/')
            relative++;
        char file[FAHR_URI_MAX + 32];
        snprintf(file, sizeof file, "%s/%zu", fetch->scratch, i);
        int fd = open(file, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
            return fahr_error_set(err, FAHR_EFAIL, "cannot read %s", file);
        rc = vertex_host->place_file(place, relative, 0644, err);
        ssize_t got;
        while (rc == FAHR_OK && (got = read(fd, buffer, sizeof buffer)) != 0)
            rc = got < 0 ? fahr_error_set(err, FAHR_EFAIL, "cannot read %s", file)
                         : vertex_host->place_write(place, buffer, (size_t)got, err);
        close(fd);
        unlink(file);
    }
    return rc;
}

static void clean(struct fetch *fetch)
{
    for (size_t i = 0; i < fetch->count; i++) {
        char file[FAHR_URI_MAX + 32];
        snprintf(file, sizeof file, "%s/%zu", fetch->scratch, i);
        unlink(file);
        free(fetch->objects[i].name);
    }
    if (fetch->scratch[0])
        rmdir(fetch->scratch);
    free(fetch->objects);
    pthread_mutex_destroy(&fetch->lock);
}

int vertex_gcs_fetch(struct vertex *vertex, const char *gs_prefix, struct fahr_place *place,
                     struct fahr_error *err)
{
    struct fetch fetch = {.vertex = vertex};
    pthread_mutex_init(&fetch.lock, NULL);
    char base[FAHR_URI_MAX - 64];
    int rc = vertex_gcs_parse(gs_prefix, fetch.bucket, sizeof fetch.bucket, fetch.prefix,
                              sizeof fetch.prefix, err);
    if (rc == FAHR_OK)
        rc = vertex_endpoint(VERTEX_STORAGE, NULL, fetch.root, sizeof fetch.root, err);
    if (rc == FAHR_OK)
        rc = vertex_gcs_list(vertex, gs_prefix, on_listed, &fetch, err);
    if (rc == FAHR_OK && fetch.count == 0)
        rc = fahr_error_set(err, FAHR_ENOTFOUND, "there is no model under %s", gs_prefix);
    if (rc == FAHR_OK)
        rc = vertex_host->scratch_dir(base, sizeof base, err);
    if (rc == FAHR_OK) {
        snprintf(fetch.scratch, sizeof fetch.scratch, "%s/gcs-XXXXXX", base);
        if (mkdtemp(fetch.scratch) == NULL) {
            fetch.scratch[0] = '\0';
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot make a directory in %s", base);
        }
    }
    if (rc == FAHR_OK)
        rc = download_all(&fetch, err);
    if (rc == FAHR_OK)
        rc = place_all(&fetch, place, err);
    clean(&fetch);
    return rc;
}
