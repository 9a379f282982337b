/* The sagemaker driver's following of a job: the merge of its log streams
 * (log_merge.c): time order across hosts, each line's host, the cursor across calls and
 * processes (no line twice, none lost, whatever page or line a call stops
 * on), and hostile answers. Pages come from a stand-in for GetLogEvents
 * that pages and tokens as CloudWatch does: a token names a place, the
 * stream's end gives the token it was asked with and no events. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log_merge.h"

#define MAX_EVENTS 64

struct fake_stream {
    const char *name;
    long long times[MAX_EVENTS];
    const char *messages[MAX_EVENTS];
    size_t count;
};

struct fake {
    struct fake_stream streams[4];
    size_t stream_count;
    size_t page_size;
    int requests;
    /* Hostile modes. */
    bool no_next_token;
    bool endless_empty_pages;
    bool bad_token;
};

static void add_event(struct fake_stream *stream, long long time, const char *message)
{
    stream->times[stream->count] = time;
    stream->messages[stream->count++] = message;
}

static int fake_page(void *data, const char *name, const char *token, json_t **page,
                     struct fahr_error *err)
{
    struct fake *fake = data;
    fake->requests++;
    struct fake_stream *stream = NULL;
    for (size_t i = 0; i < fake->stream_count; i++)
        if (strcmp(fake->streams[i].name, name) == 0)
            stream = &fake->streams[i];
    if (stream == NULL)
        return fahr_error_set(err, FAHR_ENOTFOUND, "no stream %s", name);
    size_t at = token[0] ? strtoul(token + 1, NULL, 10) : 0;
    json_t *events = json_array();
    size_t end = at;
    while (end < stream->count && end < at + fake->page_size) {
        json_t *event = json_pack("{s:s}", "message", stream->messages[end]);
        if (stream->times[end] >= 0)
            json_object_set_new(event, "timestamp", json_integer(stream->times[end]));
        json_array_append_new(events, event);
        end++;
    }
    char next[32];
    snprintf(next, sizeof next, "f%zu", fake->endless_empty_pages ? at + 1 : end);
    *page = json_pack("{s:o}", "events", events);
    if (fake->bad_token)
        json_object_set_new(*page, "nextForwardToken", json_string("f\t9"));
    else if (!fake->no_next_token)
        json_object_set_new(*page, "nextForwardToken", json_string(next));
    return FAHR_OK;
}

/* Collects delivered lines, "\n"-joined; asks to stop after `stop_after`
 * lines (0: never). */
struct collected {
    char text[8192];
    int lines;
    int stop_after;
};

static int collect(void *data, const char *line, size_t length)
{
    struct collected *c = data;
    size_t used = strlen(c->text);
    snprintf(c->text + used, sizeof c->text - used, "%.*s\n", (int)length, line);
    c->lines++;
    return c->stop_after > 0 && c->lines >= c->stop_after;
}

/* One call as the driver makes it: load, add the fake's streams, merge,
 * store. */
static int one_call(struct fake *fake, struct fahr_log_cursor *cursor, unsigned hosts,
                    struct collected *out)
{
    struct log_streams streams;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(log_streams_load(&streams, cursor, &err), FAHR_OK);
    if (streams.hosts == 0)
        streams.hosts = hosts;
    bool full = false;
    for (size_t i = 0; i < fake->stream_count; i++)
        ck_assert_int_eq(log_streams_add(&streams, fake->streams[i].name, &full, &err), FAHR_OK);
    int rc = log_streams_merge(&streams, fake_page, fake, collect, out, &err);
    ck_assert_uint_eq(log_streams_store(&streams, cursor), 0);
    log_streams_free(&streams);
    return rc;
}

static struct fahr_log_cursor new_cursor(void)
{
    struct fahr_log_cursor cursor;
    memset(&cursor, 0, sizeof cursor);
    cursor.size = sizeof cursor;
    return cursor;
}

/* algo-1 at 0, 2, 4, ...; algo-2 at 1, 3, 5, ...; `per_host` each. */
static void two_hosts(struct fake *fake, size_t per_host, size_t page_size)
{
    static const char *messages[2][8] = {
        {"a0", "a2", "a4", "a6", "a8", "a10", "a12", "a14"},
        {"b1", "b3", "b5", "b7", "b9", "b11", "b13", "b15"}};
    memset(fake, 0, sizeof *fake);
    fake->streams[0].name = "algo-1-1700000000";
    fake->streams[1].name = "algo-2-1700000000";
    fake->stream_count = 2;
    fake->page_size = page_size;
    for (size_t k = 0; k < per_host; k++) {
        add_event(&fake->streams[0], (long long)(2 * k), messages[0][k]);
        add_event(&fake->streams[1], (long long)(2 * k + 1), messages[1][k]);
    }
}

static const char TWO_HOSTS_IN_ORDER[] = "[algo-1] a0\n[algo-2] b1\n[algo-1] a2\n[algo-2] b3\n"
                                         "[algo-1] a4\n[algo-2] b5\n[algo-1] a6\n[algo-2] b7\n";

START_TEST(merges_in_time_order_across_pages)
{
    struct fake fake;
    two_hosts(&fake, 4, 3); /* pages of 3: a stream's second page mid-merge */
    struct fahr_log_cursor cursor = new_cursor();
    struct collected out = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &out), FAHR_OK);
    ck_assert_str_eq(out.text, TWO_HOSTS_IN_ORDER);
    /* Nothing new: nothing delivered, and the cursor goes on from the end. */
    struct collected again = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &again), FAHR_OK);
    ck_assert_str_eq(again.text, "");
}
END_TEST

START_TEST(one_host_has_no_prefix)
{
    struct fake fake;
    two_hosts(&fake, 2, 10);
    fake.stream_count = 1;
    struct fahr_log_cursor cursor = new_cursor();
    struct collected out = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 1, &out), FAHR_OK);
    ck_assert_str_eq(out.text, "a0\na2\n");
}
END_TEST

/* Stopping after any line, then going on with the stored cursor (through
 * its bytes, as another process would): every line once, in order. */
START_TEST(stops_on_any_line_and_goes_on)
{
    for (int stop = 1; stop <= 8; stop++) {
        for (size_t page_size = 1; page_size <= 4; page_size++) {
            struct fake fake;
            two_hosts(&fake, 4, page_size);
            struct fahr_log_cursor cursor = new_cursor();
            struct collected first = {{0}, 0, stop};
            ck_assert_int_eq(one_call(&fake, &cursor, 2, &first), FAHR_OK);
            ck_assert_int_eq(first.lines, stop);
            struct fahr_log_cursor copy = new_cursor();
            memcpy(copy.data, cursor.data, cursor.length);
            copy.length = cursor.length;
            struct collected rest = {{0}, 0, 0};
            ck_assert_int_eq(one_call(&fake, &copy, 2, &rest), FAHR_OK);
            char all[8192];
            snprintf(all, sizeof all, "%s%s", first.text, rest.text);
            ck_assert_msg(strcmp(all, TWO_HOSTS_IN_ORDER) == 0, "stop %d, pages of %zu: %s", stop,
                          page_size, all);
        }
    }
}
END_TEST

/* Lines written between calls, and a host whose stream appears later. */
START_TEST(follows_new_lines_and_new_streams)
{
    struct fake fake;
    two_hosts(&fake, 2, 2);
    fake.stream_count = 1;
    struct fahr_log_cursor cursor = new_cursor();
    struct collected out = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &out), FAHR_OK);
    ck_assert_str_eq(out.text, "[algo-1] a0\n[algo-1] a2\n");
    add_event(&fake.streams[0], 4, "a4");
    fake.stream_count = 2;
    struct collected next = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &next), FAHR_OK);
    ck_assert_str_eq(next.text, "[algo-2] b1\n[algo-2] b3\n[algo-1] a4\n");
}
END_TEST

START_TEST(ties_and_a_streams_own_order)
{
    struct fake fake;
    memset(&fake, 0, sizeof fake);
    fake.page_size = 10;
    fake.stream_count = 2;
    fake.streams[0].name = "algo-2-5";
    fake.streams[1].name = "algo-1-5";
    /* algo-2's clock goes back: its order is kept all the same. */
    add_event(&fake.streams[0], 10, "two first");
    add_event(&fake.streams[0], 5, "two second");
    add_event(&fake.streams[1], 10, "one first");
    /* No time at all: it keeps its place after its stream's last. */
    add_event(&fake.streams[1], -1, "one untimed");
    add_event(&fake.streams[1], 11, "one last");
    struct fahr_log_cursor cursor = new_cursor();
    struct collected out = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &out), FAHR_OK);
    ck_assert_str_eq(out.text, "[algo-1] one first\n[algo-1] one untimed\n[algo-2] two first\n"
                               "[algo-2] two second\n[algo-1] one last\n");
}
END_TEST

START_TEST(a_message_of_several_lines)
{
    struct fake fake;
    memset(&fake, 0, sizeof fake);
    fake.page_size = 10;
    fake.stream_count = 1;
    fake.streams[0].name = "algo-3-1";
    add_event(&fake.streams[0], 1, "Traceback:\r\n  line 1\n\n");
    struct fahr_log_cursor cursor = new_cursor();
    struct collected out = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 3, &out), FAHR_OK);
    ck_assert_str_eq(out.text, "[algo-3] Traceback:\n[algo-3]   line 1\n");
}
END_TEST

/* A service that never names a next place, names one the cursor cannot
 * hold, or answers empty pages with new places forever: each call ends,
 * and nothing is delivered twice. */
START_TEST(hostile_pages_end_the_call)
{
    struct fake fake;
    two_hosts(&fake, 4, 2);
    fake.no_next_token = true;
    struct fahr_log_cursor cursor = new_cursor();
    struct collected out = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &out), FAHR_OK);
    ck_assert_str_eq(out.text, "[algo-1] a0\n[algo-2] b1\n[algo-1] a2\n[algo-2] b3\n");
    struct collected again = {{0}, 0, 0};
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &again), FAHR_OK);
    ck_assert_str_eq(again.text, "");

    two_hosts(&fake, 4, 2);
    fake.bad_token = true;
    cursor = new_cursor();
    memset(&out, 0, sizeof out);
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &out), FAHR_OK);
    ck_assert_int_eq(out.lines, 4);
    ck_assert_ptr_null(memchr(cursor.data, '9', cursor.length));

    two_hosts(&fake, 0, 2);
    fake.endless_empty_pages = true;
    cursor = new_cursor();
    memset(&out, 0, sizeof out);
    ck_assert_int_eq(one_call(&fake, &cursor, 2, &out), FAHR_OK);
    ck_assert_int_lt(fake.requests, 40);
}
END_TEST

/* One page of events that are not all events, then the stream's end. */
static int junk_page(void *data, const char *name, const char *token, json_t **page,
                     struct fahr_error *err)
{
    (void)data, (void)name, (void)err;
    if (token[0])
        *page = json_pack("{s:[], s:s}", "events", "nextForwardToken", token);
    else
        *page = json_pack("{s:[i, s, {s:i}, {s:s, s:s}, {s:i, s:s}], s:s}", "events", 1, "x",
                          "message", 3, "message", "m", "timestamp", "soon", "timestamp", 2,
                          "message", "ok", "nextForwardToken", "f1");
    return FAHR_OK;
}

START_TEST(events_that_are_not_events)
{
    struct log_streams streams;
    memset(&streams, 0, sizeof streams);
    streams.hosts = 1;
    bool full = false;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(log_streams_add(&streams, "algo-1-1", &full, &err), FAHR_OK);
    struct collected out = {{0}, 0, 0};
    ck_assert_int_eq(log_streams_merge(&streams, junk_page, NULL, collect, &out, &err), FAHR_OK);
    ck_assert_str_eq(out.text, "m\nok\n");
    ck_assert_str_eq(streams.items[0].token, "f1");
    ck_assert_uint_eq(streams.items[0].skip, 0);
    log_streams_free(&streams);
}
END_TEST

START_TEST(cursor_round_trip_and_hostile_cursors)
{
    struct log_streams streams;
    memset(&streams, 0, sizeof streams);
    streams.hosts = 3;
    bool full = false;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(log_streams_add(&streams, "algo-1-1", &full, &err), FAHR_OK);
    ck_assert_int_eq(log_streams_add(&streams, "algo-1-1", &full, &err), FAHR_OK);
    ck_assert_int_eq(log_streams_add(&streams, "bad\tname", &full, &err), FAHR_OK);
    ck_assert_int_eq(log_streams_add(&streams, "esc\x1b[31m", &full, &err), FAHR_OK);
    ck_assert_int_eq(log_streams_add(&streams, "", &full, &err), FAHR_OK);
    ck_assert_uint_eq(streams.count, 1);
    free(streams.items[0].token);
    streams.items[0].token = strdup("f/123/s");
    streams.items[0].skip = 7;
    struct fahr_log_cursor cursor = new_cursor();
    ck_assert_uint_eq(log_streams_store(&streams, &cursor), 0);
    log_streams_free(&streams);
    ck_assert_int_eq(memcmp(cursor.data, "H3\nalgo-1-1\tf/123/s\t7\n", cursor.length), 0);
    ck_assert_int_eq(log_streams_load(&streams, &cursor, &err), FAHR_OK);
    ck_assert_uint_eq(streams.hosts, 3);
    ck_assert_str_eq(streams.items[0].token, "f/123/s");
    ck_assert_uint_eq(streams.items[0].skip, 7);
    log_streams_free(&streams);

    static const char *bad[] = {"algo-1\tf\t1\n", "H\n", "Hx\n", "H2\nalgo-1\tf\n",
                                "H2\nalgo-1\tf\t-1\n", "H2\nalgo-1\tf\t1", "H2\n\tf\t1\n",
                                "H2\nalgo 1\tf\t1\n", "H2\nalgo-1\tf\t99999999999999999999999\n",
                                "H2\nalgo-1\tf\t\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        cursor = new_cursor();
        memcpy(cursor.data, bad[i], strlen(bad[i]));
        cursor.length = (uint32_t)strlen(bad[i]);
        ck_assert_msg(log_streams_load(&streams, &cursor, &err) == FAHR_EFAIL, "%s", bad[i]);
        ck_assert_str_eq(err.message, "the log cursor is not one of this driver's");
    }
    cursor = new_cursor();
    cursor.length = sizeof cursor.data + 1;
    ck_assert_int_eq(log_streams_load(&streams, &cursor, &err), FAHR_EFAIL);
}
END_TEST

/* More streams than the cursor holds: those left out are counted. */
START_TEST(a_full_cursor_says_so)
{
    struct log_streams streams;
    memset(&streams, 0, sizeof streams);
    streams.hosts = 40;
    bool full = false;
    struct fahr_error err = {{0}};
    char name[32], token[200];
    memset(token, 'f', sizeof token - 1);
    token[sizeof token - 1] = '\0';
    for (int i = 1; i <= LOG_MERGE_MAX_STREAMS + 1; i++) {
        snprintf(name, sizeof name, "algo-%d-1700000000", i);
        ck_assert_int_eq(log_streams_add(&streams, name, &full, &err), FAHR_OK);
    }
    ck_assert(full);
    ck_assert_uint_eq(streams.count, LOG_MERGE_MAX_STREAMS);
    for (size_t i = 0; i < streams.count; i++) {
        free(streams.items[i].token);
        streams.items[i].token = strdup(token);
    }
    struct fahr_log_cursor cursor = new_cursor();
    size_t left_out = log_streams_store(&streams, &cursor);
    ck_assert_uint_gt(left_out, 0);
    ck_assert_uint_le(cursor.length, sizeof cursor.data);
    log_streams_free(&streams);
    ck_assert_int_eq(log_streams_load(&streams, &cursor, &err), FAHR_OK);
    ck_assert_uint_eq(streams.count + left_out, LOG_MERGE_MAX_STREAMS);
    log_streams_free(&streams);
}
END_TEST

START_TEST(host_of_a_stream)
{
    const char *host;
    ck_assert_uint_eq(log_stream_host("algo-12-1700000000", &host), 7);
    ck_assert_uint_eq(log_stream_host("algo-1", &host), 4);
    ck_assert_uint_eq(log_stream_host("plain", &host), 5);
    ck_assert_uint_eq(log_stream_host("-123", &host), 4);
    ck_assert_uint_eq(log_stream_host("algo-1-", &host), 7);
}
END_TEST

static Suite *log_merge_suite(void)
{
    Suite *s = suite_create("log_merge");
    TCase *tc = tcase_create("merge");
    tcase_add_test(tc, merges_in_time_order_across_pages);
    tcase_add_test(tc, one_host_has_no_prefix);
    tcase_add_test(tc, stops_on_any_line_and_goes_on);
    tcase_add_test(tc, follows_new_lines_and_new_streams);
    tcase_add_test(tc, ties_and_a_streams_own_order);
    tcase_add_test(tc, a_message_of_several_lines);
    tcase_add_test(tc, hostile_pages_end_the_call);
    tcase_add_test(tc, events_that_are_not_events);
    tcase_add_test(tc, cursor_round_trip_and_hostile_cursors);
    tcase_add_test(tc, a_full_cursor_says_so);
    tcase_add_test(tc, host_of_a_stream);
    suite_add_tcase(s, tc);
    return s;
}

Suite *job_status_suite(void); /* test_job_status.c */

int main(void)
{
    SRunner *runner = srunner_create(log_merge_suite());
    srunner_add_suite(runner, job_status_suite());
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
