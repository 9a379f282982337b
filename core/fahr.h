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

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/openat2.h>

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
/* A log line as host->log() prints it, after "fahr: DRIVER: " where driver
 * is not NULL. */
void host_vlog(const char *driver, enum fahr_log_level level, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
/* host_driver.c: `table` made the host table of one driver (ABI 1.1):
 * host->driver set, and host->log() prefixing its lines with that name,
 * also where the driver logs from a thread of its own. */
void host_table_for_driver(struct fahr_host *table, const char *driver);
/* The progress line, for host.c and host_progress.c: begin locks the
 * output and says whether to draw (stderr a terminal, not --quiet, not
 * drawn in the last 0.1 s unless `last`), with the seconds since `what`
 * started; show draws `line` cut to the terminal's width (ended with a
 * newline if `last`) and unlocks. */
bool host_progress_begin(const char *what, bool last, double *elapsed);
void host_progress_show(char *line, bool last);
/* "1.2 GiB" */
void host_format_bytes(double bytes, char *out, size_t size);
/* host_progress.c: host->progress_files, one line "what: 3/10 files,
 * 1.2 GiB of 4.0 GiB, 85.0 MiB/s, 0:33 left". */
void host_progress_files(const char *what, uint64_t done, uint64_t total, uint32_t files_done,
                         uint32_t files_total);
/* Install SIGINT/SIGTERM handlers that set the interrupted flag. */
void host_catch_signals(void);
int host_interrupted(void);

/* ---- files.c: user directories, confined opens, removing trees ---------- */

/* $VAR/fahr/SUB, or $HOME/FALLBACK/fahr/SUB where VAR is unset or not
 * absolute (XDG base directories; FALLBACK e.g. ".local/state"). SUB may be
 * "". False where neither gives an absolute path or it does not fit. */
bool xdg_path(const char *var, const char *fallback, const char *sub, char *out, size_t size);
/* Make `path` and its missing parents, the new ones with `mode`. */
int mkdir_parents(const char *path, unsigned mode, struct fahr_error *err);
/* openat2(2) beneath `dir_fd` (glibc has no wrapper), retried on EAGAIN:
 * -1 with errno on failure. */
int open_beneath(int dir_fd, const char *path, int flags, unsigned mode, uint64_t resolve);
/* Beneath the directory, no symbolic link followed, no /proc magic. */
#define RESOLVE_STRICT (RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
/* Write all of `data`, again after EINTR; false with errno where it
 * cannot. */
bool write_all(int fd, const void *data, size_t length);
/* Remove `name` in `parent_fd` and everything beneath it, never following a
 * symbolic link; read-only directories are emptied all the same. False
 * (errno set) where something stays. `name` gone already counts as done. */
bool tree_remove_at(int parent_fd, const char *name);
/* Empty the directory `dir_fd`, as tree_remove_at does. */
bool tree_empty(int dir_fd);

/* ---- scratch.c: host->scratch_dir and host->data_dir --------------------- */

int host_scratch_dir(char *path, size_t path_size, struct fahr_error *err);
int host_data_dir(const struct fahr_host *host, char *path, size_t path_size,
                  struct fahr_error *err);
/* Remove the scratch directory and everything in it, if one was made: at
 * the end of every command, however it ends. */
void scratch_remove(void);

/* ---- place.c: host->place_* (model placement, see struct fahr_place) ---- */

int host_place_open(const char *dest_dir, int overwrite, struct fahr_place **place,
                    struct fahr_error *err);
int host_place_archive(struct fahr_place *place, const void *data, size_t length,
                       struct fahr_error *err);
int host_place_file(struct fahr_place *place, const char *relative_path, uint32_t mode,
                    struct fahr_error *err);
int host_place_write(struct fahr_place *place, const void *data, size_t length,
                     struct fahr_error *err);
int host_place_commit(struct fahr_place *place, struct fahr_error *err);
void host_place_abort(struct fahr_place *place);
/* place_open with another host's log and interrupted(): the tests' and
 * the fuzz target's. */
int place_open_with(const struct fahr_host *host, const char *dest_dir, int overwrite,
                    struct fahr_place **place, struct fahr_error *err);
/* Place the archive read from `fd` into `dest_dir` (open, archive, commit). */
int place_archive_fd(const struct fahr_host *host, int fd, const char *dest_dir, bool overwrite,
                     struct fahr_error *err);

/* ---- config.c: --config.KEY=VALUE --------------------------------------- */

struct fahr_config; /* opaque in plugin.h, defined in config.c */

struct fahr_config *config_new(void);
void config_free(struct fahr_config *config);
/* Record a raw value from the command line (last one wins). */
void config_set(struct fahr_config *config, const char *key, const char *value);
/* Check every raw value against the drivers' declared keys, normalise it,
 * fill in defaults and check the required keys of the tables whose bit is
 * set in `required_tables` (bit t: table t). On failure writes one line into
 * err and returns FAHR_EINVAL. `keys` is an array of key tables (arrays of
 * structs, as in plugin_record), each ended by a NULL name; `owners` names
 * the driver of each table. An unset key's default is its default_env's
 * value where that is set and not empty, else its default_value. */
int config_validate(struct fahr_config *config, const struct fahr_config_key2 *const *keys,
                    const char *const *owners, size_t ntables, unsigned required_tables,
                    struct fahr_error *err);
/* The value of a key or NULL; borrowed from config. */
const char *config_get(const struct fahr_config *config, const char *key);
/* Normalise one value of a type; writes the result into out. Exposed for
 * tests. */
int config_check_value(enum fahr_config_type type, const char *value, char *out,
                       size_t out_size, struct fahr_error *err);
/* The same for a key: a URI is checked against the key's scheme. */
int config_check_key_value(const struct fahr_config_key2 *key, const char *value, char *out,
                           size_t out_size, struct fahr_error *err);
bool image_ref_is_valid(const char *ref);
/* config_url.c: FAHR_CONFIG_URL (http(s)://host[:port][/path]) and
 * FAHR_CONFIG_URI (SCHEME://authority[/path], trailing '/' dropped, the
 * scheme written in lower case); neither takes user:password@, and an error
 * about one does not quote it. */
int config_check_url(const char *value, char *out, size_t out_size, struct fahr_error *err);
int config_check_uri(const char *value, const char *scheme, char *out, size_t out_size,
                     struct fahr_error *err);
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
    /* key_count keys, then one with a NULL name; from config_keys2 where the
     * driver has it, else from config_keys (default_env and scheme NULL). */
    struct fahr_config_key2 *keys;
    size_t key_count;
    /* Train drivers: what they run and what they take, known before any
     * driver is loaded (no --build-driver for a source driver, --hp refused
     * at once for one that takes none). 0 for build drivers. */
    enum fahr_train_input train_input;
    uint32_t train_flags;      /* FAHR_TRAIN_* */
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
    /* The host table this driver was given (host_table_for_driver): valid
     * from open() to close(), so the plugin must not move meanwhile. */
    struct fahr_host host;
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


/* ---- job_log.c: polling a job and reading its log ----------------------- */

/* The log of one job for one command: read_logs2 with the host's cursor
 * where the driver has it, else read_logs with a 1.0 cursor. */
struct job_log {
    struct plugin *train;
    const struct fahr_config *config;
    const char *job_id;
    uint64_t cursor;                /* read_logs's */
    struct fahr_log_cursor cursor2; /* read_logs2's */
};
bool job_log_available(const struct plugin *train);
void job_log_begin(struct job_log *log, struct plugin *train, const struct fahr_config *config,
                   const char *job_id);
/* Deliver the lines after the cursor; `job_over` on the one call after the
 * job ended (read_logs2 then delivers a last line without its newline). */
int job_log_read(struct job_log *log, bool job_over, fahr_log_line_fn on_line,
                 void *on_line_data, struct fahr_error *err);
/* The driver's poll() with `status` zeroed and its size set first. */
int job_poll(struct plugin *train, const struct fahr_config *config, const char *job_id,
             struct fahr_job_status *status, struct fahr_error *err);
/* How long to wait before the next poll: FAHR_POLL_INTERVAL_MS where set,
 * else the driver's next_poll_ms kept between 100 ms and 5 minutes, else its
 * poll_interval_ms, else 5 s. */
long job_next_poll_ms(uint32_t next_poll_ms, uint32_t driver_interval_ms);

#endif
