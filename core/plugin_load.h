/* core/plugin_load.h: the parts of the plugin loader, shared by plugins.c,
 * plugin_trust.c, plugin_scan.c, plugin_record.c and plugin_cache.c. The
 * commands use fahr.h only. */
#ifndef FAHR_PLUGIN_LOAD_H
#define FAHR_PLUGIN_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>

#include "fahr.h"

/* Longest strings a descriptor may carry; a record is bounded by these. */
#define RECORD_TEXT_MAX 4096
#define RECORD_KEYS_MAX 256

/* ---- plugin_trust.c: who could have written it ---------------------------- */

enum trust_what { TRUST_FILE, TRUST_DIR };

/* Whether an object, by its owner and mode, could be changed only by root
 * or the invoking user. Returns the reason it could not (written into why),
 * or NULL. */
const char *trust_check(const struct stat *st, enum trust_what what, char *why, size_t why_size);
/* The same for every directory above `resolved` (an absolute path without
 * symlinks, as realpath() gives), up to /. */
const char *trust_check_ancestors(const char *resolved, char *why, size_t why_size);
/* Both, for `st`, the object `path` resolves to (`resolved`); the reason
 * names `resolved` where it differs from `path`. */
const char *trust_check_path(const char *path, const char *resolved, const struct stat *st,
                             enum trust_what what, char *why, size_t why_size);

/* ---- plugin_record.c: records and their text form ------------------------- */

void file_id_of(const struct stat *st, struct plugin_file_id *id);
bool file_id_equal(const struct plugin_file_id *a, const struct plugin_file_id *b);

/* Copy a versioned struct the plugin compiled with `their_size` bytes into
 * the host's zeroed one, so members the plugin does not know read as NULL. */
void copy_versioned(void *ours, size_t our_size, const void *theirs, uint32_t their_size);
void record_free(struct plugin_record *record);
void record_copy(struct plugin_record *to, const struct plugin_record *from);
bool record_equal(const struct plugin_record *a, const struct plugin_record *b);
/* Make `record` a refusal with a formatted reason. */
void record_skip(struct plugin_record *record, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Describe an accepted descriptor (read only inside the bounds above).
 * Returns the reason it cannot be described, or NULL. */
const char *record_from_descriptor(const struct fahr_plugin *desc, struct plugin_record *record,
                                   char *why, size_t why_size);

struct text {                  /* a growing buffer */
    char *data;
    size_t len, cap;
};
void text_append(struct text *text, const void *bytes, size_t len);
void text_printf(struct text *text, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void text_free(struct text *text);

struct reader {                /* a cursor over untrusted bytes */
    const char *at, *end;
    bool bad;                  /* once set, every read fails */
};
/* A string written by text_string(): NULL for "-", else a heap copy (caller
 * frees); sets r->bad on anything else. */
char *read_string(struct reader *r, size_t max);
void text_string(struct text *text, const char *s);
uint64_t read_number(struct reader *r);
int64_t read_signed(struct reader *r);
void read_literal(struct reader *r, const char *literal);

void record_encode(struct text *out, const struct plugin_record *record);
/* Returns false (and leaves `record` empty) on anything malformed. */
bool record_decode(struct reader *in, struct plugin_record *record);

/* ---- plugin_scan.c: a plugin's code runs in a child first ----------------- */

/* Check a loaded descriptor; on success fill plugin->desc, build and train.
 * Returns the reason it was refused (written into why), or NULL. */
const char *descriptor_accept(const struct fahr_plugin *desc, struct plugin *plugin, char *why,
                              size_t why_size);
/* dlopen `resolved` in a child process and describe it (a refusal where it
 * crashes, hangs, writes to stdout or is no usable plugin). `cacheable` is
 * false where the outcome says nothing of the plugin (fahr was
 * interrupted). */
void plugin_scan(const char *resolved, struct plugin_record *record, bool *cacheable);
/* dlopen in this process with stdout pointed at stderr meanwhile, so a
 * constructor cannot write into the command's result. NULL with the reason
 * in why on failure. */
void *plugin_dlopen_quietly(const char *resolved, char *why, size_t why_size);

/* ---- plugin_cache.c: the registry of scan records ------------------------- */

struct cache_entry {
    char *path;                /* the resolved path */
    struct plugin_file_id id;
    struct plugin_record record;
    bool seen;                 /* found on this run's search path */
};

struct plugin_cache {
    char *file;                /* NULL: caching is off */
    struct cache_entry *entries;
    size_t count;
    bool dirty;                /* must be written back */
};

/* Read the cache; a missing, foreign or corrupt file reads as empty. */
void plugin_cache_open(struct plugin_cache *cache);
/* The record of `path` made from the file `id`, or NULL. */
const struct plugin_record *plugin_cache_find(struct plugin_cache *cache, const char *path,
                                              const struct plugin_file_id *id);
void plugin_cache_put(struct plugin_cache *cache, const char *path,
                      const struct plugin_file_id *id, const struct plugin_record *record);
/* Drop the record of `path` from the cache file (it proved wrong). */
void plugin_cache_forget(const char *path);
/* Write the cache back if it changed (never fatal), and free it. */
void plugin_cache_close(struct plugin_cache *cache);

#endif
