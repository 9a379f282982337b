/* plugins/common/digest_cache.c: see digest_cache.h. */
#define _GNU_SOURCE
#include "digest_cache.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sigv4.h"

enum { ENTRY_MAX = PATH_MAX + 512 };

static const char MAGIC[] = "fahr-digest 1\n";

/* $XDG_CACHE_HOME/fahr/digests (or ~/.cache/...), made 0700 where missing;
 * false where there is none, or it is not a directory this user alone may
 * write (another user could then plant entries). */
static bool cache_dir(char *dir, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(dir, size, "%s/fahr/digests", xdg);
    else if (home != NULL && home[0] == '/')
        n = snprintf(dir, size, "%s/.cache/fahr/digests", home);
    else
        return false;
    if (n <= 0 || (size_t)n >= size)
        return false;
    /* The parents as any cache's (0700 too: nothing in them is for others). */
    for (char *slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(dir, 0700) != 0 && errno != EEXIST) {
            *slash = '/';
            return false;
        }
        *slash = '/';
    }
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        return false;
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & 0077) == 0;
}

/* The entry's file for `path` (absolute, links resolved) into `entry`, and
 * the resolved path into `absolute`. */
static bool entry_path(const char *path, char absolute[PATH_MAX], char *entry, size_t size)
{
    char dir[PATH_MAX];
    if (realpath(path, absolute) == NULL || !cache_dir(dir, sizeof dir))
        return false;
    char name[65];
    sigv4_sha256_hex(absolute, strlen(absolute), name);
    int n = snprintf(entry, size, "%s/%s", dir, name);
    return n > 0 && (size_t)n < size;
}

static long long nanoseconds(const struct timespec *t)
{
    return (long long)t->tv_sec * 1000000000LL + t->tv_nsec;
}

/* The entry's text for a path, a stat and a digest. */
static int entry_text(char *out, size_t size, const char *absolute, const struct stat *st,
                      const char *sha256)
{
    return snprintf(out, size, "%s%s\n%ju %ju %jd %lld %lld\n%s\n", MAGIC, absolute,
                    (uintmax_t)st->st_dev, (uintmax_t)st->st_ino, (intmax_t)st->st_size,
                    nanoseconds(&st->st_mtim), nanoseconds(&st->st_ctim), sha256);
}

static bool is_hex_digest(const char *text)
{
    return strlen(text) == 64 && strspn(text, "0123456789abcdef") == 64;
}

/* Up to `size` - 1 bytes of a regular file of this user's, NUL-ended; -1
 * for anything else (a link, a FIFO, another's file, a read error). */
static ssize_t read_entry(const char *entry, char *text, size_t size)
{
    int fd = open(entry, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -1;
    struct stat st;
    ssize_t got = -1;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        st.st_size < (off_t)size)
        got = read(fd, text, size - 1);
    close(fd);
    if (got >= 0)
        text[got] = '\0';
    return got;
}

bool digest_cache_get(const char *path, const struct stat *st, char sha256[65])
{
    char absolute[PATH_MAX], entry[PATH_MAX + 80];
    if (!entry_path(path, absolute, entry, sizeof entry))
        return false;
    char *text = malloc(ENTRY_MAX), *expected = malloc(ENTRY_MAX);
    bool hit = false;
    if (text != NULL && expected != NULL && read_entry(entry, text, ENTRY_MAX) > 0) {
        /* What the entry would say for this file now, whatever the digest:
         * the stored one is taken only where the rest agrees to the byte. */
        const char *zeros = "0000000000000000000000000000000000000000000000000000000000000000";
        int n = entry_text(expected, ENTRY_MAX, absolute, st, zeros);
        size_t head = n > 65 ? (size_t)n - 65 : 0;
        if (n > 0 && n < ENTRY_MAX && strlen(text) == (size_t)n &&
            memcmp(text, expected, head) == 0 && text[n - 1] == '\n') {
            text[n - 1] = '\0';
            if (is_hex_digest(text + head)) {
                memcpy(sha256, text + head, 65);
                hit = true;
            }
        }
    }
    free(text);
    free(expected);
    return hit;
}

void digest_cache_put(const char *path, const struct stat *st, const char sha256[65])
{
    char absolute[PATH_MAX], entry[PATH_MAX + 80];
    if (!is_hex_digest(sha256) || !entry_path(path, absolute, entry, sizeof entry))
        return;
    char *text = malloc(ENTRY_MAX);
    int n = text ? entry_text(text, ENTRY_MAX, absolute, st, sha256) : -1;
    char temporary[PATH_MAX + 100];
    snprintf(temporary, sizeof temporary, "%s.XXXXXX", entry);
    int fd = n > 0 && n < ENTRY_MAX ? mkostemp(temporary, O_CLOEXEC) : -1; /* 0600 */
    if (fd >= 0) {
        bool written = write(fd, text, (size_t)n) == n;
        if (close(fd) != 0 || !written || rename(temporary, entry) != 0)
            unlink(temporary);
    }
    free(text);
}
