/* session.c: the session id of each version pushed from this machine.
 * Kaggle's API names a session (CancelKernelSession's kernelSessionId) only
 * in the push's answer, as the url's ?scriptVersionId=; no later call gives
 * it (GetKernel's metadata.id is the kernel's). The job id fit gives carries
 * it; for ids without it (`fahr jobs` lists OWNER/SLUG/VERSION), submit
 * keeps it in the driver's own data directory
 * ($XDG_DATA_HOME/fahr/drivers/kaggle/sessions/OWNER+SLUG+VERSION, 0600,
 * "ID ENDPOINT"), and stop reads it back. The endpoint is kept so that a
 * record of one Kaggle (a test server) is never used against another. */
#include "kaggle.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The record's path; the job id was parsed, so it is [a-z0-9_-]/.../N. */
static int record_path(const char *job_id, char *path, size_t size, struct fahr_error *err)
{
    struct kaggle_job job;
    char dir[4096];
    int rc = kaggle_job_parse(job_id, &job, err);
    if (rc == FAHR_OK)
        rc = kaggle_host->data_dir(kaggle_host, dir, sizeof dir, err);
    if (rc != FAHR_OK)
        return rc;
    size_t length = strlen(dir);
    snprintf(dir + length, sizeof dir - length, "/sessions");
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return fahr_error_set(err, FAHR_EFAIL, "cannot make %s: %s", dir, strerror(errno));
    if ((size_t)snprintf(path, size, "%s/%s+%s+%ld", dir, job.owner, job.slug, job.version) >=
        size)
        return fahr_error_set(err, FAHR_EFAIL, "the path of %s's record is too long", job_id);
    return FAHR_OK;
}

long long kaggle_session_of(const char *url)
{
    const char *at = url ? strstr(url, "scriptVersionId=") : NULL;
    long long id = at ? strtoll(at + 16, NULL, 10) : 0;
    return id > 0 ? id : 0;
}

int kaggle_session_save(const struct fahr_config *config, const char *job_id, const char *url,
                        struct fahr_error *err)
{
    long long id = kaggle_session_of(url);
    const char *endpoint = kaggle_host->config_get(config, "endpoint");
    char path[4200], temporary[4300];
    if (id <= 0) {
        kaggle_host->log(FAHR_LOG_WARN, "Kaggle did not name job %s's session: fahr stop "
                         "cannot cancel it", job_id);
        return FAHR_OK;
    }
    int rc = record_path(job_id, path, sizeof path, err);
    if (rc != FAHR_OK)
        return rc;
    /* Written whole, then renamed: a record is there complete or not at all. */
    snprintf(temporary, sizeof temporary, "%s.%ld", path, (long)getpid());
    FILE *file = NULL;
    int fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd >= 0 && (file = fdopen(fd, "w")) == NULL)
        close(fd);
    int bad = file == NULL || fprintf(file, "%lld %s\n", id, endpoint ? endpoint : "") < 0;
    if (file != NULL && fclose(file) != 0)
        bad = 1;
    if (bad || rename(temporary, path) != 0) {
        unlink(temporary);
        return fahr_error_set(err, FAHR_EFAIL, "cannot write %s: %s", path, strerror(errno));
    }
    return FAHR_OK;
}

int kaggle_session_find(const struct fahr_config *config, const char *job_id,
                        long long *session_id, struct fahr_error *err)
{
    char path[4200], line[FAHR_URI_MAX + 64], endpoint[FAHR_URI_MAX + 1];
    const char *wanted = kaggle_host->config_get(config, "endpoint");
    int rc = record_path(job_id, path, sizeof path, err);
    if (rc != FAHR_OK)
        return rc;
    FILE *file = fopen(path, "re");
    int found = file != NULL && fgets(line, sizeof line, file) != NULL &&
                sscanf(line, "%lld %2048s", session_id, endpoint) == 2 &&
                strcmp(endpoint, wanted ? wanted : "") == 0;
    if (file != NULL)
        fclose(file);
    if (!found)
        return fahr_error_set(err, FAHR_ENOTFOUND, "job %s was not pushed from here, so its "
                              "Kaggle session is unknown (Kaggle's API names it only then); "
                              "cancel it on kaggle.com", job_id);
    return FAHR_OK;
}
