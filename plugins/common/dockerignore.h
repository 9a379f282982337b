/* plugins/common/dockerignore.h: which files a build context leaves out. */
#ifndef FAHR_DOCKERIGNORE_H
#define FAHR_DOCKERIGNORE_H

#include <stdbool.h>
#include <stddef.h>

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
/* The glob matcher itself ('*', '?', '[...]', "**"), exposed for tests. */
bool dockerignore_glob(const char *pattern, const char *path);

#endif
