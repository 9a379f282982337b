/* core/job_log.c: polling a job and reading its log, the same for every
 * job command: read_logs2 where the driver has it (ABI 1.1: a cursor of the
 * host's and a last call told that the job is over), else read_logs (1.0);
 * and how long to wait before the next poll. */
#include <stdlib.h>
#include <string.h>

#include "fahr.h"

#define DEFAULT_POLL_MS 5000L
#define MIN_NEXT_POLL_MS 100L
#define MAX_NEXT_POLL_MS (5L * 60 * 1000)

bool job_log_available(const struct plugin *train)
{
    return FAHR_HAS(&train->train, read_logs2) || FAHR_HAS(&train->train, read_logs);
}

void job_log_begin(struct job_log *log, struct plugin *train, const struct fahr_config *config,
                   const char *job_id)
{
    memset(log, 0, sizeof *log);
    log->train = train;
    log->config = config;
    log->job_id = job_id;
    log->cursor2.size = sizeof log->cursor2;
}

int job_log_read(struct job_log *log, bool job_over, fahr_log_line_fn on_line,
                 void *on_line_data, struct fahr_error *err)
{
    const struct fahr_train_ops *ops = &log->train->train;
    if (FAHR_HAS(ops, read_logs2))
        return ops->read_logs2(log->train->state, log->config, log->job_id, &log->cursor2,
                               job_over ? 1 : 0, on_line, on_line_data, err);
    /* A 1.0 driver is never told which call is the last. */
    return ops->read_logs(log->train->state, log->config, log->job_id, &log->cursor, on_line,
                          on_line_data, err);
}

int job_poll(struct plugin *train, const struct fahr_config *config, const char *job_id,
             struct fahr_job_status *status, struct fahr_error *err)
{
    /* Nothing of an earlier poll may pass for this one's answer: a driver
     * writes only what it knows. */
    memset(status, 0, sizeof *status);
    status->size = sizeof *status;
    return train->train.poll(train->state, config, job_id, status, err);
}

long job_next_poll_ms(uint32_t next_poll_ms, uint32_t driver_interval_ms)
{
    /* FAHR_POLL_INTERVAL_MS lets tests and impatient users poll faster. */
    const char *env = getenv("FAHR_POLL_INTERVAL_MS");
    long ms = env ? strtol(env, NULL, 10) : 0;
    if (ms > 0)
        return ms;
    if (next_poll_ms > 0) {
        ms = (long)next_poll_ms;
        return ms < MIN_NEXT_POLL_MS ? MIN_NEXT_POLL_MS
               : ms > MAX_NEXT_POLL_MS ? MAX_NEXT_POLL_MS
                                       : ms;
    }
    return driver_interval_ms > 0 ? (long)driver_interval_ms : DEFAULT_POLL_MS;
}
