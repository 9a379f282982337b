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
 * Lifetimes (written down in 1.1; a 1.0 host kept them too)
 *   - The `host` passed to open() is valid from open() until close()
 *     returns: keep the pointer. Its strings (version, driver) live as long.
 *   - struct fahr_job_status is zeroed, and its size set, by the host before
 *     every poll(); a driver writes only what it knows.
 *   - The struct fahr_config of a command is valid until the command ends.
 *   - Every line a driver logs through host->log() is shown prefixed with
 *     the driver's name ("fahr: sagemaker: ..."); do not repeat it.
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
    FAHR_CONFIG_S3_URI = 6,    /* s3://bucket[/prefix] */
    /* ABI 1.1; only in config_keys2 (a 1.0 host never sees them): */
    FAHR_CONFIG_URL = 7,       /* http:// or https://host[:port][/path], no
                                * user:password@ (a secret in a URL leaks) */
    FAHR_CONFIG_URI = 8        /* SCHEME://authority[/path] with the key's
                                * `scheme` (e.g. "gs"); a trailing '/' dropped */
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

/* ABI 1.1: a config key that can grow. A driver lists them in
 * fahr_plugin.config_keys2 (an array of pointers, ended by NULL), which a
 * 1.1 host prefers to config_keys; a driver that wants to load on a 1.0 host
 * too fills both. Begin each with FAHR_STRUCT_HEADER(struct
 * fahr_config_key2). */
struct fahr_config_key2 {
    uint32_t size;             /* sizeof(struct fahr_config_key2) */
    const char *name;          /* [a-z0-9_]+ */
    enum fahr_config_type type;
    const char *default_value; /* NULL: no default */
    const char *help;          /* one line */
    uint32_t flags;            /* FAHR_CONFIG_* flags */
    /* An environment variable whose value, when set and not empty, is the
     * default (before default_value); e.g. "GOOGLE_CLOUD_PROJECT". Checked
     * like a value the user typed; an error names the variable. */
    const char *default_env;
    /* For FAHR_CONFIG_URI: the one scheme taken, without "://" ("gs"). */
    const char *scheme;
};

/* The validated configuration of one command; opaque, read it with
 * host->config_get(). */
struct fahr_config;

/* ---- ABI 1.1: types of the host services ------------------------------- */

/* HTTP. One transport for every driver, built in or not: libcurl with
 * connection reuse, TLS checked against the system's CAs (or
 * FAHR_CA_BUNDLE), and the retry rules every driver's promises need:
 *   - a transport failure (refused, reset, timed out, stalled) and the
 *     answers 408, 429, 500, 502, 503 and 504 are retried, with exponential
 *     back-off and full jitter, up to max_attempts (0: FAHR_HTTP_ATTEMPTS
 *     from the environment, else 3); a driver's `retry` hook may ask for
 *     more (a throttling code inside a 400) or fewer (a POST that is not
 *     idempotent);
 *   - a transfer that moves fewer than 1 byte/s for FAHR_STALL_SECONDS
 *     (default 30) counts as stalled;
 *   - the user's Ctrl-C ends a transfer at once with FAHR_EINTERRUPTED;
 *   - nothing of a request's headers or body is logged; --verbose logs the
 *     method, the URL without its query, the status and the time taken.
 * A session (http_open) holds one connection cache; use one per thread. */
struct fahr_http;

struct fahr_http_header {
    const char *name;
    const char *value;
};

/* What the host asks of a signing hook before each attempt: the request as
 * it will be sent, so a signature covers the attempt's own date. */
struct fahr_http_sign {
    uint32_t size;                 /* set by the host */
    const char *method;
    const char *url;               /* as in the request */
    const struct fahr_http_header *headers; /* the request's headers */
    size_t header_count;
    const char *body_sha256;       /* lower-case hex of the body (the
                                    * request's body_sha256 where given), or
                                    * NULL where the body is streamed once */
};

struct fahr_http_request {
    uint32_t size;                 /* sizeof(struct fahr_http_request) */
    const char *method;            /* "GET", "PUT", "POST", ... */
    const char *url;               /* absolute http:// or https://, escaped */
    const char *unix_socket;       /* optional: connect to this AF_UNIX path
                                    * (the Docker Engine); url's host is then
                                    * only the Host header */
    const struct fahr_http_header *headers;
    size_t header_count;

    /* The body: at most one of these. None: no body. */
    const void *body;              /* in memory */
    size_t body_length;
    const char *body_path;         /* a file range, read again on a retry */
    uint64_t body_offset;
    uint64_t body_path_length;     /* 0: to the end of the file */
    /* Streamed once (a retry after the first byte is sent is impossible, so
     * the host does not retry it): write up to `capacity` bytes into
     * `buffer`, return how many (0: the end) or -1 to abort. */
    long (*body_read)(void *data, void *buffer, size_t capacity);
    void *body_read_data;
    uint64_t body_read_length;     /* the length if known, else 0 (chunked) */

    /* Optional: add headers for this attempt (a signature, a token). Write
     * at most `capacity` entries into `extra` and their number into *count;
     * the strings stay the hook's until the next call or until http_send
     * returns. Return FAHR_OK or fail the request with an error. */
    int (*sign)(void *data, const struct fahr_http_sign *request,
                struct fahr_http_header *extra, size_t capacity, size_t *count,
                struct fahr_error *err);
    void *sign_data;

    /* Optional: receive a 2xx answer's body as it arrives instead of in
     * response->body. Return 0 to go on, nonzero to abort (the request
     * then fails with FAHR_EFAIL, or FAHR_EINTERRUPTED if the user asked).
     * A retry starts over: on_restart (optional) is called first; without
     * on_restart, an answer whose body on_body has begun to take is not
     * retried (what it took cannot be taken back). */
    int (*on_body)(void *data, const void *chunk, size_t length);
    void (*on_restart)(void *data);
    void *on_body_data;

    /* Optional: decide whether an answer is retried: return 1 to retry, 0
     * not to, -1 for the host's rule. `body` is the answer's body (capped),
     * NUL-terminated. */
    int (*retry)(void *data, long status, const char *body, size_t length);
    void *retry_data;
    uint32_t max_attempts;         /* 0: the host's default */
    uint32_t timeout_ms;           /* a whole attempt; 0: none (stalls count) */
    /* Optional: show the body's bytes (sent or received, whichever is the
     * larger) as host->progress() under this name. */
    const char *progress;
    /* Optional: a PEM file of the CAs to trust instead of FAHR_CA_BUNDLE or
     * the system's (AWS_CA_BUNDLE); ca_bundle_source names where it came
     * from for the line a failed verification prints ("AWS_CA_BUNDLE or a
     * profile's ca_bundle"; NULL: FAHR_CA_BUNDLE). */
    const char *ca_bundle;
    const char *ca_bundle_source;
    /* Optional: the body's SHA-256 (lower-case hex) where the caller knows
     * it, handed to the signing hook instead of the host reading a
     * body_path range once more to hash it. */
    const char *body_sha256;
    /* An answer body read into memory (any answer without on_body, and
     * every answer that is not 2xx) larger than this fails the request
     * ("the answer from HOST is larger than N MiB; refusing it") before it
     * is held; 0: 1 MiB. */
    uint64_t answer_max;
    /* Seconds without a byte after which a transfer counts as stalled; 0:
     * FAHR_STALL_SECONDS, FAHR_HTTP_NO_STALL: never (an answer that may be
     * silent for long, such as a container build's output). */
    uint32_t stall_seconds;
    /* FAHR_HTTP_* flags. */
    uint32_t flags;
};
#define FAHR_HTTP_NO_STALL UINT32_MAX
/* The request must not take effect twice (a POST that creates something
 * and has no idempotency token): a transport failure once the request has
 * gone out, even in part, is not tried again, since the service may have
 * acted on it; failures before anything was sent (a refused connection, a
 * name that does not resolve, a failed TLS handshake) still are. Answers go
 * through the retry rules as always (a `retry` hook may refuse a 5xx). */
#define FAHR_HTTP_NOT_IDEMPOTENT 0x1u

/* The answer. Filled by the host; release it with host->http_release(). */
struct fahr_http_response {
    uint32_t size;                 /* set by the caller: sizeof(...) */
    long status;                   /* the HTTP status of the last attempt */
    /* The body, NUL-terminated, when the request had no on_body or the
     * answer was not 2xx (at most request->answer_max bytes). The host's;
     * valid until http_release. */
    char *body;
    size_t body_length;
    uint32_t attempts;             /* how many were made */
    void *host_private;            /* the host's; do not touch */
    /* The last answer's headers, as they came; the host's, valid until
     * http_release. status and these are set as soon as the answer's
     * headers are in, before on_body first sees its body; after a failure
     * they (and body) hold what came of the last attempt, if anything (a
     * server that answered, then closed before the body was all sent). */
    const struct fahr_http_header *headers;
    size_t header_count;
};

/* Placing a model: files land in a private staging directory inside
 * dest_dir, confined by the kernel (openat2 RESOLVE_BENEATH, no symbolic
 * link followed; before Linux 5.6 placing is refused), and move into place
 * only on place_commit, all or nothing: on any failure or place_abort,
 * dest_dir is as it was. An archive's entries and loose files are refused
 * if absolute, holding "..", control characters or a name past PATH_MAX, a
 * device or FIFO, a path an earlier entry holds, or a symbolic link that
 * leads outside (or nowhere). Existing files in dest_dir are replaced only
 * if the placement was opened with overwrite. */
struct fahr_place;

/* A built container image. */
#define FAHR_IMAGE_REF_MAX 512
struct fahr_image {
    uint32_t size;                 /* sizeof(struct fahr_image) of the caller */
    char reference[FAHR_IMAGE_REF_MAX]; /* "foo/model:latest", or the pushed
                                         * "registry/repo:tag" */
    char digest[128];   /* "sha256:..." (the image ID locally, the manifest
                         * digest once pushed), or "" if unknown */
    char platform[64];  /* "linux/amd64" */
    int gpu;            /* nonzero: built to train on GPUs */
};

/* Credentials for a registry, as a train driver got them from its service
 * (ECR's GetAuthorizationToken, an OAuth token for Artifact Registry).
 * Secret: never logged or stored. */
struct fahr_registry_auth {
    uint32_t size;                 /* sizeof(struct fahr_registry_auth) */
    const char *server;            /* "123.dkr.ecr.eu-west-1.amazonaws.com" */
    const char *username;          /* "AWS", "oauth2accesstoken" */
    const char *password;
};

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

    /* ---- ABI 1.1 (test FAHR_HAS(host, member) first) ---- */

    /* The name of the driver this struct was given to: each driver gets its
     * own copy of the table. */
    const char *driver;

    /* HTTP (see struct fahr_http_request for the rules). http_send returns
     * FAHR_OK whenever an answer came, whatever its status (read
     * response->status); FAHR_EFAIL when none came after the retries, with
     * the transport's reason; FAHR_EINTERRUPTED. */
    int (*http_open)(struct fahr_http **http, struct fahr_error *err);
    int (*http_send)(struct fahr_http *http, const struct fahr_http_request *request,
                     struct fahr_http_response *response, struct fahr_error *err);
    void (*http_release)(struct fahr_http_response *response);
    void (*http_close)(struct fahr_http *http);

    /* Placing a model into dest_dir (see struct fahr_place). Feed either
     * one archive (tar, or tar.gz: told apart by its first bytes) in order
     * with place_archive, or loose files: place_file starts one (a relative
     * path, directories made as needed; mode's permission bits, 0: 0644),
     * place_write appends to it. place_commit moves everything into place
     * and frees the placement; place_abort removes it (NULL is fine). A
     * placement that failed stays failed (every later call returns that
     * error) until place_abort, or place_commit, which then fails, ends it. */
    int (*place_open)(const char *dest_dir, int overwrite, struct fahr_place **place,
                      struct fahr_error *err);
    int (*place_archive)(struct fahr_place *place, const void *data, size_t length,
                         struct fahr_error *err);
    int (*place_file)(struct fahr_place *place, const char *relative_path, uint32_t mode,
                      struct fahr_error *err);
    int (*place_write)(struct fahr_place *place, const void *data, size_t length,
                       struct fahr_error *err);
    int (*place_commit)(struct fahr_place *place, struct fahr_error *err);
    void (*place_abort)(struct fahr_place *place);

    /* A private directory (mode 0700) for this command, made on first use
     * and removed with everything in it when the command ends. */
    int (*scratch_dir)(char *path, size_t path_size, struct fahr_error *err);
    /* The driver's own lasting directory, $XDG_DATA_HOME/fahr/drivers/NAME
     * (NAME: host->driver), made 0700 on first use. `host` is the table
     * this driver was given. */
    int (*data_dir)(const struct fahr_host *host, char *path, size_t path_size,
                    struct fahr_error *err);
    /* A fresh job name from an image name: "foo/model" -> "foo-model-
     * 20261127-230501-a1b2", letters, digits and '-' only, at most
     * `max_length` characters (the stem is cut, never the time or the
     * random part). */
    int (*job_name)(const char *image_name, size_t max_length, char *out, size_t out_size,
                    struct fahr_error *err);
    /* Progress over several files: `done` of `total` bytes, of which
     * `files_done` of `files_total` files are complete. */
    void (*progress_files)(const char *what, uint64_t done, uint64_t total,
                           uint32_t files_done, uint32_t files_total);
    /* Push a built image to a registry through the build driver that built
     * it (its build_ops.push), so no train driver carries a container
     * engine client. `pushed` receives the remote reference and digest.
     * FAHR_ENOTSUP if the build driver cannot push. */
    int (*push_image)(const struct fahr_image *image, const char *remote_ref,
                      const struct fahr_registry_auth *auth, struct fahr_image *pushed,
                      struct fahr_error *err);
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

    /* ---- ABI 1.1 ---- */

    /* Optional, preferred to build(): the same, describing the image built
     * (reference, digest, platform, GPU) into `image`, whose size the host
     * set. */
    int (*build2)(void *state, const struct fahr_build_request *request,
                  struct fahr_image *image, struct fahr_error *err);
    /* Optional: tag `image` as `remote_ref` and push it with `auth` (NULL:
     * anonymous), writing what was pushed (its reference and manifest
     * digest) into `pushed`. Offered to train drivers as host->push_image.
     * Shows the bytes pushed as progress; honours host->interrupted(). */
    int (*push)(void *state, const struct fahr_image *image, const char *remote_ref,
                const struct fahr_registry_auth *auth, struct fahr_image *pushed,
                struct fahr_error *err);
};

/* The container contract, for build drivers that make images and train
 * drivers that run them:
 *   - `IMAGE train` (or `IMAGE` alone) runs the artifact; it ends with
 *     status 0 if and only if training succeeded. Any other command
 *     (`IMAGE sh -c ...`) is run as given, so a service may wrap it: nothing
 *     of the contract (no /opt/ml, no Python) is needed for it.
 *   - The artifact writes its model into /opt/ml/model; the hyperparameters
 *     are in /opt/ml/input/config/hyperparameters.json and each channel's
 *     data in /opt/ml/input/data/NAME (SageMaker's layout, which a train
 *     driver for another service reproduces).
 *   - Where the service takes /opt/ml/model itself (SageMaker uploads it
 *     as model.tar.gz; the local driver copies it), nothing more is done.
 *     Where it does not (Vertex AI), the train driver sets FAHR_MODEL_URI,
 *     a directory, in the job's environment, and on success the image
 *     writes model.tar.gz of /opt/ml/model into it, whole or not at all:
 *     "gs://BUCKET[/PATH]" through the Cloud Storage FUSE mount
 *     /gcs/BUCKET[/PATH], an absolute path as it is; any other form, or one
 *     with "." or ".." segments, fails the job with a line saying so. The
 *     job then fails if the copy fails.
 *   - ABI 1.1 (run.sh of fahr's own build drivers; a kept, older run.sh
 *     lacks it: --overwrite renews it): where the service wants the model's
 *     files rather than an archive (Vertex AI's AIP_MODEL_DIR), the train
 *     driver sets FAHR_MODEL_DIR_URI, a directory in FAHR_MODEL_URI's forms
 *     outside /opt/ml/model, and on success the image copies the files of /opt/ml/model into it as
 *     they are (nested directories too), each written to a temporary name
 *     then renamed. Anything in /opt/ml/model that is neither a file nor a
 *     directory (a link to a directory, say), or a copy that fails, fails
 *     the job with a line saying so; files copied before stay. With both
 *     FAHR_MODEL_URI and FAHR_MODEL_DIR_URI set, both are done.
 *   - ABI 1.1, likewise, where the service does not give SageMaker's layout:
 *     FAHR_HYPERPARAMETERS, a JSON object, is written as it is to
 *     /opt/ml/input/config/hyperparameters.json before the artifact starts
 *     (unset or empty, the file is not written, so a service's own is never
 *     replaced); FAHR_CHANNELS, lines NAME=LOCATION (blank lines skipped),
 *     makes each /opt/ml/input/data/NAME a symbolic link to LOCATION, in
 *     FAHR_MODEL_URI's forms (gs://BUCKET/PATH as /gcs/BUCKET/PATH); where
 *     LOCATION is a file (an object, not a prefix), NAME is a directory that
 *     holds a link to it under its own name, as SageMaker and the local
 *     driver give a file. A value
 *     that is not an object, a line without "=", a NAME that is empty, "."
 *     or ".." or holds "/", a LOCATION of another form or with "." or ".."
 *     segments, or something other than a link already at NAME's place,
 *     fails the job with a line saying so before the artifact starts.
 *   - A failure's reason is written to /opt/ml/output/failure (the first
 *     1024 bytes become the job's failure_reason where the service reads
 *     it). */

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
    /* ABI 1.1: the built image described (NULL for FAHR_TRAIN_SOURCE and in
     * check(), where nothing is built yet). image_ref stays for 1.0
     * drivers. */
    const struct fahr_image *image;
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
    /* ABI 1.1: when to poll next, in milliseconds (0: the driver's
     * poll_interval_ms, else the host's default); a driver can poll a job
     * that is starting up slowly and one that is about to end often. The
     * host keeps it between 100 ms and 5 minutes. */
    uint32_t next_poll_ms;
};

/* ABI 1.1: where read_logs2 left off; the caller's, zeroed before the first
 * call, kept between calls (also across processes: never a pointer). A
 * driver stores what it needs to go on (an offset, a page token, a
 * timestamp) and its length. */
#define FAHR_LOG_CURSOR_MAX 2048
struct fahr_log_cursor {
    uint32_t size;                 /* set by the host */
    uint32_t length;               /* bytes of data in use; 0 at first */
    unsigned char data[FAHR_LOG_CURSOR_MAX];
};

/* ABI 1.1: what a train driver takes (fahr_train_ops.flags). The host
 * refuses --hp or --input at once for a driver that takes none. */
#define FAHR_TRAIN_NO_HYPERPARAMETERS 0x1u
#define FAHR_TRAIN_NO_CHANNELS 0x2u

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
    /* FAHR_TRAIN_* flags. */
    uint32_t flags;
    /* Optional, preferred to read_logs(): deliver the job's log lines after
     * `cursor` in order and advance it. `job_over` is nonzero on the last
     * call, made once the job has ended: deliver everything, a last line
     * without its newline too. */
    int (*read_logs2)(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                      void *on_line_data, struct fahr_error *err);
};

/* ---- ABI 1.1 extension: prune ------------------------------------------ */

/* `fahr prune` removes what drivers left on this machine (exited job
 * containers, job folders, images they built that no job needs). core/
 * knows no service, so each driver that leaves something behind offers
 * fahr_plugin.prune; the host calls every loaded driver that has it (train
 * drivers first, so that the containers go before the images they hold),
 * and skips those without it (every 1.0 and earlier 1.1 driver).
 *
 * Added to ABI 1.1 at the end of struct fahr_plugin: FAHR_ABI_MINOR stays 1,
 * so a driver with prune still loads on a 1.1 host that does not know it
 * (which never calls it). A driver compiled against both headers can test
 * FAHR_ABI_HAS_PRUNE. A driver removes only what it made itself: never a
 * thing some other tool or the user made. It removes what lives on this
 * machine, and remote things (the image tags it pushed to a registry) only
 * where the request asks for them (`remote`, `fahr prune --registry`);
 * buckets never. */
#define FAHR_ABI_HAS_PRUNE 1
/* fahr_prune_request.remote and FAHR_PRUNE_REMOTE_IMAGE, appended later to
 * the same extension: a driver reads `remote` only where request->size
 * covers it (FAHR_COVERS); a host that does not know them never sets it. */
#define FAHR_ABI_HAS_PRUNE_REMOTE 1

/* True if the versioned struct at `ptr` is large enough to hold `member`
 * (for members that are values, not pointers: FAHR_HAS asks for non-NULL). */
#define FAHR_COVERS(ptr, member)                                                \
    ((ptr) != NULL &&                                                           \
     (ptr)->size >= offsetof(__typeof__(*(ptr)), member) + sizeof((ptr)->member))

enum fahr_prune_kind {
    FAHR_PRUNE_CONTAINER = 1, /* a job's container */
    FAHR_PRUNE_IMAGE = 2,     /* a built image */
    FAHR_PRUNE_FILES = 3,     /* a folder of the driver's (a job's files) */
    /* A tag the driver pushed to a remote registry (request->remote only);
     * name: the reference REPOSITORY:TAG; bytes: the image's size as the
     * registry reports it, given only where this tag was the image's last
     * (untagging one of several frees nothing). */
    FAHR_PRUNE_REMOTE_IMAGE = 4
};

/* One thing removed (or, with dry_run, that would be removed). */
struct fahr_prune_item {
    uint32_t size;             /* sizeof(struct fahr_prune_item) of the driver */
    enum fahr_prune_kind kind;
    const char *name;          /* what the user knows it by: a container's
                                * name, an image reference, a folder's path */
    uint64_t bytes;            /* the space it frees, as the engine or the
                                * file system reports it; 0 if unknown */
};

/* The host's; call it once for each thing removed, after it is gone (with
 * dry_run: instead of removing it). Borrowed in: `item` is the driver's. */
typedef void (*fahr_prune_fn)(void *data, const struct fahr_prune_item *item);

struct fahr_prune_request {
    uint32_t size;             /* set by the host */
    int dry_run;               /* nonzero: remove nothing, report what would go */
    /* Keep what is younger than this many seconds (a container or image
     * by its creation, a folder by its job's start); 0: no age limit. */
    int64_t older_than_s;
    int64_t now;               /* Unix time the ages are measured from */
    fahr_prune_fn removed;
    void *removed_data;
    /* Appended (FAHR_ABI_HAS_PRUNE_REMOTE; read it only where
     * FAHR_COVERS(request, remote)). Nonzero: also remove what this driver
     * pushed to remote registries and no job needs (a job that has not
     * ended uses it), reported as FAHR_PRUNE_REMOTE_IMAGE, never a
     * registry or a tag the driver did not make; --older-than applies by
     * the push time. A driver that pushes nothing ignores it. Zero (and a
     * host that does not know it): nothing remote is touched. */
    int remote;
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

    /* ---- ABI 1.1 ---- */

    /* Preferred to config_keys where set: the keys as growing structs,
     * ended by NULL. */
    const struct fahr_config_key2 *const *config_keys2;

    /* ---- ABI 1.1 extension (FAHR_ABI_HAS_PRUNE; see fahr_prune_request) ---- */

    /* Optional: remove what this driver left on this machine (and, with
     * request->remote, pushed to registries) and is no longer needed
     * (never what a running or unfinished job uses), calling
     * request->removed for each thing. A failure to remove one thing is
     * logged and the rest goes on; return an error only when nothing could
     * be looked at (the engine does not answer). Called after open(). */
    int (*prune)(void *state, const struct fahr_prune_request *request,
                 struct fahr_error *err);
};

/* Begins every versioned struct a plugin defines. */
#define FAHR_STRUCT_HEADER(type) .size = sizeof(type)
#define FAHR_PLUGIN_HEADER                                                     \
    FAHR_STRUCT_HEADER(struct fahr_plugin), .abi_version = FAHR_ABI_VERSION

#ifdef __cplusplus
}
#endif

#endif /* FAHR_PLUGIN_H */
