/* submit.c: the CustomJob: one worker pool running `IMAGE train` (a second
 * pool for replicas past the first: pool 0 is the chief, of one replica),
 * its output under OUTPUT_PATH/DISPLAYNAME, and the container contract's
 * variables (plugin.h): FAHR_MODEL_DIR_URI (AIP_MODEL_DIR, where Vertex
 * users and its Model Registry look for the model's files),
 * FAHR_HYPERPARAMETERS and FAHR_CHANNELS. */
#include "vertex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *env_var(const char *name, const char *value)
{
    return json_pack("{s:s, s:s}", "name", name, "value", value);
}

/* The container's environment; NULL with err set. */
static json_t *job_env(struct vertex *vertex, const struct fahr_train_request *request,
                       const struct vertex_settings *settings, const char *base,
                       struct fahr_error *err)
{
    char model_dir[FAHR_URI_MAX + 16];
    snprintf(model_dir, sizeof model_dir, "%s/model", base);
    json_t *env = json_array();
    json_array_append_new(env, env_var("FAHR_MODEL_DIR_URI", model_dir));
    if (request->hyperparameter_count > 0) {
        json_t *hyperparameters = json_object();
        for (size_t i = 0; i < request->hyperparameter_count; i++)
            json_object_set_new(hyperparameters, request->hyperparameters[i].key,
                                json_string(request->hyperparameters[i].value));
        char *text = json_dumps(hyperparameters, JSON_COMPACT | JSON_SORT_KEYS);
        json_decref(hyperparameters);
        if (text == NULL) {
            json_decref(env);
            fahr_error_set(err, FAHR_EINVAL, "the hyperparameters are not valid UTF-8");
            return NULL;
        }
        json_array_append_new(env, env_var("FAHR_HYPERPARAMETERS", text));
        free(text);
    }
    if (request->channel_count > 0) {
        char *channels = vertex_channels(vertex, request, settings, err);
        if (channels == NULL) {
            json_decref(env);
            return NULL;
        }
        json_array_append_new(env, env_var("FAHR_CHANNELS", channels));
        free(channels);
    }
    return env;
}

/* One worker pool of `replicas` running the image. */
static json_t *worker_pool(const struct vertex_settings *settings, const char *image,
                           json_t *env, long replicas)
{
    json_t *machine = json_pack("{s:s}", "machineType", settings->machine_type);
    if (settings->accelerator_type != NULL) {
        json_object_set_new(machine, "acceleratorType", json_string(settings->accelerator_type));
        json_object_set_new(machine, "acceleratorCount",
                            json_integer(settings->accelerator_count));
    }
    char count[32]; /* an int64: a string in proto3's JSON */
    snprintf(count, sizeof count, "%ld", replicas);
    return json_pack("{s:o, s:s, s:{s:I}, s:{s:s, s:[s], s:O}}", "machineSpec", machine,
                     "replicaCount", count, "diskSpec", "bootDiskSizeGb",
                     (json_int_t)settings->boot_disk_gb, "containerSpec", "imageUri", image,
                     "args", "train", "env", env);
}

static json_t *job_body(const struct vertex *vertex, const struct fahr_train_request *request,
                        const struct vertex_settings *settings, const char *image,
                        const char *base, json_t *env)
{
    char label[64];
    vertex_label_value(request->image_name, label, sizeof label);
    json_t *pools = json_array();
    json_array_append_new(pools, worker_pool(settings, image, env, 1));
    if (settings->replica_count > 1)
        json_array_append_new(pools, worker_pool(settings, image, env,
                                                 settings->replica_count - 1));
    json_t *spec = json_pack("{s:o, s:{s:s}}", "workerPoolSpecs", pools,
                             "baseOutputDirectory", "outputUriPrefix", base);
    json_t *scheduling = json_object();
    if (settings->timeout > 0) {
        char timeout[32];
        snprintf(timeout, sizeof timeout, "%lds", settings->timeout);
        json_object_set_new(scheduling, "timeout", json_string(timeout));
    }
    if (settings->spot)
        json_object_set_new(scheduling, "strategy", json_string("SPOT"));
    if (json_object_size(scheduling) > 0)
        json_object_set(spec, "scheduling", scheduling);
    json_decref(scheduling);
    if (settings->service_account != NULL)
        json_object_set_new(spec, "serviceAccount", json_string(settings->service_account));
    return json_pack("{s:s, s:{s:s, s:s}, s:o}", "displayName", vertex->display_name,
                     "labels", "fahr-image", label, "fahr", "1", "jobSpec", spec);
}

int vertex_submit(void *state, const struct fahr_train_request *request, const char *image,
                  char *job_id, size_t job_id_size, struct fahr_error *err)
{
    struct vertex *vertex = state;
    struct vertex_settings settings;
    int rc = vertex_settings_read(vertex, request->config, &settings, err);
    if (rc == FAHR_OK && settings.output_path == NULL)
        rc = fahr_error_set(err, FAHR_EINVAL,
                            "the job needs --config.output_path=gs://BUCKET[/PREFIX]");
    if (rc == FAHR_OK && vertex->display_name[0] == '\0')
        rc = vertex_host->job_name(request->image_name, VERTEX_JOB_NAME_MAX - 1,
                                   vertex->display_name, sizeof vertex->display_name, err);
    if (rc == FAHR_OK)
        rc = vertex_credential(vertex, err);
    if (rc != FAHR_OK)
        return rc;
    char base[FAHR_URI_MAX];
    snprintf(base, sizeof base, "%s/%s", settings.output_path, vertex->display_name);
    json_t *env = job_env(vertex, request, &settings, base, err);
    if (env == NULL)
        return FAHR_EFAIL;
    json_t *body = job_body(vertex, request, &settings, image, base, env), *answer = NULL;
    json_decref(env);
    char path[1024];
    snprintf(path, sizeof path, "v1/projects/%s/locations/%s/customJobs", settings.project,
             settings.region);
    rc = vertex_call(vertex, VERTEX_AIPLATFORM, settings.region, "POST", path, body, &answer,
                     err);
    const char *name = json_string_value(json_object_get(answer, "name"));
    struct vertex_job parsed;
    if (rc == FAHR_OK && (name == NULL || vertex_job_parse(name, &parsed, err) != FAHR_OK ||
                          strlen(name) >= job_id_size))
        rc = fahr_error_set(err, FAHR_EFAIL, "Vertex AI did not name the job it made");
    if (rc == FAHR_OK)
        snprintf(job_id, job_id_size, "%s", name);
    json_decref(answer);
    return rc;
}
