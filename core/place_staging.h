/* plugins/common/model_staging.h: the staging directory a model archive is
 * unpacked into, and moving it into place; model_unpack.c's helper (see
 * model_unpack.h for the promises). */
#ifndef FAHR_MODEL_STAGING_H
#define FAHR_MODEL_STAGING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <sys/types.h>

#include "fahr/plugin.h"

/* Beneath the directory, no symbolic link followed, no /proc magic. */
#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)

/* How deep an archive's directories may nest: deep enough for any model,
 * and it bounds the descriptors a walk of the staged tree holds open. */
enum { MODEL_MAX_DEPTH = 256 };

struct model_staging {
    const struct fahr_host *host;
    int dest_fd;   /* the destination directory */
    int holder_fd; /* dest/.fahr-fetch-XXXXXX, flock'ed while this fetch lives */
    int root_fd;   /* holder/model: every entry of the archive is beneath it */
    char name[32]; /* the holder's name, ".fahr-fetch-XXXXXX" */
    char dest_dir[PATH_MAX];
};

/* openat2(2) (glibc has no wrapper): -1 with errno on failure. */
int open_beneath(int dir_fd, const char *path, int flags, mode_t mode, uint64_t resolve);

/* A name of a staging directory's form, ".fahr-fetch-XXXXXX". */
bool staging_name(const char *name, size_t length);

/* Remove staging directories that killed fetches left in `dest_dir`, then
 * make and lock a new one. */
int staging_create(const struct fahr_host *host, const char *dest_dir,
                   struct model_staging **staging, struct fahr_error *err);

#endif
