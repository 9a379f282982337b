/* core/cmd_build.c: `fahr init` and `fahr build`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static void fill_request(const struct cli *cli, const struct artifact *artifact,
                         struct fahr_build_request *request)
{
    memset(request, 0, sizeof *request);
    request->size = sizeof *request;
    request->artifact_path = artifact->path;
    request->context_dir = artifact->dir;
    request->image_name = artifact->image_name;
    request->config = cli->config;
    request->overwrite = cli->overwrite;
}

/* Build with the chosen build driver; on success image_ref holds the local
 * image. Used by build and fit. */
int build_image(struct cli *cli, struct drivers *drivers, const struct artifact *artifact,
                char *image_ref, size_t image_ref_size)
{
    struct fahr_build_request request;
    fill_request(cli, artifact, &request);
    struct fahr_error err = {{0}};
    host_info("building %s with the %s driver", artifact->image_name, drivers->build->desc.name);
    int status = drivers->build->build.build(drivers->build->state, &request, image_ref,
                                             image_ref_size, &err);
    if (status != FAHR_OK)
        return report_driver_error(drivers->build, status, &err);
    if (host_interrupted())
        return FAHR_EXIT_INTERRUPTED;
    return FAHR_EXIT_OK;
}

/* init and build: the same steps, but build also makes the image. */
static int init_or_build(struct cli *cli, bool build)
{
    struct artifact artifact;
    int rc = artifact_resolve(cli->args[0], &artifact);
    if (rc != FAHR_EXIT_OK)
        return rc;
    struct drivers drivers;
    rc = drivers_prepare(cli, &drivers, true, false, build ? REQUIRED_ALL : REQUIRED_BUILD);
    if (rc == FAHR_EXIT_OK && drivers.build == NULL) {
        /* drivers_prepare picks none beside a train driver of the source. */
        host_info("the %s driver runs the source itself; there are no build files to write",
                  drivers.train->desc.name);
    } else if (rc == FAHR_EXIT_OK && build) {
        char image_ref[512] = "";
        rc = build_image(cli, &drivers, &artifact, image_ref, sizeof image_ref);
        if (rc == FAHR_EXIT_OK)
            printf("%s\n", image_ref);
    } else if (rc == FAHR_EXIT_OK) {
        struct fahr_build_request request;
        fill_request(cli, &artifact, &request);
        struct fahr_error err = {{0}};
        int status = drivers.build->build.init(drivers.build->state, &request, &err);
        if (status != FAHR_OK)
            rc = report_driver_error(drivers.build, status, &err);
        else
            printf("%s\n", artifact.dir);
    }
    drivers_release(&drivers);
    return rc;
}

int cmd_init(struct cli *cli)
{
    return init_or_build(cli, false);
}

int cmd_build(struct cli *cli)
{
    return init_or_build(cli, true);
}
