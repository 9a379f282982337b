/* plugins/train-sagemaker/log_merge.c: a job's log streams merged in time
 * order, and their places in the log cursor (log_merge.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_merge.h"

/* Pages in a row with nothing to deliver that one stream may answer before
 * its reading ends for this call: a service that never reaches an end
 * cannot keep us. */
#define MAX_EMPTY_PAGES 8

static int not_ours(struct fahr_error *err)
{
    return fahr_error_set(err, FAHR_EFAIL, "the log cursor is not one of this driver's");
}

void log_streams_free(struct log_streams *streams)
{
    for (size_t i = 0; i < streams->count; i++) {
        free(streams->items[i].name);
        free(streams->items[i].token);
        json_decref(streams->items[i].page);
    }
    streams->count = 0;
}

/* A name or token the cursor can hold and a terminal can show. */
static bool printable(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] <= ' ' || (unsigned char)text[i] >= 0x7f)
            return false;
    return true;
}

static int add_entry(struct log_streams *streams, const char *name, size_t name_length,
                     const char *token, size_t token_length, unsigned long skip,
                     struct fahr_error *err)
{
    struct log_stream *stream = &streams->items[streams->count];
    memset(stream, 0, sizeof *stream);
    stream->name = strndup(name, name_length);
    stream->token = strndup(token, token_length);
    if (stream->name == NULL || stream->token == NULL) {
        free(stream->name);
        free(stream->token);
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    }
    stream->skip = skip;
    streams->count++;
    return FAHR_OK;
}

int log_streams_add(struct log_streams *streams, const char *name, bool *full,
                    struct fahr_error *err)
{
    size_t length = strlen(name);
    if (length == 0 || !printable(name, length))
        return FAHR_OK;
    for (size_t i = 0; i < streams->count; i++)
        if (strcmp(streams->items[i].name, name) == 0)
            return FAHR_OK;
    if (streams->count == LOG_MERGE_MAX_STREAMS) {
        *full = true;
        return FAHR_OK;
    }
    return add_entry(streams, name, length, "", 0, 0, err);
}

/* One "NAME\tTOKEN\tSKIP\n" entry at *at, before end. */
static int load_entry(struct log_streams *streams, const char **at, const char *end,
                      struct fahr_error *err)
{
    const char *name = *at;
    const char *tab1 = memchr(name, '\t', (size_t)(end - name));
    const char *tab2 = tab1 ? memchr(tab1 + 1, '\t', (size_t)(end - tab1 - 1)) : NULL;
    const char *newline = tab2 ? memchr(tab2 + 1, '\n', (size_t)(end - tab2 - 1)) : NULL;
    if (newline == NULL || tab1 == name || streams->count == LOG_MERGE_MAX_STREAMS ||
        !printable(name, (size_t)(tab1 - name)) ||
        !printable(tab1 + 1, (size_t)(tab2 - tab1 - 1)))
        return not_ours(err);
    char digits[24];
    size_t length = (size_t)(newline - tab2 - 1);
    if (length == 0 || length >= sizeof digits)
        return not_ours(err);
    memcpy(digits, tab2 + 1, length);
    digits[length] = '\0';
    if (strspn(digits, "0123456789") != length)
        return not_ours(err);
    errno = 0;
    unsigned long skip = strtoul(digits, NULL, 10);
    if (errno != 0)
        return not_ours(err);
    *at = newline + 1;
    return add_entry(streams, name, (size_t)(tab1 - name), tab1 + 1, (size_t)(tab2 - tab1 - 1),
                     skip, err);
}

/* The cursor: "H<hosts>\n", then one entry per stream. */
int log_streams_load(struct log_streams *streams, const struct fahr_log_cursor *cursor,
                     struct fahr_error *err)
{
    memset(streams, 0, sizeof *streams);
    if (cursor->size < sizeof *cursor || cursor->length > sizeof cursor->data)
        return not_ours(err);
    if (cursor->length == 0)
        return FAHR_OK;
    const char *at = (const char *)cursor->data, *end = at + cursor->length;
    const char *newline = memchr(at, '\n', cursor->length);
    if (at[0] != 'H' || newline == NULL || newline - at < 2 || newline - at > 6 ||
        strspn(at + 1, "0123456789") != (size_t)(newline - at - 1))
        return not_ours(err);
    streams->hosts = (unsigned)strtoul(at + 1, NULL, 10);
    at = newline + 1;
    while (at < end) {
        int rc = load_entry(streams, &at, end, err);
        if (rc != FAHR_OK) {
            log_streams_free(streams);
            return rc;
        }
    }
    return FAHR_OK;
}

size_t log_streams_store(const struct log_streams *streams, struct fahr_log_cursor *cursor)
{
    size_t used = (size_t)snprintf((char *)cursor->data, sizeof cursor->data, "H%u\n",
                                   streams->hosts > 99999 ? 99999 : streams->hosts);
    size_t left_out = 0;
    for (size_t i = 0; i < streams->count; i++) {
        const struct log_stream *stream = &streams->items[i];
        char entry[FAHR_LOG_CURSOR_MAX + 1];
        int length = snprintf(entry, sizeof entry, "%s\t%s\t%lu\n", stream->name, stream->token,
                              stream->skip);
        if (length < 0 || used + (size_t)length > sizeof cursor->data) {
            left_out++;
            continue;
        }
        memcpy(cursor->data + used, entry, (size_t)length);
        used += (size_t)length;
    }
    cursor->length = (uint32_t)used;
    return left_out;
}

size_t log_stream_host(const char *name, const char **host)
{
    *host = name;
    size_t length = strlen(name);
    const char *dash = strrchr(name, '-');
    if (dash != NULL && dash != name && dash[1] != '\0' &&
        strspn(dash + 1, "0123456789") == strlen(dash + 1))
        length = (size_t)(dash - name);
    return length;
}

/* ---- reading pages ---------------------------------------------------- */

static json_t *page_events(const struct log_stream *stream)
{
    json_t *events = json_object_get(stream->page, "events");
    return json_is_array(events) ? events : NULL;
}

/* The page's next place, where it is one the cursor can hold and not the
 * page's own (which means the stream's end); else NULL. */
static const char *page_next(const struct log_stream *stream)
{
    const char *next = json_string_value(json_object_get(stream->page, "nextForwardToken"));
    if (next == NULL || strcmp(next, stream->token) == 0 || next[0] == '\0' ||
        strlen(next) >= FAHR_LOG_CURSOR_MAX / 2 || !printable(next, strlen(next)))
        return NULL;
    return next;
}

static int move_to(struct log_stream *stream, const char *next, struct fahr_error *err)
{
    char *copy = strdup(next);
    if (copy == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    free(stream->token);
    stream->token = copy;
    stream->skip = 0;
    return FAHR_OK;
}

static void end_reading(struct log_stream *stream)
{
    json_decref(stream->page);
    stream->page = NULL;
    stream->done = true;
}

/* The page at the stream's place, its first `skip` events passed over. A
 * page with nothing undelivered leads to the next; the stream's end (or a
 * place the cursor cannot hold) ends its reading for this call, the token
 * and count still saying where it stands. */
static int load_page(struct log_stream *stream, log_page_fn read_page, void *data,
                     struct fahr_error *err)
{
    for (int page = 0; page < MAX_EMPTY_PAGES; page++) {
        json_decref(stream->page);
        stream->page = NULL;
        int rc = read_page(data, stream->name, stream->token, &stream->page, err);
        if (rc != FAHR_OK) {
            end_reading(stream);
            return rc;
        }
        if (json_array_size(page_events(stream)) > stream->skip) {
            stream->at = stream->skip;
            return FAHR_OK;
        }
        const char *next = page_next(stream);
        if (next == NULL)
            break;
        if ((rc = move_to(stream, next, err)) != FAHR_OK) {
            end_reading(stream);
            return rc;
        }
    }
    end_reading(stream);
    return FAHR_OK;
}

/* After the last event of its page: on to the next page. */
static int next_page(struct log_stream *stream, log_page_fn read_page, void *data,
                     struct fahr_error *err)
{
    const char *next = page_next(stream);
    if (next == NULL) {
        end_reading(stream);
        return FAHR_OK;
    }
    int rc = move_to(stream, next, err);
    if (rc != FAHR_OK) {
        end_reading(stream);
        return rc;
    }
    return load_page(stream, read_page, data, err);
}

/* ---- the merge --------------------------------------------------------- */

/* An event's time; one without a usable time takes its stream's last, so
 * that it keeps its place in the stream. */
static long long event_time(struct log_stream *stream, json_t *event)
{
    json_t *time = json_object_get(event, "timestamp");
    if (json_is_integer(time))
        return (long long)json_integer_value(time);
    return stream->last_time;
}

/* The stream whose next event comes first, or NULL when all are done. */
static struct log_stream *first_stream(struct log_streams *streams)
{
    struct log_stream *first = NULL;
    long long first_time = 0;
    for (size_t i = 0; i < streams->count; i++) {
        struct log_stream *stream = &streams->items[i];
        if (stream->done || stream->page == NULL)
            continue;
        long long time = event_time(stream, json_array_get(page_events(stream), stream->at));
        if (first == NULL || time < first_time ||
            (time == first_time && strcmp(stream->name, first->name) < 0)) {
            first = stream;
            first_time = time;
        }
    }
    return first;
}

/* Each line of an event's message (a message may hold several), without
 * its line ending, prefixed with the host where there are several. */
static int deliver(const struct log_streams *streams, const struct log_stream *stream,
                   const char *message, fahr_log_line_fn on_line, void *data)
{
    char prefix[80] = "";
    if (streams->hosts > 1) {
        const char *host;
        size_t length = log_stream_host(stream->name, &host);
        snprintf(prefix, sizeof prefix, "[%.*s] ", (int)(length < 64 ? length : 64), host);
    }
    size_t length = strlen(message);
    while (length > 0 && (message[length - 1] == '\n' || message[length - 1] == '\r'))
        length--;
    size_t prefix_length = strlen(prefix);
    const char *at = message, *end = message + length;
    int stop = 0;
    do {
        const char *newline = memchr(at, '\n', (size_t)(end - at));
        size_t line = (size_t)((newline ? newline : end) - at);
        if (line > 0 && at[line - 1] == '\r')
            line--;
        char *text = malloc(prefix_length + line + 1);
        if (text == NULL)
            return -1;
        memcpy(text, prefix, prefix_length);
        memcpy(text + prefix_length, at, line);
        text[prefix_length + line] = '\0';
        stop = on_line(data, text, prefix_length + line);
        free(text);
        at = newline ? newline + 1 : end;
    } while (at < end && stop == 0);
    return stop;
}

int log_streams_merge(struct log_streams *streams, log_page_fn read_page, void *read_page_data,
                      fahr_log_line_fn on_line, void *on_line_data, struct fahr_error *err)
{
    int rc = FAHR_OK;
    for (size_t i = 0; i < streams->count && rc == FAHR_OK; i++)
        rc = load_page(&streams->items[i], read_page, read_page_data, err);
    struct log_stream *stream;
    while (rc == FAHR_OK && (stream = first_stream(streams)) != NULL) {
        json_t *event = json_array_get(page_events(stream), stream->at);
        stream->last_time = event_time(stream, event);
        const char *message = json_string_value(json_object_get(event, "message"));
        int stop = message ? deliver(streams, stream, message, on_line, on_line_data) : 0;
        if (stop < 0) {
            rc = fahr_error_set(err, FAHR_EFAIL, "out of memory");
            break;
        }
        /* Delivered, even on a stop: the next reading begins after it. */
        stream->skip++;
        stream->at++;
        if (stop)
            break;
        if (stream->at >= json_array_size(page_events(stream)))
            rc = next_page(stream, read_page, read_page_data, err);
    }
    for (size_t i = 0; i < streams->count; i++) {
        json_decref(streams->items[i].page);
        streams->items[i].page = NULL;
        streams->items[i].done = false;
    }
    return rc;
}
