/* plugins/train-local/logs.c: a local job's output, from the Docker Engine
 * (GET /containers/{id}/logs). Without a TTY the answer is multiplexed:
 * each frame is [stream, 0, 0, 0, size (4 bytes, big endian)] and then
 * that many bytes, one message of the container's.
 *
 * read_logs2 asks only for what is new. With timestamps=1 each message (a
 * line; or a piece of one, unfinished or too long for one message) starts
 * with its time, RFC 3339 with nine digits of nanoseconds, and a space; and
 * since=SECONDS.NANOSECONDS returns the messages of that time or later (the
 * engine skips only those before it). So the cursor keeps the time of the
 * last message delivered and how many messages of that time were: the next
 * call skips those, and none is lost or shown twice. */
#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "local.h"

/* One frame from raw[*at]: false at the end. */
static bool next_frame(const char *raw, size_t length, size_t *at, const char **payload,
                       size_t *size)
{
    if (*at + 8 > length)
        return false;
    const unsigned char *header = (const unsigned char *)raw + *at;
    size_t n = ((size_t)header[4] << 24) | ((size_t)header[5] << 16) |
               ((size_t)header[6] << 8) | (size_t)header[7];
    *at += 8;
    if (n > length - *at)
        n = length - *at;
    *payload = raw + *at;
    *size = n;
    *at += n;
    return true;
}

static int get_log(struct local *local, const char *job_id, const char *query, char **raw,
                   size_t *length, struct fahr_error *err)
{
    char path[512];
    snprintf(path, sizeof path, "/containers/fahr-%s/logs?stdout=1&stderr=1%s", job_id, query);
    return docker_engine_call(local->host, &local->engine, "GET", path, NULL, raw, length, err);
}

int container_log(struct local *local, const char *job_id, char **text, size_t *length,
                  struct fahr_error *err)
{
    char *raw = NULL;
    size_t raw_length = 0;
    int rc = get_log(local, job_id, "", &raw, &raw_length, err);
    if (rc != FAHR_OK)
        return rc;
    char *out = malloc(raw_length + 1);
    size_t used = 0, at = 0, size;
    const char *payload;
    while (out != NULL && next_frame(raw, raw_length, &at, &payload, &size)) {
        memcpy(out + used, payload, size);
        used += size;
    }
    free(raw);
    if (out == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    out[used] = '\0';
    *text = out;
    *length = used;
    return FAHR_OK;
}

/* A message's time, and how many messages of that time are meant. */
struct log_position {
    int64_t seconds;
    int32_t nanoseconds;
    uint32_t count;
};

static int compare_time(const struct log_position *a, const struct log_position *b)
{
    if (a->seconds != b->seconds)
        return a->seconds < b->seconds ? -1 : 1;
    return (a->nanoseconds > b->nanoseconds) - (a->nanoseconds < b->nanoseconds);
}

/* "2026-11-27T23:05:01.123456789Z " (or +HH:MM) at the start of a message:
 * its length, or 0 where there is none. */
static size_t parse_time(const char *text, size_t length, struct log_position *time)
{
    char copy[48];
    size_t n = length < sizeof copy - 1 ? length : sizeof copy - 1;
    memcpy(copy, text, n);
    copy[n] = '\0';
    struct tm tm = {0};
    int used = 0;
    if (sscanf(copy, "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
               &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &used) != 6)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    const char *p = copy + used;
    int32_t nanoseconds = 0, digits = 0;
    if (*p == '.')
        for (p++; *p >= '0' && *p <= '9'; p++)
            if (digits++ < 9)
                nanoseconds = nanoseconds * 10 + (*p - '0');
    for (; digits < 9; digits++)
        nanoseconds *= 10;
    int64_t offset = 0;
    int hours, minutes, end = 0;
    if (*p == 'Z')
        p++;
    else if ((*p == '+' || *p == '-') && sscanf(p + 1, "%2d:%2d%n", &hours, &minutes, &end) == 2) {
        offset = (*p == '-' ? -1 : 1) * ((int64_t)hours * 3600 + (int64_t)minutes * 60);
        p += 1 + end;
    } else
        return 0;
    if (*p != ' ')
        return 0;
    time->seconds = (int64_t)timegm(&tm) - offset;
    time->nanoseconds = nanoseconds;
    return (size_t)(p + 1 - copy);
}

/* One call's reading: what the cursor said, what was delivered, and the
 * pieces of a line whose newline has not come yet. */
struct log_reader {
    struct log_position start;     /* the cursor's: skip start.count at its time */
    uint32_t skipped;
    struct log_position seen;      /* the last message read, pieces included */
    struct log_position delivered; /* the last message of a line delivered */
    char *line;
    size_t used, capacity;
    fahr_log_line_fn on_line;
    void *on_line_data;
    bool stopped;                  /* the reader asked for no more */
};

static int deliver(struct log_reader *reader)
{
    size_t length = reader->used;
    if (length > 0 && reader->line[length - 1] == '\n')
        length--;
    if (reader->on_line(reader->on_line_data, reader->line ? reader->line : "", length) != 0)
        reader->stopped = true;
    reader->delivered = reader->seen;
    reader->used = 0;
    return FAHR_OK;
}

/* One message: skipped where an earlier call delivered it, else added to
 * the line, which is delivered once it has its newline. */
static int take_message(struct log_reader *reader, const struct log_position *time,
                        const char *text, size_t length, struct fahr_error *err)
{
    int order = compare_time(time, &reader->start);
    if (order < 0 || (order == 0 && reader->skipped < reader->start.count)) {
        reader->skipped += order == 0;
        return FAHR_OK;
    }
    if (compare_time(time, &reader->seen) == 0) {
        reader->seen.count++;
    } else {
        reader->seen = *time;
        reader->seen.count = 1;
    }
    if (reader->used + length > reader->capacity) {
        size_t capacity = (reader->used + length) * 2;
        char *grown = realloc(reader->line, capacity);
        if (grown == NULL)
            return fahr_error_set(err, FAHR_EFAIL, "out of memory");
        reader->line = grown;
        reader->capacity = capacity;
    }
    memcpy(reader->line + reader->used, text, length);
    reader->used += length;
    return length > 0 && text[length - 1] == '\n' ? deliver(reader) : FAHR_OK;
}

static int read_messages(struct log_reader *reader, const char *raw, size_t length,
                         struct fahr_error *err)
{
    size_t at = 0, size;
    const char *payload;
    while (!reader->stopped && next_frame(raw, length, &at, &payload, &size)) {
        struct log_position time;
        size_t stamp = parse_time(payload, size, &time);
        if (stamp == 0)
            return fahr_error_set(err, FAHR_EFAIL, "the engine's log has a message without "
                                                   "its time");
        int rc = take_message(reader, &time, payload + stamp, size - stamp, err);
        if (rc != FAHR_OK)
            return rc;
    }
    return FAHR_OK;
}

int local_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                     struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                     void *on_line_data, struct fahr_error *err)
{
    (void)config;
    struct local *local = state;
    if (!job_id_is_valid(job_id))
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not a local job name", job_id);
    struct log_reader reader = {.on_line = on_line, .on_line_data = on_line_data};
    if (cursor->size < sizeof *cursor ||
        (cursor->length != 0 && cursor->length != sizeof reader.start))
        return fahr_error_set(err, FAHR_EFAIL, "the log cursor is not one of this driver's");
    memcpy(&reader.start, cursor->data, cursor->length);
    reader.seen = reader.delivered = reader.start;
    char query[64] = "&timestamps=1", *raw = NULL;
    size_t length = 0;
    if (cursor->length != 0)
        snprintf(query, sizeof query, "&timestamps=1&since=%lld.%09d",
                 (long long)reader.start.seconds, (int)reader.start.nanoseconds);
    int rc = get_log(local, job_id, query, &raw, &length, err);
    if (rc == FAHR_ENOTFOUND)
        rc = fahr_error_set(err, FAHR_ENOTFOUND, "no local job %s", job_id);
    if (rc == FAHR_OK)
        rc = read_messages(&reader, raw, length, err);
    /* A last line without its newline, once nothing can follow it. */
    if (rc == FAHR_OK && job_over && reader.used > 0 && !reader.stopped)
        rc = deliver(&reader);
    free(raw);
    free(reader.line);
    if (reader.delivered.count > 0) {
        memcpy(cursor->data, &reader.delivered, sizeof reader.delivered);
        cursor->length = sizeof reader.delivered;
    }
    return rc;
}
