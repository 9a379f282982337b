/* core/place_staging.c: see place_staging.h. */
#define _GNU_SOURCE
#include "place_staging.h"

#include "fahr.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

/* A staging directory is `.fahr-fetch-XXXXXX`, holding the marker file and
 * `model/`, the archive's entries. The marker tells fahr's own from a
 * user's directory that merely has such a name; the archive cannot forge
 * one, its entries being beneath `model/`. */
static const char staging_prefix[] = ".fahr-fetch-";
enum { STAGING_SUFFIX = 6 };
static const char marker_name[] = "fahr-staging";
static const char marker_text[] =
    "fahr fetch: a model being unpacked; removed by the next fetch here if its fetch was stopped\n";

bool staging_name(const char *name, size_t length)
{
    size_t prefix = sizeof staging_prefix - 1;
    if (length != prefix + STAGING_SUFFIX || strncmp(name, staging_prefix, prefix) != 0)
        return false;
    for (size_t i = prefix; i < length; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')))
            return false;
    }
    return true;
}

/* Remove a staging directory: its model first and its marker last, so
 * that what cannot be removed now is still known for fahr's later. */
static bool remove_holder(int dest_fd, int holder_fd, const char *name)
{
    return tree_remove_at(holder_fd, "model") && tree_empty(holder_fd) &&
           unlinkat(dest_fd, name, AT_REMOVEDIR) == 0;
}

/* ---- Staging directories that killed fetches left ------------------------- */

static bool has_marker(int holder_fd)
{
    int fd = open_beneath(holder_fd, marker_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK, 0,
                          RESOLVE_STRICT);
    if (fd < 0)
        return false;
    char text[sizeof marker_text];
    struct stat st;
    ssize_t n = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) ? read(fd, text, sizeof text) : -1;
    close(fd);
    return n == (ssize_t)sizeof marker_text - 1 && memcmp(text, marker_text, (size_t)n) == 0;
}

/* Remove `name` if it is a staging directory whose fetch is gone: fahr's
 * name, this user's, fahr's marker inside, and no fetch holding its lock
 * (the lock goes with the process however it ends). A fetch takes its
 * lock before it writes its marker, so a directory being made is never
 * taken for a leftover. */
static void remove_leftover(struct model_staging *s, const char *name)
{
    int fd = open_beneath(s->dest_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_STRICT);
    if (fd < 0)
        return;
    struct stat st;
    if (fstat(fd, &st) == 0 && st.st_uid == geteuid() && flock(fd, LOCK_EX | LOCK_NB) == 0 &&
        has_marker(fd)) {
        if (remove_holder(s->dest_fd, fd, name))
            s->host->log(FAHR_LOG_INFO, "removed %s/%s, left by a fetch that was stopped",
                         s->dest_dir, name);
        else
            s->host->log(FAHR_LOG_WARN, "cannot remove %s/%s, left by a fetch that was stopped: %s",
                         s->dest_dir, name, strerror(errno));
    }
    close(fd);
}

static void remove_leftovers(struct model_staging *s)
{
    int fd = openat(s->dest_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL)
        if (staging_name(entry->d_name, strlen(entry->d_name)))
            remove_leftover(s, entry->d_name);
    closedir(dir);
}

/* ---- A new staging directory ---------------------------------------------- */

static void random_name(char *name, size_t size)
{
    static const char letters[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    unsigned char bytes[STAGING_SUFFIX];
    if (getrandom(bytes, sizeof bytes, 0) != (ssize_t)sizeof bytes)
        for (size_t i = 0; i < sizeof bytes; i++)
            bytes[i] = (unsigned char)rand();
    size_t n = (size_t)snprintf(name, size, "%s", staging_prefix);
    for (size_t i = 0; i < sizeof bytes && n + 1 < size; i++)
        name[n++] = letters[bytes[i] % (sizeof letters - 1)];
    name[n] = '\0';
}

static int write_marker(int holder_fd)
{
    int fd = open_beneath(holder_fd, marker_name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0600,
                          RESOLVE_STRICT);
    if (fd < 0)
        return -1;
    size_t length = sizeof marker_text - 1;
    int rc = write(fd, marker_text, length) == (ssize_t)length ? 0 : -1;
    int saved = errno;
    if (close(fd) != 0 && rc == 0)
        return -1;
    errno = saved;
    return rc;
}

/* Make, lock and mark the staging directory, and its model/ directory. */
static int make_holder(struct model_staging *s, struct fahr_error *err)
{
    for (int attempt = 0;; attempt++) {
        random_name(s->name, sizeof s->name);
        if (mkdirat(s->dest_fd, s->name, 0700) == 0)
            break;
        if (errno != EEXIST || attempt == 100)
            return fahr_error_set(err, FAHR_EFAIL, "cannot write to %s: %s", s->dest_dir,
                                  strerror(errno));
    }
    s->holder_fd = open_beneath(s->dest_fd, s->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0,
                                RESOLVE_STRICT);
    bool ok = s->holder_fd >= 0 && flock(s->holder_fd, LOCK_EX) == 0 &&
              write_marker(s->holder_fd) == 0 && mkdirat(s->holder_fd, "model", 0700) == 0 &&
              (s->root_fd = open_beneath(s->holder_fd, "model", O_RDONLY | O_DIRECTORY, 0,
                                         RESOLVE_STRICT)) >= 0;
    if (ok)
        return FAHR_OK;
    int saved = errno;
    tree_remove_at(s->dest_fd, s->name);
    return fahr_error_set(err, FAHR_EFAIL, "cannot write to %s: %s", s->dest_dir,
                          strerror(saved));
}

int staging_create(const struct fahr_host *host, const char *dest_dir,
                   struct model_staging **staging, struct fahr_error *err)
{
    *staging = NULL;
    struct model_staging *s = calloc(1, sizeof *s);
    if (s == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    *s = (struct model_staging){.host = host, .holder_fd = -1, .root_fd = -1};
    snprintf(s->dest_dir, sizeof s->dest_dir, "%s", dest_dir);
    s->dest_fd = open(dest_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dest_fd < 0) {
        int rc = fahr_error_set(err, FAHR_EFAIL, "cannot open %s: %s", dest_dir, strerror(errno));
        free(s);
        return rc;
    }
    /* The kernel's confinement is what keeps the archive inside: without
     * it (Linux before 5.6, or a sandbox that hides openat2) nothing is
     * unpacked. */
    int probe = open_beneath(s->dest_fd, ".", O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
    if (probe < 0) {
        int error = errno;
        int rc = error == ENOSYS || error == EPERM
                     ? fahr_error_set(err, FAHR_EFAIL,
                                      "unpacking a model safely needs openat2 (Linux 5.6 or "
                                      "later), which this system refuses: %s",
                                      strerror(error))
                     : fahr_error_set(err, FAHR_EFAIL, "cannot open %s: %s", dest_dir,
                                      strerror(error));
        close(s->dest_fd);
        free(s);
        return rc;
    }
    close(probe);
    remove_leftovers(s);
    int rc = make_holder(s, err);
    if (rc != FAHR_OK) {
        close(s->dest_fd);
        free(s);
        return rc;
    }
    *staging = s;
    return FAHR_OK;
}

void model_staging_discard(struct model_staging *s)
{
    if (s == NULL)
        return;
    if (s->root_fd >= 0)
        close(s->root_fd);
    /* Removed while still locked: no other fetch takes it meanwhile. */
    if (s->holder_fd >= 0) {
        remove_holder(s->dest_fd, s->holder_fd, s->name);
        close(s->holder_fd);
    }
    close(s->dest_fd);
    free(s);
}

/* ---- Moving into place ------------------------------------------------------ */

struct placing {
    struct model_staging *staging;
    bool overwrite, moving;
    char relative[PATH_MAX]; /* the entry at hand, for messages */
    struct fahr_error *err;
};

static int place(struct placing *p, int from_fd, int to_fd, size_t length);

static int move_into_place(struct placing *p, int from_fd, int to_fd, const char *name,
                           bool replacing)
{
    int r = renameat2(from_fd, name, to_fd, name, replacing ? 0 : RENAME_NOREPLACE);
    /* A filesystem without RENAME_NOREPLACE: the check pass found nothing
     * there. */
    if (r != 0 && errno == EINVAL && !replacing)
        r = renameat(from_fd, name, to_fd, name);
    if (r != 0)
        return fahr_error_set(p->err, FAHR_EFAIL, "cannot move %s into place: %s", p->relative,
                              strerror(errno));
    return FAHR_OK;
}

/* Merge the staged directory `name` into the destination's. */
static int place_into(struct placing *p, int from_fd, int to_fd, const char *name, size_t length)
{
    int from = open_beneath(from_fd, name, O_RDONLY | O_DIRECTORY, 0, RESOLVE_STRICT);
    int to = from < 0 ? -1 : open_beneath(to_fd, name, O_RDONLY | O_DIRECTORY, 0, RESOLVE_STRICT);
    int rc = from >= 0 && to >= 0
                 ? place(p, from, to, length)
                 : fahr_error_set(p->err, FAHR_EFAIL, "cannot open %s/%s: %s",
                                  p->staging->dest_dir, p->relative, strerror(errno));
    if (from >= 0)
        close(from);
    if (to >= 0)
        close(to);
    return rc;
}

static int place_one(struct placing *p, int from_fd, int to_fd, const char *name, size_t length)
{
    const char *dest = p->staging->dest_dir, *relative = p->relative;
    struct stat from, to;
    if (fstatat(from_fd, name, &from, AT_SYMLINK_NOFOLLOW) != 0)
        return FAHR_OK;
    bool exists = fstatat(to_fd, name, &to, AT_SYMLINK_NOFOLLOW) == 0;
    if (!exists && errno != ENOENT)
        return fahr_error_set(p->err, FAHR_EFAIL, "cannot read %s/%s: %s", dest, relative,
                              strerror(errno));
    if (S_ISDIR(from.st_mode)) {
        if (exists && !S_ISDIR(to.st_mode))
            return fahr_error_set(p->err, FAHR_EFAIL,
                                  "%s/%s exists and is not a directory; the model has a "
                                  "directory there",
                                  dest, relative);
        if (exists)
            return place_into(p, from_fd, to_fd, name, length);
        return p->moving ? move_into_place(p, from_fd, to_fd, name, false) : FAHR_OK;
    }
    if (exists && S_ISDIR(to.st_mode))
        return fahr_error_set(p->err, FAHR_EFAIL, "%s/%s is a directory; the model has a file there",
                              dest, relative);
    if (exists && !p->overwrite)
        return fahr_error_set(p->err, FAHR_EFAIL, "%s/%s exists; --overwrite replaces it", dest,
                              relative);
    return p->moving ? move_into_place(p, from_fd, to_fd, name, exists) : FAHR_OK;
}

/* Check (moving false) or move (true) everything in `from_fd` into `to_fd`.
 * Directories are merged; a file that exists is a conflict unless
 * overwrite; a link or a file where a directory must go is always
 * refused. */
static int place(struct placing *p, int from_fd, int to_fd, size_t length)
{
    int fd = openat(from_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd < 0 ? NULL : fdopendir(fd);
    if (dir == NULL) {
        if (fd >= 0)
            close(fd);
        return fahr_error_set(p->err, FAHR_EFAIL, "cannot read the staged model: %s",
                              strerror(errno));
    }
    int rc = FAHR_OK;
    struct dirent *entry;
    while (rc == FAHR_OK && (entry = readdir(dir)) != NULL) {
        if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
            continue;
        size_t room = sizeof p->relative - length;
        int n = snprintf(p->relative + length, room, "%s%s", length ? "/" : "", entry->d_name);
        if (n < 0 || (size_t)n >= room)
            rc = fahr_error_set(p->err, FAHR_EFAIL, "a staged path is too long");
        else
            rc = place_one(p, from_fd, to_fd, entry->d_name, length + (size_t)n);
    }
    closedir(dir);
    p->relative[length] = '\0';
    return rc;
}

/* All or nothing as far as conflicts go: every one is found before
 * anything moves. */
int model_staging_commit(struct model_staging *staging, bool overwrite, struct fahr_error *err)
{
    struct placing *p = calloc(1, sizeof *p);
    int rc = FAHR_EFAIL;
    if (p == NULL) {
        fahr_error_set(err, FAHR_EFAIL, "out of memory");
    } else {
        *p = (struct placing){.staging = staging, .overwrite = overwrite, .err = err};
        rc = place(p, staging->root_fd, staging->dest_fd, 0);
        p->moving = true;
        if (rc == FAHR_OK)
            rc = place(p, staging->root_fd, staging->dest_fd, 0);
    }
    free(p);
    model_staging_discard(staging);
    return rc;
}
