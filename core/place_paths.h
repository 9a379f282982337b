/* core/place_paths.h: the paths a placement writes (an archive's entries,
 * loose files), checked by their text before the kernel's confinement
 * (open_beneath) has the last word; place_unpack.c's and place.c's. */
#ifndef FAHR_PLACE_PATHS_H
#define FAHR_PLACE_PATHS_H

#include <stdbool.h>
#include <stddef.h>

/* A relative path that stays inside: no leading '/', no ".." component, no
 * control characters. */
bool path_stays_inside(const char *path);
/* path_stays_inside, and within PATH_MAX and MODEL_MAX_DEPTH: NULL, or why
 * not. */
const char *place_path_problem(const char *path);
/* The one check of a path an archive entry or a loose file names: NULL and
 * its staged form in `staged` ("" for the root itself, "./"), or why it is
 * refused (place_path_problem, or a name fahr keeps for staging). */
const char *place_name_problem(const char *path, char *staged, size_t size);
/* Where a symlink at `path` pointing to `target` leads, as text: the early,
 * clear refusal of the plain cases. What decides is the kernel's
 * resolution once everything is staged (check_link in place_unpack.c). */
bool link_stays_inside(const char *path, const char *target);
/* The path as it is staged: no leading "./", no slash or "/." at the end;
 * false for the root itself ("./"). */
bool staged_path(const char *path, char *staged, size_t size);
/* A path as an error message shows it: control characters escaped, a long
 * one cut. */
const char *place_shown(const char *path, char *out, size_t size);
/* Why the kernel would not create a path where it says, where that is the
 * path's fault (an earlier entry holds it, a link or a file is on the
 * way); NULL where it is the disk's. */
const char *place_errno_reason(int error);
/* Split `path` into its directory part (into `dir`, "." for none) and its
 * last name. */
const char *split_path(const char *path, char *dir, size_t size);
/* A descriptor (O_PATH) of the directory `dir` beneath `root_fd`, its
 * missing directories made as tar makes them; -1 with errno where a
 * symbolic link or a file is on the way. */
int open_parent(int root_fd, const char *dir);

#endif
