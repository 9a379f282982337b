/* plugins/common/aws_metadata.c: see aws_metadata.h. */
#include "aws_metadata.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "aws_config.h"
#include "aws_http.h"

#define TOKEN_MAX 16384

/* Limits of these endpoints, which answer in milliseconds where they are
 * there at all: a whole request 5 s, the instance metadata's first one
 * (which meets an unreachable endpoint off EC2) 1 s, as botocore's; one
 * attempt each, never retried. */
#define ANSWER_TIMEOUT_MS 5000
#define PROBE_TIMEOUT_MS 1000

/* An answer read into the caller's buffer; one that does not fit is
 * refused, so a hostile endpoint cannot make fahr hold more, and the
 * secret in it stays in the caller's buffer (which the caller wipes). */
struct small_answer {
    char *body;
    size_t size, length;
};

static int keep_small(void *data, const void *chunk, size_t length)
{
    struct small_answer *answer = data;
    if (length >= answer->size - answer->length)
        return 1; /* the host ends the transfer with an error */
    memcpy(answer->body + answer->length, chunk, length);
    answer->length += length;
    answer->body[answer->length] = '\0';
    return 0;
}

static void start_over(void *data)
{
    struct small_answer *answer = data;
    answer->length = 0;
    answer->body[0] = '\0';
}

/* One small unsigned request through the host's transport: FAHR_OK with
 * the body of a 200 answer, FAHR_EINTERRUPTED on Ctrl-C, FAHR_ENOTFOUND
 * for anything else. */
static int plain_request(const struct fahr_host *host, struct fahr_http *http,
                         const char *method, const char *url,
                         const struct fahr_http_header *header, uint32_t timeout_ms,
                         char *body, size_t size, struct fahr_error *err)
{
    struct small_answer answer = {body, size, 0};
    body[0] = '\0';
    struct fahr_http_request request = {
        .size = sizeof request,
        .method = method,
        .url = url,
        .headers = header,
        .header_count = header != NULL,
        .on_body = keep_small,
        .on_restart = start_over,
        .on_body_data = &answer,
        .max_attempts = 1,
        .timeout_ms = timeout_ms,
        .answer_max = size - 1, /* an error's body, held by the host */
    };
    struct fahr_http_response response = {.size = sizeof response};
    struct fahr_error ignored;
    int rc = host->http_send(http, &request, &response, &ignored);
    long status = response.status;
    host->http_release(&response);
    if (rc == FAHR_EINTERRUPTED)
        return fahr_error_set(err, FAHR_EINTERRUPTED, "interrupted");
    if (rc == FAHR_OK && status == 200)
        return FAHR_OK;
    start_over(&answer);
    return FAHR_ENOTFOUND;
}

/* botocore's ContainerMetadataFetcher: a loopback address, localhost (which
 * libcurl never looks up: it is always loopback), or the ECS and EKS
 * endpoints' addresses. */
static bool container_host_is_allowed(const char *host)
{
    if (strcasecmp(host, "localhost") == 0)
        return true;
    struct in_addr v4;
    if (inet_pton(AF_INET, host, &v4) == 1) {
        uint32_t address = ntohl(v4.s_addr);
        return (address >> 24) == 127 || address == 0xa9feaa02u /* 169.254.170.2 */ ||
               address == 0xa9feaa17u /* 169.254.170.23 */;
    }
    struct in6_addr v6, eks;
    if (inet_pton(AF_INET6, host, &v6) == 1 && inet_pton(AF_INET6, "fd00:ec2::23", &eks) == 1)
        return IN6_IS_ADDR_LOOPBACK(&v6) || memcmp(&v6, &eks, sizeof v6) == 0;
    return false;
}

int aws_container_uri_check(const char *url, struct fahr_error *err)
{
    struct aws_url parsed;
    char shown[300];
    aws_printable(url, shown, sizeof shown);
    if (!aws_url_parse(url, &parsed))
        return fahr_error_set(err, FAHR_EINVAL,
                              "container credentials: '%s' is not an http(s) URL", shown);
    if (strcmp(parsed.scheme, "https") == 0 || container_host_is_allowed(parsed.host))
        return FAHR_OK;
    return fahr_error_set(err, FAHR_EINVAL,
                          "container credentials: %s is neither https nor a loopback, ECS or "
                          "EKS address (169.254.170.2, 169.254.170.23, fd00:ec2::23); refusing "
                          "to send it a token in cleartext",
                          shown);
}

/* The whole file, as botocore reads it: no newline is taken off. */
static int read_token_file(const char *path, char *out, size_t size, size_t *length,
                           struct fahr_error *err)
{
    char shown[300];
    aws_printable(path, shown, sizeof shown);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fahr_error_set(err, FAHR_EINVAL,
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: cannot read %s: %s", shown,
                              strerror(errno));
    *length = 0;
    ssize_t n;
    while ((n = read(fd, out + *length, size - *length)) > 0 && *length + (size_t)n < size)
        *length += (size_t)n;
    int problem = n < 0 ? errno : 0;
    close(fd);
    if (n > 0)
        return fahr_error_set(err, FAHR_EINVAL,
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %s is larger than %zu "
                              "bytes; it is no token",
                              shown, size - 1);
    if (problem != 0)
        return fahr_error_set(err, FAHR_EINVAL,
                              "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: cannot read %s: %s", shown,
                              strerror(problem));
    out[*length] = '\0';
    return FAHR_OK;
}

int aws_container_token(char *out, size_t size, struct fahr_error *err)
{
    out[0] = '\0';
    char source[400];
    size_t length = 0;
    const char *path = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    if (path != NULL && path[0] != '\0') {
        int rc = read_token_file(path, out, size, &length, err);
        if (rc != FAHR_OK)
            return rc;
        char shown[300];
        snprintf(source, sizeof source, "the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE (%s)",
                 aws_printable(path, shown, sizeof shown));
    } else {
        const char *token = getenv("AWS_CONTAINER_AUTHORIZATION_TOKEN");
        if (token == NULL)
            return FAHR_OK;
        length = strlen(token);
        if (length >= size)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "AWS_CONTAINER_AUTHORIZATION_TOKEN is longer than %zu bytes",
                                  size - 1);
        memcpy(out, token, length + 1);
        snprintf(source, sizeof source, "AWS_CONTAINER_AUTHORIZATION_TOKEN");
    }
    /* strlen() short of the length: a NUL inside, a control character too. */
    if (aws_has_control_characters(out) || strlen(out) != length) {
        OPENSSL_cleanse(out, size);
        return fahr_error_set(err, FAHR_EINVAL,
                              "%s has a line break or another control character; it cannot be "
                              "sent as a header",
                              source);
    }
    return FAHR_OK;
}

int aws_container_credentials(const struct fahr_host *host, char *body, size_t size,
                              struct fahr_error *err)
{
    char url[2048];
    const char *relative = getenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    const char *full = getenv("AWS_CONTAINER_CREDENTIALS_FULL_URI");
    int length;
    if (relative != NULL && relative[0])
        length = snprintf(url, sizeof url, "http://169.254.170.2%s", relative);
    else if (full != NULL && full[0])
        length = snprintf(url, sizeof url, "%s", full);
    else
        return FAHR_ENOTFOUND;
    if (length < 0 || (size_t)length >= sizeof url)
        return fahr_error_set(err, FAHR_EINVAL, "container credentials: the URI is too long");
    int rc = aws_container_uri_check(url, err);
    if (rc != FAHR_OK)
        return rc;
    char token[TOKEN_MAX];
    if ((rc = aws_container_token(token, sizeof token, err)) != FAHR_OK)
        return rc;
    struct fahr_http *http;
    rc = aws_http_session_open(host, &http, err);
    if (rc == FAHR_OK) {
        struct fahr_http_header authorization = {"Authorization", token};
        rc = plain_request(host, http, "GET", url, token[0] ? &authorization : NULL,
                           ANSWER_TIMEOUT_MS, body, size, err);
        host->http_close(http);
    }
    OPENSSL_cleanse(token, sizeof token);
    return rc;
}

/* IMDSv2 at `endpoint` (its first `base` characters): a token, the role's
 * name with it, then the role's credentials. */
static int instance_document(const struct fahr_host *host, struct fahr_http *http,
                             const char *endpoint, int base, char *body, size_t size,
                             struct fahr_error *err)
{
    char url[1024], token[1024], role[256] = "";
    snprintf(url, sizeof url, "%.*s/latest/api/token", base, endpoint);
    struct fahr_http_header header = {"X-aws-ec2-metadata-token-ttl-seconds", "21600"};
    int rc = plain_request(host, http, "PUT", url, &header, PROBE_TIMEOUT_MS, token,
                           sizeof token, err);
    if (rc != FAHR_OK)
        return rc;
    /* The token goes into a header line, the role's name into the URL. */
    header = (struct fahr_http_header){"X-aws-ec2-metadata-token", token};
    rc = FAHR_EINVAL;
    if (!aws_has_control_characters(token)) {
        snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/", base,
                 endpoint);
        rc = plain_request(host, http, "GET", url, &header, ANSWER_TIMEOUT_MS, role,
                           sizeof role, err);
        role[strcspn(role, "\r\n")] = '\0';
        if (rc == FAHR_OK && aws_has_control_characters(role))
            rc = FAHR_EINVAL;
    }
    if (rc == FAHR_EINVAL)
        fahr_error_set(err, FAHR_EINVAL,
                       "instance metadata: its answer has a control character; refusing it");
    if (rc == FAHR_OK) {
        snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/%s", base,
                 endpoint, role);
        rc = plain_request(host, http, "GET", url, &header, ANSWER_TIMEOUT_MS, body, size, err);
    }
    OPENSSL_cleanse(token, sizeof token);
    return rc;
}

int aws_instance_credentials(const struct fahr_host *host, char *body, size_t size,
                             struct fahr_error *err)
{
    const char *disabled = getenv("AWS_EC2_METADATA_DISABLED");
    if (disabled != NULL && strcasecmp(disabled, "true") == 0)
        return FAHR_ENOTFOUND;
    const char *endpoint = getenv("AWS_EC2_METADATA_SERVICE_ENDPOINT");
    if (endpoint == NULL || !endpoint[0])
        endpoint = "http://169.254.169.254";
    struct aws_url parsed;
    char shown[300];
    if (!aws_url_parse(endpoint, &parsed))
        return fahr_error_set(err, FAHR_EINVAL,
                              "AWS_EC2_METADATA_SERVICE_ENDPOINT: '%s' is not an http(s) URL",
                              aws_printable(endpoint, shown, sizeof shown));
    size_t base = strlen(endpoint);
    while (base > 0 && endpoint[base - 1] == '/')
        base--;
    struct fahr_http *http;
    int rc = aws_http_session_open(host, &http, err);
    if (rc != FAHR_OK)
        return rc;
    rc = instance_document(host, http, endpoint, (int)base, body, size, err);
    host->http_close(http);
    return rc;
}
