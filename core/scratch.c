/* core/scratch.c: host->scratch_dir, a private directory for one command
 * that goes with it, and host->data_dir, each driver's lasting one. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"

/* Made on first use, from any thread a driver starts. */
static pthread_mutex_t scratch_lock = PTHREAD_MUTEX_INITIALIZER;
static char scratch_path[PATH_MAX];

static int copy_path(const char *from, char *path, size_t path_size, struct fahr_error *err)
{
    if (snprintf(path, path_size, "%s", from) >= (int)path_size)
        return fahr_error_set(err, FAHR_EINVAL, "a buffer of %zu bytes cannot hold %s",
                              path_size, from);
    return FAHR_OK;
}

int host_scratch_dir(char *path, size_t path_size, struct fahr_error *err)
{
    pthread_mutex_lock(&scratch_lock);
    int rc = FAHR_OK;
    if (scratch_path[0] == '\0') {
        const char *tmp = getenv("TMPDIR");
        if (tmp == NULL || tmp[0] != '/')
            tmp = "/tmp";
        char made[PATH_MAX];
        snprintf(made, sizeof made, "%s/fahr-XXXXXX", tmp);
        /* mkdtemp: a new directory of mode 0700, never an existing one. */
        if (mkdtemp(made) == NULL)
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot make a scratch directory in %s: %s",
                                tmp, strerror(errno));
        else
            snprintf(scratch_path, sizeof scratch_path, "%s", made);
    }
    if (rc == FAHR_OK)
        rc = copy_path(scratch_path, path, path_size, err);
    pthread_mutex_unlock(&scratch_lock);
    return rc;
}

void scratch_remove(void)
{
    pthread_mutex_lock(&scratch_lock);
    if (scratch_path[0] != '\0') {
        char *slash = strrchr(scratch_path, '/');
        *slash = '\0';
        int parent = open(scratch_path[0] ? scratch_path : "/",
                          O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        *slash = '/';
        if (parent < 0 || !tree_remove_at(parent, slash + 1))
            host_warn("cannot remove the scratch directory %s: %s", scratch_path,
                      strerror(errno));
        if (parent >= 0)
            close(parent);
        scratch_path[0] = '\0';
    }
    pthread_mutex_unlock(&scratch_lock);
}

int host_data_dir(const struct fahr_host *host, char *path, size_t path_size,
                  struct fahr_error *err)
{
    const char *driver = FAHR_HAS(host, driver) ? host->driver : NULL;
    if (driver == NULL || driver[0] == '\0' || strchr(driver, '/') != NULL || driver[0] == '.')
        return fahr_error_set(err, FAHR_EINVAL, "data_dir needs the host table given to the "
                                                "driver (its `driver` names it)");
    char sub[PATH_MAX], dir[PATH_MAX];
    snprintf(sub, sizeof sub, "drivers/%s", driver);
    if (!xdg_path("XDG_DATA_HOME", ".local/share", sub, dir, sizeof dir))
        return fahr_error_set(err, FAHR_EFAIL, "no data directory (set HOME or XDG_DATA_HOME)");
    int rc = mkdir_parents(dir, 0700, err);
    if (rc != FAHR_OK)
        return rc;
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return fahr_error_set(err, FAHR_EFAIL, "%s is not a directory", dir);
    return copy_path(dir, path, path_size, err);
}
