/* core/cmd_fit.c: `fahr fit`: build, publish, submit, then follow the job
 * until it ends, printing each state change and the job's log lines; `fahr
 * fit --dry-run`: the checks alone. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* `word` as one shell word: as it is where that is safe, else in single
 * quotes, so that a printed command can be pasted back. */
static void shell_word(const char *word, char *out, size_t size)
{
    if (word[0] != '\0' && strspn(word, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                        "0123456789_./:@%+=,-") == strlen(word)) {
        snprintf(out, size, "%s", word);
        return;
    }
    size_t used = 0;
    out[used++] = '\'';
    for (const char *p = word; *p && used + 5 < size; p++) {
        if (*p == '\'') {
            memcpy(out + used, "'\\''", 4);
            used += 4;
        } else {
            out[used++] = *p;
        }
    }
    out[used++] = '\'';
    out[used] = '\0';
}

/* --dry-run ends after check(), whose lines (a driver's plan among them)
 * were the point; what fit would have done next is said, nothing done. */
static int dry_run_end(const struct drivers *drivers, const struct artifact *artifact)
{
    const struct plugin *train = drivers->train;
    if (!FAHR_HAS(&train->train, check))
        host_info("the %s driver checks nothing before it submits; its settings are checked "
                  "only by a real fit",
                  train->desc.name);
    if (train->train.input == FAHR_TRAIN_IMAGE)
        host_info("dry run: fit would build %s with the %s driver and run it with the %s "
                  "driver; nothing was built, pushed, uploaded or submitted",
                  artifact->image_name, drivers->build->desc.name, train->desc.name);
    else
        host_info("dry run: fit would run %s with the %s driver; nothing was uploaded or "
                  "submitted",
                  artifact->path, train->desc.name);
    return FAHR_EXIT_OK;
}

/* check(), the build and publish() where the driver runs an image, then
 * submit(): the job's id in job_id, or an exit code; with --dry-run, check()
 * only. */
static int start_job(struct cli *cli, struct drivers *drivers, const struct artifact *artifact,
                     struct fahr_train_request *request, char *job_id, size_t job_id_size)
{
    struct plugin *train = drivers->train;
    struct fahr_image image;
    char remote_ref[FAHR_URI_MAX] = "";
    struct fahr_error err = {{0}};
    int status;
    /* The driver's own rules and the service's reach, before a build that
     * may take minutes. */
    if (FAHR_HAS(&train->train, check) &&
        (status = train->train.check(train->state, request, &err)) != FAHR_OK)
        return report_driver_error(train, status, &err);
    if (cli->dry_run)
        return dry_run_end(drivers, artifact);
    if (train->train.input == FAHR_TRAIN_IMAGE) {
        int rc = build_image(cli, drivers, artifact, &image);
        if (rc != FAHR_EXIT_OK)
            return rc;
        event_built(image.reference, drivers->build->desc.name);
        /* check() saw no image; from here on the drivers see the one built,
         * and host->push_image pushes through the driver that built it. */
        request->image_ref = image.reference;
        request->image = &image;
        image_push_route(drivers->build, &image);
        snprintf(remote_ref, sizeof remote_ref, "%s", image.reference);
        if (FAHR_HAS(&train->train, publish) &&
            (status = train->train.publish(train->state, request, remote_ref, sizeof remote_ref,
                                           &err)) != FAHR_OK)
            return report_driver_error(train, status, &err);
        if (FAHR_HAS(&train->train, publish))
            event_pushed(remote_ref, train->desc.name);
    }
    if (host_interrupted())
        return FAHR_EXIT_INTERRUPTED;
    status = train->train.submit(train->state, request, remote_ref[0] ? remote_ref : NULL,
                                 job_id, job_id_size, &err);
    request->image_ref = NULL; /* `image` ends here */
    request->image = NULL;
    return status == FAHR_OK ? FAHR_EXIT_OK : report_driver_error(train, status, &err);
}

/* After submit(): the job index, then following the job and fetching its
 * model into `fetched`, or saying how to follow it. */
static int after_submit(struct cli *cli, struct plugin *train, const struct artifact *artifact,
                        const char *job_id, char *fetched, size_t fetched_size)
{
    struct fahr_error err = {{0}};
    event_submitted(job_id, train->desc.name);
    /* With the job in the index, `fahr status JOB` needs no flags. */
    if (job_index_add(job_id, train, artifact->image_name, cli->config, &err) == FAHR_OK)
        cli->job_indexed = true;
    else
        host_warn("job %s is not in the job index: %s", job_id, err.message);
    char option[160];
    if (cli->no_wait) {
        host_info("follow it with: fahr logs %s%s --follow",
                  hint_driver_option(cli, train, option, sizeof option), job_id);
        return FAHR_EXIT_OK;
    }
    char model[FAHR_URI_MAX] = "";
    int rc = follow_job(cli, train, job_id, stderr, true, model, sizeof model);
    if (rc == FAHR_EXIT_OK && cli->fetch_dir != NULL) {
        rc = fetch_job_model(cli, train, job_id, NULL, cli->fetch_dir, cli->fetch_overwrite,
                             fetched, fetched_size);
        /* The job's work is not lost with the fetch: say how to try again. */
        if (rc != FAHR_EXIT_OK && rc != FAHR_EXIT_INTERRUPTED && model[0]) {
            char dir_word[8192], model_word[4 * FAHR_URI_MAX + 3];
            shell_word(cli->fetch_dir, dir_word, sizeof dir_word);
            shell_word(model, model_word, sizeof model_word);
            host_error("the job completed; fetch its model again with: fahr fetch "
                       "%s%s %s %s",
                       hint_driver_option(cli, train, option, sizeof option), dir_word,
                       artifact->image_name, model_word);
        }
    }
    return rc;
}

int cmd_fit(struct cli *cli)
{
    struct artifact artifact;
    int rc = artifact_resolve(cli->args[0], &artifact);
    if (rc != FAHR_EXIT_OK) {
        event_done(rc, NULL);
        return rc;
    }
    struct drivers drivers;
    rc = drivers_prepare(cli, &drivers, true, true, REQUIRED_ALL);
    struct fahr_channel *channels = NULL;
    /* Hyperparameters and inputs are checked before anything is built. */
    if (rc == FAHR_EXIT_OK)
        rc = inputs_prepare(cli, &channels);
    struct plugin *train = drivers.train;
    if (rc == FAHR_EXIT_OK && cli->fetch_dir != NULL && !FAHR_HAS(&train->train, fetch)) {
        host_error("the %s driver cannot fetch models; drop --fetch", train->desc.name);
        rc = FAHR_EXIT_USAGE;
    }
    if (rc == FAHR_EXIT_OK) {
        struct fahr_train_request request = {
            .size = sizeof request,
            .artifact_path = artifact.path,
            .context_dir = artifact.dir,
            .image_name = artifact.image_name,
            .config = cli->config,
            .hyperparameters = cli->hyperparameters,
            .hyperparameter_count = cli->hyperparameter_count,
            .channels = channels,
            .channel_count = cli->input_count,
        };
        char job_id[FAHR_JOB_ID_MAX] = "", fetched[4096] = "";
        rc = start_job(cli, &drivers, &artifact, &request, job_id, sizeof job_id);
        if (rc == FAHR_EXIT_OK && !cli->dry_run)
            rc = after_submit(cli, train, &artifact, job_id, fetched, sizeof fetched);
        event_done(rc, rc == FAHR_EXIT_OK && fetched[0] ? fetched : NULL);
    } else {
        event_done(rc, NULL);
    }
    image_push_route(NULL, NULL);
    inputs_free(channels, cli->input_count);
    drivers_release(&drivers);
    return rc;
}
