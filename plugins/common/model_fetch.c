/* plugins/common/model_fetch.c: see model_fetch.h. */
#define _GNU_SOURCE
#include "model_fetch.h"

#include "s3_checksum.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

/* ---- Streaming from S3 ---------------------------------------------------- */

struct download {
    struct aws_client *client;
    struct aws_request request;
    struct fahr_place *place; /* the host's placement the bytes go to */
    struct aws_response response; /* of the GetObject under way */
    uint64_t received, total;
    uint64_t skip;      /* bytes to drop: a server that ignored our Range */
    char etag[256];     /* the object's, from HeadObject */
    struct s3_checksum checksum; /* of the bytes delivered */
    bool reader_gone; /* the placement refused the bytes: place_err says why */
    int place_rc;
    struct fahr_error place_err;
    unsigned concurrency;
    uint64_t part_size;
    int rc;
    struct fahr_error err;
};

/* Hand bytes on to the host's placement (which unpacks them as they come),
 * counting them into the checksum and the progress. -1 when it refused
 * them. */
static int write_part(struct download *d, const uint8_t *data, size_t length)
{
    d->place_rc = d->client->host->place_archive(d->place, data, length, &d->place_err);
    if (d->place_rc != FAHR_OK) {
        d->reader_gone = true;
        return -1;
    }
    s3_checksum_update(&d->checksum, data, length);
    d->received += length;
    d->client->host->progress("downloading", d->received, d->total, "B");
    return 0;
}

static size_t to_place(const char *data, size_t length, void *user)
{
    struct download *d = user;
    size_t taken = length;
    if (d->skip > 0) {
        /* The host sets the status before the body's first bytes. */
        if (d->response.http.status == 200) { /* the whole object again: drop what we have */
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
static void download(struct download *d)
{
    if (d->concurrency > 1 && d->total >= 2 * d->part_size) {
        download_ranges(d, d->concurrency, d->part_size);
        return;
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
        d->rc = aws_send(d->client, &d->request, &d->response, &d->err);
        aws_response_free(&d->response);
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
    struct aws_client client;
    struct fahr_error open_err;
    int open_rc = aws_client_clone(r->d->client, &client, &open_err);
    if (open_rc != FAHR_OK) {
        ranged_fail(r, open_rc, &open_err);
        return NULL;
    }
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
    aws_client_close(&client);
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
    if (rc != FAHR_OK) {
        aws_response_free(&response);
        if (rc == FAHR_ENOTFOUND)
            return fahr_error_set(err, FAHR_ENOTFOUND, "%s does not exist", s3_uri);
        return rc;
    }
    int64_t length = aws_answer_length(&response);
    struct download d = {.client = client};
    d.concurrency = options && options->concurrency > 0 ? options->concurrency : 1;
    d.part_size = options && options->part_size > 0 ? options->part_size : 8u * 1024 * 1024;
    const char *etag = aws_answer_header(&response, "ETag");
    snprintf(d.etag, sizeof d.etag, "%s", etag ? etag : "");
    s3_checksum_choose(&d.checksum, aws_answer_header, &response);
    aws_response_free(&response);
    client->host->log(FAHR_LOG_DEBUG, "%s: the download is checked against the object's %s",
                      s3_uri, d.checksum.name ? d.checksum.name : "size alone (S3 gave no checksum)");

    d.total = length > 0 ? (uint64_t)length : 0;
    d.request = (struct aws_request){.service = &aws_s3, .operation = "GetObject",
                                     .method = "GET", .path = path, .on_body = to_place,
                                     .on_body_data = &d};
    rc = client->host->place_open(dest_dir, overwrite, &d.place, err);
    if (rc != FAHR_OK) {
        s3_checksum_free(&d.checksum);
        return rc;
    }
    download(&d);
    /* The placement refused the bytes first (a full disk, a hostile entry):
     * its error is the cause; the download only saw its reader go. */
    if (d.reader_gone) {
        client->host->place_abort(d.place);
        s3_checksum_free(&d.checksum);
        *err = d.place_err;
        return d.place_rc;
    }
    if (d.rc == FAHR_OK && d.total > 0 && d.received != d.total)
        d.rc = fahr_error_set(&d.err, FAHR_EFAIL, "%s: got %llu of %llu bytes", s3_uri,
                              (unsigned long long)d.received, (unsigned long long)d.total);
    char got[72];
    if (!s3_checksum_finish(&d.checksum, got, sizeof got) && d.rc == FAHR_OK)
        d.rc = fahr_error_set(&d.err, FAHR_EFAIL,
                              "%s: the download's %s is %s, not the object's %s; "
                              "nothing was written",
                              s3_uri, d.checksum.name, got, d.checksum.expected_text);
    if (d.rc != FAHR_OK) {
        client->host->place_abort(d.place);
        *err = d.err;
        return d.rc;
    }
    /* Checked whole: only now may the model move into place. */
    return client->host->place_commit(d.place, err);
}
