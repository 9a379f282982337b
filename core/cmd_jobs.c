/* core/cmd_jobs.c: the commands about jobs once they exist: fetch, status,
 * logs, stop, jobs; and following a job, which fit shares. Without
 * --train-driver they use "sagemaker", as the original fahr did. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_TRAIN_DRIVER "sagemaker"

/* Where a job's log lines go: text to `out`, or JSON objects. */
struct log_sink {
    FILE *out;
    const char *job_id;
};

/* A line to the output; stops the reading when nobody reads any more (a
 * closed pipe: SIGPIPE is ignored, so the write fails instead). */
static int print_log_line(void *data, const char *line, size_t len)
{
    const struct log_sink *sink = data;
    if (event_log_line(sink->out, sink->job_id, line, len) != 0)
        return 1;
    return host_interrupted();
}

/* Sleep up to `ms`, waking early on a signal. */
static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

const char *job_state_name(enum fahr_job_state state)
{
    switch (state) {
    case FAHR_JOB_PENDING:
        return "pending";
    case FAHR_JOB_RUNNING:
        return "running";
    case FAHR_JOB_COMPLETED:
        return "completed";
    case FAHR_JOB_FAILED:
        return "failed";
    case FAHR_JOB_STOPPED:
        return "stopped";
    }
    return "unknown";
}

bool job_state_from_name(const char *name, enum fahr_job_state *state)
{
    static const enum fahr_job_state all[] = {FAHR_JOB_PENDING, FAHR_JOB_RUNNING,
                                              FAHR_JOB_COMPLETED, FAHR_JOB_FAILED,
                                              FAHR_JOB_STOPPED};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(name, job_state_name(all[i])) == 0) {
            *state = all[i];
            return true;
        }
    return false;
}

static bool ended(enum fahr_job_state state)
{
    return state == FAHR_JOB_COMPLETED || state == FAHR_JOB_FAILED || state == FAHR_JOB_STOPPED;
}

const char *hint_driver_option(const struct cli *cli, const struct plugin *train, char *out,
                               size_t size)
{
    if (cli->job_indexed)
        return "";
    snprintf(out, size, "--train-driver=%s ", train->desc.name);
    return out;
}

int follow_job(struct cli *cli, struct plugin *train, const char *job_id, FILE *log_out,
               bool show_status, char *artifact_uri, size_t artifact_uri_size)
{
    struct job_log log;
    job_log_begin(&log, train, cli->config, job_id);
    char last_shown[512] = "";
    bool logs = job_log_available(train) &&
                !(log_out == stderr && cli->verbosity == VERBOSITY_QUIET);
    struct fahr_error err = {{0}};
    struct log_sink sink = {log_out, job_id};
    for (;;) {
        if (host_interrupted()) {
            char option[160];
            host_error("stopped following job %s; it goes on running (follow it again: fahr "
                       "logs %s%s --follow)",
                       job_id, hint_driver_option(cli, train, option, sizeof option), job_id);
            return FAHR_EXIT_INTERRUPTED;
        }
        struct fahr_job_status status;
        int rc = job_poll(train, cli->config, job_id, &status, &err);
        if (rc == FAHR_EINTERRUPTED)
            continue; /* the message above, on the next turn */
        if (rc != FAHR_OK)
            return report_driver_error(train, rc, &err);
        char shown[512];
        snprintf(shown, sizeof shown, "%s%s%s", job_state_name(status.state),
                 status.detail[0] ? ": " : "", status.detail);
        const char *state = job_state_name(status.state);
        bool changed = show_status && strcmp(shown, last_shown) != 0;
        /* Lines come out in the order things happened: a new state before
         * the lines logged in it, but the job's last lines before its end. */
        if (changed && !ended(status.state))
            event_job_state(job_id, state, status.detail, status.failure_reason);
        /* Logs are read once more after the end, so the last lines arrive. */
        if (logs) {
            rc = job_log_read(&log, ended(status.state), print_log_line, &sink, &err);
            /* Following for a reader that has gone (`| head`) ends here. */
            if (fflush(log_out) != 0 || ferror(log_out))
                return FAHR_EXIT_FAILED;
            if (rc != FAHR_OK && rc != FAHR_EINTERRUPTED)
                return report_driver_error(train, rc, &err);
        }
        if (changed && ended(status.state))
            event_job_state(job_id, state, status.detail, status.failure_reason);
        if (changed)
            memcpy(last_shown, shown, sizeof shown);
        if (artifact_uri != NULL && status.artifact_uri[0])
            snprintf(artifact_uri, artifact_uri_size, "%s", status.artifact_uri);
        if (ended(status.state)) {
            if (status.state == FAHR_JOB_COMPLETED) {
                if (status.artifact_uri[0])
                    event_model(status.artifact_uri);
                return FAHR_EXIT_OK;
            }
            host_error("job %s %s: %s", job_id, job_state_name(status.state),
                       status.failure_reason[0] ? status.failure_reason : "no reason given");
            return FAHR_EXIT_JOB_FAILED;
        }
        nap(job_next_poll_ms(status.next_poll_ms, train->train.poll_interval_ms));
    }
}

/* The train driver for a job command, opened, and the config checked. */
static int prepare(struct cli *cli, struct drivers *drivers, const char *operation,
                   bool has_operation_of(const struct plugin *))
{
    if (cli->train_driver == NULL && cli->recorded != NULL)
        cli->train_driver = cli->recorded->driver;
    if (cli->train_driver == NULL)
        cli->train_driver = user_defaults_driver(cli, "train-driver");
    if (cli->train_driver == NULL)
        cli->train_driver = DEFAULT_TRAIN_DRIVER;
    int rc = drivers_prepare(cli, drivers, false, true, REQUIRED_NONE);
    if (rc == FAHR_EXIT_OK && has_operation_of != NULL && !has_operation_of(drivers->train)) {
        host_error("the %s driver cannot %s", drivers->train->desc.name, operation);
        rc = FAHR_EXIT_USAGE;
    }
    return rc;
}

/* prepare(), where the job index may name the driver: without
 * --train-driver, look_up(what) finds the entry of the job, whose driver
 * and addressing keys are then used (keys given on the command line win). */
static int prepare_from_index(struct cli *cli, struct drivers *drivers, const char *operation,
                              bool has_operation_of(const struct plugin *),
                              bool look_up(const char *, struct job_record *), const char *what)
{
    struct job_record record;
    bool found = cli->train_driver == NULL && look_up(what, &record);
    cli->recorded = found ? &record : NULL;
    cli->job_indexed = found;
    int rc = prepare(cli, drivers, operation, has_operation_of);
    if (found) {
        cli->train_driver = drivers->train ? drivers->train->desc.name : NULL;
        cli->recorded = NULL;
        job_record_free(&record);
    }
    return rc;
}

/* For status, logs and stop of the job cli->args[0]. */
static int prepare_for_job(struct cli *cli, struct drivers *drivers, const char *operation,
                           bool has_operation_of(const struct plugin *))
{
    return prepare_from_index(cli, drivers, operation, has_operation_of, job_index_find,
                              cli->args[0]);
}

static bool can_fetch(const struct plugin *p) { return FAHR_HAS(&p->train, fetch); }
static bool can_list(const struct plugin *p) { return FAHR_HAS(&p->train, list); }
static bool can_stop(const struct plugin *p) { return FAHR_HAS(&p->train, stop); }

int fetch_job_model(struct cli *cli, struct plugin *train, const char *job_id,
                    const char *artifact, const char *dir, bool overwrite, char *fetched,
                    size_t fetched_size)
{
    /* The directory: made if missing, and removed again if the fetch fails. */
    bool made = false;
    struct stat st;
    if (stat(dir, &st) != 0) {
        if (mkdir(dir, 0755) != 0) {
            host_error("cannot make '%s': %s", dir, strerror(errno));
            return FAHR_EXIT_FAILED;
        }
        made = true;
    } else if (!S_ISDIR(st.st_mode)) {
        host_error("'%s' is not a directory", dir);
        return FAHR_EXIT_USAGE;
    }
    int rc = FAHR_EXIT_OK;
    char *absolute = realpath(dir, NULL);
    struct fahr_fetch_request request = {sizeof request, job_id,         artifact,
                                         absolute,       overwrite,      cli->config};
    struct fahr_error err = {{0}};
    int status = absolute ? train->train.fetch(train->state, &request, &err)
                          : fahr_error_set(&err, FAHR_EFAIL, "%s: %s", dir, strerror(errno));
    if (status != FAHR_OK) {
        if (made)
            rmdir(dir);
        rc = report_driver_error(train, status, &err);
    } else {
        snprintf(fetched, fetched_size, "%s", absolute);
    }
    free(absolute);
    return rc;
}

/* ---- Listings: collected, then sorted by fahr --------------------------- */

/* A job of a listing, copied out of the driver's summary. */
struct listed_job {
    char *job_id;
    enum fahr_job_state state;
    int64_t created;
    size_t order; /* as the driver gave it: the tie-breaker */
};

struct job_list {
    struct listed_job *jobs;
    size_t count;
};

static int collect_job(void *data, const struct fahr_job_summary *job)
{
    struct job_list *list = data;
    list->jobs = xgrow(list->jobs, list->count, sizeof *list->jobs);
    struct listed_job *copy = &list->jobs[list->count];
    copy->job_id = xstrdup(job->job_id ? job->job_id : "");
    copy->state = job->state;
    copy->created = job->size >= offsetof(struct fahr_job_summary, created) + sizeof job->created
                        ? job->created
                        : 0;
    copy->order = list->count++;
    return host_interrupted();
}

/* Newest first, whatever order the service answered in (moto, for one,
 * ignores SortOrder); jobs of equal or unknown time keep the driver's
 * order. */
static int newest_first(const void *a, const void *b)
{
    const struct listed_job *x = a, *y = b;
    if (x->created != y->created)
        return x->created > y->created ? -1 : 1;
    return x->order < y->order ? -1 : x->order > y->order;
}

static void free_job_list(struct job_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        free(list->jobs[i].job_id);
    }
    free(list->jobs);
}

/* The jobs of `image_name` (NULL: all), newest first. Prints the error and
 * returns an exit code. */
static int list_jobs(struct cli *cli, struct plugin *train, const char *image_name,
                     struct job_list *list)
{
    memset(list, 0, sizeof *list);
    /* The driver's submit() saw the image's name; the user may type a tag. */
    char untagged[512];
    if (image_name != NULL)
        image_name_without_tag(image_name, untagged, sizeof untagged);
    struct fahr_error err = {{0}};
    int result = train->train.list(train->state, cli->config, image_name ? untagged : NULL,
                                   collect_job, list, &err);
    if (result != FAHR_OK)
        return report_driver_error(train, result, &err);
    if (host_interrupted())
        return FAHR_EXIT_INTERRUPTED;
    if (list->count > 1) /* qsort takes no NULL array, even empty */
        qsort(list->jobs, list->count, sizeof *list->jobs, newest_first);
    return FAHR_EXIT_OK;
}

int cmd_fetch(struct cli *cli)
{
    const char *dest = cli->args[0], *image_name = cli->args[1];
    const char *artifact = cli->arg_count > 2 ? cli->args[2] : NULL;
    char untagged[512];
    image_name_without_tag(image_name, untagged, sizeof untagged);
    struct drivers drivers;
    /* The driver of the image's newest job that fahr started. */
    int rc = prepare_from_index(cli, &drivers, "fetch models", can_fetch,
                                job_index_find_newest_of_image, untagged);
    if (rc != FAHR_EXIT_OK)
        goto done;
    struct plugin *train = drivers.train;
    struct job_list list = {NULL, 0};
    const char *newest = NULL;
    if (artifact == NULL) {
        if (!can_list(train)) {
            host_error("the %s driver cannot list jobs; give the model's location", train->desc.name);
            rc = FAHR_EXIT_USAGE;
            goto done;
        }
        if ((rc = list_jobs(cli, train, image_name, &list)) != FAHR_EXIT_OK)
            goto done;
        for (size_t i = 0; i < list.count && newest == NULL; i++)
            if (list.jobs[i].state == FAHR_JOB_COMPLETED)
                newest = list.jobs[i].job_id;
        if (newest == NULL) {
            host_error("no completed job for '%s'; 'fahr jobs %s' lists its jobs", image_name,
                       image_name);
            rc = FAHR_EXIT_FAILED;
            goto done;
        }
        host_info("newest completed job for %s: %s", image_name, newest);
    }

    char fetched[4096];
    rc = fetch_job_model(cli, train, newest, artifact, dest, cli->overwrite, fetched,
                         sizeof fetched);
    if (rc == FAHR_EXIT_OK && output_is_json()) {
        struct json_t *object = output_object("fetched");
        output_set_string(object, "dir", fetched);
        output_set_string(object, "job", newest);
        output_set_string(object, "model", artifact);
        output_write(object);
    } else if (rc == FAHR_EXIT_OK) {
        printf("%s\n", fetched);
    }
done:
    free_job_list(&list);
    drivers_release(&drivers);
    return rc;
}

/* A job's status, or the exit code of the driver's error. */
static int poll_job(struct plugin *train, struct cli *cli, const char *job_id,
                    struct fahr_job_status *status)
{
    struct fahr_error err = {{0}};
    int result = job_poll(train, cli->config, job_id, status, &err);
    return result == FAHR_OK ? FAHR_EXIT_OK : report_driver_error(train, result, &err);
}

int cmd_status(struct cli *cli)
{
    struct drivers drivers;
    int rc = prepare_for_job(cli, &drivers, "report status", NULL);
    struct fahr_job_status status;
    if (rc == FAHR_EXIT_OK)
        rc = poll_job(drivers.train, cli, cli->args[0], &status);
    if (rc == FAHR_EXIT_OK && output_is_json()) {
        struct json_t *object = output_object("status");
        output_set_string(object, "job", cli->args[0]);
        output_set_string(object, "state", job_state_name(status.state));
        output_set_text(object, "detail", status.detail);
        output_set_text(object, "reason", status.failure_reason);
        output_set_text(object, "model", status.artifact_uri);
        output_write(object);
    } else if (rc == FAHR_EXIT_OK) {
        printf("%s\t%s", cli->args[0], job_state_name(status.state));
        if (status.detail[0])
            printf("\t%s", status.detail);
        printf("\n");
        if (status.failure_reason[0])
            printf("reason: %s\n", status.failure_reason);
        if (status.artifact_uri[0])
            printf("model: %s\n", status.artifact_uri);
    }
    drivers_release(&drivers);
    return rc;
}

int cmd_logs(struct cli *cli)
{
    struct drivers drivers;
    int rc = prepare_for_job(cli, &drivers, "read logs", NULL);
    if (rc == FAHR_EXIT_OK && !job_log_available(drivers.train)) {
        host_error("the %s driver keeps no logs", drivers.train->desc.name);
        rc = FAHR_EXIT_USAGE;
    }
    struct fahr_job_status status;
    /* A job that does not exist is an error, not an empty log. */
    if (rc == FAHR_EXIT_OK)
        rc = poll_job(drivers.train, cli, cli->args[0], &status);
    if (rc == FAHR_EXIT_OK) {
        struct plugin *train = drivers.train;
        if (cli->follow) {
            /* Exits 3 when the job ends Failed or Stopped, as fit does. */
            rc = follow_job(cli, train, cli->args[0], stdout, false, NULL, 0);
        } else {
            struct job_log log;
            job_log_begin(&log, train, cli->config, cli->args[0]);
            struct fahr_error err = {{0}};
            struct log_sink sink = {stdout, cli->args[0]};
            int result = job_log_read(&log, ended(status.state), print_log_line, &sink, &err);
            if (result != FAHR_OK)
                rc = report_driver_error(train, result, &err);
        }
    }
    drivers_release(&drivers);
    return rc;
}

int cmd_stop(struct cli *cli)
{
    struct drivers drivers;
    int rc = prepare_for_job(cli, &drivers, "stop jobs", can_stop);
    struct fahr_job_status status;
    if (rc == FAHR_EXIT_OK)
        rc = poll_job(drivers.train, cli, cli->args[0], &status);
    if (rc == FAHR_EXIT_OK && ended(status.state)) {
        /* Nothing to stop: say so rather than claim a stop, whatever the
         * driver's service would answer. */
        host_info("job %s already %s; nothing to stop", cli->args[0], job_state_name(status.state));
    } else if (rc == FAHR_EXIT_OK) {
        struct fahr_error err = {{0}};
        int result = drivers.train->train.stop(drivers.train->state, cli->config, cli->args[0],
                                               &err);
        if (result != FAHR_OK)
            rc = report_driver_error(drivers.train, result, &err);
        else
            host_info("asked job %s to stop", cli->args[0]);
    }
    drivers_release(&drivers);
    return rc;
}

static void format_created(int64_t created, char *out, size_t size)
{
    snprintf(out, size, "-");
    if (created > 0) {
        time_t t = (time_t)created;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(out, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
}

/* jobs --state and --limit: the jobs kept move to the front, in order. */
static void filter_jobs(const struct cli *cli, struct job_list *list)
{
    size_t kept = 0;
    for (size_t i = 0; i < list->count; i++) {
        bool keep = (!cli->state_filter || list->jobs[i].state == cli->state) &&
                    (cli->job_limit <= 0 || kept < (size_t)cli->job_limit);
        if (keep)
            list->jobs[kept++] = list->jobs[i];
        else
            free(list->jobs[i].job_id);
    }
    list->count = kept;
}

/* One object a job; no jobs, no lines. */
static void print_jobs_json(const struct job_list *list)
{
    for (size_t i = 0; i < list->count; i++) {
        char created[32];
        format_created(list->jobs[i].created, created, sizeof created);
        struct json_t *object = output_object("job");
        output_set_string(object, "job", list->jobs[i].job_id);
        output_set_string(object, "state", job_state_name(list->jobs[i].state));
        bool known = list->jobs[i].created > 0;
        output_set_string(object, "created", known ? created : NULL);
        if (known)
            output_set_int(object, "created_unix", list->jobs[i].created);
        else
            output_set_string(object, "created_unix", NULL);
        if (output_write(object) != 0)
            return; /* the reader went away; main() says so */
    }
}

/* A header and columns as wide as the longest job id. */
static void print_jobs(const struct job_list *list)
{
    int width = (int)strlen("JOB");
    for (size_t i = 0; i < list->count; i++)
        if ((int)strlen(list->jobs[i].job_id) > width)
            width = (int)strlen(list->jobs[i].job_id);
    printf("%-*s  %-9s  %s\n", width, "JOB", "STATE", "CREATED");
    for (size_t i = 0; i < list->count; i++) {
        char created[32];
        format_created(list->jobs[i].created, created, sizeof created);
        printf("%-*s  %-9s  %s\n", width, list->jobs[i].job_id,
               job_state_name(list->jobs[i].state), created);
    }
}

int cmd_jobs(struct cli *cli)
{
    struct drivers drivers;
    int rc;
    if (cli->arg_count > 0) { /* the driver of the image's newest job */
        char untagged[512];
        image_name_without_tag(cli->args[0], untagged, sizeof untagged);
        rc = prepare_from_index(cli, &drivers, "list jobs", can_list,
                                job_index_find_newest_of_image, untagged);
    } else {
        rc = prepare(cli, &drivers, "list jobs", can_list);
    }
    struct job_list list = {NULL, 0};
    if (rc == FAHR_EXIT_OK)
        rc = list_jobs(cli, drivers.train, cli->arg_count ? cli->args[0] : NULL, &list);
    if (rc == FAHR_EXIT_OK) {
        filter_jobs(cli, &list);
        if (output_is_json())
            print_jobs_json(&list);
        else
            print_jobs(&list);
    }
    free_job_list(&list);
    drivers_release(&drivers);
    return rc;
}
