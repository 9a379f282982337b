/* driver_units.c: vd2's parts against a scripted server (fake_host.c):
 * the logs' continuation across pages and polls, the CustomJob's body, the
 * repository made on the first publish only, and a job's state. TAP. */
#define _GNU_SOURCE
#include "fake_host.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ROOT "http://127.0.0.1:4/"

/* ---- a host with the config, job names and pushes fake_host lacks ---- */
static const char *config[][2] = {
    {"project", "my-project"}, {"region", "us-central1"}, {"output_path", "gs://b/runs"},
    {"repository", "fahr"},    {"registry", "127.0.0.1:5"}, {"machine_type", "n1-standard-4"},
    {"replica_count", "3"},    {"boot_disk_gb", "100"},     {"timeout", "60"},
    {"spot", "1"},             {NULL, NULL},
};
static struct fahr_host host;
static char pushed_ref[512], pushed_user[64], pushed_password[64];

static int without_project; /* --config.project not given */

static const char *config_get(const struct fahr_config *unused, const char *key)
{
    (void)unused;
    if (without_project && strcmp(key, "project") == 0)
        return NULL;
    for (size_t i = 0; config[i][0]; i++)
        if (strcmp(config[i][0], key) == 0)
            return config[i][1];
    return NULL;
}

static int job_name(const char *image, size_t max, char *out, size_t size, struct fahr_error *err)
{
    (void)image, (void)max, (void)err;
    snprintf(out, size, "foo-model-20261128-010203-abcd");
    return FAHR_OK;
}

static int push_image(const struct fahr_image *image, const char *ref,
                      const struct fahr_registry_auth *auth, struct fahr_image *pushed,
                      struct fahr_error *err)
{
    (void)image, (void)pushed, (void)err;
    snprintf(pushed_ref, sizeof pushed_ref, "%s", ref);
    snprintf(pushed_user, sizeof pushed_user, "%s", auth->username);
    snprintf(pushed_password, sizeof pushed_password, "%s", auth->password);
    return FAHR_OK;
}

static int token_answer(const struct fake_request *request, struct fake_answer *answer)
{
    if (fake_metadata_answer(request, answer))
        return 1;
    if (strstr(request->url, "/computeMetadata/") == NULL)
        return 0;
    answer->status = 200;
    strcpy(answer->body, "{\"access_token\":\"tok\",\"expires_in\":3599}");
    return 1;
}

/* ---- Logging: entries of one timestamp, two a page ---- */
static int log_entries, log_requests, continued, by_project_id;

static void logging_server(const struct fake_request *request, struct fake_answer *answer)
{
    if (token_answer(request, answer))
        return;
    log_requests++;
    json_t *body = json_loadb(request->body, request->body_length, 0, NULL);
    const char *resource = json_string_value(json_array_get(json_object_get(body, "resourceNames"), 0));
    by_project_id += resource && strcmp(resource, "projects/my-project") == 0;
    const char *filter = json_string_value(json_object_get(body, "filter"));
    const char *token = json_string_value(json_object_get(body, "pageToken"));
    int first = token ? atoi(token) : 0;
    const char *after = filter ? strstr(filter, "insertId>\"") : NULL;
    if (after != NULL && !token) {
        first = atoi(after + 10) + 1;
        continued += strstr(filter, "timestamp=\"2026-11-28T01:00:00Z\"") != NULL;
    }
    json_t *entries = json_array();
    for (int i = first; i < log_entries && i < first + 2; i++) {
        char id[16], text[32];
        snprintf(id, sizeof id, "%04d", i);
        snprintf(text, sizeof text, "line %d\n", i);
        json_array_append_new(entries, json_pack("{s:s, s:s, s:s}", "timestamp",
                                                 "2026-11-28T01:00:00Z", "insertId", id,
                                                 "textPayload", text));
    }
    json_t *out = json_pack("{s:o}", "entries", entries);
    if (first + 2 < log_entries)
        json_object_set_new(out, "nextPageToken", json_sprintf("%d", first + 2));
    char *text = json_dumps(out, 0);
    answer->status = 200;
    snprintf(answer->body, sizeof answer->body, "%s", text);
    free(text), json_decref(out), json_decref(body);
}

static char lines[4096];
static int on_line(void *data, const char *line, size_t length)
{
    (void)data;
    if (strlen(lines) + length + 2 > sizeof lines)
        return 1; /* a driver that repeats itself: the test fails */
    strncat(lines, line, length);
    strcat(lines, "|");
    return 0;
}

static void logs(struct vertex *vertex)
{
    struct fahr_log_cursor cursor = {.size = sizeof cursor};
    struct fahr_error err = {{0}};
    const char *job = "projects/123/locations/us-central1/customJobs/42";
    fake_server = logging_server;
    log_entries = 5;
    int rc = vertex_read_logs2(vertex, NULL, job, &cursor, 0, on_line, NULL, &err);
    expect(rc == FAHR_OK && strcmp(lines, "line 0|line 1|line 2|line 3|line 4|") == 0,
           "every entry of three pages once, in order");
    log_entries = 8;
    rc = vertex_read_logs2(vertex, NULL, job, &cursor, 1, on_line, NULL, &err);
    expect(rc == FAHR_OK && strcmp(lines, "line 0|line 1|line 2|line 3|line 4|line 5|line 6|"
                                          "line 7|") == 0,
           "the next poll goes on after the last entry, none twice");
    expect(continued == 1, "with gcloud's (timestamp=T AND insertId>I) continuation");
    expect(by_project_id == log_requests, "Logging asked for the project id, not its number");
}

/* ---- Cloud Storage: job 43's model is a lone model.tar.gz, job 44's none ---- */
static int list_requests, media_requests;
static const char archive[] = "not really gzip";

static int storage_answer(const char *path, struct fake_answer *answer)
{
    char crc[16], *text;
    if (strncmp(path, "storage/v1/b/bkt/o?prefix=runs%2Fjob-", 37) == 0) {
        list_requests++;
        vertex_crc32c_base64(vertex_crc32c(0, archive, strlen(archive)), crc);
        if (strncmp(path + 37, "43%2Fmodel%2F", 13) != 0)
            strcpy(answer->body, "{\"kind\":\"storage#objects\"}");
        else if (asprintf(&text, "{\"items\":[{\"name\":\"runs/job-43/model/model.tar.gz\","
                          "\"size\":\"%zu\",\"crc32c\":\"%s\"}]}", strlen(archive), crc) > 0)
            snprintf(answer->body, sizeof answer->body, "%s", text), free(text);
    } else if (strcmp(path, "download/storage/v1/b/bkt/o/runs%2Fjob-43%2Fmodel%2Fmodel.tar.gz"
                            "?alt=media") == 0) {
        media_requests++;
        strcpy(answer->body, archive);
    } else {
        return 0;
    }
    answer->status = 200;
    return 1;
}

/* ---- Artifact Registry and Vertex: what publish and submit send ---- */
static int repository_gets, repository_creates, operation_gets;
static json_t *created_job;

static void cloud_server(const struct fake_request *request, struct fake_answer *answer)
{
    if (token_answer(request, answer))
        return;
    const char *path = request->url + strlen(ROOT);
    answer->status = 200;
    if (strcmp(path, "v1/projects/my-project/locations/us-central1/repositories/fahr") == 0) {
        repository_gets++;
        if (repository_creates == 0) {
            answer->status = 404;
            strcpy(answer->body, "{\"error\":{\"code\":404,\"message\":\"no\",\"status\":\"NOT_FOUND\"}}");
        } else {
            strcpy(answer->body, "{\"name\":\"x\"}");
        }
    } else if (strcmp(path, "v1/projects/my-project/locations/us-central1/repositories?"
                            "repositoryId=fahr") == 0 && strcmp(request->method, "POST") == 0) {
        repository_creates++;
        strcpy(answer->body, "{\"name\":\"projects/my-project/locations/us-central1/operations/7\"}");
    } else if (strcmp(path, "v1/projects/my-project/locations/us-central1/operations/7") == 0) {
        operation_gets++;
        strcpy(answer->body, "{\"name\":\"projects/my-project/locations/us-central1/operations/7\","
                             "\"done\":true,\"response\":{}}");
    } else if (strcmp(path, "v1/projects/my-project/locations/us-central1/customJobs") == 0) {
        json_decref(created_job);
        created_job = json_loadb(request->body, request->body_length, 0, NULL);
        strcpy(answer->body, "{\"name\":\"projects/123/locations/us-central1/customJobs/42\"}");
    } else if (strcmp(path, "v1/projects/123/locations/us-central1/customJobs/42") == 0) {
        strcpy(answer->body, "{\"state\":\"JOB_STATE_FAILED\",\"error\":{\"code\":13,"
                             "\"message\":\"The replica workerpool0-0 exited with a non-zero "
                             "status of 3.\\n\"},\"jobSpec\":{\"baseOutputDirectory\":"
                             "{\"outputUriPrefix\":\"gs://b/runs/foo-model-1\"}}}");
    } else if (strcmp(path, "v1/projects/123/locations/us-central1/customJobs/43") == 0 ||
               strcmp(path, "v1/projects/123/locations/us-central1/customJobs/44") == 0) {
        snprintf(answer->body, sizeof answer->body, "{\"state\":\"JOB_STATE_SUCCEEDED\","
                 "\"jobSpec\":{\"baseOutputDirectory\":{\"outputUriPrefix\":"
                 "\"gs://bkt/runs/job-%s\"}}}", path + strlen(path) - 2);
    } else if (storage_answer(path, answer)) {
        return;
    } else {
        answer->status = 400;
        snprintf(answer->body, sizeof answer->body, "{\"error\":{\"code\":400,"
                 "\"message\":\"unexpected %s\",\"status\":\"INVALID_ARGUMENT\"}}", path);
    }
}

static const char *env_of(json_t *env, const char *name)
{
    size_t i;
    json_t *variable;
    json_array_foreach(env, i, variable)
        if (strcmp(json_string_value(json_object_get(variable, "name")), name) == 0)
            return json_string_value(json_object_get(variable, "value"));
    return "";
}

static void publish_and_submit(struct vertex *vertex)
{
    struct fahr_hyperparameter hyperparameters[] = {{"epochs", "3"}, {"lr", "0.1"}};
    struct fahr_channel channels[] = {{"train", "gs://b/data", 0}, {"test", "gs://b/t/x.csv", 0}};
    struct fahr_train_request request = {
        .size = sizeof request, .image_name = "foo/model", .image_ref = "foo/model:latest",
        .hyperparameters = hyperparameters, .hyperparameter_count = 2,
        .channels = channels, .channel_count = 2,
    };
    struct fahr_error err = {{0}};
    char ref[512], job[FAHR_JOB_ID_MAX];
    fake_server = cloud_server;
    int rc = vertex_publish(vertex, &request, ref, sizeof ref, &err);
    expect(rc == FAHR_OK && repository_gets == 1 && repository_creates == 1 &&
               operation_gets == 1, "a missing repository is made, its Operation polled till done");
    expect(strcmp(ref, "127.0.0.1:5/my-project/fahr/foo/model:foo-model-20261128-010203-abcd") == 0 &&
               strcmp(pushed_ref, ref) == 0, "the image's place: HOST/PROJECT/REPO/IMAGE:NAME");
    expect(strcmp(pushed_user, "oauth2accesstoken") == 0 && strcmp(pushed_password, "tok") == 0,
           "pushed with the token as oauth2accesstoken's password");
    rc = vertex_publish(vertex, &request, ref, sizeof ref, &err);
    expect(rc == FAHR_OK && repository_gets == 2 && repository_creates == 1,
           "a repository there is not made again");

    rc = vertex_submit(vertex, &request, ref, job, sizeof job, &err);
    expect(rc == FAHR_OK && strcmp(job, "projects/123/locations/us-central1/customJobs/42") == 0,
           "the job's id is the name Vertex gave it");
    json_t *spec = json_object_get(created_job, "jobSpec");
    json_t *pools = json_object_get(spec, "workerPoolSpecs");
    json_t *chief = json_array_get(pools, 0), *container = json_object_get(chief, "containerSpec");
    json_t *env = json_object_get(container, "env");
    expect(json_array_size(pools) == 2 &&
               !strcmp(json_string_value(json_object_get(chief, "replicaCount")), "1") &&
               !strcmp(json_string_value(json_object_get(json_array_get(pools, 1), "replicaCount")), "2"),
           "3 replicas: a chief pool of 1 and a pool of 2 (int64 as strings)");
    expect(!strcmp(json_string_value(json_object_get(container, "imageUri")), ref) &&
               !strcmp(json_string_value(json_array_get(json_object_get(container, "args"), 0)), "train") &&
               json_array_size(json_object_get(container, "args")) == 1,
           "the container runs IMAGE train");
    expect(!strcmp(env_of(env, "FAHR_MODEL_DIR_URI"), "gs://b/runs/foo-model-20261128-010203-abcd/model") &&
               !strcmp(json_string_value(json_object_get(json_object_get(spec, "baseOutputDirectory"),
                                                         "outputUriPrefix")),
                       "gs://b/runs/foo-model-20261128-010203-abcd"),
           "the model goes to AIP_MODEL_DIR under the job's output");
    expect(!strcmp(env_of(env, "FAHR_HYPERPARAMETERS"), "{\"epochs\":\"3\",\"lr\":\"0.1\"}") &&
               !strcmp(env_of(env, "FAHR_CHANNELS"), "train=gs://b/data\ntest=gs://b/t/x.csv"),
           "hyperparameters as JSON, channels as NAME=LOCATION lines");
    json_t *scheduling = json_object_get(spec, "scheduling");
    expect(!strcmp(json_string_value(json_object_get(scheduling, "timeout")), "60s") &&
               !strcmp(json_string_value(json_object_get(scheduling, "strategy")), "SPOT"),
           "timeout and spot into scheduling");
    json_t *labels = json_object_get(created_job, "labels");
    expect(!strcmp(json_string_value(json_object_get(labels, "fahr-image")), "foo-model") &&
               !strcmp(json_string_value(json_object_get(labels, "fahr")), "1"),
           "labels that name the image");
}

static void state(struct vertex *vertex)
{
    struct fahr_job_status status = {.size = sizeof status};
    struct fahr_error err = {{0}};
    int rc = vertex_poll(vertex, NULL, "projects/123/locations/us-central1/customJobs/42",
                         &status, &err);
    expect(rc == FAHR_OK && status.state == FAHR_JOB_FAILED &&
               strstr(status.failure_reason, "non-zero status of 3. ") != NULL &&
               !strcmp(status.artifact_uri, "gs://b/runs/foo-model-1/model"),
           "a failed job: Vertex's message (no newline), the model's place");
    struct fahr_fetch_request fetch = {
        .size = sizeof fetch, .job_id = "projects/123/locations/us-central1/customJobs/42",
        .dest_dir = "/nonexistent",
    };
    rc = vertex_fetch(vertex, &fetch, &err);
    expect(rc == FAHR_EINVAL && strstr(err.message, "has not succeeded (FAILED)") != NULL,
           "the model of a failed job is refused");
}

/* A job's model: listed once, by the download itself. */
static void fetch(struct vertex *vertex)
{
    struct fahr_fetch_request request = {
        .size = sizeof request, .job_id = "projects/123/locations/us-central1/customJobs/43",
        .dest_dir = "/nonexistent",
    };
    struct fahr_error err = {{0}};
    fake_server = cloud_server;
    fake_reset();
    list_requests = media_requests = 0;
    int rc = vertex_fetch(vertex, &request, &err);
    expect(rc == FAHR_OK && list_requests == 1 && media_requests == 1 &&
               !strcmp(fake_placed_names, "model.tar.gz\n"),
           "a job's fetch lists its model once (a lone model.tar.gz placed as written)");
    if (rc != FAHR_OK)
        printf("# %s\n", err.message);
    request.job_id = "projects/123/locations/us-central1/customJobs/44";
    list_requests = 0;
    rc = vertex_fetch(vertex, &request, &err);
    expect(rc == FAHR_ENOTFOUND && list_requests == 1 &&
               !strcmp(err.message, "there is no model under gs://bkt/runs/job-44/model/"),
           "a job without a model: one listing, one line");
}

/* No --config.project and a metadata credential: the machine's project. */
static void project_from_metadata(void)
{
    struct vertex vertex = {0};
    struct vertex_settings settings;
    struct fahr_error err = {{0}};
    fake_server = cloud_server;
    without_project = 1, fake_probes = 0;
    int rc = vertex_settings_read(&vertex, NULL, &settings, &err);
    expect(rc == FAHR_OK && !strcmp(settings.project, FAKE_METADATA_PROJECT) && fake_probes == 1,
           "no project given: the metadata server's");
    if (rc != FAHR_OK)
        printf("# %s\n", err.message);
    setenv("GOOGLE_CLOUD_PROJECT", "env-project", 1);
    rc = vertex_settings_read(&vertex, NULL, &settings, &err);
    expect(rc == FAHR_OK && !strcmp(settings.project, "env-project"),
           "$GOOGLE_CLOUD_PROJECT before the credential's");
    unsetenv("GOOGLE_CLOUD_PROJECT");
    setenv("GCLOUD_PROJECT", "legacy-project", 1);
    rc = vertex_settings_read(&vertex, NULL, &settings, &err);
    expect(rc == FAHR_OK && !strcmp(settings.project, "legacy-project"),
           "then google-auth's older $GCLOUD_PROJECT");
    unsetenv("GCLOUD_PROJECT");
    without_project = 0;
    vertex_auth_close(vertex.auth);
}

int main(void)
{
    char dir[] = "/tmp/vertex-driver-XXXXXX";
    if (mkdtemp(dir) == NULL)
        return 1;
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    setenv("CLOUDSDK_CONFIG", dir, 1);
    setenv("GCE_METADATA_HOST", "127.0.0.1:7", 1);
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING", ROOT, 1);
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM", ROOT, 1);
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY", ROOT, 1);
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", ROOT "storage/v1/", 1);
    unsetenv("GOOGLE_CLOUD_PROJECT");
    unsetenv("GCLOUD_PROJECT");
    host = fake_host;
    host.config_get = config_get;
    host.job_name = job_name;
    host.push_image = push_image;
    vertex_host = &host;
    struct vertex vertex = {0};
    logs(&vertex);
    publish_and_submit(&vertex);
    state(&vertex);
    fetch(&vertex);
    project_from_metadata();
    vertex_auth_close(vertex.auth);
    json_decref(created_job);
    rmdir(dir);
    return expect_done();
}
