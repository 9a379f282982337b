/* core/cmd_fit.c: `fahr fit`: build, publish, submit, then follow the job
 * until it ends, printing each state change and the job's log lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"

static int print_log_line(void *data, const char *line, size_t len)
{
    (void)data;
    fprintf(stderr, "%.*s\n", (int)len, line);
    return host_interrupted();
}

/* Sleep up to `ms`, waking early on a signal. */
static void nap(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static long poll_interval_ms(void)
{
    /* FAHR_POLL_INTERVAL_MS lets tests and impatient users poll faster. */
    const char *env = getenv("FAHR_POLL_INTERVAL_MS");
    long ms = env ? strtol(env, NULL, 10) : 0;
    return ms > 0 ? ms : 5000;
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

static int follow(struct cli *cli, struct plugin *train, const char *job_id)
{
    uint64_t cursor = 0;
    char last_shown[512] = "";
    bool quiet_logs = cli->verbosity == VERBOSITY_QUIET;
    struct fahr_error err = {{0}};
    for (;;) {
        if (host_interrupted()) {
            host_error("stopped following job %s; it goes on running", job_id);
            return FAHR_EXIT_INTERRUPTED;
        }
        struct fahr_job_status status;
        memset(&status, 0, sizeof status);
        status.size = sizeof status;
        int rc = train->train.poll(train->state, cli->config, job_id, &status, &err);
        if (rc != FAHR_OK)
            return report_driver_error(train, rc, &err);
        char shown[512];
        snprintf(shown, sizeof shown, "%s%s%s", state_name(status.state),
                 status.detail[0] ? ": " : "", status.detail);
        if (strcmp(shown, last_shown) != 0) {
            host_info("job %s: %s", job_id, shown);
            memcpy(last_shown, shown, sizeof shown);
        }
        bool ended = status.state == FAHR_JOB_COMPLETED || status.state == FAHR_JOB_FAILED ||
                     status.state == FAHR_JOB_STOPPED;
        /* Logs are read once more after the end, so the last lines arrive. */
        if (!quiet_logs && FAHR_HAS(&train->train, read_logs)) {
            rc = train->train.read_logs(train->state, cli->config, job_id, &cursor,
                                        print_log_line, NULL, &err);
            if (rc != FAHR_OK && rc != FAHR_EINTERRUPTED)
                return report_driver_error(train, rc, &err);
        }
        if (ended) {
            if (status.state == FAHR_JOB_COMPLETED) {
                if (status.artifact_uri[0])
                    host_info("model: %s", status.artifact_uri);
                return FAHR_EXIT_OK;
            }
            host_error("job %s %s: %s", job_id, state_name(status.state),
                       status.failure_reason[0] ? status.failure_reason : "no reason given");
            return FAHR_EXIT_JOB_FAILED;
        }
        nap(poll_interval_ms());
    }
}

int cmd_fit(struct cli *cli)
{
    struct artifact artifact;
    int rc = artifact_resolve(cli->args[0], &artifact);
    if (rc != FAHR_EXIT_OK)
        return rc;
    struct drivers drivers;
    rc = drivers_prepare(cli, &drivers, true, true);
    if (rc != FAHR_EXIT_OK) {
        drivers_release(&drivers);
        return rc;
    }
    struct plugin *train = drivers.train;
    struct fahr_train_request request;
    memset(&request, 0, sizeof request);
    request.size = sizeof request;
    request.artifact_path = artifact.path;
    request.context_dir = artifact.dir;
    request.image_name = artifact.image_name;
    request.config = cli->config;

    char image_ref[512] = "", remote_ref[FAHR_URI_MAX] = "", job_id[FAHR_JOB_ID_MAX] = "";
    struct fahr_error err = {{0}};
    int status = FAHR_OK;
    if (train->train.input == FAHR_TRAIN_IMAGE) {
        rc = build_image(cli, &drivers, &artifact, image_ref, sizeof image_ref);
        if (rc != FAHR_EXIT_OK)
            goto done;
        request.image_ref = image_ref;
        snprintf(remote_ref, sizeof remote_ref, "%s", image_ref);
        if (FAHR_HAS(&train->train, publish)) {
            status = train->train.publish(train->state, &request, remote_ref, sizeof remote_ref,
                                          &err);
            if (status != FAHR_OK) {
                rc = report_driver_error(train, status, &err);
                goto done;
            }
        }
    }
    if (host_interrupted()) {
        rc = FAHR_EXIT_INTERRUPTED;
        goto done;
    }
    status = train->train.submit(train->state, &request, remote_ref[0] ? remote_ref : NULL,
                                 job_id, sizeof job_id, &err);
    if (status != FAHR_OK) {
        rc = report_driver_error(train, status, &err);
        goto done;
    }
    printf("%s\n", job_id);
    fflush(stdout);
    rc = cli->no_wait ? FAHR_EXIT_OK : follow(cli, train, job_id);
done:
    drivers_release(&drivers);
    return rc;
}
