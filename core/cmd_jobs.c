/* core/cmd_jobs.c: the commands about jobs once they exist: fetch, status,
 * logs, stop, jobs; and following a job, which fit shares. Without
 * --train-driver they use "sagemaker", as the original fahr did. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define DEFAULT_TRAIN_DRIVER "sagemaker"

static int print_log_line(void *data, const char *line, size_t len)
{
    fprintf(data, "%.*s\n", (int)len, line);
    return host_interrupted();
}

/* Sleep up to `ms`, waking early on a signal. */
static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long poll_interval_ms(const struct plugin *train)
{
    /* FAHR_POLL_INTERVAL_MS lets tests and impatient users poll faster. */
    const char *env = getenv("FAHR_POLL_INTERVAL_MS");
    long ms = env ? strtol(env, NULL, 10) : 0;
    if (ms > 0)
        return ms;
    return train->train.poll_interval_ms > 0 ? (long)train->train.poll_interval_ms : 5000;
}

static const char *state_name(enum fahr_job_state state)
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

static bool ended(enum fahr_job_state state)
{
    return state == FAHR_JOB_COMPLETED || state == FAHR_JOB_FAILED || state == FAHR_JOB_STOPPED;
}

int follow_job(struct cli *cli, struct plugin *train, const char *job_id, FILE *log_out,
               bool show_status)
{
    uint64_t cursor = 0;
    char last_shown[512] = "";
    bool logs = FAHR_HAS(&train->train, read_logs) &&
                !(log_out == stderr && cli->verbosity == VERBOSITY_QUIET);
    struct fahr_error err = {{0}};
    for (;;) {
        if (host_interrupted()) {
            host_error("stopped following job %s; it goes on running (follow it again: fahr "
                       "logs --train-driver=%s %s --follow)",
                       job_id, train->desc.name, job_id);
            return FAHR_EXIT_INTERRUPTED;
        }
        struct fahr_job_status status;
        memset(&status, 0, sizeof status);
        status.size = sizeof status;
        int rc = train->train.poll(train->state, cli->config, job_id, &status, &err);
        if (rc == FAHR_EINTERRUPTED)
            continue; /* the message above, on the next turn */
        if (rc != FAHR_OK)
            return report_driver_error(train, rc, &err);
        char shown[512];
        snprintf(shown, sizeof shown, "%s%s%s", state_name(status.state),
                 status.detail[0] ? ": " : "", status.detail);
        if (show_status && strcmp(shown, last_shown) != 0) {
            host_info("job %s: %s", job_id, shown);
            memcpy(last_shown, shown, sizeof shown);
        }
        /* Logs are read once more after the end, so the last lines arrive. */
        if (logs) {
            rc = train->train.read_logs(train->state, cli->config, job_id, &cursor,
                                        print_log_line, log_out, &err);
            fflush(log_out);
            if (rc != FAHR_OK && rc != FAHR_EINTERRUPTED)
                return report_driver_error(train, rc, &err);
        }
        if (ended(status.state)) {
            if (status.state == FAHR_JOB_COMPLETED) {
                if (status.artifact_uri[0])
                    host_info("model: %s", status.artifact_uri);
                return FAHR_EXIT_OK;
            }
            host_error("job %s %s: %s", job_id, state_name(status.state),
                       status.failure_reason[0] ? status.failure_reason : "no reason given");
            return FAHR_EXIT_JOB_FAILED;
        }
        nap(poll_interval_ms(train));
    }
}

/* The train driver for a job command, opened, and the config checked. */
static int prepare(struct cli *cli, struct drivers *drivers, const char *operation,
                   bool has_operation_of(const struct plugin *))
{
    if (cli->train_driver == NULL)
        cli->train_driver = DEFAULT_TRAIN_DRIVER;
    int rc = drivers_prepare(cli, drivers, false, true, false);
    if (rc == FAHR_EXIT_OK && has_operation_of != NULL && !has_operation_of(drivers->train)) {
        host_error("the %s driver cannot %s", drivers->train->desc.name, operation);
        rc = FAHR_EXIT_USAGE;
    }
    return rc;
}

static bool can_fetch(const struct plugin *p) { return FAHR_HAS(&p->train, fetch); }
static bool can_list(const struct plugin *p) { return FAHR_HAS(&p->train, list); }
static bool can_stop(const struct plugin *p) { return FAHR_HAS(&p->train, stop); }

int fetch_job_model(struct cli *cli, struct plugin *train, const char *job_id,
                    const char *artifact, const char *dir)
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
                                         absolute,       cli->overwrite, cli->config};
    struct fahr_error err = {{0}};
    int status = absolute ? train->train.fetch(train->state, &request, &err)
                          : fahr_error_set(&err, FAHR_EFAIL, "%s: %s", dir, strerror(errno));
    if (status != FAHR_OK) {
        if (made)
            rmdir(dir);
        rc = report_driver_error(train, status, &err);
    } else {
        printf("%s\n", absolute);
    }
    free(absolute);
    return rc;
}

struct newest {
    char job_id[FAHR_JOB_ID_MAX];
};

static int take_first_completed(void *data, const struct fahr_job_summary *job)
{
    struct newest *newest = data;
    if (job->state != FAHR_JOB_COMPLETED)
        return 0;
    snprintf(newest->job_id, sizeof newest->job_id, "%s", job->job_id);
    return 1;
}

int cmd_fetch(struct cli *cli)
{
    const char *dest = cli->args[0], *image_name = cli->args[1];
    const char *artifact = cli->arg_count > 2 ? cli->args[2] : NULL;
    struct drivers drivers;
    int rc = prepare(cli, &drivers, "fetch models", can_fetch);
    if (rc != FAHR_EXIT_OK)
        goto done;
    struct plugin *train = drivers.train;
    struct fahr_error err = {{0}};
    struct newest newest = {""};
    if (artifact == NULL) {
        if (!can_list(train)) {
            host_error("the %s driver cannot list jobs; give the model's location", train->desc.name);
            rc = FAHR_EXIT_USAGE;
            goto done;
        }
        int status = train->train.list(train->state, cli->config, image_name,
                                       take_first_completed, &newest, &err);
        if (status != FAHR_OK) {
            rc = report_driver_error(train, status, &err);
            goto done;
        }
        if (newest.job_id[0] == '\0') {
            host_error("no completed job for '%s'; 'fahr jobs %s' lists its jobs", image_name,
                       image_name);
            rc = FAHR_EXIT_FAILED;
            goto done;
        }
        host_info("newest completed job for %s: %s", image_name, newest.job_id);
    }

    rc = fetch_job_model(cli, train, newest.job_id[0] ? newest.job_id : NULL, artifact, dest);
done:
    drivers_release(&drivers);
    return rc;
}

int cmd_status(struct cli *cli)
{
    struct drivers drivers;
    int rc = prepare(cli, &drivers, "report status", NULL);
    if (rc == FAHR_EXIT_OK) {
        struct plugin *train = drivers.train;
        struct fahr_job_status status;
        memset(&status, 0, sizeof status);
        status.size = sizeof status;
        struct fahr_error err = {{0}};
        int result = train->train.poll(train->state, cli->config, cli->args[0], &status, &err);
        if (result != FAHR_OK) {
            rc = report_driver_error(train, result, &err);
        } else {
            printf("%s\t%s", cli->args[0], state_name(status.state));
            if (status.detail[0])
                printf("\t%s", status.detail);
            printf("\n");
            if (status.failure_reason[0])
                printf("reason: %s\n", status.failure_reason);
            if (status.artifact_uri[0])
                printf("model: %s\n", status.artifact_uri);
        }
    }
    drivers_release(&drivers);
    return rc;
}

int cmd_logs(struct cli *cli)
{
    struct drivers drivers;
    int rc = prepare(cli, &drivers, "read logs", NULL);
    if (rc == FAHR_EXIT_OK && !FAHR_HAS(&drivers.train->train, read_logs)) {
        host_error("the %s driver keeps no logs", drivers.train->desc.name);
        rc = FAHR_EXIT_USAGE;
    }
    if (rc == FAHR_EXIT_OK) {
        struct plugin *train = drivers.train;
        if (cli->follow) {
            rc = follow_job(cli, train, cli->args[0], stdout, false);
            /* The job's end is its own business here: logs were shown. */
            if (rc == FAHR_EXIT_JOB_FAILED)
                rc = FAHR_EXIT_OK;
        } else {
            uint64_t cursor = 0;
            struct fahr_error err = {{0}};
            int result = train->train.read_logs(train->state, cli->config, cli->args[0], &cursor,
                                                print_log_line, stdout, &err);
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
    int rc = prepare(cli, &drivers, "stop jobs", can_stop);
    if (rc == FAHR_EXIT_OK) {
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

static int print_job(void *data, const struct fahr_job_summary *job)
{
    (void)data;
    char created[32] = "-";
    if (job->created > 0) {
        time_t t = (time_t)job->created;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    printf("%-64s %-10s %s\n", job->job_id, state_name(job->state), created);
    return host_interrupted();
}

int cmd_jobs(struct cli *cli)
{
    struct drivers drivers;
    int rc = prepare(cli, &drivers, "list jobs", can_list);
    if (rc == FAHR_EXIT_OK) {
        struct fahr_error err = {{0}};
        int result = drivers.train->train.list(drivers.train->state, cli->config,
                                               cli->arg_count ? cli->args[0] : NULL, print_job,
                                               NULL, &err);
        if (result != FAHR_OK)
            rc = report_driver_error(drivers.train, result, &err);
    }
    drivers_release(&drivers);
    return rc;
}
