/* plugins/train-sagemaker/prune.c: `fahr prune --registry` for SageMaker.
 * Each fit pushes a new tag REPOSITORY:STAMP (publish.c, job_name_stamp's
 * YYYYMMDD-HHMMSS) into the account's ECR and nothing else removes it. This
 * removes, in the account's ECR only, the tags of that form in fahr's
 * repositories that no training job which has not ended (InProgress,
 * Stopping) uses as its TrainingImage. Without request->remote it does
 * nothing: what this driver leaves is all remote.
 *
 * Which repositories are fahr's: those tagged fahr:image with their own
 * name, the tag publish.c gives a repository it creates for an image. Not
 * "the repositories this account's jobs ran images from": a job's image may
 * lie in a repository fahr only pushed to (one --config.registry names, or
 * one the user made and fahr found), whose tags are not fahr's to remove,
 * and knowing every job's image takes a DescribeTrainingJob each. The cost:
 * a repository an earlier fahr made is not looked at until it is tagged
 * (`aws ecr tag-resource --resource-arn ARN --tags Key=fahr:image,Value=NAME`).
 *
 * A tag's age for --older-than is the later of ECR's imagePushedAt (the
 * image's first push: a later fit of the same image only adds a tag) and
 * the time its stamp names. */
#define _GNU_SOURCE
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "prune_report.h"
#include "sagemaker.h"

enum {
    ECR_PAGE = 1000,       /* DescribeRepositories' and DescribeImages' maxResults */
    ECR_DELETE_BATCH = 100 /* BatchDeleteImage takes at most 100 imageIds */
};

struct pruning {
    struct sagemaker *sm;
    const struct fahr_prune_request *request;
    json_t *in_use; /* the unended jobs' TrainingImage values, as keys */
};

/* The Unix time a tag of job_name_stamp's form names; -1 for any other tag. */
static int64_t stamp_time(const char *tag)
{
    if (tag == NULL || strlen(tag) != 15 || strspn(tag, "0123456789") != 8 || tag[8] != '-' ||
        strspn(tag + 9, "0123456789") != 6)
        return -1;
    struct tm tm = {0};
    if (sscanf(tag, "%4d%2d%2d-%2d%2d%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &tm.tm_sec) != 6)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    return (int64_t)timegm(&tm);
}

static void report(const struct pruning *p, const char *reference, uint64_t bytes)
{
    prune_report(p->request, FAHR_PRUNE_REMOTE_IMAGE, reference, bytes);
}

/* The TrainingImage of every job that has not ended into p->in_use. All
 * jobs are listed (the status in ListTrainingJobs' summaries), and only the
 * unended ones described. */
static int images_in_use(struct pruning *p, struct fahr_error *err)
{
    char next[2048] = "";
    int rc;
    do {
        json_t *input = json_pack("{s:i}", "MaxResults", 100), *output = NULL;
        if (next[0])
            json_object_set_new(input, "NextToken", json_string(next));
        rc = aws_json_call(&p->sm->client, &aws_sagemaker, "ListTrainingJobs", input, &output,
                           err);
        json_decref(input);
        size_t i;
        json_t *summary;
        json_array_foreach(rc == FAHR_OK ? json_object_get(output, "TrainingJobSummaries") : NULL,
                           i, summary)
        {
            const char *name = json_string_value(json_object_get(summary, "TrainingJobName"));
            const char *status = json_string_value(json_object_get(summary, "TrainingJobStatus"));
            if (name == NULL || status == NULL ||
                (strcmp(status, "InProgress") != 0 && strcmp(status, "Stopping") != 0))
                continue;
            json_t *job = NULL;
            if ((rc = sagemaker_describe(p->sm, NULL, name, &job, err)) != FAHR_OK)
                break;
            const char *image = json_string_value(json_object_get(
                json_object_get(job, "AlgorithmSpecification"), "TrainingImage"));
            if (image != NULL)
                json_object_set_new(p->in_use, image, json_true());
            json_decref(job);
        }
        const char *token = json_string_value(json_object_get(output, "NextToken"));
        snprintf(next, sizeof next, "%s", rc == FAHR_OK && token ? token : "");
        json_decref(output);
    } while (next[0]);
    return rc;
}

/* Whether the repository carries fahr:image with its own name. */
static int repository_is_fahrs(struct pruning *p, json_t *repository, bool *fahrs,
                               struct fahr_error *err)
{
    const char *arn = json_string_value(json_object_get(repository, "repositoryArn"));
    const char *name = json_string_value(json_object_get(repository, "repositoryName"));
    *fahrs = false;
    if (arn == NULL || name == NULL)
        return FAHR_OK;
    json_t *input = json_pack("{s:s}", "resourceArn", arn), *output = NULL;
    int rc = aws_json_call(&p->sm->client, &aws_ecr, "ListTagsForResource", input, &output, err);
    json_decref(input);
    size_t i;
    json_t *tag;
    json_array_foreach(rc == FAHR_OK ? json_object_get(output, "tags") : NULL, i, tag)
    {
        const char *key = json_string_value(json_object_get(tag, "Key"));
        const char *value = json_string_value(json_object_get(tag, "Value"));
        if (key != NULL && value != NULL && strcmp(key, IMAGE_TAG_KEY) == 0 &&
            strcmp(value, name) == 0)
            *fahrs = true;
    }
    json_decref(output);
    return rc;
}

/* One image of DescribeImages: its stamp tags that go into `doomed`
 * ({"imageTag": TAG}) and their bytes into `bytes` (TAG -> size, given to
 * the last of them where no tag of the image stays). */
static void image_tags_going(struct pruning *p, const char *uri, json_t *image, json_t *doomed,
                             json_t *bytes)
{
    char reference[2048];
    const char *digest = json_string_value(json_object_get(image, "imageDigest"));
    snprintf(reference, sizeof reference, "%s@%s", uri, digest ?: "");
    if (digest == NULL || json_object_get(p->in_use, reference) != NULL)
        return;
    json_t *tags = json_object_get(image, "imageTags"), *pushed = json_object_get(image,
                                                                                   "imagePushedAt");
    json_int_t size = json_integer_value(json_object_get(image, "imageSizeInBytes"));
    size_t i, going = 0;
    const char *last = NULL;
    json_t *tag;
    json_array_foreach(tags, i, tag)
    {
        const char *text = json_string_value(tag);
        int64_t stamped = stamp_time(text);
        int64_t pushed_at = json_is_number(pushed) ? (int64_t)json_number_value(pushed) : 0;
        snprintf(reference, sizeof reference, "%s:%s", uri, text ?: "");
        if (stamped < 0 || json_object_get(p->in_use, reference) != NULL ||
            !prune_old_enough(p->request, stamped > pushed_at ? stamped : pushed_at))
            continue;
        json_array_append_new(doomed, json_pack("{s:s}", "imageTag", text));
        json_object_set_new(bytes, text, json_integer(0));
        going++;
        last = text;
    }
    if (last != NULL && going == json_array_size(tags))
        json_object_set_new(bytes, last, json_integer(size > 0 ? size : 0));
}

/* BatchDeleteImage for up to ECR_DELETE_BATCH tags from `from`; each one
 * ECR removed reported, each it kept logged. */
static void delete_batch(struct pruning *p, const char *name, const char *uri, json_t *doomed,
                         size_t from, json_t *bytes)
{
    json_t *ids = json_array();
    for (size_t i = from; i < json_array_size(doomed) && i < from + ECR_DELETE_BATCH; i++)
        json_array_append(ids, json_array_get(doomed, i));
    json_t *input = json_pack("{s:s, s:o}", "repositoryName", name, "imageIds", ids);
    json_t *output = NULL;
    struct fahr_error err = {{0}};
    char reference[2048];
    if (aws_json_call(&p->sm->client, &aws_ecr, "BatchDeleteImage", input, &output, &err) !=
        FAHR_OK) {
        p->sm->host->log(FAHR_LOG_WARN, "tags of %s stay: %s", uri, err.message);
        json_decref(input);
        return;
    }
    json_decref(input);
    size_t i;
    json_t *id;
    json_array_foreach(json_object_get(output, "imageIds"), i, id)
    {
        const char *tag = json_string_value(json_object_get(id, "imageTag"));
        if (tag == NULL)
            continue;
        snprintf(reference, sizeof reference, "%s:%s", uri, tag);
        report(p, reference, (uint64_t)json_integer_value(json_object_get(bytes, tag)));
    }
    json_array_foreach(json_object_get(output, "failures"), i, id)
    {
        const char *tag =
            json_string_value(json_object_get(json_object_get(id, "imageId"), "imageTag"));
        p->sm->host->log(FAHR_LOG_WARN, "%s:%s stays: %s: %s", uri, tag ?: "?",
                         json_string_value(json_object_get(id, "failureCode")) ?: "?",
                         json_string_value(json_object_get(id, "failureReason")) ?: "");
    }
    json_decref(output);
}

/* One repository of fahr's: its stamp tags no unended job uses go. */
static void prune_repository(struct pruning *p, json_t *repository)
{
    const char *name = json_string_value(json_object_get(repository, "repositoryName"));
    const char *uri = json_string_value(json_object_get(repository, "repositoryUri"));
    if (name == NULL || uri == NULL)
        return;
    json_t *doomed = json_array(), *bytes = json_object();
    char next[2048] = "";
    int rc;
    do {
        json_t *input = json_pack("{s:s, s:i, s:{s:s}}", "repositoryName", name, "maxResults",
                                  ECR_PAGE, "filter", "tagStatus", "TAGGED");
        json_t *output = NULL;
        if (next[0])
            json_object_set_new(input, "nextToken", json_string(next));
        struct fahr_error err = {{0}};
        rc = aws_json_call(&p->sm->client, &aws_ecr, "DescribeImages", input, &output, &err);
        json_decref(input);
        if (rc != FAHR_OK)
            p->sm->host->log(FAHR_LOG_WARN, "the tags of %s stay: %s", uri, err.message);
        size_t i;
        json_t *image;
        json_array_foreach(json_object_get(output, "imageDetails"), i, image)
            image_tags_going(p, uri, image, doomed, bytes);
        const char *token = json_string_value(json_object_get(output, "nextToken"));
        snprintf(next, sizeof next, "%s", rc == FAHR_OK && token ? token : "");
        json_decref(output);
    } while (next[0]);
    char reference[2048];
    for (size_t i = 0; rc == FAHR_OK && i < json_array_size(doomed); i += ECR_DELETE_BATCH) {
        if (!p->request->dry_run) {
            delete_batch(p, name, uri, doomed, i, bytes);
            continue;
        }
        for (size_t j = i; j < json_array_size(doomed) && j < i + ECR_DELETE_BATCH; j++) {
            const char *tag =
                json_string_value(json_object_get(json_array_get(doomed, j), "imageTag"));
            snprintf(reference, sizeof reference, "%s:%s", uri, tag);
            report(p, reference, (uint64_t)json_integer_value(json_object_get(bytes, tag)));
        }
    }
    json_decref(doomed);
    json_decref(bytes);
}

/* Every repository of the account's ECR that is fahr's, pruned. */
static int prune_repositories(struct pruning *p, struct fahr_error *err)
{
    char next[2048] = "";
    int rc;
    do {
        json_t *input = json_pack("{s:i}", "maxResults", ECR_PAGE), *output = NULL;
        if (next[0])
            json_object_set_new(input, "nextToken", json_string(next));
        rc = aws_json_call(&p->sm->client, &aws_ecr, "DescribeRepositories", input, &output,
                           err);
        json_decref(input);
        size_t i;
        json_t *repository;
        json_array_foreach(rc == FAHR_OK ? json_object_get(output, "repositories") : NULL, i,
                           repository)
        {
            bool fahrs = false;
            if (p->sm->host->interrupted())
                break;
            struct fahr_error tag_err = {{0}};
            if (repository_is_fahrs(p, repository, &fahrs, &tag_err) != FAHR_OK)
                p->sm->host->log(FAHR_LOG_WARN, "%s stays: %s",
                                 json_string_value(json_object_get(repository, "repositoryName"))
                                     ?: "a repository",
                                 tag_err.message);
            else if (fahrs)
                prune_repository(p, repository);
        }
        const char *token = json_string_value(json_object_get(output, "nextToken"));
        snprintf(next, sizeof next, "%s",
                 rc == FAHR_OK && token && !p->sm->host->interrupted() ? token : "");
        json_decref(output);
    } while (next[0]);
    return rc;
}

int sagemaker_prune(void *state, const struct fahr_prune_request *request,
                    struct fahr_error *err)
{
    if (!FAHR_COVERS(request, remote) || !request->remote)
        return FAHR_OK;
    struct pruning p = {.sm = state, .request = request};
    struct fahr_error why = {{0}};
    int rc = sagemaker_client(p.sm, NULL, &why);
    if (rc != FAHR_OK)
        return fahr_error_set(err, rc, "ECR not pruned: %s", why.message);
    p.in_use = json_object();
    /* The jobs first: a tag goes only where every job that may still pull
     * it is known. In doubt (the listing failed), nothing goes. */
    rc = images_in_use(&p, err);
    if (rc == FAHR_OK)
        rc = prune_repositories(&p, err);
    json_decref(p.in_use);
    if (rc == FAHR_OK && p.sm->host->interrupted())
        rc = fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    return rc;
}
