/* plugins/common/aws_http.c: see aws_http.h. */
#include "aws_http.h"

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
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
    if (rc != FAHR_OK)
        return rc;
    client->curl = curl_easy_init();
    if (client->curl == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot start an HTTP client");
    host->log(FAHR_LOG_DEBUG, "AWS region %s, credentials from %s", client->region,
              client->credentials.source);
    return FAHR_OK;
}

void aws_client_close(struct aws_client *client)
{
    if (client->curl != NULL)
        curl_easy_cleanup(client->curl);
    OPENSSL_cleanse(&client->credentials, sizeof client->credentials);
    client->curl = NULL;
}

void aws_response_free(struct aws_response *response)
{
    free(response->body);
    memset(response, 0, sizeof *response);
}

struct transfer {
    struct aws_response *response;
    const struct aws_request *request;
    CURL *curl;
    long status;
    bool streamed_any;
    bool too_large;  /* an answer over AWS_ANSWER_MAX was cut off */
    size_t capacity; /* of response->body */
    const struct fahr_host *host;
};

static size_t on_header(char *bytes, size_t size, size_t count, void *data)
{
    (void)bytes;
    struct transfer *t = data;
    curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    return size * count;
}

static size_t on_data(char *bytes, size_t size, size_t count, void *data)
{
    struct transfer *t = data;
    size_t length = size * count;
    if (t->status >= 200 && t->status < 300 && t->request->on_body != NULL) {
        t->streamed_any = true;
        return t->request->on_body(bytes, length, t->request->on_body_data);
    }
    struct aws_response *r = t->response;
    if (length > AWS_ANSWER_MAX - r->length) {
        t->too_large = true;
        return 0; /* libcurl ends the transfer */
    }
    if (r->length + length + 1 > t->capacity) {
        /* Doubling: a large answer is not copied over and over. */
        size_t capacity = t->capacity ? t->capacity : 64 * 1024;
        while (capacity < r->length + length + 1)
            capacity *= 2;
        char *grown = realloc(r->body, capacity);
        if (grown == NULL)
            return 0;
        r->body = grown;
        t->capacity = capacity;
    }
    memcpy(r->body + r->length, bytes, length);
    r->length += length;
    r->body[r->length] = '\0';
    return length;
}

static int on_progress(void *data, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)a, (void)b, (void)c, (void)d;
    struct transfer *t = data;
    return t->host->interrupted() ? 1 : 0;
}

/* The service's error code and message from a JSON or XML error body. */
static void parse_error(struct aws_response *r)
{
    if (r->body != NULL)
        aws_error_from_body(r->body, r->length, r->error_code, sizeof r->error_code,
                            r->error_message, sizeof r->error_message);
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

bool aws_transport_retryable(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_RESOLVE_PROXY: /* botocore: EndpointConnectionError, */
    case CURLE_COULDNT_RESOLVE_HOST:  /* ProxyConnectionError */
    case CURLE_COULDNT_CONNECT:
    case CURLE_PROXY:
    case CURLE_SSL_CONNECT_ERROR: /* SSLError: a handshake reset or cut off */
    case CURLE_QUIC_CONNECT_ERROR:
    case CURLE_OPERATION_TIMEDOUT: /* ConnectTimeoutError, ReadTimeoutError */
    case CURLE_SEND_ERROR:         /* ConnectionClosedError, HTTPClientError: */
    case CURLE_SEND_FAIL_REWIND:   /* reset, closed or garbled at any point */
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_WEIRD_SERVER_REPLY:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_HTTP3:
        return true;
    default:
        return false;
    }
}

static bool is_retryable(const struct aws_response *r, CURLcode result)
{
    static const char *const codes[] = {
        "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException",
        "TooManyRequestsException", "ProvisionedThroughputExceededException",
        "TransactionInProgressException", "RequestLimitExceeded", "BandwidthLimitExceeded",
        "LimitExceededException", "RequestThrottled", "SlowDown", "PriorRequestNotComplete",
        "EC2ThrottledException", "RequestTimeout", "RequestTimeoutException", "InternalError",
    };
    if (result != CURLE_OK)
        return aws_transport_retryable(result);
    if (r->status == 500 || r->status == 502 || r->status == 503 || r->status == 504)
        return true;
    for (size_t i = 0; i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(r->error_code, codes[i]) == 0)
            return true;
    return false;
}

int aws_max_attempts(void)
{
    const char *env = getenv("AWS_MAX_ATTEMPTS");
    int n = env ? atoi(env) : 0;
    return n > 0 ? n : 3;
}

/* Standard mode: a random share of min(2^attempt, 20) seconds. */
static void back_off(const struct fahr_host *host, int attempt)
{
    double cap = 1.0;
    for (int i = 0; i < attempt && cap < 20; i++)
        cap *= 2;
    if (cap > 20)
        cap = 20;
    const char *scale_env = getenv("FAHR_RETRY_SCALE"); /* tests make it quick */
    double scale = scale_env ? atof(scale_env) : 1.0;
    double seconds = ((double)rand() / RAND_MAX) * cap * scale;
    long ms = (long)(seconds * 1000);
    while (ms > 0 && !host->interrupted()) {
        long step = ms > 100 ? 100 : ms;
        usleep((useconds_t)step * 1000);
        ms -= step;
    }
}

/* A part of a file as a request body. */
struct file_range {
    FILE *file;
    uint64_t left;
};

static size_t read_range(char *buffer, size_t size, size_t count, void *data)
{
    struct file_range *range = data;
    size_t want = size * count;
    if (want > range->left)
        want = (size_t)range->left;
    size_t got = want ? fread(buffer, 1, want, range->file) : 0;
    if (got < want && ferror(range->file))
        return CURL_READFUNC_ABORT;
    range->left -= got;
    return got;
}

static void host_of(const char *endpoint, char *out, size_t size)
{
    const char *start = strstr(endpoint, "://");
    start = start ? start + 3 : endpoint;
    size_t length = strcspn(start, "/");
    snprintf(out, size, "%.*s", (int)length, start);
}

static CURLcode send_once(struct aws_client *client, const struct aws_request *request,
                          const char *endpoint, struct transfer *t, char *curl_error)
{
    CURL *curl = client->curl;
    curl_easy_reset(curl);
    char host_header[512], amz_date[17], payload_hash[65];
    host_of(endpoint, host_header, sizeof host_header);
    sigv4_amz_date((long long)time(NULL), amz_date);
    if (request->body_path != NULL)
        snprintf(payload_hash, sizeof payload_hash, "%s", request->body_sha256);
    else
        sigv4_sha256_hex(request->body ? request->body : "", request->body_length, payload_hash);

    struct sigv4_pair headers[24];
    size_t count = 0;
    headers[count++] = (struct sigv4_pair){"Host", host_header};
    for (size_t i = 0; i < request->header_count && count < 23; i++)
        headers[count++] = request->headers[i];
    bool s3 = request->service == &aws_s3;
    struct sigv4_request sign_request = {request->method, request->path, request->query,
                                         request->query_count, headers, count, payload_hash};
    struct sigv4_credentials credentials = {client->credentials.access_key_id,
                                            client->credentials.secret_access_key,
                                            client->credentials.session_token};
    struct sigv4_options options = {client->region, request->service->signing_name, amz_date,
                                    !s3, !s3, s3, false};
    if (request->service == &aws_iam)
        options.region = "us-east-1"; /* IAM is global, signed for us-east-1 */
    struct sigv4_result signature;
    if (sigv4_sign(&sign_request, &credentials, &options, &signature) != 0)
        return CURLE_OUT_OF_MEMORY;

    size_t url_size = strlen(endpoint) + strlen(signature.encoded_path) +
                      strlen(signature.encoded_query) + 2;
    char *url = malloc(url_size);
    struct curl_slist *list = NULL;
    char line[8192];
    CURLcode result = CURLE_OUT_OF_MEMORY;
    if (url == NULL)
        goto out;
    snprintf(url, url_size, "%s%s%s%s", endpoint, signature.encoded_path,
             signature.encoded_query[0] ? "?" : "", signature.encoded_query);
    for (size_t i = 0; i < count; i++) {
        snprintf(line, sizeof line, "%s: %s", headers[i].name, headers[i].value);
        list = curl_slist_append(list, line);
    }
    for (size_t i = 0; i < 4 && signature.added_headers[i]; i++)
        list = curl_slist_append(list, signature.added_headers[i]);
    snprintf(line, sizeof line, "Authorization: %s", signature.authorization);
    list = curl_slist_append(list, line);
    OPENSSL_cleanse(line, sizeof line);
    list = curl_slist_append(list, "Expect:");

    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
    if (client->ca_bundle[0] != '\0')
        curl_easy_setopt(curl, CURLOPT_CAINFO, client->ca_bundle);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, request->method);
    if (strcmp(request->method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    struct file_range range = {NULL, 0};
    if (request->body_path != NULL) {
        range.file = fopen(request->body_path, "rb");
        struct stat st;
        if (range.file == NULL || fstat(fileno(range.file), &st) != 0 ||
            fseeko(range.file, (off_t)request->body_file_offset, SEEK_SET) != 0) {
            snprintf(curl_error, CURL_ERROR_SIZE, "cannot read %s", request->body_path);
            result = CURLE_READ_ERROR;
            if (range.file)
                fclose(range.file);
            goto out;
        }
        range.left = request->body_file_length
                         ? request->body_file_length
                         : (uint64_t)st.st_size - request->body_file_offset;
        curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(curl, CURLOPT_READFUNCTION, read_range);
        curl_easy_setopt(curl, CURLOPT_READDATA, &range);
        curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)range.left);
    } else if (request->body != NULL) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request->body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)request->body_length);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, list);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, t);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(curl, CURLOPT_XFERINFODATA, t);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, 10L);
    curl_easy_setopt(curl, CURLOPT_BUFFERSIZE, 512L * 1024); /* large bodies, fewer calls */
    /* A stalled connection is given up after this long without a byte, and
     * retried like a dropped one. */
    const char *stall = getenv("FAHR_STALL_SECONDS");
    long stall_seconds = stall ? atol(stall) : 0;
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME, stall_seconds > 0 ? stall_seconds : 60L);
    curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_error);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "fahr/" FAHR_DRIVER_VERSION);
    client->host->log(FAHR_LOG_DEBUG, "%s %s", request->method, url);
    result = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &t->status);
    if (range.file != NULL)
        fclose(range.file);
out:
    curl_slist_free_all(list);
    free(url);
    sigv4_result_free(&signature);
    return result;
}

/* The one line for a request that failed for good. */
static int send_error(const struct aws_request *request, const char *endpoint,
                      const struct transfer *t, CURLcode result, const char *curl_error,
                      struct fahr_error *err)
{
    int status = t->status == 404 ? FAHR_ENOTFOUND : FAHR_EFAIL;
    if (t->too_large) {
        char host[512];
        host_of(endpoint, host, sizeof host);
        return fahr_error_set(err, FAHR_EFAIL,
                              "%s: the answer from %s is larger than %zu MiB; refusing it",
                              request->operation, host, AWS_ANSWER_MAX >> 20);
    }
    if (result != CURLE_OK)
        return fahr_error_set(err, FAHR_EFAIL, "%s: cannot reach %s: %s%s", request->operation,
                              endpoint, curl_error[0] ? curl_error : curl_easy_strerror(result),
                              result == CURLE_PEER_FAILED_VERIFICATION
                                  ? " (AWS_CA_BUNDLE or a profile's ca_bundle names the CAs "
                                    "to trust)"
                                  : "");
    /* What the service says reaches the terminal: no control characters. */
    char code[160], message[1024];
    aws_printable(t->response->error_code, code, sizeof code);
    aws_printable(t->response->error_message, message, sizeof message);
    if (code[0])
        return fahr_error_set(err, status, "%s: %s: %s", request->operation, code,
                              message[0] ? message : "(no message)");
    return fahr_error_set(err, status, "%s: HTTP %ld from %s", request->operation, t->status,
                          endpoint);
}

int aws_send(struct aws_client *client, const struct aws_request *request,
             struct aws_response *response, struct fahr_error *err)
{
    memset(response, 0, sizeof *response);
    char endpoint[1024];
    int rc = aws_endpoint(request->service->id, request->service->default_host, client->region,
                          endpoint, sizeof endpoint, err);
    if (rc != FAHR_OK)
        return rc;
    int attempts = aws_max_attempts();
    for (int attempt = 0;; attempt++) {
        aws_response_free(response);
        struct transfer t = {.response = response, .request = request, .curl = client->curl,
                             .host = client->host};
        char curl_error[CURL_ERROR_SIZE] = "";
        CURLcode result = send_once(client, request, endpoint, &t, curl_error);
        response->status = t.status;
        if (result == CURLE_ABORTED_BY_CALLBACK || client->host->interrupted())
            return fahr_error_set(err, FAHR_EINTERRUPTED, "%s: interrupted", request->operation);
        if (result == CURLE_OK && t.status >= 200 && t.status < 300)
            return FAHR_OK;
        if (result == CURLE_OK)
            parse_error(response);
        /* A body already handed on cannot be taken back: no retry then. */
        bool retry = is_retryable(response, result) && !t.streamed_any && !t.too_large &&
                     attempt + 1 < attempts;
        if (!retry)
            return send_error(request, endpoint, &t, result, curl_error, err);
        client->host->log(FAHR_LOG_DEBUG, "%s: %s, retrying", request->operation,
                          result != CURLE_OK ? curl_easy_strerror(result)
                          : response->error_code[0] ? response->error_code
                                                    : "server error");
        back_off(client->host, attempt);
    }
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
    if (rc != FAHR_OK)
        return rc;
    client.curl = curl_easy_init();
    if (client.curl == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot start an HTTP client");
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

const char *aws_answer_header(void *curl, const char *name)
{
    struct curl_header *header = NULL;
    if (curl_easy_header(curl, name, 0, CURLH_HEADER, -1, &header) != CURLHE_OK)
        return NULL;
    return header->value;
}
