/* kaggle.h: the Kaggle Kernels train driver's parts, shared between its
 * files. The driver speaks Kaggle's RPC API,
 *   POST {endpoint}/v1/kernels.KernelsApiService/<Method>   (JSON, camelCase)
 * through the host's HTTP service (ABI 1.1), which retries 429 and 5xx
 * (SaveKernel, which is not idempotent, 429 only: client.c).
 * A job is one version of one kernel: its id is "OWNER/SLUG/VERSION/SESSION"
 * as fit gives it (the session is what stop cancels), or "OWNER/SLUG/VERSION"
 * as `fahr jobs` lists a version whose session this machine does not know. */
#ifndef KAGGLE_H
#define KAGGLE_H

#include <fahr/plugin.h>
#include <jansson.h>

#define KAGGLE_NAME_MAX 128  /* a user name or a kernel slug */
#define KAGGLE_AUTH_MAX 4096 /* an Authorization header's value */
#define KAGGLE_LOG_MAX (64u << 20) /* a session's log: larger is refused */

/* The host's table: valid from open() until close() (plugin.h). */
extern const struct fahr_host *kaggle_host;

/* The driver's state. The credential is read once, on first use. */
struct kaggle {
    struct fahr_http *http;
    int have_credential;
    char authorization[KAGGLE_AUTH_MAX]; /* "Bearer T" or "Basic B64"; secret */
    char username[KAGGLE_NAME_MAX];      /* "" where a token came alone */
    const char *credential_source;       /* "KAGGLE_API_TOKEN", a file... */
    char credential_path[1024];          /* the file it came from, if any */
};

/* A job: one version of a kernel. */
struct kaggle_job {
    char owner[KAGGLE_NAME_MAX];
    char slug[KAGGLE_NAME_MAX];
    long version;
    long long session; /* Kaggle's session of that version; 0: not known */
};

/* ---- client.c ---- */
/* Call Kaggle's `method` (a KernelsApiService method, or "service/Method")
 * with `body` (taken: freed here) and put its JSON answer into *answer
 * (NULL: not wanted). A refusal, in an HTTP status or in the JSON ("code"
 * >= 400), is one line with Kaggle's own words. */
int kaggle_call(struct kaggle *kaggle, const struct fahr_config *config, const char *method,
                json_t *body, json_t **answer, struct fahr_error *err);
/* POST `body` (taken) to Kaggle's `method` as `request` (its other
 * members the caller's: on_body, timeouts) asks; the answer in *response,
 * for the caller to read and release. */
int kaggle_post(struct kaggle *kaggle, const struct fahr_config *config, const char *method,
                json_t *body, struct fahr_http_request *request,
                struct fahr_http_response *response, struct fahr_error *err);
/* A 2xx answer's JSON object into *answer (NULL: not wanted), anything else
 * one line with Kaggle's words. */
int kaggle_read_answer(struct kaggle *kaggle, const char *method,
                       const struct fahr_http_response *response, json_t **answer,
                       struct fahr_error *err);
/* `in` into `out` without control characters: what a server says is
 * untrusted and ends up on the user's terminal. */
void kaggle_text(const char *in, char *out, size_t size);
/* "OWNER/SLUG/VERSION[/SESSION]" into `job` (session 0 where absent). */
int kaggle_job_parse(const char *job_id, struct kaggle_job *job, struct fahr_error *err);
/* Kaggle's KernelWorkerStatus in any of its spellings; 0 if unknown. */
int kaggle_state_of(const char *status, enum fahr_job_state *state);
/* A kernel's status, {status, failureMessage}, into *answer. */
int kaggle_session_status(struct kaggle *kaggle, const struct fahr_config *config,
                          const struct kaggle_job *job, json_t **answer, struct fahr_error *err);
/* {userName, kernelSlug, versionLabel}: what asks about one version. */
json_t *kaggle_version_request(const struct kaggle_job *job);
/* A user or slug as Kaggle spells them: [a-z0-9-] (a user also '_'). */
int kaggle_is_slug(const char *text, size_t length);

/* ---- credentials.c ---- */
/* Find the credential in the Kaggle CLI's order (once). */
int kaggle_credential(struct kaggle *kaggle, struct fahr_error *err);
/* The credential and its user's name in kaggle->username: a key names its
 * user; a token alone is asked about once (KAGGLE_INTROSPECT). */
int kaggle_user(struct kaggle *kaggle, const struct fahr_config *config,
                struct fahr_error *err);
/* The RPC the Kaggle CLI asks a token's user of: {token} -> {active,
 * username, ...} (kagglesdk security/types/oauth_service.py). */
#define KAGGLE_INTROSPECT "security.OAuthService/IntrospectToken"

/* ---- check.c ---- */
/* The kernel's owner, slug and title as the config and image name give
 * them (needs the credential for the owner). */
int kaggle_kernel_name(struct kaggle *kaggle, const struct fahr_train_request *request,
                       struct kaggle_job *kernel, char *title, size_t title_size,
                       struct fahr_error *err);
/* The accelerator key's value: *gpu or *tpu set, or neither for "none". */
int kaggle_accelerator(const char *value, int *gpu, int *tpu, struct fahr_error *err);
int kaggle_check(void *state, const struct fahr_train_request *request, struct fahr_error *err);

/* ---- inputs.c ---- */
enum kaggle_source_kind { KAGGLE_DATASET, KAGGLE_COMPETITION, KAGGLE_KERNEL, KAGGLE_MODEL };
struct kaggle_source {
    enum kaggle_source_kind kind;
    const char *path; /* into the source: "OWNER/DATASET", "NAME", ... */
};
/* An input's source as a Kaggle source: kaggle:OWNER/DATASET,
 * kaggle-competition:NAME, kaggle-kernel:OWNER/KERNEL or
 * kaggle-model:OWNER/MODEL/FRAMEWORK/VARIATION[/VERSION], each also with
 * "//" after the ':'. 1 and *out set if it is one, else 0. */
int kaggle_source_parse(const char *source, struct kaggle_source *out);

/* ---- source.c ---- */
/* The kernel's text: the artifact with the contract's prelude (a first
 * cell for a notebook); *notebook set for a .ipynb. `job` names the
 * kernel (TRAINING_JOB_NAME). NULL with err set. */
char *kaggle_kernel_text(const struct fahr_train_request *request, const char *job,
                         int internet, int *notebook, struct fahr_error *err);

/* ---- future.c ---- */
/* Where the prelude goes in a script of `length` bytes: after its module
 * docstring and `from __future__` imports (the end of their last logical
 * line), else 0. */
size_t kaggle_prelude_offset(const char *text, size_t length);

/* ---- submit.c ---- */
int kaggle_submit(void *state, const struct fahr_train_request *request, const char *image,
                  char *job_id, size_t job_id_size, struct fahr_error *err);

/* ---- jobs.c ---- */
int kaggle_poll(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_job_status *status, struct fahr_error *err);
int kaggle_read_logs2(void *state, const struct fahr_config *config, const char *job_id,
                      struct fahr_log_cursor *cursor, int job_over, fahr_log_line_fn on_line,
                      void *on_line_data, struct fahr_error *err);
/* CancelKernelSession; a session that has ended is an error. */
int kaggle_cancel(struct kaggle *kaggle, const struct fahr_config *config, long long session,
                  const char *job_id, struct fahr_error *err);
int kaggle_stop(void *state, const struct fahr_config *config, const char *job_id,
                struct fahr_error *err);
int kaggle_list(void *state, const struct fahr_config *config, const char *image_name,
                fahr_job_fn on_job, void *on_job_data, struct fahr_error *err);

/* ---- session.c ---- */
/* Kaggle names a version's session (what CancelKernelSession takes) only
 * in the push's answer (its url's ?scriptVersionId=): it goes into the job
 * id, and is kept in the driver's data directory beside the endpoint too,
 * for stop of an id without it (as `fahr jobs` lists them). */
/* The session a push's url names; 0 if none. */
long long kaggle_session_of(const char *url);
int kaggle_session_save(const struct fahr_config *config, const char *job_id,
                        const char *url, struct fahr_error *err);
int kaggle_session_find(const struct fahr_config *config, const char *job_id,
                        long long *session_id, struct fahr_error *err);

/* ---- fetch.c ---- */
int kaggle_fetch(void *state, const struct fahr_fetch_request *request, struct fahr_error *err);

#endif
