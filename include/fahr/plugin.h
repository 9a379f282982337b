/*
 * fahr/plugin.h: the driver ABI of fahr, the one public header.
 *
 * fahr turns a training artifact (a .py script or .ipynb notebook) into a
 * model on the user's disk: a BUILD driver makes a container image from the
 * artifact, a TRAIN driver runs it on some service and brings the model back.
 * Every driver, built in or third party, is a shared object that the host
 * finds at run time and loads with dlopen(); nothing is special-cased.
 *
 * Writing a driver
 *   cc -shared -fPIC $(pkg-config --cflags fahr-plugin) driver.c -o driver.so
 * Define one exported object named `fahr_plugin` (FAHR_PLUGIN_SYMBOL) of type
 * `struct fahr_plugin`, begun with FAHR_PLUGIN_HEADER, and drop the .so into a
 * plugin directory (`fahr plugins` shows where fahr looks and what it found).
 *
 * Versioning
 *   FAHR_ABI_VERSION is (major << 16 | minor). The host refuses a plugin built
 *   for another major, or for a newer minor than its own. Within a major,
 *   structs only grow at the end: every struct that crosses this interface
 *   starts with its size as the side that filled it compiled it, and a member
 *   counts as present only if it lies inside that size and is non-NULL. So a
 *   plugin built against an older minor keeps working, and a plugin can test
 *   FAHR_HAS(host, member) before calling a host service added later.
 *
 * Ownership (the one rule, followed everywhere)
 *   Borrowed in, copied out. Every pointer passed across this interface is
 *   owned by the side that passes it and is valid only until the call
 *   returns; keep a copy if you need it longer. Results come back in buffers
 *   the caller owns, with their capacity passed beside them (struct
 *   fahr_error, job ids, image references). Nothing allocated by one side is
 *   ever freed by the other. The only exception is the plugin's `state`
 *   pointer: the plugin allocates it in open() and frees it in close().
 *   The plugin's static data (names, config key tables) must stay valid as
 *   long as the plugin is loaded.
 *
 * Errors
 *   Every operation returns FAHR_OK (0) on success or a negative FAHR_E*
 *   value, and on failure writes one line for the user into the caller's
 *   struct fahr_error: lower case, no trailing period, no secrets. The host
 *   prints it as "fahr: <driver>: <message>".
 *
 * Threads
 *   The host calls a driver from one thread at a time. Host services may be
 *   called from any thread the driver starts.
 */
#ifndef FAHR_PLUGIN_H
#define FAHR_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FAHR_ABI_MAJOR 1
#define FAHR_ABI_MINOR 1
#define FAHR_ABI_VERSION ((uint32_t)((FAHR_ABI_MAJOR << 16) | FAHR_ABI_MINOR))
#define FAHR_ABI_VERSION_MAJOR(v) ((uint32_t)(v) >> 16)
#define FAHR_ABI_VERSION_MINOR(v) ((uint32_t)(v) & 0xffffu)

/* The name of the one symbol a plugin exports. */
#define FAHR_PLUGIN_SYMBOL "fahr_plugin"

#if defined(__GNUC__)
#define FAHR_EXPORT __attribute__((visibility("default")))
#else
#define FAHR_EXPORT
#endif

/* True if `ptr` (a pointer to a versioned struct) holds a non-NULL `member`. */
#define FAHR_HAS(ptr, member)                                                   \
    ((ptr) != NULL &&                                                           \
     (ptr)->size >= offsetof(__typeof__(*(ptr)), member) + sizeof((ptr)->member) && \
     (ptr)->member != NULL)

/* ---- Return values ------------------------------------------------------ */

enum fahr_status {
    FAHR_OK = 0,
    FAHR_EFAIL = -1,        /* the operation failed; see the error message */
    FAHR_EINVAL = -2,       /* bad input from the user (config, paths) */
    FAHR_EINTERRUPTED = -3, /* the user interrupted (SIGINT/SIGTERM) */
    FAHR_ENOTSUP = -4,      /* this driver cannot do that */
    FAHR_ENOTFOUND = -5     /* the job, image or artifact does not exist */
};

#define FAHR_ERROR_MAX 1024

/* A caller-owned error buffer; a driver fills it with fahr_error_set(). */
struct fahr_error {
    char message[FAHR_ERROR_MAX];
};

/* Write a one-line message into `err` and return `status`, for
 * `return fahr_error_set(err, FAHR_EFAIL, "cannot open %s", path);` */
static inline int
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
fahr_error_set(struct fahr_error *err, int status, const char *fmt, ...)
{
    if (err != NULL) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
    }
    return status;
}

/* ---- Configuration ------------------------------------------------------ */

/* Each driver declares the --config.KEY=VALUE keys it takes. The host parses
 * and validates values before any driver runs, fills in defaults, and rejects
 * keys no chosen driver declares. */
enum fahr_config_type {
    FAHR_CONFIG_STRING = 1,
    FAHR_CONFIG_INT = 2,       /* a decimal integer >= 0 */
    FAHR_CONFIG_BOOL = 3,      /* true/false/yes/no/1/0; drivers read "1"/"0" */
    FAHR_CONFIG_PATH = 4,      /* a path that exists (made absolute) */
    FAHR_CONFIG_IMAGE_REF = 5, /* a container image reference */
    FAHR_CONFIG_S3_URI = 6     /* s3://bucket[/prefix] */
};

#define FAHR_CONFIG_REQUIRED 0x1u /* the command fails if the key is unset */
/* ABI 1.1 (a 1.0 host ignores them; a 1.0 driver has neither): */
/* The key addresses the job (a region, an endpoint): recorded in the job
 * index beside the job's id, so that status/logs/stop of that job find it
 * again without being told. */
#define FAHR_CONFIG_JOB 0x2u
/* Never recorded, never printed: `fahr help DRIVER` shows its default as
 * "(secret)" and an error about its value does not quote it. */
#define FAHR_CONFIG_SECRET 0x4u

struct fahr_config_key {
    const char *name;          /* e.g. "base_image"; [a-z0-9_]+ */
    enum fahr_config_type type;
    const char *default_value; /* NULL: no default */
    const char *help;          /* one line */
    uint32_t flags;            /* FAHR_CONFIG_* flags */
};

/* The validated configuration of one command; opaque, read it with
 * host->config_get(). */
struct fahr_config;

/* ---- Host services ------------------------------------------------------ */

enum fahr_log_level {
    FAHR_LOG_ERROR = 0,
    FAHR_LOG_WARN = 1,
    FAHR_LOG_INFO = 2, /* progress notes; hidden by --quiet */
    FAHR_LOG_DEBUG = 3 /* shown with --verbose */
};

/* What the host offers every driver. Passed to open(); grows at the end. */
struct fahr_host {
    uint32_t size;        /* sizeof(struct fahr_host) as the host built it */
    uint32_t abi_version; /* the host's FAHR_ABI_VERSION */
    const char *version;  /* fahr's release, e.g. "0.1.0" */

    /* One line to stderr, prefixed by the host, filtered by level. */
    void (*log)(enum fahr_log_level level, const char *fmt, ...)
#if defined(__GNUC__)
        __attribute__((format(printf, 2, 3)))
#endif
        ;
    /* Live output of a build or a job (any bytes, any chunking). Shown on a
     * terminal; hidden by --quiet or when stderr is not a terminal, unless
     * --verbose. */
    void (*stream)(const char *text, size_t len);
    /* Progress of long work: `done` of `total` units (total 0: unknown).
     * `unit` is "B" for bytes (shown with rate and time left) or a noun. Drawn
     * only on a terminal; call with done == total to finish the line. */
    void (*progress)(const char *what, uint64_t done, uint64_t total, const char *unit);
    /* Nonzero once the user asked to stop (SIGINT or SIGTERM). Poll it in
     * long loops and return FAHR_EINTERRUPTED. */
    int (*interrupted)(void);
    /* The value of a config key (default filled in) or NULL if unset.
     * Borrowed: valid until the command ends. */
    const char *(*config_get)(const struct fahr_config *config, const char *key);
};

/* ---- Build drivers ------------------------------------------------------ */

struct fahr_build_request {
    uint32_t size;                     /* sizeof(struct fahr_build_request) */
    const char *artifact_path;         /* absolute path of the .py/.ipynb */
    const char *context_dir;           /* absolute; the directory holding it */
    const char *image_name;            /* derived, e.g. "foo/model" */
    const struct fahr_config *config;
    int overwrite;                     /* nonzero: replace existing files */
};

struct fahr_build_ops {
    uint32_t size; /* sizeof(struct fahr_build_ops) */
    /* Write the build files (Dockerfile, run.sh) beside the artifact, keeping
     * existing ones unless request->overwrite. Must build nothing. */
    int (*init)(void *state, const struct fahr_build_request *request,
                struct fahr_error *err);
    /* init(), then build the image. On success write the local image
     * reference (e.g. "foo/model:latest") into image_ref. The image must run
     * the artifact when started as `IMAGE train`, writing the model to
     * /opt/ml/model (SageMaker's container contract). */
    int (*build)(void *state, const struct fahr_build_request *request,
                 char *image_ref, size_t image_ref_size, struct fahr_error *err);
};

/* ---- Train drivers ------------------------------------------------------ */

#define FAHR_JOB_ID_MAX 256
#define FAHR_URI_MAX 2048

/* What a train driver runs: the built image (SageMaker, Vertex AI, a local
 * runner) or the artifact's source itself (Kaggle Kernels). */
enum fahr_train_input {
    FAHR_TRAIN_IMAGE = 1,  /* the host builds first; image_ref is set */
    FAHR_TRAIN_SOURCE = 2  /* no image is built; image_ref is NULL */
};

/* A hyperparameter (--hp.KEY=VALUE); values are strings, as SageMaker's. */
struct fahr_hyperparameter {
    const char *key;
    const char *value;
};

/* An input data channel (--input NAME=SOURCE). */
struct fahr_channel {
    const char *name;    /* non-empty, no '/' or control characters; a
                          * service's own rules are its driver's (check()) */
    const char *source;  /* a location with a URI scheme (s3://, gs://, ...) as
                          * the user gave it, or an absolute local path */
    int is_local;        /* source is a local file or directory */
};

struct fahr_train_request {
    uint32_t size;                    /* sizeof(struct fahr_train_request) */
    const char *artifact_path;        /* absolute path of the .py/.ipynb */
    const char *context_dir;          /* absolute; the directory holding it */
    const char *image_name;           /* derived, e.g. "foo/model" */
    const char *image_ref;            /* local image built, or NULL */
    const struct fahr_config *config;
    /* Checked by the host only for what every driver shares (a non-empty
     * name, no control characters, no name twice); a service's limits are
     * its driver's to check, in check(), before anything is built. */
    const struct fahr_hyperparameter *hyperparameters;
    size_t hyperparameter_count;
    const struct fahr_channel *channels;
    size_t channel_count;
};

enum fahr_job_state {
    FAHR_JOB_PENDING = 1,   /* accepted, not yet running */
    FAHR_JOB_RUNNING = 2,
    FAHR_JOB_COMPLETED = 3, /* ended well; the model can be fetched */
    FAHR_JOB_FAILED = 4,
    FAHR_JOB_STOPPED = 5
};

struct fahr_job_status {
    uint32_t size;                  /* set by the host */
    enum fahr_job_state state;
    char detail[256];               /* the service's own words, e.g. "Training" */
    char failure_reason[FAHR_ERROR_MAX];  /* when FAILED or STOPPED */
    char artifact_uri[FAHR_URI_MAX];      /* where the model is, once known */
};

/* Receives one line of a job's log (without its newline). Return nonzero to
 * stop reading. */
typedef int (*fahr_log_line_fn)(void *data, const char *line, size_t len);

/* One job in a listing. */
struct fahr_job_summary {
    uint32_t size;                 /* set by the driver */
    const char *job_id;
    enum fahr_job_state state;
    int64_t created;               /* Unix time; 0 if unknown */
    const char *detail;            /* may be NULL */
};

/* Receives jobs, newest first. Return nonzero to stop the listing. */
typedef int (*fahr_job_fn)(void *data, const struct fahr_job_summary *job);

struct fahr_fetch_request {
    uint32_t size;             /* sizeof(struct fahr_fetch_request) */
    const char *job_id;        /* the job whose model to fetch, or NULL */
    const char *artifact_uri;  /* or the model's location (e.g. s3://...) */
    const char *dest_dir;      /* absolute; exists */
    int overwrite;             /* nonzero: replace existing files */
    const struct fahr_config *config;
};

struct fahr_train_ops {
    uint32_t size;            /* sizeof(struct fahr_train_ops) */
    enum fahr_train_input input;

    /* Optional: put the locally built image where the service can pull it
     * (ECR, Artifact Registry, a private registry) and write the reference
     * the service should use into remote_ref. Without it, submit() gets the
     * local reference. */
    int (*publish)(void *state, const struct fahr_train_request *request,
                   char *remote_ref, size_t remote_ref_size, struct fahr_error *err);
    /* Required: start a job and write its id (unique, enough for status/
     * logs/stop/fetch later, also from another process) into job_id.
     * `image` is the published reference, or NULL for FAHR_TRAIN_SOURCE. A
     * failed submit leaves nothing behind on the service. */
    int (*submit)(void *state, const struct fahr_train_request *request,
                  const char *image, char *job_id, size_t job_id_size,
                  struct fahr_error *err);
    /* Required: fill `status` for a job. Must not block for long; the host
     * polls it while it waits. */
    int (*poll)(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_job_status *status, struct fahr_error *err);
    /* Optional: deliver the job's log lines after `*cursor` in order, then
     * advance `*cursor` (0 at first; its meaning is the driver's). Called
     * repeatedly while the job runs and once more after it ends. */
    int (*read_logs)(void *state, const struct fahr_config *config, const char *job_id,
                     uint64_t *cursor, fahr_log_line_fn on_line, void *on_line_data,
                     struct fahr_error *err);
    /* Optional: ask the service to stop the job. */
    int (*stop)(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_error *err);
    /* Optional: download a finished job's model (request->job_id, or
     * request->artifact_uri where given) into request->dest_dir and unpack
     * it there. Nothing may be written outside dest_dir, an existing file is
     * replaced only with request->overwrite, and on failure dest_dir is left
     * as it was. */
    int (*fetch)(void *state, const struct fahr_fetch_request *request, struct fahr_error *err);
    /* Optional: list jobs, newest first; only those of `image_name` unless it
     * is NULL. */
    int (*list)(void *state, const struct fahr_config *config, const char *image_name,
                fahr_job_fn on_job, void *on_job_data, struct fahr_error *err);
    /* How often the host should poll while it follows a job, in
     * milliseconds (0: the host's default, 5000). A local runner wants its
     * output live; a cloud service wants fewer calls. */
    uint32_t poll_interval_ms;

    /* ---- ABI 1.1 ---- */

    /* Optional: check a request against the service's own rules before
     * anything is built, pushed or uploaded: the config values (an
     * instance type the service knows, a job name it takes and that is not
     * taken), the hyperparameters and channels, and that the service can be
     * used as asked (credentials, roles, buckets). request->image_ref is
     * NULL: nothing is built yet. Return FAHR_EINVAL for input the user must
     * change (the command exits 2) and FAHR_EFAIL where the service cannot
     * be used (exit 1). Must create nothing. */
    int (*check)(void *state, const struct fahr_train_request *request,
                 struct fahr_error *err);
};

/* ---- The plugin descriptor ---------------------------------------------- */

enum fahr_driver_kind {
    FAHR_DRIVER_BUILD = 1,
    FAHR_DRIVER_TRAIN = 2
};

struct fahr_plugin {
    uint32_t size;          /* sizeof(struct fahr_plugin) as compiled */
    uint32_t abi_version;   /* FAHR_ABI_VERSION as compiled */
    enum fahr_driver_kind kind;
    const char *name;       /* the driver's name on the command line; [a-z0-9-]+ */
    const char *version;    /* the driver's own version, e.g. "1.2.0" */
    const char *description; /* one line */
    /* The keys this driver takes, ended by an entry whose name is NULL. */
    const struct fahr_config_key *config_keys;

    /* Optional: set up before the first operation; `*state` is passed to
     * every operation and to close(). Check host->abi_version here if you
     * use services newer than FAHR_ABI_MINOR 0. */
    int (*open)(const struct fahr_host *host, void **state, struct fahr_error *err);
    /* Optional: release what open() made. */
    void (*close)(void *state);

    const struct fahr_build_ops *build; /* set for FAHR_DRIVER_BUILD */
    const struct fahr_train_ops *train; /* set for FAHR_DRIVER_TRAIN */
};

/* Begins every versioned struct a plugin defines. */
#define FAHR_STRUCT_HEADER(type) .size = sizeof(type)
#define FAHR_PLUGIN_HEADER                                                     \
    FAHR_STRUCT_HEADER(struct fahr_plugin), .abi_version = FAHR_ABI_VERSION

#ifdef __cplusplus
}
#endif

#endif /* FAHR_PLUGIN_H */
