/* units.c: the driver's own checks of what the bench cannot vary: every
 * Vertex job state, job ids, labels, the accelerator enum and the model's
 * location. Run by `meson test -C BUILD` of this project (TAP). */
#include "../vertex.h"

#include <stdio.h>
#include <string.h>

/* settings.c's links to the rest of the driver, unused by what is tested. */
const struct fahr_host *vertex_host;
int vertex_credential(struct vertex *vertex, struct fahr_error *err)
{
    (void)vertex;
    return fahr_error_set(err, FAHR_EFAIL, "no credential in the unit tests");
}
int vertex_auth_project(struct vertex_auth *auth, char *project, size_t size,
                        struct fahr_error *err)
{
    (void)auth, (void)project, (void)size;
    return fahr_error_set(err, FAHR_EFAIL, "no credential in the unit tests");
}

static int failed, count;

static void expect(int ok, const char *what)
{
    count++;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", count, what);
    failed |= !ok;
}

static void states(void)
{
    static const struct { const char *given; enum fahr_job_state state; } cases[] = {
        {"JOB_STATE_QUEUED", FAHR_JOB_PENDING},     {"JOB_STATE_PENDING", FAHR_JOB_PENDING},
        {"JOB_STATE_RUNNING", FAHR_JOB_RUNNING},    {"JOB_STATE_CANCELLING", FAHR_JOB_RUNNING},
        {"JOB_STATE_UPDATING", FAHR_JOB_RUNNING},   {"JOB_STATE_SUCCEEDED", FAHR_JOB_COMPLETED},
        {"JOB_STATE_FAILED", FAHR_JOB_FAILED},      {"JOB_STATE_EXPIRED", FAHR_JOB_FAILED},
        {"JOB_STATE_PARTIALLY_SUCCEEDED", FAHR_JOB_FAILED},
        {"JOB_STATE_CANCELLED", FAHR_JOB_STOPPED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "state %s", cases[i].given);
        expect(vertex_state_of(cases[i].given) == cases[i].state, what);
    }
    expect(vertex_state_of("JOB_STATE_UNSPECIFIED") == 0, "UNSPECIFIED is not guessed");
    expect(vertex_state_of("SUCCEEDED") == 0, "a state without its prefix is not guessed");
    expect(vertex_state_of(NULL) == 0, "no state");
}

static void job_ids(void)
{
    struct vertex_job job;
    struct fahr_error err = {{0}};
    expect(vertex_job_parse("projects/123456/locations/us-central1/customJobs/987", &job,
                            &err) == FAHR_OK &&
               strcmp(job.project, "123456") == 0 && strcmp(job.region, "us-central1") == 0 &&
               strcmp(job.id, "987") == 0,
           "projects/P/locations/L/customJobs/ID");
    const char *bad[] = {
        "", "projects/p/locations/l/customJobs/", "projects/p/locations/l/customJobs/1/",
        "projects/p/locations/l/customJobs/1/x", "projects/p/locations/l/trainingPipelines/1",
        "projects//locations/l/customJobs/1", "projects/p/locations/../customJobs/1",
        "projects/p/locations/l/customJobs/1?alt=media", "projects/p/locations/l/customJobs/1 2",
        "project/p/locations/l/customJobs/1", "alice/foo-model/12",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[128];
        snprintf(what, sizeof what, "job id '%s' refused", bad[i]);
        expect(vertex_job_parse(bad[i], &job, &err) == FAHR_EINVAL, what);
    }
}

static void labels_and_accelerators(void)
{
    char label[64];
    vertex_label_value("Foo/model.v2", label, sizeof label);
    expect(strcmp(label, "foo-model-v2") == 0, "an image name as a label value");
    vertex_label_value("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
                       label, sizeof label);
    expect(strlen(label) == 63, "a label value is cut at 63");
    expect(vertex_accelerator_known("NVIDIA_TESLA_T4"), "NVIDIA_TESLA_T4 is known");
    expect(vertex_accelerator_known("TPU_V5_LITEPOD"), "TPU_V5_LITEPOD is known");
    expect(!vertex_accelerator_known("ACCELERATOR_TYPE_UNSPECIFIED"), "UNSPECIFIED is not");
    expect(!vertex_accelerator_known("nvidia_tesla_t4"), "the enum's spelling only");
}

static void model_uris(void)
{
    char uri[FAHR_URI_MAX];
    json_t *job = json_pack("{s:{s:{s:s}}}", "jobSpec", "baseOutputDirectory",
                            "outputUriPrefix", "gs://b/out/job-1/");
    expect(vertex_model_uri(job, uri, sizeof uri) == 0 && strcmp(uri, "gs://b/out/job-1/model") == 0,
           "the model is under baseOutputDirectory/model");
    json_decref(job);
    job = json_pack("{s:{s:{s:s}}}", "jobSpec", "baseOutputDirectory", "outputUriPrefix",
                    "/tmp/x");
    expect(vertex_model_uri(job, uri, sizeof uri) != 0, "a base that is not gs:// is refused");
    json_decref(job);
}

int main(void)
{
    states();
    job_ids();
    labels_and_accelerators();
    model_uris();
    printf("1..%d\n", count);
    return failed;
}
