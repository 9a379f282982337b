/* plugins/common/aws_http.h: signed AWS requests over the host's HTTP
 * transport (host->http_send), SigV4 as its signing hook and the AWS SDKs'
 * "standard" retry mode (throttling codes, 5xx and transport failures
 * retried with exponential backoff and jitter) as its retry hook, the JSON
 * 1.1 and query protocols, and AWS's XML answers read with expat.
 *
 * Errors reach the user as one line: "<Operation>: <Code>: <Message>".
 * Secrets never appear in messages or debug output. */
#ifndef FAHR_AWS_HTTP_H
#define FAHR_AWS_HTTP_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "aws_config.h"
#include "aws_xml.h"
#include "fahr/plugin.h"
#include "sigv4.h"

/* A service: its AWS_ENDPOINT_URL_<ID> suffix, signing name and public
 * host ("{region}" is replaced). */
struct aws_service {
    const char *id;
    const char *signing_name;
    const char *default_host;
    const char *json_target_prefix; /* JSON 1.1: "SageMaker" -> X-Amz-Target */
    const char *query_version;      /* query protocol: "2011-06-15" */
};

extern const struct aws_service aws_sts, aws_iam, aws_ecr, aws_sagemaker, aws_logs, aws_s3;

struct aws_client {
    const struct fahr_host *host;
    char region[64];
    struct aws_credentials credentials;
    char ca_bundle[4096]; /* "" for the system's CAs */
    struct fahr_http *http; /* the host's session: one connection, reused;
                             * one per thread */
    /* The service's error code and message of the last request that got an
     * answer other than 2xx ("" otherwise), so that callers tell errors
     * apart by value, never by the text of err. */
    char error_code[128];
    char error_message[1024];
};

/* A session of the host's HTTP transport (every built-in driver runs on a
 * 1.1 host; FAHR_EFAIL on one without it). */
int aws_http_session_open(const struct fahr_host *host, struct fahr_http **http,
                          struct fahr_error *err);

/* Region from `region_override` or the environment/profile, the CA bundle,
 * then credentials. */
int aws_client_open(struct aws_client *client, const struct fahr_host *host,
                    const char *region_override, struct fahr_error *err);
void aws_client_close(struct aws_client *client);
/* A copy of an open client with a session of its own, for another thread;
 * aws_client_close it there. */
int aws_client_clone(const struct aws_client *client, struct aws_client *copy,
                     struct fahr_error *err);

struct aws_response {
    long status;
    char *body; /* NUL-terminated; NULL when streamed to on_body */
    size_t length;
    char error_code[128];
    char error_message[1024];
    struct fahr_http_response http;  /* the host's answer (its headers) */
    const struct fahr_host *host;
};
void aws_response_free(struct aws_response *response);

struct aws_request {
    const struct aws_service *service;
    const char *operation; /* for messages, e.g. "GetObject" */
    const char *method;
    const char *path;      /* decoded */
    const struct sigv4_pair *query;
    size_t query_count;
    const struct sigv4_pair *headers; /* besides Host and the signer's own */
    size_t header_count;
    const char *body;
    size_t body_length;
    /* Optional: receive a 2xx body as it arrives instead of in memory.
     * Return the bytes taken (less aborts). */
    size_t (*on_body)(const char *data, size_t length, void *user);
    void *on_body_data;
    /* Optional: send this file as the body (read as it is sent, again on a
     * retry) with this SHA-256, instead of `body`: `body_file_length` bytes
     * from `body_file_offset` (0: to the end). */
    const char *body_path;
    const char *body_sha256;
    uint64_t body_file_offset;
    uint64_t body_file_length;
    /* Each attempt's limit in milliseconds (0: none, stalls count): for a
     * call that must not hold a command up, such as a price. */
    uint32_t timeout_ms;
    /* Optional, with body_path and body_file_length (S3 only): send the
     * range aws-chunked with a trailing CRC32 (aws_chunked.h) instead, its
     * chunks signed over http:// and not over https://; body_sha256 is
     * then unused. The CRC32 sent (base64) lands in crc32_sent. Such a
     * body is sent once: the caller retries. */
    bool chunked;
    char *crc32_sent; /* 16 bytes */
};

/* A header of an answer (`context` is its struct aws_response), NULL where
 * it had none. Valid until aws_response_free. */
const char *aws_answer_header(void *context, const char *name);
/* The answer's Content-Length, or -1 where it gave none. */
int64_t aws_answer_length(const struct aws_response *response);

/* An answer read into memory (JSON, XML, any error answer) larger than this
 * is refused; only a 2xx body handed to `on_body` may be longer. */
#define AWS_ANSWER_MAX ((size_t)8 << 20)

/* Send with retries. FAHR_OK for 2xx; otherwise `response` holds the status
 * and the service's error code and message, and `err` one line. */
int aws_send(struct aws_client *client, const struct aws_request *request,
             struct aws_response *response, struct fahr_error *err);

/* Attempts a request gets: AWS_MAX_ATTEMPTS, 3 by default (the SDKs'
 * standard mode). */
int aws_max_attempts(void);

/* JSON 1.1 protocol: POST / with X-Amz-Target. `input` is borrowed;
 * `*output` is the caller's to json_decref(). */
int aws_json_call(struct aws_client *client, const struct aws_service *service,
                  const char *operation, json_t *input, json_t **output, struct fahr_error *err);

/* Query protocol (STS, IAM): POST / with a form body; `params` are
 * name/value pairs besides Action and Version. The XML answer is returned
 * parsed. */
int aws_query_call(struct aws_client *client, const struct aws_service *service,
                   const char *action, const struct sigv4_pair *params, size_t param_count,
                   struct xml_node **output, struct fahr_error *err);

/* The error code and message of an AWS error answer, JSON or XML. */
void aws_error_from_body(const char *body, size_t length, char *code, size_t code_size,
                         char *message, size_t message_size);

/* STS AssumeRole with `base` credentials. */
int aws_sts_assume_role(const struct fahr_host *host, const char *region,
                        const struct aws_credentials *base, const char *role_arn,
                        const char *session_name, const char *external_id,
                        struct aws_credentials *out, struct fahr_error *err);

#endif
