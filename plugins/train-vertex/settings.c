/* settings.c: the driver's config keys, read and checked against Vertex's
 * own rules before anything is built, and the shapes of its names: job
 * ids, states, labels (what tests/units.c checks without a service). */
#include "vertex.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

/* machineSpec.acceleratorType's enum (ACCELERATOR_TYPE_UNSPECIFIED left
 * out), as the Vertex AI discovery document aiplatform.v1.json, revision
 * 20260815 (googleapis/discovery-artifact-manager), lists it. */
static const char *const accelerator_types[] = {
    "NVIDIA_TESLA_K80", "NVIDIA_TESLA_P100", "NVIDIA_TESLA_V100", "NVIDIA_TESLA_P4",
    "NVIDIA_TESLA_T4", "NVIDIA_TESLA_A100", "NVIDIA_A100_80GB", "NVIDIA_L4",
    "NVIDIA_H100_80GB", "NVIDIA_H100_MEGA_80GB", "NVIDIA_H200_141GB", "NVIDIA_B200",
    "NVIDIA_GB200", "NVIDIA_RTX_PRO_6000", "TPU_V2", "TPU_V3", "TPU_V4_POD",
    "TPU_V5_LITEPOD",
};

int vertex_accelerator_known(const char *type)
{
    for (size_t i = 0; i < sizeof accelerator_types / sizeof *accelerator_types; i++)
        if (strcmp(type, accelerator_types[i]) == 0)
            return 1;
    return 0;
}

/* Lower-case letters, digits and '-', starting with a letter: the shape of
 * a project id, a region, a machine type and a repository id. */
static int is_google_id(const char *text)
{
    if (!islower((unsigned char)text[0]))
        return 0;
    for (const char *c = text; *c; c++)
        if (!islower((unsigned char)*c) && !isdigit((unsigned char)*c) && *c != '-')
            return 0;
    return strlen(text) < VERTEX_NAME_MAX;
}

void vertex_label_value(const char *image_name, char *out, size_t size)
{
    size_t n = 0;
    for (const char *c = image_name; *c && n + 1 < size && n < 63; c++) {
        unsigned char ch = (unsigned char)tolower((unsigned char)*c);
        out[n++] = (char)(isalnum(ch) || ch == '_' || ch == '-' ? ch : '-');
    }
    out[n] = '\0';
}

static long int_key(const struct fahr_config *config, const char *key)
{
    const char *value = vertex_host->config_get(config, key);
    return value ? strtol(value, NULL, 10) : -1; /* the host took only digits */
}

static const char *string_key(const struct fahr_config *config, const char *key)
{
    const char *value = vertex_host->config_get(config, key);
    return value && value[0] ? value : NULL;
}

static const char *env_value(const char *name)
{
    const char *value = getenv(name);
    return value && value[0] ? value : NULL;
}

/* The project, in gcloud's and google-auth's order: the key (or gcloud's
 * $CLOUDSDK_CORE_PROJECT, its default_env), else google-auth's
 * $GOOGLE_CLOUD_PROJECT or $GCLOUD_PROJECT, else the credential's (a key
 * file's project_id, gcloud's for its own login, the metadata server's). */
static int read_project(struct vertex *vertex, const struct fahr_config *config,
                        struct vertex_settings *settings, struct fahr_error *err)
{
    const char *project = string_key(config, "project");
    if (project == NULL)
        project = env_value("GOOGLE_CLOUD_PROJECT");
    if (project == NULL)
        project = env_value("GCLOUD_PROJECT");
    if (project == NULL) {
        int rc = vertex_credential(vertex, err);
        if (rc == FAHR_OK && vertex->credential_project[0] == '\0')
            rc = vertex_auth_project(vertex->auth, vertex->credential_project,
                                     sizeof vertex->credential_project, err);
        if (rc != FAHR_OK)
            return rc;
        project = vertex->credential_project[0] ? vertex->credential_project : NULL;
    }
    if (project == NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "no project: set --config.project, $CLOUDSDK_CORE_PROJECT or "
                              "$GOOGLE_CLOUD_PROJECT");
    if (!is_google_id(project))
        return fahr_error_set(err, FAHR_EINVAL,
                              "the project must be a project id (lower-case letters, digits "
                              "and '-')");
    snprintf(settings->project, sizeof settings->project, "%s", project);
    return FAHR_OK;
}

/* The worker pool's shape: machine, accelerators, replicas, disk. */
static int read_machine(const struct fahr_config *config, struct vertex_settings *settings,
                        struct fahr_error *err)
{
    settings->machine_type = string_key(config, "machine_type");
    if (settings->machine_type == NULL || !is_google_id(settings->machine_type) ||
        strchr(settings->machine_type, '-') == NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "machine_type must be a machine type such as n1-standard-4");
    settings->accelerator_type = string_key(config, "accelerator_type");
    settings->accelerator_count = int_key(config, "accelerator_count");
    if (settings->accelerator_type != NULL &&
        !vertex_accelerator_known(settings->accelerator_type))
        return fahr_error_set(err, FAHR_EINVAL,
                              "accelerator_type is not one Vertex AI knows (NVIDIA_TESLA_T4, "
                              "NVIDIA_L4, NVIDIA_A100_80GB, NVIDIA_H100_80GB, TPU_V3, ...)");
    if (settings->accelerator_type == NULL && settings->accelerator_count > 0)
        return fahr_error_set(err, FAHR_EINVAL, "accelerator_count needs an accelerator_type");
    if (settings->accelerator_type == NULL)
        settings->accelerator_count = 0;
    else if (settings->accelerator_count < 0)
        settings->accelerator_count = 1;
    else if (settings->accelerator_count == 0 || settings->accelerator_count > 16)
        return fahr_error_set(err, FAHR_EINVAL, "accelerator_count must be 1 to 16");
    settings->replica_count = int_key(config, "replica_count");
    if (settings->replica_count < 1 || settings->replica_count > 1000)
        return fahr_error_set(err, FAHR_EINVAL, "replica_count must be 1 to 1000");
    settings->boot_disk_gb = int_key(config, "boot_disk_gb");
    if (settings->boot_disk_gb < 10 || settings->boot_disk_gb > 65536)
        return fahr_error_set(err, FAHR_EINVAL, "boot_disk_gb must be 10 to 65536");
    return FAHR_OK;
}

int vertex_settings_read(struct vertex *vertex, const struct fahr_config *config,
                         struct vertex_settings *settings, struct fahr_error *err)
{
    memset(settings, 0, sizeof *settings);
    const char *region = string_key(config, "region");
    if (region == NULL || !is_google_id(region))
        return fahr_error_set(err, FAHR_EINVAL,
                              "region must be a Google Cloud region such as us-central1");
    snprintf(settings->region, sizeof settings->region, "%s", region);
    settings->output_path = string_key(config, "output_path");
    if (settings->output_path != NULL && strlen(settings->output_path) > 1024)
        return fahr_error_set(err, FAHR_EINVAL, "output_path is longer than 1024 characters");
    settings->repository = string_key(config, "repository");
    if (settings->repository == NULL || !is_google_id(settings->repository) ||
        strlen(settings->repository) > 63)
        return fahr_error_set(err, FAHR_EINVAL,
                              "repository must be lower-case letters, digits and '-', "
                              "starting with a letter (at most 63)");
    settings->registry = string_key(config, "registry");
    if (settings->registry != NULL &&
        strspn(settings->registry, "abcdefghijklmnopqrstuvwxyz0123456789.-:[]") !=
            strlen(settings->registry))
        return fahr_error_set(err, FAHR_EINVAL, "registry must be HOST[:PORT]");
    settings->timeout = int_key(config, "timeout");
    if (settings->timeout == 0)
        return fahr_error_set(err, FAHR_EINVAL, "timeout must be at least 1 second");
    if (settings->timeout < 0)
        settings->timeout = 0;
    const char *spot = vertex_host->config_get(config, "spot");
    settings->spot = spot != NULL && strcmp(spot, "1") == 0;
    settings->service_account = string_key(config, "service_account");
    if (settings->service_account != NULL && strchr(settings->service_account, '@') == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "service_account must be an email address");
    int rc = read_machine(config, settings, err);
    return rc == FAHR_OK ? read_project(vertex, config, settings, err) : rc;
}

enum fahr_job_state vertex_state_of(const char *state)
{
    static const struct {
        const char *name;
        enum fahr_job_state state;
    } states[] = {
        {"QUEUED", FAHR_JOB_PENDING},    {"PENDING", FAHR_JOB_PENDING},
        {"RUNNING", FAHR_JOB_RUNNING},   {"CANCELLING", FAHR_JOB_RUNNING},
        {"UPDATING", FAHR_JOB_RUNNING},  {"PAUSED", FAHR_JOB_RUNNING},
        {"SUCCEEDED", FAHR_JOB_COMPLETED}, {"FAILED", FAHR_JOB_FAILED},
        {"EXPIRED", FAHR_JOB_FAILED},    {"PARTIALLY_SUCCEEDED", FAHR_JOB_FAILED},
        {"CANCELLED", FAHR_JOB_STOPPED},
    };
    if (state == NULL || strncmp(state, "JOB_STATE_", 10) != 0)
        return 0;
    for (size_t i = 0; i < sizeof states / sizeof *states; i++)
        if (strcmp(state + 10, states[i].name) == 0)
            return states[i].state;
    return 0;
}

int vertex_model_uri(json_t *job, char *out, size_t size)
{
    const char *base = json_string_value(json_object_get(
        json_object_get(json_object_get(job, "jobSpec"), "baseOutputDirectory"),
        "outputUriPrefix"));
    if (base == NULL || strncmp(base, "gs://", 5) != 0)
        return -1;
    size_t length = strlen(base);
    while (length > 5 && base[length - 1] == '/')
        length--;
    int n = snprintf(out, size, "%.*s/model", (int)length, base);
    return n < 0 || (size_t)n >= size ? -1 : 0;
}

/* One segment of a job name: [A-Za-z0-9_-]+ (nothing that reshapes a URL). */
static int take_segment(const char **cursor, char *out, size_t size, int last)
{
    size_t n = strspn(*cursor, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-");
    if (n == 0 || n >= size || (*cursor)[n] != (last ? '\0' : '/'))
        return -1;
    memcpy(out, *cursor, n);
    out[n] = '\0';
    *cursor += n + !last;
    return 0;
}

int vertex_job_parse(const char *job_id, struct vertex_job *job, struct fahr_error *err)
{
    const char *cursor = job_id;
    char word[VERTEX_NAME_MAX];
    if (strncmp(cursor, "projects/", 9) == 0 && (cursor += 9) &&
        take_segment(&cursor, job->project, sizeof job->project, 0) == 0 &&
        take_segment(&cursor, word, sizeof word, 0) == 0 && strcmp(word, "locations") == 0 &&
        take_segment(&cursor, job->region, sizeof job->region, 0) == 0 &&
        take_segment(&cursor, word, sizeof word, 0) == 0 && strcmp(word, "customJobs") == 0 &&
        take_segment(&cursor, job->id, sizeof job->id, 1) == 0)
        return FAHR_OK;
    return fahr_error_set(err, FAHR_EINVAL,
                          "a Vertex AI job id is projects/P/locations/L/customJobs/ID");
}
