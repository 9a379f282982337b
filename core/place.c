/* core/place.c: host->place_*, placing a model into a directory all or
 * nothing (the promises are struct fahr_place's, in plugin.h).
 *
 * Everything lands in a staging directory inside dest_dir
 * (place_staging.c) and moves into place on commit. An archive is pushed
 * by the driver as its bytes arrive; they go through a pipe to a thread
 * that unpacks them (place_unpack.c), so memory stays bounded by the pipe
 * whatever the model's size, and inflating runs beside the download. Loose
 * files are created one by one beneath the staging root, their names
 * checked as an archive's entries are (place_paths.c). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"
#include "place_paths.h"
#include "place_staging.h"
#include "place_unpack.h"

enum place_kind { PLACE_NOTHING_YET, PLACE_ARCHIVE, PLACE_FILES };

struct fahr_place {
    const struct fahr_host *host;
    struct model_staging *staging;
    bool overwrite;
    enum place_kind kind;
    int failed; /* the first failure's status, repeated by every later call */
    struct fahr_error failure;
    size_t files; /* placed, not counting directories */
    /* An archive: written into pipe_fd, unpacked by `unpacker`. */
    int pipe_fd;
    int read_fd;
    pthread_t unpacker;
    bool unpacking;
    int unpack_rc;
    struct fahr_error unpack_err;
    /* Loose files: the one being written. */
    int file_fd;
    mode_t file_mode;
};

static int fail(struct fahr_place *place, int rc, const struct fahr_error *why,
                struct fahr_error *err)
{
    if (!place->failed) {
        place->failed = rc;
        place->failure = *why;
    }
    if (err != NULL && err != &place->failure)
        *err = place->failure;
    return place->failed;
}

/* A loose file refused for its path. */
static int refuse_file(struct fahr_place *place, struct fahr_error *err, const char *path,
                       const char *problem)
{
    char text[256];
    struct fahr_error why;
    fahr_error_set(&why, FAHR_EFAIL, "refusing the model file '%s': %s; nothing was written",
                   place_shown(path, text, sizeof text), problem);
    return fail(place, FAHR_EFAIL, &why, err);
}

static int fail_errno(struct fahr_place *place, struct fahr_error *err, int error)
{
    struct fahr_error why;
    fahr_error_set(&why, FAHR_EFAIL, "cannot write to %s: %s", place->staging->dest_dir,
                   strerror(error));
    return fail(place, FAHR_EFAIL, &why, err);
}

int place_open_with(const struct fahr_host *host, const char *dest_dir, int overwrite,
                    struct fahr_place **place, struct fahr_error *err)
{
    *place = NULL;
    /* A file-size limit is a write failure like a full disk: said so, and
     * the staging directory removed, rather than a kill. */
    signal(SIGXFSZ, SIG_IGN);
    struct fahr_place *p = calloc(1, sizeof *p);
    if (p == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    *p = (struct fahr_place){.host = host, .overwrite = overwrite != 0, .pipe_fd = -1,
                             .read_fd = -1, .file_fd = -1};
    int rc = staging_create(host, dest_dir, &p->staging, err);
    if (rc != FAHR_OK) {
        free(p);
        return rc;
    }
    *place = p;
    return FAHR_OK;
}

int host_place_open(const char *dest_dir, int overwrite, struct fahr_place **place,
                    struct fahr_error *err)
{
    return place_open_with(host_services(), dest_dir, overwrite, place, err);
}

/* ---- An archive --------------------------------------------------------- */

/* Unpack what the pipe brings. Bytes after the archive's end (a tar
 * record's padding) are read and dropped, so the writer never sees the
 * pipe close under a good archive; a refused one closes it at once. */
static void *unpack_thread(void *data)
{
    struct fahr_place *p = data;
    p->unpack_rc = unpack_into_staging(p->host, p->staging, p->read_fd, &p->files, &p->unpack_err);
    char rest[16384];
    while (p->unpack_rc == FAHR_OK && (read(p->read_fd, rest, sizeof rest) > 0 || errno == EINTR))
        ;
    close(p->read_fd);
    p->read_fd = -1;
    return NULL;
}

static int start_unpacking(struct fahr_place *p, struct fahr_error *err)
{
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return fail_errno(p, err, errno);
    /* A deeper pipe: fewer hand-overs between the two threads. */
    fcntl(fds[1], F_SETPIPE_SZ, 1024 * 1024);
    p->read_fd = fds[0];
    p->pipe_fd = fds[1];
    if (pthread_create(&p->unpacker, NULL, unpack_thread, p) != 0) {
        close(fds[0]);
        close(fds[1]);
        p->read_fd = p->pipe_fd = -1;
        struct fahr_error why;
        fahr_error_set(&why, FAHR_EFAIL, "cannot start unpacking the model");
        return fail(p, FAHR_EFAIL, &why, err);
    }
    p->unpacking = true;
    p->kind = PLACE_ARCHIVE;
    return FAHR_OK;
}

/* The end of the archive: the unpacker's verdict. */
static int finish_unpacking(struct fahr_place *p, struct fahr_error *err)
{
    if (!p->unpacking)
        return FAHR_OK;
    close(p->pipe_fd);
    p->pipe_fd = -1;
    pthread_join(p->unpacker, NULL);
    p->unpacking = false;
    return p->unpack_rc == FAHR_OK ? FAHR_OK : fail(p, p->unpack_rc, &p->unpack_err, err);
}

static int mixed(struct fahr_place *p, struct fahr_error *err)
{
    struct fahr_error why;
    fahr_error_set(&why, FAHR_EFAIL, "a placement takes one archive or loose files, not both");
    return fail(p, FAHR_EFAIL, &why, err);
}

int host_place_archive(struct fahr_place *p, const void *data, size_t length,
                       struct fahr_error *err)
{
    if (p->failed)
        return fail(p, p->failed, &p->failure, err);
    if (p->kind == PLACE_FILES)
        return mixed(p, err);
    if (p->kind == PLACE_NOTHING_YET && start_unpacking(p, err) != FAHR_OK)
        return p->failed;
    if (write_all(p->pipe_fd, data, length))
        return FAHR_OK;
    /* The unpacker stopped reading: it refused the archive. */
    if (finish_unpacking(p, err) == FAHR_OK) {
        struct fahr_error why;
        fahr_error_set(&why, FAHR_EFAIL, "the model archive could not be handed on");
        return fail(p, FAHR_EFAIL, &why, err);
    }
    return p->failed;
}

/* ---- Loose files ---------------------------------------------------------- */

static int finish_file(struct fahr_place *p, struct fahr_error *err)
{
    if (p->file_fd < 0)
        return FAHR_OK;
    /* fchmod: the mode asked for, whatever the umask. */
    int rc = fchmod(p->file_fd, p->file_mode) == 0 ? 0 : errno;
    if (close(p->file_fd) != 0 && rc == 0)
        rc = errno;
    p->file_fd = -1;
    return rc == 0 ? FAHR_OK : fail_errno(p, err, rc);
}

/* Create `name` (checked) beneath the staging root. */
static int create_file(struct fahr_place *p, const char *path, const char *name,
                       struct fahr_error *err)
{
    char dir[PATH_MAX];
    const char *base = split_path(name, dir, sizeof dir);
    int parent_fd = open_parent(p->staging->root_fd, dir);
    if (parent_fd >= 0) {
        p->file_fd = open_beneath(parent_fd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW,
                                  0600, RESOLVE_STRICT);
        int error = errno;
        close(parent_fd);
        errno = error;
    }
    if (p->file_fd >= 0)
        return FAHR_OK;
    const char *why = place_errno_reason(errno);
    if (why == NULL)
        return fail_errno(p, err, errno);
    return refuse_file(p, err, path, why);
}

int host_place_file(struct fahr_place *p, const char *relative_path, uint32_t mode,
                    struct fahr_error *err)
{
    if (p->failed)
        return fail(p, p->failed, &p->failure, err);
    if (p->kind == PLACE_ARCHIVE)
        return mixed(p, err);
    p->kind = PLACE_FILES;
    if (finish_file(p, err) != FAHR_OK)
        return p->failed;
    char name[PATH_MAX];
    const char *problem = relative_path == NULL ? "it has no path"
                                                : place_name_problem(relative_path, name,
                                                                     sizeof name);
    if (problem == NULL && name[0] == '\0')
        problem = "it names the destination itself";
    if (problem != NULL)
        return refuse_file(p, err, relative_path ? relative_path : "", problem);
    int rc = create_file(p, relative_path, name, err);
    if (rc != FAHR_OK)
        return rc;
    p->file_mode = mode == 0 ? 0644 : (mode_t)(mode & 0755);
    p->files++;
    return FAHR_OK;
}

int host_place_write(struct fahr_place *p, const void *data, size_t length,
                     struct fahr_error *err)
{
    if (p->failed)
        return fail(p, p->failed, &p->failure, err);
    if (p->file_fd < 0) {
        struct fahr_error why;
        fahr_error_set(&why, FAHR_EFAIL, "place_write without a file: call place_file first");
        return fail(p, FAHR_EFAIL, &why, err);
    }
    return write_all(p->file_fd, data, length) ? FAHR_OK : fail_errno(p, err, errno);
}

/* ---- The end ---------------------------------------------------------------- */

void host_place_abort(struct fahr_place *p)
{
    if (p == NULL)
        return;
    if (p->unpacking) {
        /* The unpacker sees the archive end where it stopped and fails. */
        close(p->pipe_fd);
        pthread_join(p->unpacker, NULL);
    }
    if (p->file_fd >= 0)
        close(p->file_fd);
    model_staging_discard(p->staging);
    free(p);
}

int host_place_commit(struct fahr_place *p, struct fahr_error *err)
{
    int rc = p->failed ? fail(p, p->failed, &p->failure, err) : FAHR_OK;
    if (rc == FAHR_OK)
        rc = finish_unpacking(p, err);
    if (rc == FAHR_OK)
        rc = finish_file(p, err);
    if (rc != FAHR_OK) {
        host_place_abort(p);
        return rc;
    }
    /* A script that forgot to save its model completes all the same. */
    if (p->files == 0)
        p->host->log(FAHR_LOG_WARN, "the model is empty: the job wrote no file to /opt/ml/model");
    rc = model_staging_commit(p->staging, p->overwrite, err);
    free(p);
    return rc;
}

/* Feed what `fd` holds to place_archive, to its end. */
static int feed(struct fahr_place *place, int fd, struct fahr_error *err)
{
    char *buffer = malloc(256 * 1024);
    if (buffer == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    /* An empty stream is an archive too (a damaged one). */
    int rc = host_place_archive(place, "", 0, err);
    while (rc == FAHR_OK) {
        ssize_t n = read(fd, buffer, 256 * 1024);
        if (n == 0)
            break;
        if (n < 0 && errno != EINTR)
            rc = fahr_error_set(err, FAHR_EFAIL, "cannot read the model: %s", strerror(errno));
        else if (n > 0)
            rc = host_place_archive(place, buffer, (size_t)n, err);
    }
    free(buffer);
    return rc;
}

int place_archive_fd(const struct fahr_host *host, int fd, const char *dest_dir, bool overwrite,
                     struct fahr_error *err)
{
    struct fahr_place *place;
    int rc = place_open_with(host, dest_dir, overwrite, &place, err);
    if (rc == FAHR_OK)
        rc = feed(place, fd, err);
    if (rc != FAHR_OK) {
        host_place_abort(place);
        return rc;
    }
    return host_place_commit(place, err);
}
