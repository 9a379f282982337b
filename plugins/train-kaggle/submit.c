/* submit.c: pushing the kernel (SaveKernel). Kaggle answers a push it
 * refuses with a 200 whose "error" or "invalid*Sources" say why; both are
 * reported as Kaggle said them. The job's id is OWNER/SLUG/VERSION/SESSION:
 * the kernel, the version this push made and its session. */
#include "kaggle.h"

#include <stdlib.h>
#include <string.h>

/* The request's inputs (checked: each a Kaggle source) as SaveKernel's
 * *DataSources lists. */
static void add_sources(const struct fahr_train_request *request, json_t *body)
{
    static const char *const fields[] = {
        [KAGGLE_DATASET] = "datasetDataSources",
        [KAGGLE_COMPETITION] = "competitionDataSources",
        [KAGGLE_KERNEL] = "kernelDataSources",
        [KAGGLE_MODEL] = "modelDataSources",
    };
    for (size_t i = 0; i < request->channel_count; i++) {
        struct kaggle_source source;
        if (!kaggle_source_parse(request->channels[i].source, &source))
            continue;
        json_t *list = json_object_get(body, fields[source.kind]);
        if (list == NULL) /* defaults are left out, as the SDK does */
            json_object_set_new(body, fields[source.kind], list = json_array());
        json_array_append_new(list, json_string(source.path));
    }
}

static int flag(const struct fahr_train_request *request, const char *key)
{
    const char *value = kaggle_host->config_get(request->config, key);
    return value != NULL && strcmp(value, "1") == 0;
}

/* SaveKernel's request. */
static json_t *save_request(const struct fahr_train_request *request,
                            const struct kaggle_job *kernel, const char *title,
                            struct fahr_error *err)
{
    int gpu, tpu, notebook;
    const char *shape = kaggle_host->config_get(request->config, "accelerator");
    const char *timeout = kaggle_host->config_get(request->config, "timeout");
    int rc = kaggle_accelerator(shape, &gpu, &tpu, err);
    char job[2 * KAGGLE_NAME_MAX + 2];
    snprintf(job, sizeof job, "%s/%s", kernel->owner, kernel->slug);
    char *text = rc == FAHR_OK ? kaggle_kernel_text(request, job, flag(request, "internet"),
                                                    &notebook, err) : NULL;
    if (text == NULL)
        return NULL;
    json_t *source = json_string(text);
    free(text);
    if (source == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "%s is not UTF-8 text",
                              request->artifact_path), NULL;
    json_t *body = json_pack("{s:s++, s:s, s:o, s:s, s:s, s:b, s:b, s:b, s:b}",
                             "slug", kernel->owner, "/", kernel->slug, "newTitle", title,
                             "text", source, "language", "python", "kernelType",
                             notebook ? "notebook" : "script", "isPrivate",
                             flag(request, "private"), "enableGpu", gpu, "enableTpu", tpu,
                             "enableInternet", flag(request, "internet"));
    if (body != NULL && (gpu || tpu))
        json_object_set_new(body, "machineShape", json_string(shape));
    if (body != NULL && timeout != NULL)
        json_object_set_new(body, "sessionTimeoutSeconds", json_integer(atol(timeout)));
    if (body != NULL)
        add_sources(request, body);
    else
        fahr_error_set(err, FAHR_EINVAL, "the kernel's title or slug is not UTF-8 text");
    return body;
}

/* The sources Kaggle did not take, "a, b" into `out`; 0 if none. */
static int refused_sources(const json_t *answer, char *out, size_t size)
{
    const char *fields[] = {"invalidDatasetSources", "invalidCompetitionSources",
                            "invalidKernelSources", "invalidModelSources", "invalidTags"};
    size_t used = 0, i;
    json_t *item;
    out[0] = '\0';
    for (size_t f = 0; f < sizeof fields / sizeof fields[0]; f++)
        json_array_foreach(json_object_get(answer, fields[f]), i, item) {
            char shown[160];
            kaggle_text(json_string_value(item), shown, sizeof shown);
            used += (size_t)snprintf(out + used, used < size ? size - used : 0, "%s%s",
                                     used ? ", " : "", shown);
        }
    return used > 0;
}

/* Kaggle runs a version whose inputs it refused, without them; a failed
 * submit leaves nothing running, so its session is cancelled. */
static int refused_inputs(struct kaggle *kaggle, const struct fahr_config *config,
                          const json_t *answer, const char *refused, struct fahr_error *err)
{
    long long session = kaggle_session_of(json_string_value(json_object_get(answer, "url")));
    struct fahr_error why;
    if (session > 0 && kaggle_cancel(kaggle, config, session, "just pushed", &why) != FAHR_OK)
        kaggle_host->log(FAHR_LOG_WARN, "%s", why.message);
    return fahr_error_set(err, FAHR_EINVAL, "Kaggle does not know these inputs: %s", refused);
}

/* The kernel Kaggle says it saved: its ref ("/code/OWNER/SLUG", or
 * "OWNER/SLUG") where it gives one, else the one asked for. */
static void saved_kernel(const json_t *answer, struct kaggle_job *kernel)
{
    const char *ref = json_string_value(json_object_get(answer, "ref"));
    if (ref != NULL && strncmp(ref, "/code/", 6) == 0)
        ref += 6;
    else if (ref != NULL && *ref == '/')
        ref++;
    char id[2 * KAGGLE_NAME_MAX + 32];
    struct kaggle_job said;
    struct fahr_error ignored;
    snprintf(id, sizeof id, "%s/%ld", ref ? ref : "", kernel->version);
    if (ref != NULL && kaggle_job_parse(id, &said, &ignored) == FAHR_OK)
        *kernel = said;
}

/* "OWNER/SLUG/VERSION/SESSION": stop needs the session, and Kaggle names
 * it only now, so the id carries it to any machine; without one (Kaggle did
 * not say, or the id would be too long), "OWNER/SLUG/VERSION", which stop
 * finds in the session record. */
static int job_id_of(const struct kaggle_job *kernel, long long session, char *job_id,
                     size_t job_id_size, struct fahr_error *err)
{
    int length = session > 0 ? snprintf(job_id, job_id_size, "%s/%s/%ld/%lld", kernel->owner,
                                        kernel->slug, kernel->version, session)
                             : -1;
    if (length < 0 || (size_t)length >= job_id_size)
        length = snprintf(job_id, job_id_size, "%s/%s/%ld", kernel->owner, kernel->slug,
                          kernel->version);
    if (length < 0 || (size_t)length >= job_id_size)
        return fahr_error_set(err, FAHR_EFAIL, "the job id is too long");
    return FAHR_OK;
}

int kaggle_submit(void *state, const struct fahr_train_request *request, const char *image,
                  char *job_id, size_t job_id_size, struct fahr_error *err)
{
    (void)image; /* NULL: Kaggle runs the source; no image is built */
    struct kaggle *kaggle = state;
    struct kaggle_job kernel;
    char title[256], refused[512];
    int rc = kaggle_kernel_name(kaggle, request, &kernel, title, sizeof title, err);
    json_t *body = rc == FAHR_OK ? save_request(request, &kernel, title, err) : NULL, *answer = NULL;
    if (body == NULL)
        return rc == FAHR_OK ? FAHR_EINVAL : rc;
    kaggle_host->log(FAHR_LOG_INFO, "pushing %s/%s", kernel.owner, kernel.slug);
    rc = kaggle_call(kaggle, request->config, "SaveKernel", body, &answer, err);
    if (rc != FAHR_OK)
        return rc;
    const char *said = json_string_value(json_object_get(answer, "error"));
    json_int_t version = json_integer_value(json_object_get(answer, "versionNumber"));
    char shown[512];
    kaggle_text(said, shown, sizeof shown);
    if (said != NULL && *said != '\0')
        rc = fahr_error_set(err, FAHR_EFAIL, "Kaggle refused the kernel: %s", shown);
    else if (refused_sources(answer, refused, sizeof refused))
        rc = refused_inputs(kaggle, request->config, answer, refused, err);
    else if (version <= 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "Kaggle saved the kernel without a version "
                            "number");
    const char *url = json_string_value(json_object_get(answer, "url"));
    if (rc == FAHR_OK) {
        kernel.version = (long)version;
        saved_kernel(answer, &kernel);
        rc = job_id_of(&kernel, kaggle_session_of(url), job_id, job_id_size, err);
    }
    struct fahr_error why;
    if (rc == FAHR_OK && kaggle_session_save(request->config, job_id, url, &why) != FAHR_OK)
        kaggle_host->log(FAHR_LOG_WARN, "%s; fahr stop cannot cancel job %s", why.message,
                         job_id); /* the kernel runs all the same */
    if (rc == FAHR_OK && url != NULL) {
        kaggle_text(url, shown, sizeof shown);
        kaggle_host->log(FAHR_LOG_INFO, "kernel %s", shown);
    }
    json_decref(answer);
    return rc;
}
