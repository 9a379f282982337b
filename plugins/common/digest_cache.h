/* plugins/common/digest_cache.h: each input file's content digest,
 * remembered by what stat(2) says of it, so that re-sending unchanged
 * inputs costs a stat, not a read.
 *
 * One file per input path in $XDG_CACHE_HOME/fahr/digests/ (default
 * ~/.cache/fahr/digests/), named by the SHA-256 of the path: mode 0600 in
 * a 0700 directory, written whole to a temporary name and renamed, so a
 * reader never sees half an entry. An entry holds the path, the file's
 * device, inode, size, mtime and ctime (nanoseconds) and the digest; it
 * is used only when every one of them matches what stat says now (a
 * rewrite changes the ctime even where the mtime is put back). Anything
 * else (a garbled or foreign entry, a directory that is not this user's
 * alone, no HOME) is a miss: the file is read, never trusted. */
#ifndef FAHR_DIGEST_CACHE_H
#define FAHR_DIGEST_CACHE_H

#include <stdbool.h>
#include <sys/stat.h>

/* The lower-case hex SHA-256 of `path`'s content into `sha256` where an
 * entry matches `st` (the file's stat, taken before it was read). */
bool digest_cache_get(const char *path, const struct stat *st, char sha256[65]);

/* Remember `sha256` for `path` as `st` describes it. Best effort: a cache
 * that cannot be written costs the next run a read, nothing more. */
void digest_cache_put(const char *path, const struct stat *st, const char sha256[65]);

#endif
