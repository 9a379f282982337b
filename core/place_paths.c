/* core/place_paths.c: see place_paths.h. */
#define _GNU_SOURCE
#include "place_paths.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"
#include "place_staging.h"

static bool has_control_characters(const char *text)
{
    return first_control_character(text, strlen(text)) != NULL;
}

/* See place_paths.h. */
bool path_stays_inside(const char *path)
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

bool link_stays_inside(const char *path, const char *target)
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

bool staged_path(const char *path, char *staged, size_t size)
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

const char *place_path_problem(const char *path)
{
    if (!path_stays_inside(path))
        return "its path leaves the destination or has control characters";
    if (strlen(path) >= PATH_MAX)
        return "its path is longer than the system's limit (PATH_MAX)";
    size_t depth = 1;
    for (const char *p = path; *p; p++)
        depth += *p == '/';
    if (depth > MODEL_MAX_DEPTH)
        return "its directories nest too deep";
    return NULL;
}

const char *place_name_problem(const char *path, char *staged, size_t size)
{
    const char *problem = place_path_problem(path);
    if (problem != NULL)
        return problem;
    if (staged_path(path, staged, size) && staging_name(staged, strcspn(staged, "/")))
        return "its name is one fahr keeps for its staging directories";
    return NULL;
}

const char *place_shown(const char *path, char *out, size_t size)
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

const char *place_errno_reason(int error)
{
    switch (error) {
    case EEXIST: return "an earlier entry has that path";
    case ELOOP:
    case EXDEV: return "its path goes through a symbolic link";
    case ENOTDIR: return "its path goes through a file";
    case EISDIR: return "its path names a directory";
    case ENAMETOOLONG: return "a name in its path is too long";
    default: return NULL;
    }
}

const char *split_path(const char *path, char *dir, size_t size)
{
    const char *slash = strrchr(path, '/');
    snprintf(dir, size, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    return slash ? slash + 1 : path;
}

/* The next directory `name` (of `length`) beneath `fd`, made if missing;
 * `fd` is closed. */
static int open_or_make(int fd, const char *name, size_t length)
{
    char copy[NAME_MAX + 1];
    int next = -1, error = ENAMETOOLONG;
    if (length <= NAME_MAX) {
        snprintf(copy, sizeof copy, "%.*s", (int)length, name);
        if (mkdirat(fd, copy, 0755) == 0 || errno == EEXIST)
            next = open_beneath(fd, copy, O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
        error = errno;
    }
    close(fd);
    errno = error;
    return next;
}

int open_parent(int root_fd, const char *dir)
{
    int fd = open_beneath(root_fd, dir, O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
    if (fd >= 0 || errno != ENOENT)
        return fd;
    fd = open_beneath(root_fd, ".", O_PATH | O_DIRECTORY, 0, RESOLVE_STRICT);
    for (const char *p = dir; fd >= 0 && *p;) {
        size_t length = strcspn(p, "/");
        const char *name = p;
        p += length;
        while (*p == '/')
            p++;
        if (length > 0)
            fd = open_or_make(fd, name, length);
    }
    return fd;
}
