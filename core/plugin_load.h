/* core/plugin_load.h: the parts of the plugin loader, shared by plugins.c,
 * plugin_trust.c, plugin_scan.c, plugin_record.c and plugin_cache.c. The
 * commands use fahr.h only. */
#ifndef FAHR_PLUGIN_LOAD_H
#define FAHR_PLUGIN_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "fahr.h"

/* ---- plugin_trust.c: who could have written it ---------------------------- */

enum trust_what { TRUST_FILE, TRUST_DIR };

/* Whether an object, by its owner and mode, could be changed only by root
 * or the invoking user. Returns the reason it could not (written into why),
 * or NULL. */
const char *trust_check(const struct stat *st, enum trust_what what, char *why, size_t why_size);
/* The same for every directory above `resolved` (an absolute path without
 * symlinks, as realpath() gives), up to /. */
const char *trust_check_ancestors(const char *resolved, char *why, size_t why_size);

#endif
