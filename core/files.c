/* core/files.c: the user's XDG directories, opens confined by the kernel,
 * and removing a tree without following links: one of each for the host
 * (job index, plugin cache, plugin path, scratch and data directories,
 * model staging). */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fahr.h"

/* How deep a tree is removed: a model's directories nest at most 256 deep
 * (place_staging.h), and each level holds two descriptors open. */
enum { TREE_MAX_DEPTH = 258 };

bool xdg_path(const char *var, const char *fallback, const char *sub, char *out, size_t size)
{
    const char *xdg = getenv(var), *home = getenv("HOME");
    const char *slash = sub[0] ? "/" : "";
    int n = -1;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, size, "%s/fahr%s%s", xdg, slash, sub);
    else if (home != NULL && home[0] == '/')
        n = snprintf(out, size, "%s/%s/fahr%s%s", home, fallback, slash, sub);
    return n > 0 && (size_t)n < size;
}

int mkdir_parents(const char *path, unsigned mode, struct fahr_error *err)
{
    char copy[4096];
    if (snprintf(copy, sizeof copy, "%s", path) >= (int)sizeof copy)
        return fahr_error_set(err, FAHR_EFAIL, "cannot make %.64s...: the path is too long",
                              path);
    for (char *slash = strchr(copy + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash != NULL)
            *slash = '\0';
        if (copy[0] != '\0' && mkdir(copy, (mode_t)mode) != 0 && errno != EEXIST)
            return fahr_error_set(err, FAHR_EFAIL, "cannot make %s: %s", copy, strerror(errno));
        if (slash == NULL)
            return FAHR_OK;
        *slash = '/';
    }
}

int open_beneath(int dir_fd, const char *path, int flags, unsigned mode, uint64_t resolve)
{
    struct open_how how = {.flags = (uint64_t)(flags | O_CLOEXEC), .mode = mode,
                           .resolve = resolve};
    /* EAGAIN: a rename elsewhere raced a ".." walk; the kernel asks to retry. */
    for (int attempt = 0;; attempt++) {
        long fd = syscall(SYS_openat2, dir_fd, path, &how, sizeof how);
        if (fd >= 0 || errno != EAGAIN || attempt == 8)
            return (int)fd;
    }
}

bool write_all(int fd, const void *data, size_t length)
{
    for (size_t done = 0; done < length;) {
        ssize_t n = write(fd, (const char *)data + done, length - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            if (n == 0)
                errno = EIO;
            return false;
        }
        done += (size_t)n;
    }
    return true;
}

/* ---- Removing, never following a link -------------------------------------- */

static bool remove_at(int parent_fd, const char *name, unsigned char type, int depth);

/* Empty the directory `dir_fd`; false where something stays. */
static bool remove_contents(int dir_fd, int depth)
{
    if (depth > TREE_MAX_DEPTH) {
        errno = ELOOP;
        return false;
    }
    /* A read-only directory (an archive's) is still ours to empty. */
    fchmod(dir_fd, 0700);
    /* Entries removed while reading may hide others from readdir: read
     * again until a pass finds none. */
    for (int pass = 0; pass < 4; pass++) {
        int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        DIR *dir = fd < 0 ? NULL : fdopendir(fd);
        if (dir == NULL) {
            if (fd >= 0)
                close(fd);
            return false;
        }
        size_t seen = 0;
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0)
                continue;
            seen++;
            remove_at(dirfd(dir), entry->d_name, entry->d_type, depth);
        }
        closedir(dir);
        if (seen == 0)
            return true;
    }
    errno = ENOTEMPTY;
    return false;
}

static bool remove_at(int parent_fd, const char *name, unsigned char type, int depth)
{
    struct stat st;
    if (type == DT_UNKNOWN) {
        if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            return errno == ENOENT;
        type = S_ISDIR(st.st_mode) ? DT_DIR : DT_REG;
    }
    if (type != DT_DIR)
        return unlinkat(parent_fd, name, 0) == 0 || errno == ENOENT;
    int fd = open_beneath(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW, 0, RESOLVE_STRICT);
    if (fd < 0)
        return errno == ENOENT;
    remove_contents(fd, depth + 1);
    close(fd);
    return unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT;
}

bool tree_remove_at(int parent_fd, const char *name)
{
    return remove_at(parent_fd, name, DT_UNKNOWN, 0);
}

bool tree_empty(int dir_fd)
{
    return remove_contents(dir_fd, 0);
}
