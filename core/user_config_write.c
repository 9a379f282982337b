/* core/user_config_write.c: the user's config file written as git writes
 * its own: PATH.lock made exclusively before the file is read, the new text
 * into it, then renamed over the file (see user_config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "user_config.h"

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

int user_config_lock(const char *path, struct user_config_lock *lock, struct fahr_error *err)
{
    memset(lock, 0, sizeof *lock);
    lock->fd = -1;
    user_config_show_path(path, lock->shown, sizeof lock->shown);
    /* Where PATH points if it is a symlink: a dotfile manager's link stays
     * a link. */
    char *resolved = realpath(path, NULL);
    snprintf(lock->target, sizeof lock->target, "%s", resolved != NULL ? resolved : path);
    free(resolved);
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", lock->target);
    char *slash = strrchr(dir, '/');
    if (slash != NULL && slash != dir) {
        *slash = '\0';
        if (mkdir_parents(dir, 0700, err) != FAHR_OK)
            return FAHR_EFAIL;
    }
    snprintf(lock->lock, sizeof lock->lock, "%s.lock", lock->target);
    lock->fd = open(lock->lock, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (lock->fd < 0 && errno == EEXIST)
        return fahr_error_set(err, FAHR_EFAIL,
                              "%s.lock exists: another fahr config is writing %s, or one "
                              "that was stopped left it (remove it then)",
                              lock->shown, lock->shown);
    if (lock->fd < 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot write %s.lock: %s", lock->shown,
                              strerror(errno));
    return FAHR_OK;
}

void user_config_unlock(struct user_config_lock *lock)
{
    if (lock->fd < 0)
        return;
    close(lock->fd);
    unlink(lock->lock);
    lock->fd = -1;
}

int user_config_commit(struct user_config_lock *lock, const char *text, struct fahr_error *err)
{
    /* 0600 whatever the umask. */
    bool ok = fchmod(lock->fd, 0600) == 0 && write_all(lock->fd, text, strlen(text)) &&
              fsync(lock->fd) == 0;
    int saved = errno;
    if (close(lock->fd) != 0 && ok) {
        ok = false;
        saved = errno;
    }
    lock->fd = -1;
    if (!ok) {
        unlink(lock->lock);
        return fahr_error_set(err, FAHR_EFAIL, "cannot write %s.lock: %s", lock->shown,
                              strerror(saved));
    }
    if (rename(lock->lock, lock->target) != 0) {
        saved = errno;
        unlink(lock->lock);
        return fahr_error_set(err, FAHR_EFAIL, "cannot replace %s: %s", lock->shown,
                              strerror(saved));
    }
    if (fsync_dir_of(lock->target) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot sync the directory of %s: %s",
                              lock->shown, strerror(errno));
    return FAHR_OK;
}
