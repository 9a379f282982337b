/* plugins/common/model_unpack.c: see model_unpack.h.
 *
 * libarchive reads the tar stream; the entries are written here, each
 * relative to a descriptor opened beneath the staging root with openat2's
 * RESOLVE_BENEATH and no symbolic link followed. (libarchive's own writer
 * follows paths by name and checks links as text, which a chain of links
 * gets through: once a path crosses a link, ".." no longer means what the
 * text says.) */
#define _GNU_SOURCE
#include "model_unpack.h"

#include "gunzip.h"
#include "model_staging.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- Checking entries by their text -------------------------------------- */

static bool has_control_characters(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* A relative path that stays inside: no leading '/', no ".." component, no
 * control characters. */
static bool path_stays_inside(const char *path)
{
    if (path == NULL || path[0] == '\0' || path[0] == '/' || has_control_characters(path))
        return false;
    const char *segment = path;
    while (*segment) {
        size_t length = strcspn(segment, "/");
        if (length == 2 && segment[0] == '.' && segment[1] == '.')
            return false;
        segment += length;
        while (*segment == '/')
            segment++;
    }
    return true;
}

/* Where a symlink at `path` pointing to `target` leads, as text: the early,
 * clear refusal of the plain cases. What decides is the kernel's
 * resolution once everything is staged (check_link). */
static bool link_stays_inside(const char *path, const char *target)
{
    if (target == NULL || target[0] == '\0' || target[0] == '/' || has_control_characters(target))
        return false;
    int depth = 0;
    /* The link's own directory depth. */
    for (const char *p = path; *p; p++)
        if (*p == '/' && p[1] != '\0' && p[1] != '/')
            depth++;
    const char *segment = target;
    while (*segment) {
        size_t length = strcspn(segment, "/");
        if (length == 2 && segment[0] == '.' && segment[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (!(length == 0 || (length == 1 && segment[0] == '.'))) {
            depth++;
        }
        segment += length;
        while (*segment == '/')
            segment++;
    }
    return true;
}

/* The path as it is staged: no leading "./", no slash or "/." at the end;
 * false for the archive's root itself ("./"), which is skipped. */
static bool staged_path(const char *path, char *staged, size_t size)
{
    while (path[0] == '.' && path[1] == '/') {
        path += 2;
        while (*path == '/')
            path++;
    }
    size_t length = strlen(path);
    while (length > 0 && (path[length - 1] == '/' ||
                          (path[length - 1] == '.' && (length == 1 || path[length - 2] == '/'))))
        length--;
    snprintf(staged, size, "%.*s", (int)length, path);
    return length > 0;
}

static const char *path_problem(const char *path)
{
    if (strlen(path) >= PATH_MAX)
        return "its path is longer than the system's limit (PATH_MAX)";
    size_t depth = 1;
    for (const char *p = path; *p; p++)
        depth += *p == '/';
    if (depth > MODEL_MAX_DEPTH)
        return "its directories nest too deep";
    return NULL;
}

static const char *entry_problem(struct archive_entry *entry)
{
    const char *path = archive_entry_pathname(entry);
    if (!path_stays_inside(path))
        return "its path leaves the destination or has control characters";
    const char *problem = path_problem(path);
    if (problem != NULL)
        return problem;
    /* A hard link's type reads as unknown; what matters is its target. */
    const char *hardlink = archive_entry_hardlink(entry);
    if (hardlink != NULL) {
        if (!path_stays_inside(hardlink))
            return "it is a hard link to a file outside the destination";
        return path_problem(hardlink);
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

/* An archive's path as an error message shows it: control characters
 * escaped, a long one cut. */
static const char *shown(const char *path, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = path; p && *p && n + 8 < size; p++)
        n += (size_t)snprintf(out + n, size - n, (unsigned char)*p < 0x20 ? "\\x%02x" : "%c",
                              (unsigned char)*p);
    if (path && strlen(path) > n && n + 4 <= size)
        n += (size_t)snprintf(out + n, size - n, "...");
    out[n] = '\0';
    return out;
}

static int refuse(struct unpack *u, const char *path, const char *problem)
{
    char text[256];
    return fahr_error_set(u->err, FAHR_EFAIL,
                          "refusing the model archive: entry '%s': %s; nothing was written",
                          shown(path, text, sizeof text), problem);
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
    const char *why = NULL;
    switch (error) {
    case EEXIST: why = "an earlier entry has that path"; break;
    case ELOOP:
    case EXDEV: why = "its path goes through a symbolic link"; break;
    case ENOTDIR: why = "its path goes through a file"; break;
    case EISDIR: why = "its path names a directory"; break;
    case ENAMETOOLONG: why = "a name in its path is too long"; break;
    default: return write_failed(u, error);
    }
    char text[256];
    return fahr_error_set(u->err, FAHR_EFAIL,
                          "refusing the model archive: cannot unpack %s: %s; nothing was written",
                          shown(name, text, sizeof text), why);
}

/* Split `path` into its directory part (into `dir`, "." for none) and its
 * last name. */
static const char *split_path(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    snprintf(dir, size, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    return slash ? slash + 1 : path;
}

/* A descriptor (O_PATH) of the directory `dir` beneath the staging root,
 * its missing directories made as tar makes them for an entry whose
 * directories the archive does not list; -1 with errno where a symbolic
 * link or a file is on the way. */
static int open_parent(int root_fd, const char *dir)
{
    int fd = open_beneath(root_fd, dir, O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    fd = open_beneath(root_fd, ".", O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
    for (const char *p = dir; fd >= 0 && *p;) {
        size_t length = strcspn(p, "/");
        char name[NAME_MAX + 1];
        if (length > NAME_MAX) {
            close(fd);
            errno = ENAMETOOLONG;
            return -1;
        }
        snprintf(name, sizeof name, "%.*s", (int)length, p);
        p += length;
        while (*p == '/')
            p++;
        if (length == 0)
            continue;
        if (mkdirat(fd, name, 0755) != 0 && errno != EEXIST) {
            int error = errno;
            close(fd);
            errno = error;
            return -1;
        }
        int next = open_beneath(fd, name, O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
        int error = errno;
        close(fd);
        errno = error;
        fd = next;
    }
    return fd;
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
                              shown(name, text, sizeof text), archive_error_string(u->reader));
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
        const char *problem = entry_problem(entry);
        if (problem != NULL)
            return refuse(u, archive_entry_pathname(entry), problem);
        char name[PATH_MAX];
        if (!staged_path(archive_entry_pathname(entry), name, sizeof name))
            continue;
        if (staging_name(name, strcspn(name, "/")))
            return refuse(u, name, "its name is one fahr keeps for its staging directories");
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

int model_unpack_stage(const struct fahr_host *host, int fd, const char *dest_dir,
                       struct model_staging **staging, struct fahr_error *err)
{
    /* A file-size limit is a write failure like a full disk: said so, and
     * the staging directory removed, rather than a kill. */
    signal(SIGXFSZ, SIG_IGN);
    int rc = staging_create(host, dest_dir, staging, err);
    if (rc != FAHR_OK)
        return rc;
    struct unpack u = {.host = host, .staging = *staging, .err = err};
    rc = unpack(&u, fd);
    if (rc != FAHR_OK) {
        model_staging_discard(*staging);
        *staging = NULL;
        return rc;
    }
    host->log(FAHR_LOG_DEBUG, "unpacked %zu entries", u.entries);
    /* A script that forgot to save its model completes all the same. */
    if (u.files == 0)
        host->log(FAHR_LOG_WARN, "the model is empty: the job wrote no file to /opt/ml/model");
    return FAHR_OK;
}

int model_unpack_fd(const struct fahr_host *host, int fd, const char *dest_dir, bool overwrite,
                    struct fahr_error *err)
{
    struct model_staging *staging;
    int rc = model_unpack_stage(host, fd, dest_dir, &staging, err);
    return rc == FAHR_OK ? model_staging_commit(staging, overwrite, err) : rc;
}
