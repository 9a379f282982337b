/* core/cmd_fit.c: `fahr fit`: build, publish, submit, then follow the job
 * until it ends, printing each state change and the job's log lines. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_fit(struct cli *cli)
{
    struct artifact artifact;
    int rc = artifact_resolve(cli->args[0], &artifact);
    if (rc != FAHR_EXIT_OK)
        return rc;
    struct drivers drivers;
    rc = drivers_prepare(cli, &drivers, true, true, true);
    if (rc != FAHR_EXIT_OK) {
        drivers_release(&drivers);
        return rc;
    }
    struct plugin *train = drivers.train;
    /* Hyperparameters and inputs are checked before anything is built. */
    struct fahr_channel *channels = NULL;
    rc = inputs_prepare(cli, &channels);
    if (rc != FAHR_EXIT_OK) {
        drivers_release(&drivers);
        return rc;
    }
    if (cli->fetch_dir != NULL && !FAHR_HAS(&train->train, fetch)) {
        host_error("the %s driver cannot fetch models; drop --fetch", train->desc.name);
        inputs_free(channels, cli->input_count);
        drivers_release(&drivers);
        return FAHR_EXIT_USAGE;
    }
    struct fahr_train_request request;
    memset(&request, 0, sizeof request);
    request.size = sizeof request;
    request.artifact_path = artifact.path;
    request.context_dir = artifact.dir;
    request.image_name = artifact.image_name;
    request.config = cli->config;
    request.hyperparameters = cli->hyperparameters;
    request.hyperparameter_count = cli->hyperparameter_count;
    request.channels = channels;
    request.channel_count = cli->input_count;

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
    rc = cli->no_wait ? FAHR_EXIT_OK : follow_job(cli, train, job_id, stderr, true);
    if (rc == FAHR_EXIT_OK && cli->fetch_dir != NULL)
        rc = fetch_job_model(cli, train, job_id, NULL, cli->fetch_dir);
done:
    inputs_free(channels, cli->input_count);
    drivers_release(&drivers);
    return rc;
}
