/* Unit tests of the host's HTTP transport (core/http.c) against a small
 * local server (tests/bench/http_server.py) on TCP and on a Unix socket. */
#define _GNU_SOURCE
#include <check.h>
#include <curl/curl.h>
#include <dlfcn.h>
#include <openssl/evp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "docker_engine.h"
#include "fahr.h"
#include "http.h"

static pid_t server_pid;
static int server_port;
static char socket_path[256];
static char scratch[64];

static void start_server(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/fahr-http-test-XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(scratch));
    snprintf(socket_path, sizeof socket_path, "%s/server.sock", scratch);
    int out[2];
    ck_assert_int_eq(pipe(out), 0);
    server_pid = fork();
    if (server_pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        execlp("python3", "python3", HTTP_SERVER, socket_path, (char *)NULL);
        _exit(127);
    }
    close(out[1]);
    FILE *port_line = fdopen(out[0], "r");
    ck_assert_int_eq(fscanf(port_line, "%d", &server_port), 1);
    fclose(port_line);
    setenv("FAHR_RETRY_SCALE", "0.01", 1);
    host_init(VERBOSITY_QUIET);
}

static void stop_server(void)
{
    kill(server_pid, SIGTERM);
    waitpid(server_pid, NULL, 0);
    unlink(socket_path);
    rmdir(scratch);
}

/* A unique path for each call: the server counts requests per path. */
static const char *url_of(const char *path)
{
    static char url[256];
    static int serial;
    snprintf(url, sizeof url, "http://127.0.0.1:%d%s%d", server_port, path, ++serial);
    return url;
}

static int sign_calls;
static int count_signs(void *data, const struct fahr_http_sign *request,
                       struct fahr_http_header *extra, size_t capacity, size_t *count,
                       struct fahr_error *err)
{
    (void)err, (void)capacity;
    sign_calls++;
    if (data != NULL)
        snprintf(data, 65, "%s", request->body_sha256 ? request->body_sha256 : "");
    extra[0] = (struct fahr_http_header){"Authorization", "test"};
    *count = 1;
    return FAHR_OK;
}

static int send_one(struct fahr_http_request *request, struct fahr_http_response *response,
                    struct fahr_error *err)
{
    struct fahr_http *http;
    ck_assert_int_eq(http_open(&http, err), FAHR_OK);
    request->size = sizeof *request;
    response->size = sizeof *response;
    int rc = http_send(http, request, response, err);
    http_close(http);
    return rc;
}

START_TEST(a_503_is_retried_and_each_attempt_signed)
{
    sign_calls = 0;
    struct fahr_http_request request = {.method = "GET", .url = url_of("/flaky/"),
                                        .sign = count_signs};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_int_eq(response.status, 200);
    ck_assert_uint_eq(response.attempts, 2);
    ck_assert_int_eq(sign_calls, 2);
    ck_assert_str_eq(response.body, "second");
    http_release(&response);
}
END_TEST

static int retry_throttling(void *data, long status, const char *body, size_t length)
{
    (void)data, (void)length;
    return status == 400 && strstr(body, "Throttling") != NULL ? 1 : -1;
}

START_TEST(a_400_is_retried_only_if_the_hook_says_so)
{
    struct fahr_http_request request = {.method = "POST", .url = url_of("/bad/"),
                                        .body = "{}", .body_length = 2};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_int_eq(response.status, 400);
    ck_assert_uint_eq(response.attempts, 1);
    ck_assert_ptr_nonnull(strstr(response.body, "slow down"));
    http_release(&response);

    request.url = url_of("/bad/");
    request.retry = retry_throttling;
    request.max_attempts = 3;
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_int_eq(response.status, 400);
    ck_assert_uint_eq(response.attempts, 3);
    http_release(&response);
}
END_TEST

/* A POST that must not happen twice: a connection cut once the request
 * went out is not tried again, one that never reached the server is. */
START_TEST(a_request_sent_once_is_not_sent_again)
{
    struct fahr_http_request request = {.method = "POST", .url = url_of("/hangup/"),
                                        .body = "{}", .body_length = 2, .max_attempts = 3};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_EFAIL);
    ck_assert_uint_eq(response.attempts, 3); /* by default it is */
    http_release(&response);

    request.url = url_of("/hangup/");
    request.flags = FAHR_HTTP_NOT_IDEMPOTENT;
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_EFAIL);
    ck_assert_uint_eq(response.attempts, 1);
    http_release(&response);

    char missing[300];
    snprintf(missing, sizeof missing, "%s/nobody-listens.sock", scratch);
    request.url = "http://localhost/anything";
    request.unix_socket = missing;
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_EFAIL);
    ck_assert_uint_eq(response.attempts, 3); /* nothing went out */
    http_release(&response);
}
END_TEST

START_TEST(a_stall_is_given_up)
{
    setenv("FAHR_STALL_SECONDS", "1", 1);
    struct fahr_http_request request = {.method = "GET", .url = url_of("/stall/"),
                                        .max_attempts = 1};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    time_t started = time(NULL);
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_EFAIL);
    /* libcurl averages the speed over a few seconds; the server keeps the
     * connection silent for 40. */
    ck_assert_int_lt(time(NULL) - started, 15);
    char expected[128];
    snprintf(expected, sizeof expected, "cannot reach http://127.0.0.1:%d: ", server_port);
    ck_assert_msg(strncmp(err.message, expected, strlen(expected)) == 0, "%s", err.message);
    http_release(&response);
}
END_TEST

struct collected {
    unsigned char *data;
    size_t length;
    int restarts;
};

static int collect(void *data, const void *chunk, size_t length)
{
    struct collected *c = data;
    c->data = realloc(c->data, c->length + length);
    memcpy(c->data + c->length, chunk, length);
    c->length += length;
    return 0;
}

static void restart(void *data)
{
    struct collected *c = data;
    c->length = 0;
    c->restarts++;
}

static void expect_pattern(const unsigned char *data, size_t length)
{
    ck_assert_uint_eq(length, 300000);
    for (size_t i = 0; i < length; i++)
        ck_assert_msg(data[i] == (i * 7 + 3) % 251, "byte %zu", i);
}

START_TEST(on_body_gets_the_body_and_on_restart_a_retry)
{
    struct collected c = {0};
    struct fahr_http_request request = {.method = "GET", .url = url_of("/big/"),
                                        .on_body = collect, .on_restart = restart,
                                        .on_body_data = &c};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_ptr_null(response.body);
    expect_pattern(c.data, c.length);
    bool found = false;
    for (size_t i = 0; i < response.header_count; i++)
        found |= strcmp(response.headers[i].name, "X-Test") == 0 &&
                 strcmp(response.headers[i].value, "yes") == 0;
    ck_assert_msg(found, "no X-Test header among %zu", response.header_count);
    http_release(&response);

    c.length = 0;
    request.url = url_of("/cut/");
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_int_eq(c.restarts, 1);
    ck_assert_uint_eq(response.attempts, 2);
    expect_pattern(c.data, c.length);
    http_release(&response);

    /* Without on_restart, what on_body took cannot be taken back. */
    c.length = 0;
    request.url = url_of("/cut/");
    request.on_restart = NULL;
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_EFAIL);
    ck_assert_uint_eq(response.attempts, 1);
    http_release(&response);
    free(c.data);
}
END_TEST

START_TEST(a_file_range_is_sent_again_on_a_retry)
{
    char path[300];
    snprintf(path, sizeof path, "%s/body", scratch);
    FILE *file = fopen(path, "wb");
    for (int i = 0; i < 20000; i++)
        fputc(i % 256, file);
    fclose(file);
    char hash[65] = "";
    struct fahr_http_request request = {.method = "PUT", .url = url_of("/echo/"),
                                        .body_path = path, .body_offset = 1000,
                                        .body_path_length = 5000, .sign = count_signs,
                                        .sign_data = hash};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_int_eq(response.status, 200);
    ck_assert_uint_eq(response.attempts, 2);
    ck_assert_uint_eq(response.body_length, 5000);
    for (size_t i = 0; i < 5000; i++)
        ck_assert_int_eq((unsigned char)response.body[i], (1000 + i) % 256);
    unsigned char digest[32];
    EVP_Digest(response.body, 5000, digest, NULL, EVP_sha256(), NULL);
    char expected[65];
    for (size_t i = 0; i < 32; i++)
        snprintf(expected + 2 * i, 3, "%02x", digest[i]);
    ck_assert_str_eq(hash, expected);
    http_release(&response);
    unlink(path);
}
END_TEST

START_TEST(a_unix_socket_is_used)
{
    struct fahr_http_request request = {.method = "GET", .url = "http://localhost/ok",
                                        .unix_socket = socket_path};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_int_eq(response.status, 200);
    ck_assert_str_eq(response.body, "hello");
    http_release(&response);
}
END_TEST

START_TEST(an_error_answer_lands_in_the_body_capped)
{
    struct fahr_http_request request = {.method = "GET", .url = url_of("/teapot/")};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    ck_assert_int_eq(response.status, 418);
    ck_assert_str_eq(response.body, "short and stout");
    http_release(&response);

    request.url = url_of("/huge/");
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_EFAIL);
    char expected[128];
    snprintf(expected, sizeof expected,
             "the answer from 127.0.0.1:%d is larger than 1 MiB; refusing it", server_port);
    ck_assert_str_eq(err.message, expected);
    http_release(&response);
}
END_TEST

/* The transport's header lines as they are freed: this definition stands
 * in for libcurl's in this program, looks at each list, then frees it. */
static int lists_with_secret, lists_wiped;

void curl_slist_free_all(struct curl_slist *list)
{
    bool secret = false, wiped = list != NULL;
    for (struct curl_slist *entry = list; entry != NULL; entry = entry->next) {
        secret = secret || strstr(entry->data, "s3cr3t") != NULL;
        wiped = wiped && entry->data[0] == '\0';
    }
    lists_with_secret += secret;
    lists_wiped += wiped;
    void (*libcurls)(struct curl_slist *) =
        (void (*)(struct curl_slist *))dlsym(RTLD_NEXT, "curl_slist_free_all");
    libcurls(list);
}

START_TEST(header_lines_are_wiped_before_they_are_freed)
{
    const struct fahr_http_header token = {"x-amz-security-token", "s3cr3t"};
    struct fahr_http_request request = {.method = "GET", .url = url_of("/ok/"),
                                        .headers = &token, .header_count = 1};
    struct fahr_http_response response;
    struct fahr_error err = {{0}};
    lists_with_secret = lists_wiped = 0;
    ck_assert_int_eq(send_one(&request, &response, &err), FAHR_OK);
    http_release(&response);
    ck_assert_int_eq(lists_with_secret, 0);
    ck_assert_int_ge(lists_wiped, 1);
}
END_TEST

/* A limit under 1 MiB, or not of whole MiB, is named as it was set. */
START_TEST(a_limit_is_named_in_its_unit)
{
    static const struct {
        uint64_t limit;
        const char *shown;
    } limits[] = {{512 * 1024, "512 KiB"}, {1000, "1000 bytes"}, {1536 * 1024, "1536 KiB"},
                  {1024 * 1024 + 1, "1048577 bytes"}};
    for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
        struct fahr_http_request request = {.method = "GET", .url = url_of("/huge/"),
                                            .answer_max = limits[i].limit};
        struct fahr_http_response response;
        struct fahr_error err = {{0}};
        ck_assert_int_eq(send_one(&request, &response, &err), FAHR_EFAIL);
        char expected[128];
        snprintf(expected, sizeof expected,
                 "the answer from 127.0.0.1:%d is larger than %s; refusing it", server_port,
                 limits[i].shown);
        ck_assert_str_eq(err.message, expected);
        http_release(&response);
    }
}
END_TEST

/* The Docker engine's client reads plain answers into memory, at most
 * DOCKER_ANSWER_MAX of them. */
START_TEST(engine_answers_are_capped)
{
    struct docker_engine engine = {.base_url = "http://localhost"};
    snprintf(engine.socket_path, sizeof engine.socket_path, "%s", socket_path);
    snprintf(engine.display, sizeof engine.display, "unix://%s", socket_path);
    struct fahr_error err = {{0}};
    char *answer = NULL;
    size_t length = 0;
    ck_assert_int_eq(docker_engine_call(host_services(), &engine, "GET", "/engine/ok", NULL,
                                        &answer, &length, &err),
                     FAHR_OK);
    ck_assert_str_eq(answer, "{\"ok\":true}");
    ck_assert_uint_eq(length, 11);
    free(answer);
    answer = NULL;
    ck_assert_int_eq(docker_engine_call(host_services(), &engine, "GET", "/engine/enormous",
                                        NULL, &answer, &length, &err),
                     FAHR_EFAIL);
    ck_assert_ptr_null(answer);
    ck_assert_msg(strstr(err.message, "larger than 64 MiB; refusing it") != NULL, "%s",
                  err.message);
}
END_TEST

/* Every transport failure is retried, as the SDKs' standard mode retries
 * every ConnectionError and HTTPClientError (a reset in the TLS handshake
 * is libcurl's SSL connect error); an interrupt, a callback of ours
 * refusing bytes and what no attempt changes are not. */
START_TEST(transport_failures_are_retried)
{
    static const CURLcode transient[] = {
        CURLE_COULDNT_RESOLVE_PROXY, CURLE_COULDNT_RESOLVE_HOST, CURLE_COULDNT_CONNECT,
        CURLE_PROXY, CURLE_SSL_CONNECT_ERROR, CURLE_QUIC_CONNECT_ERROR,
        CURLE_OPERATION_TIMEDOUT, CURLE_SEND_ERROR, CURLE_SEND_FAIL_REWIND, CURLE_RECV_ERROR,
        CURLE_GOT_NOTHING, CURLE_PARTIAL_FILE, CURLE_WEIRD_SERVER_REPLY, CURLE_HTTP2,
        CURLE_HTTP2_STREAM, CURLE_HTTP3,
    };
    for (size_t i = 0; i < sizeof transient / sizeof transient[0]; i++)
        ck_assert_msg(http_transport_retryable(transient[i]), "%d (%s) is not retried",
                      transient[i], curl_easy_strerror(transient[i]));
    static const CURLcode permanent[] = {
        CURLE_OK, CURLE_ABORTED_BY_CALLBACK, CURLE_WRITE_ERROR, CURLE_READ_ERROR,
        CURLE_OUT_OF_MEMORY, CURLE_URL_MALFORMAT, CURLE_UNSUPPORTED_PROTOCOL,
        CURLE_PEER_FAILED_VERIFICATION, CURLE_SSL_CACERT_BADFILE, CURLE_BAD_FUNCTION_ARGUMENT,
    };
    for (size_t i = 0; i < sizeof permanent / sizeof permanent[0]; i++)
        ck_assert_msg(!http_transport_retryable(permanent[i]), "%d (%s) is retried",
                      permanent[i], curl_easy_strerror(permanent[i]));
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("http");
    TCase *transport = tcase_create("transport");
    tcase_add_unchecked_fixture(transport, start_server, stop_server);
    tcase_add_test(transport, a_503_is_retried_and_each_attempt_signed);
    tcase_add_test(transport, a_400_is_retried_only_if_the_hook_says_so);
    tcase_add_test(transport, a_stall_is_given_up);
    tcase_add_test(transport, on_body_gets_the_body_and_on_restart_a_retry);
    tcase_add_test(transport, a_file_range_is_sent_again_on_a_retry);
    tcase_add_test(transport, a_unix_socket_is_used);
    tcase_add_test(transport, an_error_answer_lands_in_the_body_capped);
    tcase_add_test(transport, a_limit_is_named_in_its_unit);
    tcase_add_test(transport, header_lines_are_wiped_before_they_are_freed);
    tcase_add_test(transport, transport_failures_are_retried);
    tcase_add_test(transport, a_request_sent_once_is_not_sent_again);
    tcase_add_test(transport, engine_answers_are_capped);
    suite_add_tcase(suite, transport);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
