/* plugins/train-local/submit.c: a local job's folder, with SageMaker's
 * config files and the job's binds, and its container, created and
 * started. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "job_name.h"
#include "local.h"
#include "training_inputs.h"

/* A job's files are the user's alone (hyperparameters may hold secrets):
 * folders 0700 and files 0600 whatever the umask. The container, root in
 * the images fahr builds, still writes its model into them. */
static int mkdir_private(const char *path)
{
    if (mkdir(path, 0700) == 0)
        return chmod(path, 0700); /* a umask may take more than group's and others' */
    return errno == EEXIST ? 0 : -1;
}

static int mkdirs(const char *path)
{
    char copy[8400];
    snprintf(copy, sizeof copy, "%s", path);
    for (char *p = copy + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir_private(copy) != 0)
            return -1;
        *p = '/';
    }
    return mkdir_private(copy);
}

/* A new file of the job's, never one already there (nor through a link). */
int create_private(const char *path)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && fchmod(fd, 0600) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int write_json(const char *path, json_t *doc)
{
    int fd = create_private(path);
    int rc = fd < 0 ? -1 : json_dumpfd(doc, fd, JSON_INDENT(2) | JSON_SORT_KEYS);
    if (fd >= 0 && close(fd) != 0)
        rc = -1;
    json_decref(doc);
    return rc;
}

/* Whether the image was built for GPUs: the build driver says so (ABI
 * 1.1); one of ABI 1.0 left its mark in the image's environment. */
static bool image_wants_gpu(struct local *local, const struct fahr_train_request *request,
                            const char *image)
{
    if (FAHR_HAS(request, image))
        return request->image->gpu != 0;
    char path[2048], *answer = NULL;
    struct fahr_error ignored;
    snprintf(path, sizeof path, "/images/%s/json", image);
    if (docker_engine_call(local->host, &local->engine, "GET", path, NULL, &answer, NULL,
                           &ignored) != FAHR_OK)
        return false;
    json_t *inspect = json_loads(answer, 0, NULL);
    free(answer);
    bool wants_gpu = false;
    size_t i;
    json_t *entry;
    json_array_foreach(json_object_get(json_object_get(inspect, "Config"), "Env"), i, entry)
    {
        const char *text = json_string_value(entry);
        if (text != NULL && strncmp(text, "NVIDIA_VISIBLE_DEVICES=", 23) == 0)
            wants_gpu = true;
    }
    json_decref(inspect);
    return wants_gpu;
}

/* The GPUs for an image built for them, where the engine has NVIDIA's
 * runtime; a clear message where it has not. */
static json_t *device_requests(struct local *local, const struct fahr_train_request *request,
                               const char *image)
{
    char *answer = NULL;
    struct fahr_error ignored;
    bool wants_gpu = image_wants_gpu(local, request, image);
    if (!wants_gpu)
        return NULL;
    if (docker_engine_call(local->host, &local->engine, "GET", "/info", NULL, &answer, NULL,
                           &ignored) != FAHR_OK)
        return NULL;
    json_t *info = json_loads(answer, 0, NULL);
    free(answer);
    bool nvidia = json_object_get(json_object_get(info, "Runtimes"), "nvidia") != NULL;
    json_decref(info);
    if (!nvidia) {
        local->host->log(FAHR_LOG_WARN,
                         "the image is built for NVIDIA GPUs, but the Docker engine has no "
                         "nvidia runtime (install the NVIDIA Container Toolkit); the job runs "
                         "without GPUs");
        return NULL;
    }
    return json_pack("[{s:s, s:i, s:[[s]]}]", "Driver", "nvidia", "Count", -1, "Capabilities",
                     "gpu");
}

/* SageMaker's limits, so that a job that trains here also starts there, and
 * channels this machine can mount: local files and directories only. */
int local_check(void *state, const struct fahr_train_request *request,
                struct fahr_error *err)
{
    (void)state;
    int rc = sagemaker_inputs_check(request, err);
    for (size_t i = 0; rc == FAHR_OK && i < request->channel_count; i++)
        if (!request->channels[i].is_local)
            rc = fahr_error_set(err, FAHR_EINVAL,
                                "--input %s: the local driver takes local files and "
                                "directories, not %s",
                                request->channels[i].name, request->channels[i].source);
    return rc;
}

/* /opt/ml/checkpoints, as SageMaker keeps it under CheckpointConfig: one
 * folder per image in the driver's data directory, kept across runs, so
 * that a script's resume logic can be tried here. */
static int checkpoint_bind(struct local *local, const char *image_name, json_t *binds,
                           struct fahr_error *err)
{
    char dir[4096], path[8400];
    if (!FAHR_HAS(local->host, data_dir))
        return FAHR_OK;
    int rc = local->host->data_dir(local->host, dir, sizeof dir, err);
    if (rc != FAHR_OK)
        return rc;
    /* An image name is [a-z0-9] parts joined by '.', '_', '-' and '/'; this
     * keeps any other from naming a folder elsewhere. */
    if (image_name[0] == '\0' || image_name[0] == '/' || strstr(image_name, "..") != NULL)
        return fahr_error_set(err, FAHR_EINVAL, "'%s' cannot name a checkpoint folder",
                              image_name);
    snprintf(path, sizeof path, "%s/checkpoints/%s", dir, image_name);
    if (mkdirs(path) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot make %s: %s", path, strerror(errno));
    char bind[8500];
    snprintf(bind, sizeof bind, "%s:/opt/ml/checkpoints", path);
    json_array_append_new(binds, json_string(bind));
    return FAHR_OK;
}

/* The job's folder with the contract's config files, and its binds. */
static int prepare_job_dir(struct local *local, const struct fahr_train_request *request,
                           const char *name, const char *image, json_t *binds,
                           struct fahr_error *err)
{
    int rc = local_check(local, request, err);
    if (rc != FAHR_OK)
        return rc;
    char dir[8192], path[8400];
    job_path(local, request->config, name, "", dir, sizeof dir);
    static const char *const parts[] = {"model", "output", "input/config"};
    for (size_t i = 0; i < 3; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, parts[i]);
        if (mkdirs(path) != 0)
            return fahr_error_set(err, FAHR_EFAIL, "cannot make %s: %s", path, strerror(errno));
    }
    json_t *hyperparameters = json_object();
    for (size_t i = 0; i < request->hyperparameter_count; i++)
        json_object_set_new(hyperparameters, request->hyperparameters[i].key,
                            json_string(request->hyperparameters[i].value));
    json_t *channels = json_object();
    for (size_t i = 0; i < request->channel_count; i++) {
        const struct fahr_channel *channel = &request->channels[i];
        json_object_set_new(channels, channel->name,
                            json_pack("{s:s, s:s, s:s}", "TrainingInputMode", "File",
                                      "S3DistributionType", "FullyReplicated",
                                      "RecordWrapperType", "None"));
        struct stat st;
        stat(channel->source, &st);
        char bind[8192];
        if (S_ISDIR(st.st_mode)) {
            snprintf(bind, sizeof bind, "%s:/opt/ml/input/data/%s:ro", channel->source,
                     channel->name);
        } else {
            const char *base = strrchr(channel->source, '/');
            snprintf(bind, sizeof bind, "%s:/opt/ml/input/data/%s/%s:ro", channel->source,
                     channel->name, base ? base + 1 : channel->source);
        }
        json_array_append_new(binds, json_string(bind));
    }
    snprintf(path, sizeof path, "%s/input/config/hyperparameters.json", dir);
    int failed = write_json(path, hyperparameters);
    snprintf(path, sizeof path, "%s/input/config/inputdataconfig.json", dir);
    failed |= write_json(path, channels);
    snprintf(path, sizeof path, "%s/input/config/resourceconfig.json", dir);
    failed |= write_json(path, json_pack("{s:s, s:[s], s:s}", "current_host", "algo-1", "hosts",
                                         "algo-1", "network_interface_name", "eth0"));
    snprintf(path, sizeof path, "%s/job.json", dir);
    failed |= write_json(path, json_pack("{s:s, s:s, s:s, s:I}", "job", name, "image", image,
                                         "image_name", request->image_name, "created",
                                         (json_int_t)time(NULL)));
    if (failed)
        return fahr_error_set(err, FAHR_EFAIL, "cannot write the job's files in %s", dir);
    static const char *const mounts[][2] = {{"model", "/opt/ml/model"},
                                            {"output", "/opt/ml/output"},
                                            {"input/config", "/opt/ml/input/config"}};
    for (size_t i = 0; i < 3; i++) {
        char bind[8400];
        snprintf(bind, sizeof bind, "%s/%s:%s%s", dir, mounts[i][0], mounts[i][1],
                 i == 2 ? ":ro" : "");
        json_array_insert_new(binds, i, json_string(bind));
    }
    return checkpoint_bind(local, request->image_name, binds, err);
}

int local_submit(void *state, const struct fahr_train_request *request, const char *image,
                 char *job_id, size_t job_id_size, struct fahr_error *err)
{
    struct local *local = state;
    char name[FAHR_JOB_ID_MAX];
    int rc = local->host->job_name(request->image_name, 63, name, sizeof name, err);
    if (rc != FAHR_OK)
        return rc;
    json_t *binds = json_array();
    rc = prepare_job_dir(local, request, name, image, binds, err);
    char *body = NULL, *answer = NULL;
    if (rc == FAHR_OK) {
        char env[300];
        snprintf(env, sizeof env, "TRAINING_JOB_NAME=%s", name);
        json_t *create = json_pack("{s:s, s:[s], s:[s], s:{s:s, s:s}, s:{s:O}}", "Image", image,
                                   "Cmd", "train", "Env", env, "Labels", DOCKER_JOB_LABEL, name,
                                   "fahr.image", request->image_name, "HostConfig", "Binds",
                                   binds);
        json_t *devices = device_requests(local, request, image);
        if (devices != NULL)
            json_object_set_new(json_object_get(create, "HostConfig"), "DeviceRequests", devices);
        body = json_dumps(create, JSON_COMPACT);
        json_decref(create);
        char path[512];
        snprintf(path, sizeof path, "/containers/create?name=fahr-%s", name);
        rc = docker_engine_call(local->host, &local->engine, "POST", path, body, &answer, NULL,
                                err);
    }
    if (rc == FAHR_OK) {
        char path[512];
        snprintf(path, sizeof path, "/containers/fahr-%s/start", name);
        rc = docker_engine_call(local->host, &local->engine, "POST", path, NULL, NULL, NULL, err);
        if (rc != FAHR_OK) {
            /* Nothing half-made stays behind. */
            struct fahr_error ignored;
            snprintf(path, sizeof path, "/containers/fahr-%s?force=1", name);
            docker_engine_call(local->host, &local->engine, "DELETE", path, NULL, NULL, NULL,
                               &ignored);
        }
    }
    if (rc != FAHR_OK) {
        char dir[8192];
        job_path(local, request->config, name, "", dir, sizeof dir);
        remove_tree(dir);
    } else {
        snprintf(job_id, job_id_size, "%s", name);
    }
    json_decref(binds);
    free(body);
    free(answer);
    return rc;
}

