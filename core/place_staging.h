/* core/place_staging.h: the staging directory a model is placed into, and
 * moving it into place; place.c's helper (see place_unpack.h and struct
 * fahr_place in plugin.h for the promises). */
#ifndef FAHR_PLACE_STAGING_H
#define FAHR_PLACE_STAGING_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "fahr/plugin.h"

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

/* A name of a staging directory's form, ".fahr-fetch-XXXXXX". */
bool staging_name(const char *name, size_t length);

/* Remove staging directories that killed fetches left in `dest_dir`, then
 * make and lock a new one. */
int staging_create(const struct fahr_host *host, const char *dest_dir,
                   struct model_staging **staging, struct fahr_error *err);
/* Move the staged model into place, all or nothing as far as conflicts
 * go, and free `staging`. */
int model_staging_commit(struct model_staging *staging, bool overwrite, struct fahr_error *err);
/* Remove the staged model and free `staging` (NULL is fine). */
void model_staging_discard(struct model_staging *staging);

#endif
