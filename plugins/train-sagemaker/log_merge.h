/* plugins/train-sagemaker/log_merge.h: the lines of a job's CloudWatch
 * streams, one per host (JOB/algo-N-EPOCH), merged in time order, and where
 * each stream was read to, kept in the host's log cursor. No request is
 * made here: pages come through a function the caller gives, so that the
 * merge is tested without a service (tests/unit/test_log_merge.c). */
#ifndef FAHR_SAGEMAKER_LOG_MERGE_H
#define FAHR_SAGEMAKER_LOG_MERGE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "fahr/plugin.h"

/* The streams of a job followed at most (one per instance, and one more
 * per instance for each spot restart). */
#define LOG_MERGE_MAX_STREAMS 32

/* One stream and where its reading stands: the first `skip` events of the
 * page that `token` begins ("": the stream's head) are delivered. A token
 * and a count, rather than a token alone, so that reading can stop after
 * any line and go on from the next, in this process or another. */
struct log_stream {
    char *name;           /* without the job's "JOB/" prefix */
    char *token;
    unsigned long skip;
    /* This call's page of it. */
    json_t *page;         /* GetLogEvents' answer, or NULL */
    size_t at;            /* the next event of page's "events" */
    bool done;            /* read to its end for this call */
    long long last_time;  /* the time of its last event seen */
};

struct log_streams {
    struct log_stream items[LOG_MERGE_MAX_STREAMS];
    size_t count;
    /* The job's instance count: with more than one, each line is
     * prefixed with its host, "[algo-2] ...". 0 until known. */
    unsigned hosts;
};

/* Reads the page of `stream` (a name without the job's prefix) that
 * `token` begins ("": the head): GetLogEvents' answer into `*page`, the
 * caller's to json_decref(). */
typedef int (*log_page_fn)(void *data, const char *stream, const char *token, json_t **page,
                           struct fahr_error *err);

/* From a cursor (zeroed: no stream yet, hosts 0). FAHR_EFAIL for a
 * cursor this code did not write. */
int log_streams_load(struct log_streams *streams, const struct fahr_log_cursor *cursor,
                     struct fahr_error *err);

/* Into the cursor. A stream whose entry no longer fits is left out (read
 * again from its head by a later call); returns how many were. */
size_t log_streams_store(const struct log_streams *streams, struct fahr_log_cursor *cursor);

/* Adds the stream `name` unless it is known, empty, has a byte outside
 * printable ASCII, or the table is full (then `*full` is set). */
int log_streams_add(struct log_streams *streams, const char *name, bool *full,
                    struct fahr_error *err);

/* Delivers every stream's lines that `read_page` gives from where each
 * stands, merged by time (then by stream name; a stream's own order is
 * kept whatever its times), and moves each stream's place past what was
 * delivered: up to the line on which on_line asked to stop, or to the
 * error. */
int log_streams_merge(struct log_streams *streams, log_page_fn read_page, void *read_page_data,
                      fahr_log_line_fn on_line, void *on_line_data, struct fahr_error *err);

void log_streams_free(struct log_streams *streams);

/* The host a stream's name names: "algo-2-1700000000" is "algo-2". */
size_t log_stream_host(const char *name, const char **host);

#endif
