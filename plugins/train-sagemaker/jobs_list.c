/* plugins/train-sagemaker/jobs_list.c: the jobs of one image, for `fahr
 * jobs IMAGE` and `fahr fetch DIR IMAGE`. SageMaker lists jobs by a part of
 * their name only, and names do not tell images apart: "foo/model" and
 * "foo-model" both make foo-model-..., and "foo/model-v2" makes names that
 * begin the same. So only names of exactly the form fahr gives the image's
 * jobs are kept, and each of those is asked whose it is: the fahr:image tag
 * fahr sets when it creates a job, or, on a job made before fahr set it,
 * the repository of the image it ran. One ListTags per job of that form. */
#include <stdio.h>
#include <string.h>

#include "job_name.h"
#include "sagemaker.h"

struct listing {
    struct sagemaker *sm;
    const struct fahr_config *config;
    char image[512]; /* without a tag; "" for every job */
    char prefix[64];
    fahr_job_fn on_job;
    void *on_job_data;
    bool stopped;
};

/* "HOST[:PORT]/foo/model:TAG" -> "foo/model": the first component is a
 * registry host where it has '.' or ':' or is "localhost". */
static void repository_path(const char *reference, char *out, size_t size)
{
    char untagged[512];
    job_name_image_of(reference, untagged, sizeof untagged);
    const char *path = untagged, *slash = strchr(untagged, '/');
    if (slash != NULL) {
        size_t first = (size_t)(slash - untagged);
        if (memchr(untagged, '.', first) || memchr(untagged, ':', first) ||
            (first == 9 && strncmp(untagged, "localhost", 9) == 0))
            path = slash + 1;
    }
    snprintf(out, size, "%s", path);
}

/* The job's fahr:image tag into `image`, "" where it has none. */
static int image_tag(struct listing *l, const char *arn, char *image, size_t size,
                     struct fahr_error *err)
{
    char next[2048] = "";
    image[0] = '\0';
    do {
        json_t *input = json_pack("{s:s}", "ResourceArn", arn), *output = NULL;
        if (next[0])
            json_object_set_new(input, "NextToken", json_string(next));
        int rc = aws_json_call(&l->sm->client, &aws_sagemaker, "ListTags", input, &output, err);
        json_decref(input);
        if (rc != FAHR_OK)
            return rc;
        size_t i;
        json_t *tag;
        json_array_foreach(json_object_get(output, "Tags"), i, tag)
        {
            const char *value = json_string_value(json_object_get(tag, "Value"));
            if (value != NULL &&
                strcmp(json_string_value(json_object_get(tag, "Key")) ?: "", IMAGE_TAG_KEY) == 0)
                snprintf(image, size, "%s", value);
        }
        const char *token = json_string_value(json_object_get(output, "NextToken"));
        snprintf(next, sizeof next, "%s", token && !image[0] ? token : "");
        json_decref(output);
    } while (next[0]);
    return FAHR_OK;
}

/* The image the job ran, as fahr named it: its tag, or its training
 * image's repository. */
static int image_of_job(struct listing *l, const char *name, const char *arn, char *image,
                        size_t size, struct fahr_error *err)
{
    int rc = arn != NULL ? image_tag(l, arn, image, size, err) : FAHR_OK;
    if (rc != FAHR_OK || (arn != NULL && image[0]))
        return rc;
    json_t *job = NULL;
    if ((rc = sagemaker_describe(l->sm, l->config, name, &job, err)) != FAHR_OK)
        return rc;
    const char *training_image = json_string_value(
        json_object_get(json_object_get(job, "AlgorithmSpecification"), "TrainingImage"));
    repository_path(training_image ? training_image : "", image, size);
    json_decref(job);
    return FAHR_OK;
}

/* One page of ListTrainingJobs: the image's jobs go to on_job. */
static int list_page(struct listing *l, json_t *page, struct fahr_error *err)
{
    size_t i;
    json_t *job;
    json_array_foreach(json_object_get(page, "TrainingJobSummaries"), i, job)
    {
        const char *name = json_string_value(json_object_get(job, "TrainingJobName"));
        if (name == NULL)
            continue;
        if (l->image[0]) {
            if (!job_name_is_derived_from(name, l->image))
                continue;
            char image[512];
            int rc = image_of_job(l, name,
                                  json_string_value(json_object_get(job, "TrainingJobArn")),
                                  image, sizeof image, err);
            if (rc != FAHR_OK)
                return rc;
            if (strcmp(image, l->image) != 0)
                continue;
        }
        const char *status = json_string_value(json_object_get(job, "TrainingJobStatus"));
        /* Unix time, as a JSON number, in SageMaker's answers. */
        json_t *created = json_object_get(job, "CreationTime");
        struct fahr_job_summary summary = {
            sizeof summary, name, sagemaker_state_of(status),
            json_is_number(created) ? (int64_t)json_number_value(created) : 0, status};
        if (l->on_job(l->on_job_data, &summary) != 0) {
            l->stopped = true;
            break;
        }
    }
    return FAHR_OK;
}

int sagemaker_list(void *state, const struct fahr_config *config, const char *image_name,
                   fahr_job_fn on_job, void *on_job_data, struct fahr_error *err)
{
    struct listing l = {.sm = state, .config = config, .on_job = on_job,
                        .on_job_data = on_job_data};
    int rc = sagemaker_client(l.sm, config, err);
    if (rc != FAHR_OK)
        return rc;
    if (image_name != NULL && image_name[0]) {
        /* As typed: foo/model:latest is foo/model. */
        job_name_image_of(image_name, l.image, sizeof l.image);
        job_name_prefix(l.image, l.prefix, sizeof l.prefix);
    }
    char next[2048] = "";
    do {
        json_t *input = json_pack("{s:s, s:s, s:i}", "SortBy", "CreationTime", "SortOrder",
                                  "Descending", "MaxResults", 100);
        if (l.prefix[0])
            json_object_set_new(input, "NameContains", json_string(l.prefix));
        if (next[0])
            json_object_set_new(input, "NextToken", json_string(next));
        json_t *output = NULL;
        rc = aws_json_call(&l.sm->client, &aws_sagemaker, "ListTrainingJobs", input, &output,
                           err);
        json_decref(input);
        if (rc == FAHR_OK)
            rc = list_page(&l, output, err);
        const char *token = json_string_value(json_object_get(output, "NextToken"));
        snprintf(next, sizeof next, "%s", token && rc == FAHR_OK && !l.stopped ? token : "");
        json_decref(output);
    } while (next[0]);
    return rc;
}
