/* core/user_config_write.c: the user's config file written as git writes
 * its own: into PATH.lock, made exclusively, then renamed over the file
 * (see user_config_save in user_config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "user_config.h"

/* The file to replace: where PATH points if it is a symlink (a dotfile
 * manager's link stays a link), else PATH. Caller frees. */
static char *target_of(const char *path)
{
    char *resolved = realpath(path, NULL);
    return resolved != NULL ? resolved : xstrdup(path);
}

static int fsync_dir_of(const char *file)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    char *slash = strrchr(dir, '/');
    if (slash == NULL)
        return 0;
    *slash = '\0';
    int fd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static int write_lock_file(const char *lock, const char *text, const char *shown,
                           struct fahr_error *err)
{
    int fd = open(lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST)
        return fahr_error_set(err, FAHR_EFAIL,
                              "%s.lock exists: another fahr config is writing %s, or one "
                              "that was stopped left it (remove it then)",
                              shown, shown);
    if (fd < 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot write %s.lock: %s", shown,
                              strerror(errno));
    /* 0600 whatever the umask. */
    bool ok = fchmod(fd, 0600) == 0 && write_all(fd, text, strlen(text)) && fsync(fd) == 0;
    int saved = errno;
    if (close(fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    if (!ok) {
        unlink(lock);
        return fahr_error_set(err, FAHR_EFAIL, "cannot write %s.lock: %s", shown,
                              strerror(saved));
    }
    return FAHR_OK;
}

int user_config_replace(const char *path, const char *shown, const char *text,
                        struct fahr_error *err)
{
    char *target = target_of(path);
    char dir[4096], lock[4200];
    snprintf(dir, sizeof dir, "%s", target);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir)
        *slash = '\0';
    snprintf(lock, sizeof lock, "%s.lock", target);
    int rc = slash != NULL && slash != dir ? mkdir_parents(dir, 0700, err) : FAHR_OK;
    if (rc == FAHR_OK)
        rc = write_lock_file(lock, text, shown, err);
    if (rc == FAHR_OK && rename(lock, target) != 0) {
        rc = fahr_error_set(err, FAHR_EFAIL, "cannot replace %s: %s", shown,
                            strerror(errno));
        unlink(lock);
    }
    if (rc == FAHR_OK && fsync_dir_of(target) != 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "cannot sync the directory of %s: %s",
                            shown, strerror(errno));
    free(target);
    return rc;
}
