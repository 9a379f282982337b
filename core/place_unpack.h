/* core/place_unpack.h: unpack an untrusted model archive (tar or tar.gz)
 * into a placement's staging directory (host->place_archive, place.c).
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
#ifndef FAHR_PLACE_UNPACK_H
#define FAHR_PLACE_UNPACK_H

#include <stddef.h>

#include "fahr/plugin.h"
#include "place_staging.h"

/* Unpack the tar or tar.gz read from `fd` (to its end, or until refused)
 * beneath the staging root, links checked and directories' modes set;
 * *files counts what is not a directory. On failure the staging directory
 * holds a part of the archive: discard it. */
int unpack_into_staging(const struct fahr_host *host, struct model_staging *staging, int fd,
                        size_t *files, struct fahr_error *err);

#endif
