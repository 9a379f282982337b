/* plugins/build-local-gpu: like build-local, on a CUDA base image, with the
 * environment the NVIDIA container runtime reads to hand the container the
 * GPUs. The work is the family's shared code path
 * (plugins/common/build_driver.c); this file is the variant. */
#include "build_driver.h"

static const char *const nvidia_environment[] = {
    "NVIDIA_VISIBLE_DEVICES=all",
    "NVIDIA_DRIVER_CAPABILITIES=compute,utility",
    NULL,
};

static const struct build_variant local_gpu = {
    .name = "local-gpu",
    .python_base_image = "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04",
    /* conda brings its own CUDA libraries; the runtime brings the driver. */
    .conda_base_image = "continuumio/miniconda3:latest",
    .environment = nvidia_environment,
    .gpu = 1,
};

BUILD_DRIVER_PLUGIN(local_gpu, "local-gpu", "build in the local Docker engine on a CUDA image "
                                                "(nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04) for NVIDIA GPUs");
