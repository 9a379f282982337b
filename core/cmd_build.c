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

/* Build with the chosen build driver; on success `image` describes the
 * local image (build2 where the driver has it; a 1.0 driver's build() gives
 * only the reference). Used by build and fit. */
int build_image(struct cli *cli, struct drivers *drivers, const struct artifact *artifact,
                struct fahr_image *image)
{
    struct fahr_build_request request;
    fill_request(cli, artifact, &request);
    struct fahr_error err = {{0}};
    struct plugin *build = drivers->build;
    host_info("building %s with the %s driver", artifact->image_name, build->desc.name);
    memset(image, 0, sizeof *image);
    image->size = sizeof *image;
    int status = FAHR_HAS(&build->build, build2)
                     ? build->build.build2(build->state, &request, image, &err)
                     : build->build.build(build->state, &request, image->reference,
                                          sizeof image->reference, &err);
    image->size = sizeof *image;
    image->reference[sizeof image->reference - 1] = '\0';
    image->digest[sizeof image->digest - 1] = '\0';
    image->platform[sizeof image->platform - 1] = '\0';
    if (status != FAHR_OK)
        return report_driver_error(build, status, &err);
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
        struct fahr_image image;
        rc = build_image(cli, &drivers, &artifact, &image);
        if (rc == FAHR_EXIT_OK)
            printf("%s\n", image.reference);
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
