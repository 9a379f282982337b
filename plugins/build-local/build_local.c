/* plugins/build-local: builds the artifact's image on a Python base image in
 * the local Docker engine. All of the work is the family's shared code path
 * (plugins/common/build_driver.c); this file is the variant. */
#include "build_driver.h"

static const struct build_variant local = {
    .name = "local",
    .python_base_image = "python:3.11-slim",
    .conda_base_image = "continuumio/miniconda3:latest",
    .environment = NULL,
};

BUILD_DRIVER_PLUGIN(local, "local", "build in the local Docker engine on python:3.11-slim "
                                    "(continuumio/miniconda3 with environment.yml)");
