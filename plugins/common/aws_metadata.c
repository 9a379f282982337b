/* plugins/common/aws_metadata.c: see aws_metadata.h. */
#include "aws_metadata.h"

#include <arpa/inet.h>
#include <curl/curl.h>
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

#define TOKEN_MAX 16384

/* An answer read into the caller's buffer; one that does not fit is
 * refused, so a hostile endpoint cannot make fahr hold more. */
struct small_answer {
    char *body;
    size_t size, length;
};

static size_t keep_small(char *bytes, size_t size, size_t count, void *data)
{
    struct small_answer *answer = data;
    size_t length = size * count;
    if (length >= answer->size - answer->length)
        return 0; /* libcurl ends the transfer with an error */
    memcpy(answer->body + answer->length, bytes, length);
    answer->length += length;
    answer->body[answer->length] = '\0';
    return length;
}

/* A small unsigned request: FAHR_OK with the body of a 200 answer,
 * FAHR_ENOTFOUND for anything else. */
static int plain_request(const char *method, const char *url, const char *header, char *body,
                         size_t size)
{
    CURL *curl = curl_easy_init();
    if (curl == NULL)
        return FAHR_EFAIL;
    struct small_answer answer = {body, size, 0};
    body[0] = '\0';
    struct curl_slist *list = header ? curl_slist_append(NULL, header) : NULL;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, keep_small);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &answer);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 1000L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT, 5L);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    CURLcode result = curl_easy_perform(curl);
    long status = 0;
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    for (struct curl_slist *item = list; item != NULL; item = item->next)
        OPENSSL_cleanse(item->data, strlen(item->data)); /* a token */
    curl_slist_free_all(list);
    curl_easy_cleanup(curl);
    return result == CURLE_OK && status == 200 ? FAHR_OK : FAHR_ENOTFOUND;
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
    (void)host;
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
    char token[TOKEN_MAX], header[TOKEN_MAX + 32];
    if ((rc = aws_container_token(token, sizeof token, err)) != FAHR_OK)
        return rc;
    snprintf(header, sizeof header, "Authorization: %s", token);
    rc = plain_request("GET", url, token[0] ? header : NULL, body, size);
    OPENSSL_cleanse(header, sizeof header);
    OPENSSL_cleanse(token, sizeof token);
    return rc;
}

int aws_instance_credentials(const struct fahr_host *host, char *body, size_t size,
                             struct fahr_error *err)
{
    (void)host;
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
    char url[1024], token[1024], header[1200], role[256] = "";
    size_t base = strlen(endpoint);
    while (base > 0 && endpoint[base - 1] == '/')
        base--;
    snprintf(url, sizeof url, "%.*s/latest/api/token", (int)base, endpoint);
    if (plain_request("PUT", url, "X-aws-ec2-metadata-token-ttl-seconds: 21600", token,
                      sizeof token) != FAHR_OK)
        return FAHR_ENOTFOUND;
    /* The token goes into a header line, the role's name into the URL. */
    int rc = FAHR_EINVAL;
    if (!aws_has_control_characters(token)) {
        snprintf(header, sizeof header, "X-aws-ec2-metadata-token: %s", token);
        snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/", (int)base,
                 endpoint);
        rc = plain_request("GET", url, header, role, sizeof role);
        role[strcspn(role, "\r\n")] = '\0';
        if (rc == FAHR_OK && aws_has_control_characters(role))
            rc = FAHR_EINVAL;
    }
    if (rc == FAHR_EINVAL)
        fahr_error_set(err, FAHR_EINVAL,
                       "instance metadata: its answer has a control character; refusing it");
    if (rc == FAHR_OK) {
        snprintf(url, sizeof url, "%.*s/latest/meta-data/iam/security-credentials/%s", (int)base,
                 endpoint, role);
        rc = plain_request("GET", url, header, body, size);
    }
    OPENSSL_cleanse(token, sizeof token);
    OPENSSL_cleanse(header, sizeof header);
    return rc;
}
