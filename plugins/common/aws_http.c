/* plugins/common/aws_http.c: see aws_http.h. */
#define _GNU_SOURCE
#include "aws_http.h"

#include "aws_chunked.h"

#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const struct aws_service aws_sts = {"STS", "sts", "sts.{region}.amazonaws.com", NULL,
                                    "2011-06-15"};
const struct aws_service aws_iam = {"IAM", "iam", "iam.amazonaws.com", NULL, "2010-05-08"};
const struct aws_service aws_ecr = {"ECR", "ecr", "api.ecr.{region}.amazonaws.com",
                                    "AmazonEC2ContainerRegistry_V20150921", NULL};
const struct aws_service aws_sagemaker = {"SAGEMAKER", "sagemaker",
                                          "api.sagemaker.{region}.amazonaws.com", "SageMaker",
                                          NULL};
const struct aws_service aws_logs = {"CLOUDWATCH_LOGS", "logs", "logs.{region}.amazonaws.com",
                                     "Logs_20140328", NULL};
const struct aws_service aws_s3 = {"S3", "s3", "s3.{region}.amazonaws.com", NULL, NULL};

/* ---- Sending ------------------------------------------------------------ */

int aws_http_session_open(const struct fahr_host *host, struct fahr_http **http,
                          struct fahr_error *err)
{
    *http = NULL;
    if (host == NULL || !FAHR_HAS(host, http_send) || !FAHR_HAS(host, http_open))
        return fahr_error_set(err, FAHR_EFAIL, "this fahr offers no HTTP transport");
    return host->http_open(http, err);
}

int aws_client_open(struct aws_client *client, const struct fahr_host *host,
                    const char *region_override, struct fahr_error *err)
{
    memset(client, 0, sizeof *client);
    client->host = host;
    /* As the AWS CLI does: a profile named but missing is the first error. */
    const char *named = getenv("AWS_PROFILE");
    if (named != NULL && named[0] != '\0') {
        struct aws_profile profile;
        aws_profile_load(named, &profile);
        char shown[160];
        if (!profile.found)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "AWS_PROFILE names profile '%s', which is in neither the "
                                  "shared credentials nor the config file",
                                  aws_printable(named, shown, sizeof shown));
    }
    int rc = aws_region(region_override, client->region, sizeof client->region, err);
    if (rc == FAHR_OK)
        rc = aws_ca_bundle(client->ca_bundle, sizeof client->ca_bundle, err);
    if (rc != FAHR_OK)
        return rc;
    rc = aws_credentials_resolve(host, client->region, &client->credentials, err);
    if (rc == FAHR_OK)
        rc = aws_http_session_open(host, &client->http, err);
    if (rc != FAHR_OK)
        return rc;
    host->log(FAHR_LOG_DEBUG, "AWS region %s, credentials from %s", client->region,
              client->credentials.source);
    return FAHR_OK;
}

int aws_client_clone(const struct aws_client *client, struct aws_client *copy,
                     struct fahr_error *err)
{
    *copy = *client;
    return aws_http_session_open(client->host, &copy->http, err);
}

void aws_client_close(struct aws_client *client)
{
    if (client->http != NULL)
        client->host->http_close(client->http);
    OPENSSL_cleanse(&client->credentials, sizeof client->credentials);
    client->http = NULL;
}

void aws_response_free(struct aws_response *response)
{
    if (response->host != NULL)
        response->host->http_release(&response->http);
    memset(response, 0, sizeof *response);
}

const char *aws_answer_header(void *context, const char *name)
{
    const struct aws_response *response = context;
    for (size_t i = 0; i < response->http.header_count; i++)
        if (strcasecmp(response->http.headers[i].name, name) == 0)
            return response->http.headers[i].value;
    return NULL;
}

int64_t aws_answer_length(const struct aws_response *response)
{
    const char *value = aws_answer_header((void *)response, "Content-Length");
    if (value == NULL || value[0] < '0' || value[0] > '9')
        return -1;
    char *end;
    long long length = strtoll(value, &end, 10);
    return *end == '\0' && length >= 0 ? (int64_t)length : -1;
}

void aws_error_from_body(const char *body, size_t length, char *code, size_t code_size,
                         char *message_out, size_t message_size)
{
    struct aws_response parsed = {0};
    struct aws_response *r = &parsed;
    r->body = (char *)body;
    r->length = length;
    json_t *doc = json_loadb(r->body, r->length, 0, NULL);
    if (doc != NULL) {
        const char *type = json_string_value(json_object_get(doc, "__type"));
        if (type == NULL)
            type = json_string_value(json_object_get(doc, "code"));
        const char *message = json_string_value(json_object_get(doc, "message"));
        if (message == NULL)
            message = json_string_value(json_object_get(doc, "Message"));
        if (type != NULL) {
            const char *hash = strrchr(type, '#');
            snprintf(r->error_code, sizeof r->error_code, "%.*s",
                     (int)strcspn(hash ? hash + 1 : type, ":"), hash ? hash + 1 : type);
        }
        if (message != NULL)
            snprintf(r->error_message, sizeof r->error_message, "%s", message);
        json_decref(doc);
        snprintf(code, code_size, "%s", r->error_code);
        snprintf(message_out, message_size, "%s", r->error_message);
        return;
    }
    struct xml_node *root = xml_parse(r->body, r->length);
    if (root != NULL) {
        const struct xml_node *error = strcmp(root->name, "Error") == 0 ? root : xml_find(root, "Error");
        const char *xml_code = error ? xml_text(error, "Code") : NULL;
        const char *message = error ? xml_text(error, "Message") : NULL;
        if (xml_code != NULL)
            snprintf(r->error_code, sizeof r->error_code, "%s", xml_code);
        if (message != NULL)
            snprintf(r->error_message, sizeof r->error_message, "%s", message);
        xml_free(root);
    }
    snprintf(code, code_size, "%s", r->error_code);
    snprintf(message_out, message_size, "%s", r->error_message);
}

/* The AWS SDKs' standard mode, as the transport's retry hook: throttling
 * and transient codes are retried whatever the status (a 400 among them);
 * everything else follows the host's rule (5xx, 408, 429). */
static int aws_retry(void *data, long status, const char *body, size_t length)
{
    (void)data, (void)status;
    static const char *const codes[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException", "InternalError",
    };
    char code[128], message[16];
    aws_error_from_body(body, length, code, sizeof code, message, sizeof message);
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return 1;
    return -1;
}

int aws_max_attempts(void)
{
    const char *env = getenv("AWS_MAX_ATTEMPTS");
    int n = env ? atoi(env) : 0;
    return n > 0 ? n : 3;
}

/* What the signing hook needs between attempts. */
struct aws_signing {
    const struct aws_client *client;
    const struct aws_request *request;
    const struct sigv4_pair *headers; /* Host and the request's own */
    size_t header_count;
    struct sigv4_result signature;
    bool signed_once;
    char *added[4];                   /* the signer's "Name: value" lines, split */
    struct aws_chunked *chunked;      /* NULL unless request->chunked */
    bool https;
};

static void signing_free(struct aws_signing *s)
{
    if (s->signed_once)
        sigv4_result_free(&s->signature);
    s->signed_once = false;
    for (size_t i = 0; i < 4; i++) {
        free(s->added[i]);
        s->added[i] = NULL;
    }
}

/* SigV4 over the attempt's own date. */
static int sign_with(struct aws_signing *s, const char *amz_date, const char *payload_hash)
{
    const struct aws_client *client = s->client;
    const struct aws_request *request = s->request;
    bool s3 = request->service == &aws_s3;
    struct sigv4_request sign_request = {request->method, request->path, request->query,
                                         request->query_count, s->headers, s->header_count,
                                         payload_hash};
    struct sigv4_credentials credentials = {client->credentials.access_key_id,
                                            client->credentials.secret_access_key,
                                            client->credentials.session_token};
    struct sigv4_options options = {client->region, request->service->signing_name, amz_date,
                                    !s3, !s3, s3, false};
    if (request->service == &aws_iam)
        options.region = "us-east-1"; /* IAM is global, signed for us-east-1 */
    signing_free(s);
    if (sigv4_sign(&sign_request, &credentials, &options, &s->signature) != 0)
        return -1;
    s->signed_once = true;
    return 0;
}

static int aws_sign(void *data, const struct fahr_http_sign *sign, struct fahr_http_header *extra,
                    size_t capacity, size_t *count, struct fahr_error *err)
{
    struct aws_signing *s = data;
    char amz_date[17];
    sigv4_amz_date((long long)time(NULL), amz_date);
    *count = 0;
    const char *payload = sign->body_sha256;
    if (s->chunked != NULL)
        payload = s->https ? AWS_CHUNKED_UNSIGNED : AWS_CHUNKED_SIGNED;
    if (capacity < 5 || sign_with(s, amz_date, payload) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "%s: cannot sign the request",
                              s->request->operation);
    /* The chunks' signatures go on from this attempt's. */
    if (s->chunked != NULL &&
        aws_chunked_start(s->chunked, s->https ? NULL : &s->signature) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s", s->request->body_path);
    for (size_t i = 0; i < 4 && s->signature.added_headers[i]; i++) {
        s->added[i] = strdup(s->signature.added_headers[i]);
        char *colon = s->added[i] ? strchr(s->added[i], ':') : NULL;
        if (colon == NULL)
            return fahr_error_set(err, FAHR_EFAIL, "out of memory");
        *colon = '\0';
        extra[(*count)++] = (struct fahr_http_header){s->added[i], colon + 1 + strspn(colon + 1, " ")};
    }
    extra[(*count)++] = (struct fahr_http_header){"Authorization", s->signature.authorization};
    return FAHR_OK;
}

static void host_of(const char *endpoint, char *out, size_t size)
{
    const char *start = strstr(endpoint, "://");
    start = start ? start + 3 : endpoint;
    size_t length = strcspn(start, "/");
    snprintf(out, size, "%.*s", (int)length, start);
}

/* The one line for an answer that is not 2xx. */
static int answer_error(const struct aws_request *request, const char *endpoint,
                        const struct aws_response *response, struct fahr_error *err)
{
    int status = response->status == 404 ? FAHR_ENOTFOUND : FAHR_EFAIL;
    /* What the service says reaches the terminal: no control characters. */
    char code[160], message[1024];
    aws_printable(response->error_code, code, sizeof code);
    aws_printable(response->error_message, message, sizeof message);
    if (code[0])
        return fahr_error_set(err, status, "%s: %s: %s", request->operation, code,
                              message[0] ? message : "(no message)");
    return fahr_error_set(err, status, "%s: HTTP %ld from %s", request->operation,
                          response->status, endpoint);
}

/* The URL as signed: sigv4_sign encodes the path and query, so what is sent
 * and what is signed never disagree. Caller frees. */
static char *signed_url(struct aws_signing *s, const char *endpoint)
{
    char zero_hash[65];
    sigv4_sha256_hex("", 0, zero_hash);
    if (sign_with(s, "19700101T000000Z", zero_hash) != 0)
        return NULL;
    char *url = NULL;
    if (asprintf(&url, "%s%s%s%s", endpoint, s->signature.encoded_path,
                 s->signature.encoded_query[0] ? "?" : "", s->signature.encoded_query) < 0)
        url = NULL;
    signing_free(s);
    return url;
}

static int relay_body(void *data, const void *chunk, size_t length)
{
    const struct aws_request *request = data;
    return request->on_body(chunk, length, request->on_body_data) == length ? 0 : 1;
}

/* Send with the host's transport; `url` and the headers are ready. */
static int send_signed(struct aws_client *client, const struct aws_request *request,
                       const char *url, struct aws_signing *signing,
                       struct aws_response *response, struct fahr_error *err)
{
    struct fahr_http_header headers[24];
    for (size_t i = 0; i < signing->header_count; i++)
        headers[i] = (struct fahr_http_header){signing->headers[i].name,
                                               signing->headers[i].value};
    struct fahr_http_request http = {
        .size = sizeof http, .method = request->method, .url = url, .headers = headers,
        .header_count = signing->header_count, .body = request->body,
        .body_length = request->body_length, .body_path = request->body_path,
        .body_offset = request->body_file_offset, .body_path_length = request->body_file_length,
        .sign = aws_sign, .sign_data = signing, .retry = aws_retry,
        .max_attempts = (uint32_t)aws_max_attempts(), .timeout_ms = request->timeout_ms,
        .ca_bundle = client->ca_bundle[0] ? client->ca_bundle : NULL,
        .ca_bundle_source = "AWS_CA_BUNDLE or a profile's ca_bundle",
        .body_sha256 = request->body_path ? request->body_sha256 : NULL,
        .answer_max = AWS_ANSWER_MAX};
    if (request->on_body != NULL) {
        http.on_body = relay_body;
        http.on_body_data = (void *)request;
    }
    if (signing->chunked != NULL) {
        http.body_path = NULL;
        http.body_sha256 = NULL;
        http.body_read = aws_chunked_read;
        http.body_read_data = signing->chunked;
        http.body_read_length = aws_chunked_length(request->body_file_length, !signing->https);
    }
    int rc = client->host->http_send(client->http, &http, &response->http, err);
    response->status = response->http.status;
    response->body = response->http.body;
    response->length = response->http.body_length;
    return rc;
}

int aws_send(struct aws_client *client, const struct aws_request *request,
             struct aws_response *response, struct fahr_error *err)
{
    memset(response, 0, sizeof *response);
    response->host = client->host;
    response->http.size = sizeof response->http;
    client->error_code[0] = client->error_message[0] = '\0';
    char endpoint[1024], host_header[512];
    int rc = aws_endpoint(request->service->id, request->service->default_host, client->region,
                          endpoint, sizeof endpoint, err);
    if (rc != FAHR_OK)
        return rc;
    host_of(endpoint, host_header, sizeof host_header);
    struct sigv4_pair headers[24];
    size_t count = 0;
    headers[count++] = (struct sigv4_pair){"Host", host_header};
    for (size_t i = 0; i < request->header_count && count < 20; i++)
        headers[count++] = request->headers[i];
    struct aws_signing signing = {.client = client, .request = request, .headers = headers,
                                  .https = strncmp(endpoint, "https://", 8) == 0};
    struct aws_chunked chunked = {.path = request->body_path,
                                  .offset = request->body_file_offset,
                                  .length = request->body_file_length,
                                  .signed_chunks = !signing.https};
    char decoded_length[24];
    if (request->chunked) {
        snprintf(decoded_length, sizeof decoded_length, "%llu",
                 (unsigned long long)request->body_file_length);
        headers[count++] = (struct sigv4_pair){"Content-Encoding", "aws-chunked"};
        headers[count++] = (struct sigv4_pair){"x-amz-decoded-content-length", decoded_length};
        headers[count++] = (struct sigv4_pair){"x-amz-trailer", "x-amz-checksum-crc32"};
        signing.chunked = &chunked;
    }
    signing.header_count = count;
    char *url = signed_url(&signing, endpoint);
    if (url == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "%s: out of memory", request->operation);
    struct fahr_error sent = {{0}};
    rc = send_signed(client, request, url, &signing, response, &sent);
    signing_free(&signing);
    free(url);
    if (request->chunked) {
        if (request->crc32_sent != NULL)
            snprintf(request->crc32_sent, 16, "%s", chunked.crc32);
        aws_chunked_end(&chunked);
    }
    if (rc == FAHR_EINTERRUPTED)
        return fahr_error_set(err, FAHR_EINTERRUPTED, "%s: interrupted", request->operation);
    if (rc != FAHR_OK)
        return fahr_error_set(err, rc, "%s: %s", request->operation, sent.message);
    if (response->status >= 200 && response->status < 300)
        return FAHR_OK;
    if (response->body != NULL)
        aws_error_from_body(response->body, response->length, response->error_code,
                            sizeof response->error_code, response->error_message,
                            sizeof response->error_message);
    snprintf(client->error_code, sizeof client->error_code, "%s", response->error_code);
    snprintf(client->error_message, sizeof client->error_message, "%s",
             response->error_message);
    return answer_error(request, endpoint, response, err);
}

int aws_json_call(struct aws_client *client, const struct aws_service *service,
                  const char *operation, json_t *input, json_t **output, struct fahr_error *err)
{
    char *body = json_dumps(input, JSON_COMPACT);
    if (body == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "%s: cannot encode the request", operation);
    char target[256];
    snprintf(target, sizeof target, "%s.%s", service->json_target_prefix, operation);
    struct sigv4_pair headers[] = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", target},
    };
    struct aws_request request = {.service = service, .operation = operation, .method = "POST",
                                  .path = "/", .headers = headers, .header_count = 2,
                                  .body = body, .body_length = strlen(body)};
    struct aws_response response;
    int rc = aws_send(client, &request, &response, err);
    free(body);
    if (rc == FAHR_OK && output != NULL) {
        *output = json_loadb(response.body ? response.body : "{}", response.length ? response.length : 2, 0, NULL);
        if (*output == NULL)
            rc = fahr_error_set(err, FAHR_EFAIL, "%s: the answer is not JSON", operation);
    }
    aws_response_free(&response);
    return rc;
}

int aws_query_call(struct aws_client *client, const struct aws_service *service,
                   const char *action, const struct sigv4_pair *params, size_t param_count,
                   struct xml_node **output, struct fahr_error *err)
{
    char *body = NULL;
    size_t length = 0;
    FILE *form = open_memstream(&body, &length);
    if (form == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    fprintf(form, "Action=%s&Version=%s", action, service->query_version);
    for (size_t i = 0; i < param_count; i++) {
        char *name = sigv4_uri_encode(params[i].name, strlen(params[i].name), false);
        char *value = sigv4_uri_encode(params[i].value, strlen(params[i].value), false);
        fprintf(form, "&%s=%s", name ? name : "", value ? value : "");
        free(name);
        free(value);
    }
    fclose(form);
    struct sigv4_pair headers[] = {
        {"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"},
    };
    struct aws_request request = {.service = service, .operation = action, .method = "POST",
                                  .path = "/", .headers = headers, .header_count = 1,
                                  .body = body, .body_length = length};
    struct aws_response response;
    int rc = aws_send(client, &request, &response, err);
    free(body);
    if (rc == FAHR_OK && output != NULL) {
        *output = xml_parse(response.body ? response.body : "", response.length);
        if (*output == NULL)
            rc = fahr_error_set(err, FAHR_EFAIL, "%s: the answer is not XML", action);
    }
    aws_response_free(&response);
    return rc;
}

int aws_sts_assume_role(const struct fahr_host *host, const char *region,
                        const struct aws_credentials *base, const char *role_arn,
                        const char *session_name, const char *external_id,
                        struct aws_credentials *out, struct fahr_error *err)
{
    struct aws_client client = {.host = host, .credentials = *base};
    snprintf(client.region, sizeof client.region, "%s", region);
    int rc = aws_ca_bundle(client.ca_bundle, sizeof client.ca_bundle, err);
    if (rc == FAHR_OK)
        rc = aws_http_session_open(host, &client.http, err);
    if (rc != FAHR_OK)
        return rc;
    struct sigv4_pair params[3] = {{"RoleArn", role_arn}, {"RoleSessionName", session_name}};
    size_t count = 2;
    if (external_id != NULL)
        params[count++] = (struct sigv4_pair){"ExternalId", external_id};
    struct xml_node *answer = NULL;
    rc = aws_query_call(&client, &aws_sts, "AssumeRole", params, count, &answer, err);
    if (rc == FAHR_OK) {
        const struct xml_node *creds = xml_find(answer, "AssumeRoleResult/Credentials");
        memset(out, 0, sizeof *out);
        rc = aws_credentials_set(out, xml_text(creds, "AccessKeyId"),
                                 xml_text(creds, "SecretAccessKey"),
                                 xml_text(creds, "SessionToken"), "AssumeRole's answer", err);
        if (rc == FAHR_ENOTFOUND)
            rc = fahr_error_set(err, FAHR_EFAIL, "AssumeRole: the answer has no credentials");
    }
    xml_free(answer);
    aws_client_close(&client);
    return rc;
}
