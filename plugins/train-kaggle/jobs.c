/* jobs.c: following a kernel's session: its status, stopping it,
 * and listing this user's kernels of an image. */
#define _GNU_SOURCE /* timegm */
#include "kaggle.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define LIST_STATUS_MAX 50 /* versions a listing shows (a status call each) */
#define LIST_PAGE_SIZE 100

int kaggle_poll(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_job_status *status, struct fahr_error *err)
{
    struct kaggle_job job;
    json_t *answer = NULL;
    int rc = kaggle_job_parse(job_id, &job, err);
    if (rc == FAHR_OK)
        rc = kaggle_session_status(state, config, &job, &answer, err);
    if (rc == FAHR_ENOTFOUND)
        fahr_error_set(err, rc, "no kernel %s/%s on Kaggle", job.owner, job.slug);
    if (rc != FAHR_OK)
        return rc;
    const char *name = json_string_value(json_object_get(answer, "status"));
    kaggle_text(name, status->detail, sizeof status->detail);
    kaggle_text(json_string_value(json_object_get(answer, "failureMessage")),
                status->failure_reason, sizeof status->failure_reason);
    if (!kaggle_state_of(name, &status->state))
        rc = fahr_error_set(err, FAHR_EFAIL, "job %s: Kaggle gave the status '%s', which "
                            "this driver does not know", job_id, status->detail);
    else if (status->state == FAHR_JOB_FAILED && status->failure_reason[0] == '\0')
        snprintf(status->failure_reason, sizeof status->failure_reason,
                 "the kernel failed (see fahr logs %s)", job_id);
    else if (status->state == FAHR_JOB_STOPPED && status->failure_reason[0] == '\0')
        snprintf(status->failure_reason, sizeof status->failure_reason, "the session was "
                 "cancelled");
    json_decref(answer);
    return rc;
}

/* ---- Stopping ----------------------------------------------------------- */

int kaggle_cancel(struct kaggle *kaggle, const struct fahr_config *config, long long session,
                  const char *job_id, struct fahr_error *err)
{
    json_t *answer = NULL;
    json_t *body = json_pack("{s:I}", "kernelSessionId", (json_int_t)session);
    int rc = kaggle_call(kaggle, config, "CancelKernelSession", body, &answer, err);
    const char *said = json_string_value(json_object_get(answer, "errorMessage"));
    char shown[256];
    kaggle_text(said, shown, sizeof shown);
    if (rc == FAHR_OK && said != NULL && *said != '\0')
        rc = fahr_error_set(err, FAHR_EFAIL, "Kaggle did not cancel job %s: %s", job_id, shown);
    json_decref(answer);
    return rc;
}

/* The host has polled the job first: it says itself that an ended job has
 * nothing to stop. The session is in the id fit gave; an id without it (as
 * `fahr jobs` lists them) finds it where fit kept it, on this machine. */
int kaggle_stop(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_error *err)
{
    struct kaggle_job job = {.session = 0};
    int rc = kaggle_job_parse(job_id, &job, err);
    long long session = job.session;
    if (rc == FAHR_OK && session == 0)
        rc = kaggle_session_find(config, job_id, &session, err);
    return rc == FAHR_OK ? kaggle_cancel(state, config, session, job_id, err) : rc;
}

/* ---- Listing ------------------------------------------------------------ */

/* RFC 3339 ("2026-11-27T23:05:01.123Z") to Unix time; 0 if unreadable. */
static int64_t unix_time(const char *text)
{
    struct tm tm = {0};
    if (text == NULL || strptime(text, "%Y-%m-%dT%H:%M:%S", &tm) == NULL)
        return 0;
    return (int64_t)timegm(&tm);
}

/* One version of a kernel, with its session's status, to on_job. */
static int list_version(struct kaggle *kaggle, const struct fahr_config *config,
                        const struct kaggle_job *job, int64_t created, int *asked,
                        fahr_job_fn on_job, void *on_job_data)
{
    char id[2 * KAGGLE_NAME_MAX + 64], detail[256] = "";
    long long session = 0;
    struct fahr_error ignored;
    snprintf(id, sizeof id, "%s/%s/%ld", job->owner, job->slug, job->version);
    /* The id fit gave, where fit ran here and kept the session. */
    if (kaggle_session_find(config, id, &session, &ignored) == FAHR_OK)
        snprintf(id + strlen(id), sizeof id - strlen(id), "/%lld", session);
    struct fahr_job_summary summary = {
        .size = sizeof summary,
        .job_id = id,
        .created = created,
        .detail = detail,
    };
    json_t *status = NULL;
    if ((*asked)++ == LIST_STATUS_MAX) {
        kaggle_host->log(FAHR_LOG_INFO, "the newest %d jobs only", LIST_STATUS_MAX);
        return 1; /* a job without its state would mislead */
    }
    int known = 0;
    if (kaggle_session_status(kaggle, config, job, &status, &ignored) == FAHR_OK) {
        const char *name = json_string_value(json_object_get(status, "status"));
        kaggle_text(name, detail, sizeof detail);
        known = kaggle_state_of(name, &summary.state);
    }
    json_decref(status);
    return known ? on_job(on_job_data, &summary) : 0; /* a version Kaggle lost is left out */
}

/* A kernel of the listing: each of its versions is a job, newest first.
 * Kaggle says when only the newest ran (lastRunTime). */
static int list_kernel(struct kaggle *kaggle, const struct fahr_config *config,
                       const json_t *kernel, const char *owner, int *asked, fahr_job_fn on_job,
                       void *on_job_data)
{
    const char *ref = json_string_value(json_object_get(kernel, "ref"));
    const char *slug = ref && strrchr(ref, '/') ? strrchr(ref, '/') + 1 : ref;
    json_int_t newest = json_integer_value(json_object_get(kernel, "currentVersionNumber"));
    int64_t created = unix_time(json_string_value(json_object_get(kernel, "lastRunTime")));
    struct kaggle_job job;
    char id[FAHR_JOB_ID_MAX];
    struct fahr_error ignored;
    snprintf(id, sizeof id, "%s/%s/%lld", owner, slug ? slug : "",
             (long long)(newest > 0 ? newest : 1));
    if (kaggle_job_parse(id, &job, &ignored) != FAHR_OK)
        return 0; /* not a kernel this driver could follow */
    int stop = 0;
    for (; job.version > 0 && !stop; job.version--, created = 0)
        stop = list_version(kaggle, config, &job, created, asked, on_job, on_job_data);
    return stop;
}

int kaggle_list(void *state, const struct fahr_config *config, const char *image_name,
                fahr_job_fn on_job, void *on_job_data, struct fahr_error *err)
{
    struct kaggle *kaggle = state;
    int rc = kaggle_user(kaggle, config, err), asked = 0, stop = 0;
    char prefix[KAGGLE_NAME_MAX] = "";
    if (rc != FAHR_OK)
        return rc;
    for (size_t n = 0; image_name && image_name[n] && n + 1 < sizeof prefix; n++)
        prefix[n] = (image_name[n] >= 'A' && image_name[n] <= 'Z') ? (char)(image_name[n] + 32)
                    : strchr("abcdefghijklmnopqrstuvwxyz0123456789", image_name[n]) ? image_name[n]
                    : '-';
    for (int page = 1; rc == FAHR_OK && !stop; page++) {
        json_t *answer = NULL, *kernel;
        json_t *body = json_pack("{s:s, s:i, s:i}", "user", kaggle->username, "page", page,
                                 "pageSize", LIST_PAGE_SIZE);
        if (prefix[0] != '\0')
            json_object_set_new(body, "search", json_string(prefix));
        rc = kaggle_call(kaggle, config, "ListKernels", body, &answer, err);
        json_t *kernels = json_object_get(answer, "kernels");
        size_t i, length = strlen(prefix);
        json_array_foreach(kernels, i, kernel) {
            const char *ref = json_string_value(json_object_get(kernel, "ref"));
            const char *slug = ref && strrchr(ref, '/') ? strrchr(ref, '/') + 1 : "";
            if (stop || (length > 0 && (strncmp(slug, prefix, length) != 0 ||
                                        (slug[length] != '\0' && slug[length] != '-'))))
                continue;
            stop = list_kernel(kaggle, config, kernel, kaggle->username, &asked, on_job,
                            on_job_data);
        }
        if (json_array_size(kernels) < LIST_PAGE_SIZE)
            stop = 1; /* the last page */
        json_decref(answer);
    }
    return rc;
}
