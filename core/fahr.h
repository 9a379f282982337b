/*
 * core/fahr.h: the host's private interface. Drivers see only
 * include/fahr/plugin.h; this header is for core/ and its tests.
 *
 * Ownership follows the rule in plugin.h: borrowed in, copied out. Functions
 * that return a heap string say so ("caller frees"); everything else a
 * function returns is borrowed from the object it was read from.
 */
#ifndef FAHR_CORE_H
#define FAHR_CORE_H

#include <stdbool.h>
#include <stddef.h>

#include "fahr/plugin.h"

/* Exit codes, documented in `fahr --help` and the README. */
enum fahr_exit {
    FAHR_EXIT_OK = 0,
    FAHR_EXIT_FAILED = 1,   /* the work failed: a build, a service, the engine */
    FAHR_EXIT_USAGE = 2,      /* bad command line, config or driver name */
    FAHR_EXIT_JOB_FAILED = 3, /* the training job ended Failed or Stopped */
    FAHR_EXIT_INTERRUPTED = 130
};

/* ---- host.c: output and host services ---------------------------------- */

enum verbosity { VERBOSITY_QUIET = 0, VERBOSITY_NORMAL = 1, VERBOSITY_VERBOSE = 2 };

void host_init(enum verbosity verbosity);
const struct fahr_host *host_services(void);
/* Error line on stderr: "fahr: <message>". */
void host_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void host_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void host_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Install SIGINT/SIGTERM handlers that set the interrupted flag. */
void host_catch_signals(void);
int host_interrupted(void);

/* ---- config.c: --config.KEY=VALUE --------------------------------------- */

struct fahr_config; /* opaque in plugin.h, defined in config.c */

struct fahr_config *config_new(void);
void config_free(struct fahr_config *config);
/* Record a raw value from the command line (last one wins). */
void config_set(struct fahr_config *config, const char *key, const char *value);
/* Check every raw value against the drivers' declared keys, normalise it,
 * fill in defaults and check the required keys of the tables whose bit is
 * set in `required_tables` (bit t: table t). On failure writes one line into
 * err and returns FAHR_EINVAL. `keys` is an array of key tables, each ended
 * by a NULL name; `owners` names the driver of each table. */
int config_validate(struct fahr_config *config, const struct fahr_config_key *const *keys,
                    const char *const *owners, size_t ntables, unsigned required_tables,
                    struct fahr_error *err);
/* The value of a key or NULL; borrowed from config. */
const char *config_get(const struct fahr_config *config, const char *key);
/* Normalise one value of a type; writes the result into out. Exposed for
 * tests. */
int config_check_value(enum fahr_config_type type, const char *value, char *out,
                       size_t out_size, struct fahr_error *err);
bool image_ref_is_valid(const char *ref);
/* The first C0 control character or DEL in [text, text + length), or NULL:
 * what no value that reaches a URL, a header line or a file name may hold. */
const char *first_control_character(const char *text, size_t length);

/* ---- plugin_trust.c: files fahr keeps for the user ----------------------- */

struct stat;
/* Whether the open `fd` is a regular file of the invoking user that nobody
 * else can write (the plugin cache, the job index); fills *st. Returns the
 * reason it is not, or NULL. */
const char *trust_own_file(int fd, struct stat *st);

/* ---- naming.c: image names from artifact paths --------------------------- */

/* ".../foo/model.py" -> "foo/model", made valid for registries. Writes into
 * out; returns FAHR_EINVAL if the path has no usable name. */
int image_name_from_path(const char *artifact_path, char *out, size_t out_size);
/* A MODEL_IMAGE_TAG as typed ("foo/model:latest") without its tag, as
 * submit() saw it ("foo/model"); a registry's port stays. */
void image_name_without_tag(const char *typed, char *out, size_t out_size);

/* ---- memory.c: allocation that aborts rather than fail ----------------- */

/* A copy of s; the caller frees it. */
char *xstrdup(const char *s);
/* `array` (of `count` items of `item_size`) grown by one item at its end. */
void *xgrow(void *array, size_t count, size_t item_size);

/* ---- suggest.c: "did you mean ...?" -------------------------------------- */

/* Edit distance (Levenshtein with neighbour swaps) between two words. */
size_t suggest_distance(const char *a, const char *b);
/* The candidate clearly nearest to a mistyped `word`, or NULL when none is
 * near or two are equally near. NULL entries are skipped. */
const char *suggest_nearest(const char *word, const char *const *candidates, size_t count);

/* ---- image_push.c: host->push_image ----------------------------------- */

/* The build driver whose build_ops.push host->push_image uses: the one that
 * built this command's image `built`, the only image it pushes (NULL: none,
 * and push_image is FAHR_ENOTSUP). */
struct plugin;
void image_push_route(struct plugin *build_driver, const struct fahr_image *built);
int host_push_image(const struct fahr_image *image, const char *remote_ref,
                    const struct fahr_registry_auth *auth, struct fahr_image *pushed,
                    struct fahr_error *err);

/* ---- plugins.c: discovery and loading ------------------------------------
 *
 * Discovery never runs a plugin's code in fahr's own process: each .so that
 * passes the trust checks (plugin_trust.c, every run) is inspected once in a
 * child process (plugin_scan.c) and what it said is cached (plugin_cache.c),
 * keyed by its real path, device, inode, size and mtime. Listing, help and
 * config checking read those records; a command dlopens only the drivers it
 * uses (plugin_activate). */

struct plugin_file_id {        /* which file a record was made from */
    uint64_t dev, ino, size;
    int64_t mtime_sec, mtime_nsec;
};

struct plugin_record {         /* what a scan learnt of one .so */
    char *skip_reason;         /* refused: why; everything below is empty */
    enum fahr_driver_kind kind;
    uint32_t abi_version;
    char *name;
    char *version;             /* may be NULL */
    char *description;         /* may be NULL */
    struct fahr_config_key *keys; /* key_count keys, then one with a NULL name */
    size_t key_count;
};

struct plugin {
    /* From the record until activated; then also open/close/build/train of
     * the loaded descriptor. Strings and keys point into `record`. */
    struct fahr_plugin desc;
    struct fahr_build_ops build; /* zero until activated */
    struct fahr_train_ops train;
    char *path;                /* the .so as found on the search path */
    char *resolved;            /* its real path: the file checked and loaded */
    struct plugin_file_id id;  /* of `resolved` when it was checked */
    struct plugin_record record;
    void *handle;              /* dlopen handle once activated, else NULL */
    void *state;               /* from desc.open() */
    bool opened;
};

struct plugin_note {           /* a plugin not used: skipped or shadowed */
    char *path;
    char *reason;
};

struct plugin_set {
    struct plugin *items;
    size_t count;
    struct plugin_note *skipped;  /* refused, with a warning */
    size_t skipped_count;
    struct plugin_note *shadowed; /* same name found earlier in the path */
    size_t shadowed_count;
    char **dirs;                  /* the search path, in order */
    size_t dir_count;
    size_t explicit_dir_count;    /* the first ones came from --plugin-dir */
};

/* The search path: extra dirs (from --plugin-dir), FAHR_PLUGIN_PATH,
 * $XDG_DATA_HOME/fahr/plugins, then the built-in directory (or
 * FAHR_PLUGIN_SYSTEM_PATH where set; empty: none). Relative entries of the
 * two variables are ignored with a warning. */
void plugins_search_path(struct plugin_set *set, char *const *extra_dirs, size_t extra_count);
/* Find every plugin on the search path and describe it from the cache or a
 * scan; refused ones are warned about on stderr and recorded, never fatal.
 * Loads no plugin into this process. */
void plugins_load(struct plugin_set *set);
void plugins_unload(struct plugin_set *set);
/* The driver of a kind (0: any) and name, or NULL. */
struct plugin *plugins_find_kind(struct plugin_set *set, enum fahr_driver_kind kind,
                                 const char *name);
struct plugin *plugins_find(struct plugin_set *set, const char *name);
/* dlopen a plugin into this process (once) and check that its descriptor is
 * the one its record describes; fills its operations. */
int plugin_activate(struct plugin *plugin, struct fahr_error *err);
/* Activate, then open a plugin once (calls its open()). */
int plugin_open(struct plugin *plugin, struct fahr_error *err);
const char *driver_kind_name(enum fahr_driver_kind kind);

#endif
