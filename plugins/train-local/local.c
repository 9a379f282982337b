/* plugins/train-local: runs the image on this machine through the Docker
 * Engine API, under SageMaker's container contract, so that an image that
 * trains here trains on SageMaker unchanged: started as `IMAGE train`, with
 * /opt/ml/input/config/{hyperparameters,inputdataconfig,resourceconfig}.json,
 * each channel at /opt/ml/input/data/<channel> (read-only), the model
 * collected from /opt/ml/model, the failure reason from
 * /opt/ml/output/failure, and TRAINING_JOB_NAME set.
 *
 * Each job has a folder in $XDG_DATA_HOME/fahr/jobs/<job> (default
 * ~/.local/share/fahr/jobs) holding job.json, its config, output and model;
 * its container is named fahr-<job>. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "docker_engine.h"
#include "job_name.h"
#include "model_fetch.h"
#include "tar_stream.h"
#include "training_inputs.h"

struct local {
    const struct fahr_host *host;
    struct docker_engine engine;
};

static const struct fahr_config_key local_keys[] = {
    {"jobs_dir", FAHR_CONFIG_STRING, NULL,
     "where local jobs keep their files (default: $XDG_DATA_HOME/fahr/jobs)", FAHR_CONFIG_JOB},
    {NULL, 0, NULL, NULL, 0},
};

static int local_open(const struct fahr_host *host, void **state, struct fahr_error *err)
{
    struct local *local = calloc(1, sizeof *local);
    if (local == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    local->host = host;
    int rc = docker_engine_from_env(&local->engine, err);
    if (rc != FAHR_OK) {
        free(local);
        return rc;
    }
    *state = local;
    return FAHR_OK;
}

static void local_close(void *state)
{
    free(state);
}

static void jobs_dir(const struct local *local, const struct fahr_config *config, char *out,
                     size_t size)
{
    const char *configured = config ? local->host->config_get(config, "jobs_dir") : NULL;
    const char *xdg = getenv("XDG_DATA_HOME");
    if (configured != NULL && configured[0])
        snprintf(out, size, "%s", configured);
    else if (xdg != NULL && xdg[0] == '/')
        snprintf(out, size, "%s/fahr/jobs", xdg);
    else
        snprintf(out, size, "%s/.local/share/fahr/jobs", getenv("HOME") ? getenv("HOME") : "");
}

static void job_path(const struct local *local, const struct fahr_config *config,
                     const char *job_id, const char *part, char *out, size_t size)
{
    char base[4096];
    jobs_dir(local, config, base, sizeof base);
    snprintf(out, size, "%s/%s%s%s", base, job_id, part[0] ? "/" : "", part);
}

static bool job_id_is_valid(const char *job_id)
{
    if (job_id == NULL || job_id[0] == '\0' || strlen(job_id) > 63)
        return false;
    for (const char *p = job_id; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return false;
    return true;
}

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
static int create_private(const char *path)
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

static int remove_entry(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)st, (void)type, (void)ftw;
    return remove(path);
}

/* ---- submit ------------------------------------------------------------------ */

/* The GPUs for an image built for them, where the engine has NVIDIA's
 * runtime; a clear message where it has not. */
static json_t *device_requests(struct local *local, const char *image)
{
    char path[2048], *answer = NULL;
    struct fahr_error ignored;
    snprintf(path, sizeof path, "/images/%s/json", image);
    if (docker_engine_call(local->host, &local->engine, "GET", path, NULL, &answer, NULL,
                           &ignored) != FAHR_OK)
        return NULL;
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
static int local_check(void *state, const struct fahr_train_request *request,
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
    return FAHR_OK;
}

static int local_submit(void *state, const struct fahr_train_request *request, const char *image,
                        char *job_id, size_t job_id_size, struct fahr_error *err)
{
    struct local *local = state;
    char name[FAHR_JOB_ID_MAX];
    job_name_derive(request->image_name, name, sizeof name);
    json_t *binds = json_array();
    int rc = prepare_job_dir(local, request, name, image, binds, err);
    char *body = NULL, *answer = NULL;
    if (rc == FAHR_OK) {
        char env[300];
        snprintf(env, sizeof env, "TRAINING_JOB_NAME=%s", name);
        json_t *create = json_pack("{s:s, s:[s], s:[s], s:{s:s, s:s}, s:{s:O}}", "Image", image,
                                   "Cmd", "train", "Env", env, "Labels", "fahr.job", name,
                                   "fahr.image", request->image_name, "HostConfig", "Binds",
                                   binds);
        json_t *devices = device_requests(local, image);
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
        nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    } else {
        snprintf(job_id, job_id_size, "%s", name);
    }
    json_decref(binds);
    free(body);
    free(answer);
    return rc;
}

/* ---- poll, logs, stop -------------------------------------------------------- */

static int inspect(struct local *local, const char *job_id, json_t **state_out,
                   struct fahr_error *err)
{
    if (!job_id_is_valid(job_id))
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not a local job name", job_id);
    char path[512], *answer = NULL;
    snprintf(path, sizeof path, "/containers/fahr-%s/json", job_id);
    int rc = docker_engine_call(local->host, &local->engine, "GET", path, NULL, &answer, NULL, err);
    if (rc == FAHR_ENOTFOUND)
        return fahr_error_set(err, FAHR_ENOTFOUND, "no local job %s", job_id);
    if (rc != FAHR_OK)
        return rc;
    json_t *doc = json_loads(answer, 0, NULL);
    free(answer);
    *state_out = json_incref(json_object_get(doc, "State"));
    json_decref(doc);
    return *state_out ? FAHR_OK : fahr_error_set(err, FAHR_EFAIL, "the engine's answer is odd");
}

/* The container's state ("created", "running", "exited", ...) and exit
 * code. */
static int container_state(struct local *local, const char *job_id, char *status, size_t size,
                           long long *exit_code, struct fahr_error *err)
{
    json_t *container = NULL;
    int rc = inspect(local, job_id, &container, err);
    if (rc != FAHR_OK)
        return rc;
    const char *text = json_string_value(json_object_get(container, "Status"));
    snprintf(status, size, "%s", text ? text : "");
    *exit_code = (long long)json_integer_value(json_object_get(container, "ExitCode"));
    json_decref(container);
    return FAHR_OK;
}

static bool container_over(const char *status)
{
    return strcmp(status, "exited") == 0 || strcmp(status, "dead") == 0;
}

/* The container's log, demultiplexed; the caller frees. */
static int container_log(struct local *local, const char *job_id, char **text, size_t *length,
                         struct fahr_error *err)
{
    char path[512], *raw = NULL;
    size_t raw_length = 0;
    snprintf(path, sizeof path, "/containers/fahr-%s/logs?stdout=1&stderr=1", job_id);
    int rc = docker_engine_call(local->host, &local->engine, "GET", path, NULL, &raw, &raw_length,
                                err);
    if (rc != FAHR_OK)
        return rc;
    /* Without a TTY each frame is [stream, 0, 0, 0, size (4 bytes, big
     * endian)] then the bytes. */
    char *out = malloc(raw_length + 1);
    size_t used = 0, at = 0;
    while (out != NULL && at + 8 <= raw_length) {
        size_t size = ((size_t)(unsigned char)raw[at + 4] << 24) |
                      ((size_t)(unsigned char)raw[at + 5] << 16) |
                      ((size_t)(unsigned char)raw[at + 6] << 8) | (size_t)(unsigned char)raw[at + 7];
        at += 8;
        if (size > raw_length - at)
            size = raw_length - at;
        memcpy(out + used, raw + at, size);
        used += size;
        at += size;
    }
    free(raw);
    if (out == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    out[used] = '\0';
    *text = out;
    *length = used;
    return FAHR_OK;
}

static void read_failure(struct local *local, const struct fahr_config *config,
                         const char *job_id, char *out, size_t size)
{
    char path[8400];
    job_path(local, config, job_id, "output/failure", path, sizeof path);
    FILE *file = fopen(path, "r");
    if (file == NULL)
        return;
    size_t n = fread(out, 1, size - 1, file);
    fclose(file);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r'))
        n--;
    out[n] = '\0';
}

/* Without a failure file, the reason is the exit status and the last line
 * the job printed. */
static void last_output_line(struct local *local, const char *job_id, long long code, char *out,
                             size_t size)
{
    char *text = NULL;
    size_t length = 0;
    struct fahr_error ignored;
    const char *line = "";
    size_t line_length = 0;
    if (container_log(local, job_id, &text, &length, &ignored) == FAHR_OK) {
        while (length > 0 && (text[length - 1] == '\n' || text[length - 1] == '\r'))
            length--;
        size_t start = length;
        while (start > 0 && text[start - 1] != '\n')
            start--;
        line = text + start;
        line_length = length - start;
    }
    if (line_length > 0)
        snprintf(out, size, "exit status %lld: %.*s", code, (int)line_length, line);
    else
        snprintf(out, size, "the container exited with status %lld", code);
    free(text);
}

static int local_poll(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_job_status *status, struct fahr_error *err)
{
    struct local *local = state;
    char running[32];
    long long code;
    int rc = container_state(local, job_id, running, sizeof running, &code, err);
    if (rc != FAHR_OK)
        return rc;
    char marker[8400];
    job_path(local, config, job_id, "stopped", marker, sizeof marker);
    bool stopped = access(marker, F_OK) == 0;
    if (running[0] == '\0' || strcmp(running, "created") == 0) {
        status->state = FAHR_JOB_PENDING;
        snprintf(status->detail, sizeof status->detail, "Starting");
    } else if (!container_over(running)) {
        status->state = FAHR_JOB_RUNNING;
        snprintf(status->detail, sizeof status->detail, stopped ? "Stopping" : "Training");
    } else if (stopped) {
        status->state = FAHR_JOB_STOPPED;
        snprintf(status->detail, sizeof status->detail, "Stopped");
        snprintf(status->failure_reason, sizeof status->failure_reason, "stopped by fahr stop");
    } else if (code == 0) {
        status->state = FAHR_JOB_COMPLETED;
        snprintf(status->detail, sizeof status->detail, "Completed");
        char model[8400];
        job_path(local, config, job_id, "model", model, sizeof model);
        snprintf(status->artifact_uri, sizeof status->artifact_uri, "file://%.2030s", model);
    } else {
        status->state = FAHR_JOB_FAILED;
        snprintf(status->detail, sizeof status->detail, "Failed");
        read_failure(local, config, job_id, status->failure_reason,
                     sizeof status->failure_reason);
        if (status->failure_reason[0] == '\0')
            last_output_line(local, job_id, code, status->failure_reason,
                             sizeof status->failure_reason);
    }
    return FAHR_OK;
}

static int local_read_logs(void *state, const struct fahr_config *config, const char *job_id,
                           uint64_t *cursor, fahr_log_line_fn on_line, void *on_line_data,
                           struct fahr_error *err)
{
    (void)config;
    struct local *local = state;
    char running[32];
    long long code;
    int rc = container_state(local, job_id, running, sizeof running, &code, err);
    if (rc != FAHR_OK)
        return rc;
    bool over = container_over(running);
    char *text = NULL;
    size_t length = 0;
    if ((rc = container_log(local, job_id, &text, &length, err)) != FAHR_OK)
        return rc;
    /* `cursor` counts the lines delivered; a line still being written waits
     * for its newline unless the container is done. */
    uint64_t line = 0;
    size_t start = 0;
    while (start < length) {
        char *newline = memchr(text + start, '\n', length - start);
        if (newline == NULL && !over)
            break;
        size_t end = newline ? (size_t)(newline - text) : length;
        if (line >= *cursor) {
            if (on_line(on_line_data, text + start, end - start) != 0) {
                *cursor = line + 1;
                break;
            }
            *cursor = line + 1;
        }
        line++;
        start = end + 1;
    }
    free(text);
    return FAHR_OK;
}

static int local_stop(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_error *err)
{
    struct local *local = state;
    json_t *container = NULL;
    int rc = inspect(local, job_id, &container, err);
    if (rc != FAHR_OK)
        return rc;
    json_decref(container);
    char marker[8400], path[512];
    job_path(local, config, job_id, "stopped", marker, sizeof marker);
    int fd = create_private(marker);
    if (fd >= 0)
        close(fd);
    snprintf(path, sizeof path, "/containers/fahr-%s/stop?t=10", job_id);
    rc = docker_engine_call(local->host, &local->engine, "POST", path, NULL, NULL, NULL, err);
    return rc;
}

/* ---- fetch and list ---------------------------------------------------------- */

static int local_fetch(void *state, const struct fahr_fetch_request *request,
                       struct fahr_error *err)
{
    struct local *local = state;
    char model[8400];
    if (request->artifact_uri != NULL && strncmp(request->artifact_uri, "file://", 7) == 0) {
        snprintf(model, sizeof model, "%s", request->artifact_uri + 7);
    } else if (request->job_id != NULL) {
        struct fahr_job_status status = {.size = sizeof status};
        int rc = local_poll(state, request->config, request->job_id, &status, err);
        if (rc != FAHR_OK)
            return rc;
        if (status.state != FAHR_JOB_COMPLETED)
            return fahr_error_set(err, FAHR_ENOTFOUND, "job %s has not completed: no model",
                                  request->job_id);
        job_path(local, request->config, request->job_id, "model", model, sizeof model);
    } else {
        return fahr_error_set(err, FAHR_EINVAL,
                              "the local driver fetches jobs by name or file:// locations");
    }
    /* The model folder as a tar stream, placed by the host with the same
     * care as any downloaded archive. All of it: a model's .dockerignore is
     * a file of the model, not a rule. */
    struct tar_stream *stream;
    int rc = tar_stream_open(model, NULL, NULL, &stream, err);
    if (rc != FAHR_OK)
        return rc;
    const struct fahr_host *host = local->host;
    struct fahr_place *place = NULL;
    rc = host->place_open(request->dest_dir, request->overwrite, &place, err);
    char buffer[65536];
    ssize_t n = 0;
    struct fahr_error read_err = {{0}};
    while (rc == FAHR_OK && (n = tar_stream_read(stream, buffer, sizeof buffer, &read_err)) > 0)
        rc = host->place_archive(place, buffer, (size_t)n, err);
    /* A model file that cannot be read: its reason is the error. */
    if (rc == FAHR_OK && n < 0) {
        rc = FAHR_EFAIL;
        if (read_err.message[0] != '\0')
            *err = read_err;
        else
            fahr_error_set(err, rc, "cannot read the model in %s", model);
    }
    tar_stream_close(stream);
    if (rc != FAHR_OK) {
        host->place_abort(place);
        return rc;
    }
    return host->place_commit(place, err);
}

struct listed {
    char name[FAHR_JOB_ID_MAX];
    json_int_t created;
};

static int newest_first(const void *a, const void *b)
{
    const struct listed *x = a, *y = b;
    return (y->created > x->created) - (y->created < x->created);
}

static int local_list(void *state, const struct fahr_config *config, const char *image_name,
                      fahr_job_fn on_job, void *on_job_data, struct fahr_error *err)
{
    struct local *local = state;
    char base[4096];
    jobs_dir(local, config, base, sizeof base);
    DIR *dir = opendir(base);
    if (dir == NULL)
        return FAHR_OK; /* no jobs yet */
    struct listed *jobs = NULL;
    size_t count = 0;
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL) {
        if (!job_id_is_valid(entry->d_name))
            continue;
        char path[8400];
        snprintf(path, sizeof path, "%s/%s/job.json", base, entry->d_name);
        json_t *job = json_load_file(path, 0, NULL);
        const char *name = json_string_value(json_object_get(job, "image_name"));
        if (job != NULL && (image_name == NULL || (name && strcmp(name, image_name) == 0))) {
            struct listed *grown = realloc(jobs, (count + 1) * sizeof *grown);
            if (grown != NULL) {
                jobs = grown;
                snprintf(jobs[count].name, sizeof jobs[count].name, "%s", entry->d_name);
                jobs[count].created = json_integer_value(json_object_get(job, "created"));
                count++;
            }
        }
        json_decref(job);
    }
    closedir(dir);
    if (count > 1)
        qsort(jobs, count, sizeof *jobs, newest_first);
    for (size_t i = 0; i < count; i++) {
        struct fahr_job_status status = {.size = sizeof status};
        struct fahr_error poll_err;
        /* A job whose container is gone is listed as stopped. */
        if (local_poll(state, config, jobs[i].name, &status, &poll_err) != FAHR_OK) {
            status.state = FAHR_JOB_STOPPED;
            snprintf(status.detail, sizeof status.detail, "container removed");
        }
        struct fahr_job_summary summary = {sizeof summary, jobs[i].name, status.state,
                                           (int64_t)jobs[i].created, status.detail};
        if (on_job(on_job_data, &summary) != 0)
            break;
    }
    free(jobs);
    (void)err; /* a listing of local folders does not fail */
    return FAHR_OK;
}

static const struct fahr_train_ops local_ops = {
    FAHR_STRUCT_HEADER(struct fahr_train_ops),
    .input = FAHR_TRAIN_IMAGE,
    .submit = local_submit,
    .poll = local_poll,
    .read_logs = local_read_logs,
    .stop = local_stop,
    .fetch = local_fetch,
    .list = local_list,
    .poll_interval_ms = 300, /* the container's output, live */
    .check = local_check,
};

FAHR_EXPORT const struct fahr_plugin fahr_plugin = {
    FAHR_PLUGIN_HEADER,
    .kind = FAHR_DRIVER_TRAIN,
    .name = "local",
    .version = FAHR_DRIVER_VERSION,
    .description = "train on this machine in the local Docker engine, under SageMaker's "
                   "container contract",
    .config_keys = local_keys,
    .open = local_open,
    .close = local_close,
    .train = &local_ops,
};
