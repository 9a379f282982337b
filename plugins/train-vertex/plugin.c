/* plugin.c: the Vertex AI train driver's descriptor: its config keys and
 * operations, and its state. fahr builds the image (FAHR_TRAIN_IMAGE), the
 * driver pushes it to Artifact Registry and runs it as a CustomJob. */
#include "vertex.h"

#include <stdlib.h>
#include <string.h>

const struct fahr_host *vertex_host;

static int vertex_open(const struct fahr_host *host, void **state, struct fahr_error *err)
{
    /* Everything this driver uses came with ABI 1.1. */
    if (!FAHR_HAS(host, http_open) || !FAHR_HAS(host, place_commit) ||
        !FAHR_HAS(host, push_image))
        return fahr_error_set(err, FAHR_ENOTSUP, "this fahr lacks the services of ABI 1.1");
    vertex_host = host;
    struct vertex *vertex = calloc(1, sizeof *vertex);
    if (vertex == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    int rc = host->http_open(&vertex->http, err);
    if (rc != FAHR_OK) {
        free(vertex);
        return rc;
    }
    *state = vertex;
    return FAHR_OK;
}

static void vertex_close(void *state)
{
    struct vertex *vertex = state;
    if (vertex == NULL)
        return;
    if (vertex->auth != NULL)
        vertex_auth_close(vertex->auth);
    vertex_host->http_close(vertex->http);
    free(vertex);
}

int vertex_credential(struct vertex *vertex, struct fahr_error *err)
{
    if (vertex->auth != NULL)
        return FAHR_OK;
    return vertex_auth_open(&vertex->auth, vertex->credential_project,
                            sizeof vertex->credential_project, err);
}

/* project and region address the job (they are in its name too): the host
 * records them in its job index. */
static const struct fahr_config_key2 project_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "project",
    .type = FAHR_CONFIG_STRING,
    .help = "the Google Cloud project (default: $CLOUDSDK_CORE_PROJECT, "
            "$GOOGLE_CLOUD_PROJECT, else the credential's)",
    .flags = FAHR_CONFIG_JOB,
    .default_env = "CLOUDSDK_CORE_PROJECT",
};
static const struct fahr_config_key2 region_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "region",
    .type = FAHR_CONFIG_STRING,
    .default_value = "us-central1",
    .help = "the Vertex AI region",
    .flags = FAHR_CONFIG_JOB,
    .default_env = "CLOUDSDK_AI_REGION",
};
static const struct fahr_config_key2 output_path_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "output_path",
    .type = FAHR_CONFIG_URI,
    .help = "gs://BUCKET[/PREFIX] for the job's output and uploaded inputs (needed by fit)",
    .scheme = "gs",
};
static const struct fahr_config_key2 repository_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "repository",
    .type = FAHR_CONFIG_STRING,
    .default_value = "fahr",
    .help = "the Artifact Registry repository the image goes to (made when missing)",
};
static const struct fahr_config_key2 registry_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "registry",
    .type = FAHR_CONFIG_STRING,
    .help = "HOST[:PORT] to push to instead of REGION-docker.pkg.dev",
};
static const struct fahr_config_key2 machine_type_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "machine_type",
    .type = FAHR_CONFIG_STRING,
    .default_value = "n1-standard-4",
    .help = "the workers' Compute Engine machine type",
};
static const struct fahr_config_key2 accelerator_type_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "accelerator_type",
    .type = FAHR_CONFIG_STRING,
    .help = "a GPU or TPU type (NVIDIA_TESLA_T4, NVIDIA_L4, ...; default: none)",
};
static const struct fahr_config_key2 accelerator_count_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "accelerator_count",
    .type = FAHR_CONFIG_INT,
    .help = "accelerators per worker (default: 1 when accelerator_type is set)",
};
static const struct fahr_config_key2 replica_count_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "replica_count",
    .type = FAHR_CONFIG_INT,
    .default_value = "1",
    .help = "how many workers",
};
static const struct fahr_config_key2 boot_disk_gb_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "boot_disk_gb",
    .type = FAHR_CONFIG_INT,
    .default_value = "100",
    .help = "each worker's boot disk in GB",
};
static const struct fahr_config_key2 timeout_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "timeout",
    .type = FAHR_CONFIG_INT,
    .help = "the job's limit in seconds (default: Vertex's, 7 days)",
};
static const struct fahr_config_key2 spot_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "spot",
    .type = FAHR_CONFIG_BOOL,
    .default_value = "false",
    .help = "run on Spot VMs (scheduling strategy SPOT)",
};
static const struct fahr_config_key2 service_account_key = {
    FAHR_STRUCT_HEADER(struct fahr_config_key2),
    .name = "service_account",
    .type = FAHR_CONFIG_STRING,
    .help = "the service account the job runs as (default: Vertex's)",
};
static const struct fahr_config_key2 *const vertex_keys[] = {
    &project_key, &region_key, &output_path_key, &repository_key, &registry_key,
    &machine_type_key, &accelerator_type_key, &accelerator_count_key, &replica_count_key,
    &boot_disk_gb_key, &timeout_key, &spot_key, &service_account_key, NULL,
};

static const struct fahr_train_ops vertex_ops = {
    FAHR_STRUCT_HEADER(struct fahr_train_ops),
    .input = FAHR_TRAIN_IMAGE,
    .publish = vertex_publish,
    .submit = vertex_submit,
    .poll = vertex_poll,
    .stop = vertex_stop,
    .fetch = vertex_fetch,
    .list = vertex_list,
    .poll_interval_ms = 10000,
    .check = vertex_check,
    .read_logs2 = vertex_read_logs2,
};

FAHR_EXPORT const struct fahr_plugin fahr_plugin = {
    FAHR_PLUGIN_HEADER,
    .kind = FAHR_DRIVER_TRAIN,
    .name = "vertex",
    .version = "1.0.0",
    .description = "run the image as a Vertex AI custom training job (Google Cloud)",
    .open = vertex_open,
    .close = vertex_close,
    .train = &vertex_ops,
    .config_keys2 = vertex_keys,
};
