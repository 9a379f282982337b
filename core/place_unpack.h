/* plugins/common/model_unpack.h: unpack an untrusted model archive (tar or
 * tar.gz) into a directory, for every train driver.
 *
 * Nothing is ever written outside the destination, by construction: every
 * entry is created relative to a descriptor of a staging directory inside
 * the destination, with the kernel's confinement (openat2 RESOLVE_BENEATH,
 * no symbolic link followed on the way), and once everything is staged each
 * symbolic link is resolved by the kernel beneath the staging directory; one
 * that leads out refuses the whole archive. Entries with absolute paths,
 * "..", control characters, names past the system's path limit, devices,
 * FIFOs, and an entry whose path an earlier one already holds refuse it
 * too. Only then does the model move into place (renameat between the two
 * directories' descriptors), so on any failure the destination is as it
 * was; existing files are replaced only when asked.
 *
 * A staging directory is `.fahr-fetch-XXXXXX` in the destination, locked
 * (flock) by its fetch and marked as fahr's by a file inside; one whose
 * fetch was killed is removed by the next fetch into that directory, and
 * only one that is fahr's own, unlocked and owned by this user. */
#ifndef FAHR_MODEL_UNPACK_H
#define FAHR_MODEL_UNPACK_H

#include <stdbool.h>

#include "fahr/plugin.h"

/* Unpack the tar or tar.gz read from `fd` into `dest_dir`. */
int model_unpack_fd(const struct fahr_host *host, int fd, const char *dest_dir, bool overwrite,
                    struct fahr_error *err);

/* The two halves of model_unpack_fd, for a caller that has more to check
 * (a download's checksum) before the model may move into place. */
struct model_staging;

/* Unpack into a new staging directory inside `dest_dir`; on failure
 * nothing is left and *staging is NULL. */
int model_unpack_stage(const struct fahr_host *host, int fd, const char *dest_dir,
                       struct model_staging **staging, struct fahr_error *err);
/* Move the staged model into place, all or nothing as far as conflicts
 * go, and free `staging`. */
int model_staging_commit(struct model_staging *staging, bool overwrite, struct fahr_error *err);
/* Remove the staged model and free `staging` (NULL is fine). */
void model_staging_discard(struct model_staging *staging);

#endif
