/* client.c: talking to Kaggle's RPC API through the host's HTTP service,
 * and the small pieces every operation shares (job ids, status names). */
#include "kaggle.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct fahr_host *kaggle_host;

void kaggle_text(const char *in, char *out, size_t size)
{
    size_t n = 0;
    for (const char *p = in ? in : ""; *p && n + 1 < size; p++)
        out[n++] = ((unsigned char)*p < 0x20 || *p == 0x7f) ? '?' : *p;
    out[n] = '\0';
}

/* Kaggle's words in a refusal: {"message"} (its RPC errors), {"error"}, or
 * {"errorMessage"}; else the start of the body. */
static void kaggle_said(const char *body, size_t length, char *out, size_t size)
{
    json_t *answer = json_loadb(body ? body : "", length, 0, NULL);
    const char *said = NULL;
    const char *fields[] = {"message", "error", "errorMessage", "detail"};
    for (size_t i = 0; said == NULL && i < sizeof fields / sizeof fields[0]; i++)
        said = json_string_value(json_object_get(answer, fields[i]));
    if (said == NULL && json_is_object(json_object_get(answer, "error")))
        said = json_string_value(json_object_get(json_object_get(answer, "error"), "message"));
    kaggle_text(said ? said : (body && *body && !answer ? body : "no reason given"), out,
                size > 200 ? 200 : size);
    json_decref(answer);
}

/* A 2xx answer with a JSON object and no "code" >= 400, into *answer;
 * anything else one line for the user. */
int kaggle_read_answer(struct kaggle *kaggle, const char *method,
                       const struct fahr_http_response *response, json_t **answer,
                       struct fahr_error *err)
{
    char said[256];
    if (response->status < 200 || response->status > 299) {
        kaggle_said(response->body, response->body_length, said, sizeof said);
        if (response->status == 401 || response->status == 403)
            return fahr_error_set(err, FAHR_EFAIL,
                                  "Kaggle refused the credential from %s (HTTP %ld): %s",
                                  kaggle->credential_source, response->status, said);
        return fahr_error_set(err, response->status == 404 ? FAHR_ENOTFOUND : FAHR_EFAIL,
                              "%s: HTTP %ld: %s", method, response->status, said);
    }
    json_t *parsed = json_loadb(response->body ? response->body : "", response->body_length, 0,
                                NULL);
    if (!json_is_object(parsed)) {
        json_decref(parsed);
        return fahr_error_set(err, FAHR_EFAIL, "%s: Kaggle's answer is not a JSON object",
                              method);
    }
    json_int_t code = json_integer_value(json_object_get(parsed, "code"));
    if (code >= 400) {
        kaggle_said(response->body, response->body_length, said, sizeof said);
        json_decref(parsed);
        return fahr_error_set(err, code == 404 ? FAHR_ENOTFOUND : FAHR_EFAIL,
                              "%s: Kaggle said %lld: %s", method, (long long)code, said);
    }
    if (answer != NULL)
        *answer = parsed;
    else
        json_decref(parsed);
    return FAHR_OK;
}

int kaggle_post(struct kaggle *kaggle, const struct fahr_config *config, const char *method,
                json_t *body, struct fahr_http_request *request,
                struct fahr_http_response *response, struct fahr_error *err)
{
    int rc = kaggle_credential(kaggle, err);
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (rc != FAHR_OK) {
        free(text);
        return rc;
    }
    if (text == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "%s: cannot encode the request", method);
    /* The host checked that the endpoint is an http(s) URL without a
     * user:password@ in it. */
    const char *endpoint = kaggle_host->config_get(config, "endpoint");
    size_t base = strlen(endpoint ? endpoint : "");
    while (base > 0 && endpoint[base - 1] == '/')
        base--;
    /* "Method" is one of KernelsApiService's; "service.Name/Method" names
     * another service (KAGGLE_INTROSPECT). */
    const char *service = strchr(method, '/') ? "" : "kernels.KernelsApiService/";
    char url[FAHR_URI_MAX];
    if ((size_t)snprintf(url, sizeof url, "%.*s/v1/%s%s", (int)base, endpoint ? endpoint : "",
                         service, method) >= sizeof url) {
        free(text);
        return fahr_error_set(err, FAHR_EINVAL, "--config.endpoint is too long");
    }
    const struct fahr_http_header headers[] = {
        {"Authorization", kaggle->authorization}, /* the host never logs headers */
        {"Content-Type", "application/json"},
    };
    request->size = sizeof *request;
    request->method = "POST";
    request->url = url;
    request->headers = headers;
    request->header_count = sizeof headers / sizeof headers[0];
    request->body = text;
    request->body_length = strlen(text);
    rc = kaggle_host->http_send(kaggle->http, request, response, err);
    explicit_bzero(text, strlen(text)); /* IntrospectToken's body holds the token */
    free(text);
    return rc;
}

/* SaveKernel is not idempotent: a 5xx, or a connection cut once the push
 * went out, may come after Kaggle saved the version, and trying again would
 * push a second one. Only a throttled push (429: refused before anything
 * was done) and one that never left are tried again. */
static int save_retry(void *data, long status, const char *body, size_t length)
{
    (void)data, (void)body, (void)length;
    return status == 429;
}

int kaggle_call(struct kaggle *kaggle, const struct fahr_config *config, const char *method,
                json_t *body, json_t **answer, struct fahr_error *err)
{
    struct fahr_http_request request = {.timeout_ms = 120000};
    int saving = strcmp(method, "SaveKernel") == 0;
    /* The session's output carries its whole log on every page. */
    if (strcmp(method, "ListKernelSessionOutput") == 0)
        request.answer_max = KAGGLE_LOG_MAX * 2;
    if (saving) { /* neither a 5xx nor a connection cut after sending */
        request.retry = save_retry;
        request.flags = FAHR_HTTP_NOT_IDEMPOTENT;
    }
    struct fahr_http_response response = {.size = sizeof response};
    int rc = kaggle_post(kaggle, config, method, body, &request, &response, err);
    if (rc == FAHR_OK)
        rc = kaggle_read_answer(kaggle, method, &response, answer, err);
    if (rc != FAHR_OK && saving && response.status >= 500) {
        char said[FAHR_ERROR_MAX];
        snprintf(said, sizeof said, "%s", err->message);
        fahr_error_set(err, rc, "%s; not pushed again, as Kaggle may have saved the version: "
                       "see fahr jobs", said);
    }
    kaggle_host->http_release(&response);
    return rc;
}

int kaggle_is_slug(const char *text, size_t length)
{
    if (length == 0)
        return 0;
    for (size_t i = 0; i < length; i++)
        if (!(islower((unsigned char)text[i]) || isdigit((unsigned char)text[i]) ||
              text[i] == '-' || text[i] == '_'))
            return 0;
    return 1;
}

/* A positive decimal number of at most 18 digits; -1 otherwise. */
static long long number_of(const char *text, size_t length)
{
    long long value = 0;
    if (length == 0 || length > 18)
        return -1;
    for (size_t i = 0; i < length; i++) {
        if (!isdigit((unsigned char)text[i]))
            return -1;
        value = value * 10 + (text[i] - '0');
    }
    return value > 0 ? value : -1;
}

int kaggle_job_parse(const char *job_id, struct kaggle_job *job, struct fahr_error *err)
{
    const char *part[5];
    size_t length[5], parts = 0;
    for (const char *p = job_id; parts < 5; p++) {
        part[parts] = p;
        length[parts] = strcspn(p, "/");
        p += length[parts++];
        if (*p == '\0')
            break;
    }
    long long version = parts >= 3 ? number_of(part[2], length[2]) : -1;
    long long session = parts == 4 ? number_of(part[3], length[3]) : 0;
    if ((parts != 3 && parts != 4) || !kaggle_is_slug(part[0], length[0]) ||
        !kaggle_is_slug(part[1], length[1]) || length[0] >= KAGGLE_NAME_MAX ||
        length[1] >= KAGGLE_NAME_MAX || version <= 0 || version > LONG_MAX || session < 0) {
        char shown[128];
        kaggle_text(job_id, shown, sizeof shown);
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not a Kaggle job id "
                              "(OWNER/KERNEL-SLUG/VERSION[/SESSION])", shown);
    }
    memcpy(job->owner, part[0], length[0]);
    job->owner[length[0]] = '\0';
    memcpy(job->slug, part[1], length[1]);
    job->slug[length[1]] = '\0';
    job->version = (long)version;
    job->session = session;
    return FAHR_OK;
}

/* As the SDK decodes an enum: the name in any case, with or without the
 * KERNEL_WORKER_STATUS_ prefix, or camelCase (cancelAcknowledged). */
int kaggle_state_of(const char *status, enum fahr_job_state *state)
{
    static const struct { const char *name; enum fahr_job_state state; } states[] = {
        {"queued", FAHR_JOB_PENDING},          {"newscript", FAHR_JOB_PENDING},
        {"running", FAHR_JOB_RUNNING},         {"cancelrequested", FAHR_JOB_RUNNING},
        {"complete", FAHR_JOB_COMPLETED},      {"error", FAHR_JOB_FAILED},
        {"cancelacknowledged", FAHR_JOB_STOPPED},
    };
    char folded[64];
    size_t n = 0;
    if (status == NULL)
        return 0;
    if (strncasecmp(status, "KERNEL_WORKER_STATUS_", 21) == 0)
        status += 21;
    for (const char *p = status; *p && n + 1 < sizeof folded; p++)
        if (*p != '_')
            folded[n++] = (char)tolower((unsigned char)*p);
    folded[n] = '\0';
    for (size_t i = 0; i < sizeof states / sizeof states[0]; i++)
        if (strcmp(folded, states[i].name) == 0)
            return *state = states[i].state, 1;
    return 0;
}

int kaggle_session_status(struct kaggle *kaggle, const struct fahr_config *config,
                          const struct kaggle_job *job, json_t **answer, struct fahr_error *err)
{
    json_t *body = kaggle_version_request(job);
    return kaggle_call(kaggle, config, "GetKernelSessionStatus", body, answer, err);
}

json_t *kaggle_version_request(const struct kaggle_job *job)
{
    char label[32];
    snprintf(label, sizeof label, "%ld", job->version);
    return json_pack("{s:s, s:s, s:s}", "userName", job->owner, "kernelSlug", job->slug,
                     "versionLabel", label);
}
