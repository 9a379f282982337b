/* core/place_unpack.c: see place_unpack.h.
 *
 * libarchive reads the tar stream; the entries are written here, each
 * relative to a descriptor opened beneath the staging root with openat2's
 * RESOLVE_BENEATH and no symbolic link followed. (libarchive's own writer
 * follows paths by name and checks links as text, which a chain of links
 * gets through: once a path crosses a link, ".." no longer means what the
 * text says.) */
#define _GNU_SOURCE
#include "place_unpack.h"

#include "fahr.h"
#include "gunzip.h"
#include "place_paths.h"
#include "place_staging.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Checking entries by their text -------------------------------------- */

/* What refuses an entry beyond its path (place_name_problem): its type, a
 * link's target. */
static const char *entry_problem(struct archive_entry *entry)
{
    const char *path = archive_entry_pathname(entry);
    /* A hard link's type reads as unknown; what matters is its target. */
    const char *hardlink = archive_entry_hardlink(entry);
    if (hardlink != NULL) {
        if (!path_stays_inside(hardlink))
            return "it is a hard link to a file outside the destination";
        return place_path_problem(hardlink);
    }
    switch (archive_entry_filetype(entry)) {
    case AE_IFREG:
    case AE_IFDIR:
        break;
    case AE_IFLNK:
        if (!link_stays_inside(path, archive_entry_symlink(entry)))
            return "it is a symbolic link leading outside the destination";
        break;
    default:
        return "it is a device, FIFO or socket";
    }
    return NULL;
}

/* ---- Writing entries beneath the staging root ----------------------------- */

struct dir_fixup {
    char *path;
    mode_t mode;
    struct timespec times[2];
};

struct unpack {
    const struct fahr_host *host;
    struct model_staging *staging;
    struct archive *reader;
    struct dir_fixup *fixups; /* directories' modes and times, set last */
    size_t fixup_count, fixup_capacity;
    size_t entries;
    size_t files; /* of them, ones that are not directories */
    struct fahr_error *err;
};

static int refuse(struct unpack *u, const char *path, const char *problem)
{
    char text[256];
    return fahr_error_set(u->err, FAHR_EFAIL,
                          "refusing the model archive: entry '%s': %s; nothing was written",
                          place_shown(path, text, sizeof text), problem);
}

static int write_failed(struct unpack *u, int error)
{
    return fahr_error_set(u->err, FAHR_EFAIL, "cannot write to %s: %s", u->staging->dest_dir,
                          strerror(error));
}

/* An entry the kernel would not create where its path says: the archive's
 * fault (an earlier entry holds the path, a link or a file is on the way)
 * or the disk's. */
static int entry_failed(struct unpack *u, const char *name, int error)
{
    const char *why = place_errno_reason(error);
    if (why == NULL)
        return write_failed(u, error);
    char text[256];
    return fahr_error_set(u->err, FAHR_EFAIL,
                          "refusing the model archive: cannot unpack %s: %s; nothing was written",
                          place_shown(name, text, sizeof text), why);
}

static void entry_times(struct archive_entry *entry, struct timespec times[2])
{
    times[1] = archive_entry_mtime_is_set(entry)
                   ? (struct timespec){archive_entry_mtime(entry), archive_entry_mtime_nsec(entry)}
                   : (struct timespec){0, UTIME_OMIT};
    times[0] = archive_entry_atime_is_set(entry)
                   ? (struct timespec){archive_entry_atime(entry), archive_entry_atime_nsec(entry)}
                   : times[1];
}

static int write_data(struct unpack *u, int fd, const char *name, struct archive_entry *entry)
{
    const void *block;
    size_t size;
    la_int64_t offset, end = 0;
    int r;
    while ((r = archive_read_data_block(u->reader, &block, &size, &offset)) == ARCHIVE_OK) {
        for (size_t done = 0; done < size;) {
            ssize_t n = pwrite(fd, (const char *)block + done, size - done, offset + (off_t)done);
            if (n < 0 && errno == EINTR)
                continue;
            if (n <= 0)
                return write_failed(u, n < 0 ? errno : EIO);
            done += (size_t)n;
        }
        end = offset + (la_int64_t)size;
    }
    if (r != ARCHIVE_EOF) {
        char text[256];
        return fahr_error_set(u->err, FAHR_EFAIL, "the model archive is damaged at %s: %s",
                              place_shown(name, text, sizeof text), archive_error_string(u->reader));
    }
    /* A sparse file's hole at its end. */
    la_int64_t length = archive_entry_size(entry);
    if (length > end && ftruncate(fd, (off_t)length) != 0)
        return write_failed(u, errno);
    return FAHR_OK;
}

static int write_file(struct unpack *u, int parent_fd, const char *base, const char *name,
                      struct archive_entry *entry)
{
    mode_t mode = archive_entry_perm(entry) & 0755;
    int fd = open_beneath(parent_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, mode,
                          RESOLVE_STRICT);
    if (fd < 0)
        return entry_failed(u, name, errno);
    int rc = write_data(u, fd, name, entry);
    struct timespec times[2];
    entry_times(entry, times);
    /* fchmod: the archive's mode, whatever the umask. */
    if (rc == FAHR_OK && (fchmod(fd, mode) != 0 || futimens(fd, times) != 0))
        rc = write_failed(u, errno);
    if (close(fd) != 0 && rc == FAHR_OK)
        rc = write_failed(u, errno);
    return rc;
}

static int write_dir(struct unpack *u, int parent_fd, const char *base, const char *name,
                     struct archive_entry *entry)
{
    if (mkdirat(parent_fd, base, 0700) != 0) {
        int error = errno;
        struct stat st;
        /* The same directory again, or one an earlier entry's path made,
         * is merged; anything else there is a conflict. */
        if (error != EEXIST || fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISDIR(st.st_mode))
            return entry_failed(u, name, error);
    }
    if (u->fixup_count == u->fixup_capacity) {
        size_t capacity = u->fixup_capacity ? 2 * u->fixup_capacity : 64;
        struct dir_fixup *grown = realloc(u->fixups, capacity * sizeof *grown);
        if (grown == NULL)
            return fahr_error_set(u->err, FAHR_EFAIL, "out of memory");
        u->fixups = grown;
        u->fixup_capacity = capacity;
    }
    struct dir_fixup *fixup = &u->fixups[u->fixup_count];
    if ((fixup->path = strdup(name)) == NULL)
        return fahr_error_set(u->err, FAHR_EFAIL, "out of memory");
    fixup->mode = archive_entry_perm(entry) & 0755;
    entry_times(entry, fixup->times);
    u->fixup_count++;
    return FAHR_OK;
}

static int write_symlink(struct unpack *u, int parent_fd, const char *base, const char *name,
                         struct archive_entry *entry)
{
    if (symlinkat(archive_entry_symlink(entry), parent_fd, base) != 0)
        return entry_failed(u, name, errno);
    struct timespec times[2];
    entry_times(entry, times);
    utimensat(parent_fd, base, times, AT_SYMLINK_NOFOLLOW); /* a link's times: best effort */
    return FAHR_OK;
}

/* A hard link to a file the archive staged before it, found beneath the
 * staging root without crossing a link. */
static int write_hardlink(struct unpack *u, int parent_fd, const char *base, const char *name,
                          struct archive_entry *entry)
{
    char target[PATH_MAX], dir[PATH_MAX];
    if (!staged_path(archive_entry_hardlink(entry), target, sizeof target))
        return refuse(u, name, "it is a hard link to the archive's root");
    const char *target_base = split_path(target, dir, sizeof dir);
    int dir_fd = open_beneath(u->staging->root_fd, dir, O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
    struct stat st;
    int rc = FAHR_OK;
    if (dir_fd < 0 || fstatat(dir_fd, target_base, &st, AT_SYMLINK_NOFOLLOW) != 0)
        rc = errno == ENOENT ? refuse(u, name, "it is a hard link to a file not in the archive")
             : errno == ELOOP || errno == EXDEV || errno == ENOTDIR
                 ? refuse(u, name, "it is a hard link through a symbolic link or a file")
                 : write_failed(u, errno);
    else if (!S_ISREG(st.st_mode))
        rc = refuse(u, name, "it is a hard link to something other than a file");
    else if (linkat(dir_fd, target_base, parent_fd, base, 0) != 0)
        rc = entry_failed(u, name, errno);
    if (dir_fd >= 0)
        close(dir_fd);
    return rc;
}

static int write_entry(struct unpack *u, struct archive_entry *entry, const char *name)
{
    char dir[PATH_MAX];
    const char *base = split_path(name, dir, sizeof dir);
    int parent_fd = open_parent(u->staging->root_fd, dir);
    if (parent_fd < 0)
        return entry_failed(u, name, errno);
    int rc;
    if (archive_entry_hardlink(entry) != NULL)
        rc = write_hardlink(u, parent_fd, base, name, entry);
    else if (archive_entry_filetype(entry) == AE_IFDIR)
        rc = write_dir(u, parent_fd, base, name, entry);
    else if (archive_entry_filetype(entry) == AE_IFLNK)
        rc = write_symlink(u, parent_fd, base, name, entry);
    else /* AE_IFREG: entry_problem() let nothing else through */
        rc = write_file(u, parent_fd, base, name, entry);
    close(parent_fd);
    return rc;
}

static int unpack_entries(struct unpack *u)
{
    struct archive_entry *entry;
    for (;;) {
        int r = archive_read_next_header(u->reader, &entry);
        if (r == ARCHIVE_EOF)
            return FAHR_OK;
        if (r < ARCHIVE_WARN)
            return fahr_error_set(u->err, FAHR_EFAIL, "the model archive is damaged: %s",
                                  archive_error_string(u->reader));
        if (u->host->interrupted())
            return fahr_error_set(u->err, FAHR_EINTERRUPTED, "interrupted");
        /* One check of names for entries and loose files (place.c). */
        char name[PATH_MAX];
        const char *path = archive_entry_pathname(entry);
        const char *problem = place_name_problem(path, name, sizeof name);
        if (problem == NULL)
            problem = entry_problem(entry);
        if (problem != NULL)
            return refuse(u, path, problem);
        if (name[0] == '\0')
            continue;
        int rc = write_entry(u, entry, name);
        if (rc != FAHR_OK)
            return rc;
        u->entries++;
        if (archive_entry_filetype(entry) != AE_IFDIR)
            u->files++;
    }
}

/* ---- Once everything is staged ---------------------------------------------- */

/* The kernel resolves the link beneath the staging root, following links
 * as anyone using the model will: a link that leads out fails (EXDEV).
 * A dangling link is refused too: what it names is not the archive's, and
 * once in LOCAL_DIR it could be anything there (a link of the user's to
 * anywhere; the fuzz target found that one). */
static int check_link(struct unpack *u, const char *link_path)
{
    int fd = open_beneath(u->staging->root_fd, link_path, O_PATH, 0,
                          RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
    if (fd >= 0) {
        close(fd);
        return FAHR_OK;
    }
    char why[160];
    if (errno == EXDEV)
        snprintf(why, sizeof why, "it is a symbolic link leading outside the destination");
    else if (errno == ENOENT || errno == ENOTDIR)
        snprintf(why, sizeof why, "it is a symbolic link to something not in the archive");
    else
        snprintf(why, sizeof why, "it is a symbolic link that cannot be followed (%s)",
                 strerror(errno));
    return refuse(u, link_path, why);
}

/* Check every symbolic link in the staged directory `dir_fd` (at `path`,
 * `length` long) and beneath it: whatever is there, however it got there. */
static int check_links(struct unpack *u, int dir_fd, char *path, size_t length, int depth)
{
    int fd = openat(dir_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *dir = fd < 0 || depth > MODEL_MAX_DEPTH ? NULL : fdopendir(fd);
    if (dir == NULL) {
        int error = fd < 0 ? errno : ELOOP;
        if (fd >= 0)
            close(fd);
        return write_failed(u, error);
    }
    int rc = FAHR_OK;
    struct dirent *entry;
    while (rc == FAHR_OK && (entry = readdir(dir)) != NULL) {
        const char *name = entry->d_name;
        if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
            continue;
        int n = snprintf(path + length, PATH_MAX - length, "%s%s", length ? "/" : "", name);
        struct stat st;
        if (n < 0 || (size_t)n >= PATH_MAX - length) {
            rc = refuse(u, path, "its path is longer than the system's limit (PATH_MAX)");
        } else if (fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
            rc = write_failed(u, errno);
        } else if (S_ISLNK(st.st_mode)) {
            rc = check_link(u, path);
        } else if (S_ISDIR(st.st_mode)) {
            int child = open_beneath(dirfd(dir), name, O_RDONLY | O_DIRECTORY, 0, RESOLVE_STRICT);
            rc = child < 0 ? write_failed(u, errno)
                           : check_links(u, child, path, length + (size_t)n, depth + 1);
            if (child >= 0)
                close(child);
        }
    }
    closedir(dir);
    path[length] = '\0';
    return rc;
}

static int deepest_first(const void *a, const void *b)
{
    return strcmp(((const struct dir_fixup *)b)->path, ((const struct dir_fixup *)a)->path);
}

/* Directories' modes and times, set last: a read-only one would have kept
 * its entries out, and every entry made in one changes its time. */
static int apply_fixups(struct unpack *u)
{
    if (u->fixup_count > 1)
        qsort(u->fixups, u->fixup_count, sizeof *u->fixups, deepest_first);
    for (size_t i = 0; i < u->fixup_count; i++) {
        int fd = open_beneath(u->staging->root_fd, u->fixups[i].path, O_RDONLY | O_DIRECTORY, 0,
                              RESOLVE_STRICT);
        bool ok = fd >= 0 && fchmod(fd, u->fixups[i].mode) == 0 &&
                  futimens(fd, u->fixups[i].times) == 0;
        int error = errno;
        if (fd >= 0)
            close(fd);
        if (!ok)
            return write_failed(u, error);
    }
    return FAHR_OK;
}

static int unpack(struct unpack *u, int fd)
{
    struct gunzip *gunzip = gunzip_new(fd);
    u->reader = archive_read_new();
    int rc = FAHR_OK;
    if (gunzip == NULL || u->reader == NULL) {
        rc = fahr_error_set(u->err, FAHR_EFAIL, "out of memory");
    } else {
        archive_read_support_filter_all(u->reader);
        archive_read_support_format_tar(u->reader);
        archive_read_support_format_gnutar(u->reader);
        if (archive_read_open(u->reader, gunzip, NULL, gunzip_read, NULL) != ARCHIVE_OK)
            rc = fahr_error_set(u->err, FAHR_EFAIL, "the model archive cannot be read: %s",
                                archive_error_string(u->reader));
    }
    char path[PATH_MAX] = "";
    if (rc == FAHR_OK)
        rc = unpack_entries(u);
    if (rc == FAHR_OK)
        rc = check_links(u, u->staging->root_fd, path, 0, 0);
    if (rc == FAHR_OK)
        rc = apply_fixups(u);
    archive_read_free(u->reader);
    gunzip_free(gunzip);
    for (size_t i = 0; i < u->fixup_count; i++)
        free(u->fixups[i].path);
    free(u->fixups);
    return rc;
}

int unpack_into_staging(const struct fahr_host *host, struct model_staging *staging, int fd,
                        size_t *files, struct fahr_error *err)
{
    struct unpack u = {.host = host, .staging = staging, .err = err};
    int rc = unpack(&u, fd);
    if (rc == FAHR_OK)
        host->log(FAHR_LOG_DEBUG, "unpacked %zu entries", u.entries);
    *files = u.files;
    return rc;
}
