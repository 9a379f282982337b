/* plugins/common/dockerignore.h: which files a build context leaves out. */
#ifndef FAHR_DOCKERIGNORE_H
#define FAHR_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

#include "tar_stream.h"

struct dockerignore;

/* Read CONTEXT_DIR/.dockerignore; no file means nothing is excluded.
 * Returns NULL only when out of memory. Free with dockerignore_free(). */
struct dockerignore *dockerignore_load(const char *context_dir);
struct dockerignore *dockerignore_parse(const char *text, size_t len);
void dockerignore_free(struct dockerignore *ignore);

/* Whether PATH (relative to the context, '/'-separated, no leading "./")
 * is left out of the build context. */
bool dockerignore_excludes(const struct dockerignore *ignore, const char *path);
/* Whether some '!' rule may bring back a file under an excluded directory,
 * so excluded directories must still be walked. */
bool dockerignore_may_reinclude(const struct dockerignore *ignore);
/* The build context's tar_stream filter; DATA is the struct dockerignore.
 * What it excludes stays out, except the files a build of fahr's needs,
 * which are sent whatever .dockerignore says (the Docker CLI does so for
 * the Dockerfile and .dockerignore): Dockerfile, .dockerignore and run.sh
 * at the top of the context. */
enum tar_verdict dockerignore_filter(const void *data, const char *relative, bool directory);
/* The glob matcher itself ('*', '?', '[...]', "**"), exposed for tests. */
bool dockerignore_glob(const char *pattern, const char *path);

#endif
