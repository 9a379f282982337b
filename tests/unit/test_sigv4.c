/* SigV4 against every case of the public SigV4 test suite
 * (tests/data/sigv4-test-suite, Apache-2.0, see its LICENSE and NOTICE):
 * the canonical request, the string to sign, the signature and the
 * Authorization header must match AWS's own expected results. */
#define _GNU_SOURCE
#include <check.h>
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sigv4.h"

static char *cases[64];
static int case_count;

static char *read_file(const char *dir, const char *name)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", SIGV4_SUITE_DIR, dir, name);
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    char *text = NULL;
    size_t length = 0;
    FILE *memory = open_memstream(&text, &length);
    char buffer[4096];
    size_t n;
    while ((n = fread(buffer, 1, sizeof buffer, file)) > 0)
        fwrite(buffer, 1, n, memory);
    fclose(file);
    fclose(memory);
    return text;
}

static int hex_value(char c)
{
    return isdigit((unsigned char)c) ? c - '0' : tolower((unsigned char)c) - 'a' + 10;
}

static char *percent_decode(const char *s, size_t length)
{
    char *out = malloc(length + 1), *o = out;
    for (size_t i = 0; i < length; i++) {
        if (s[i] == '%' && i + 2 < length + 0 + 1 && isxdigit((unsigned char)s[i + 1]) &&
            isxdigit((unsigned char)s[i + 2])) {
            *o++ = (char)(hex_value(s[i + 1]) * 16 + hex_value(s[i + 2]));
            i += 2;
        } else {
            *o++ = s[i];
        }
    }
    *o = '\0';
    return out;
}

struct parsed_request {
    char method[16];
    char *path;
    struct sigv4_pair query[32];
    size_t query_count;
    struct sigv4_pair headers[32];
    size_t header_count;
    char *body;
    char *storage[160];
    size_t stored;
};

static char *keep(struct parsed_request *r, char *s)
{
    r->storage[r->stored++] = s;
    return s;
}

/* request.txt: "METHOD TARGET HTTP/1.1", headers (continuation lines begin
 * with a space), a blank line, the body. */
static void parse_request(char *text, struct parsed_request *r)
{
    memset(r, 0, sizeof *r);
    char *line_end = strchr(text, '\n');
    ck_assert_ptr_nonnull(line_end);
    *line_end = '\0';
    char *space = strchr(text, ' ');
    snprintf(r->method, sizeof r->method, "%.*s", (int)(space - text), text);
    char *target = space + 1;
    char *version = strstr(target, " HTTP/1.1");
    ck_assert_ptr_nonnull(version);
    *version = '\0';
    char *question = strchr(target, '?');
    if (question != NULL) {
        *question = '\0';
        char *save = NULL;
        for (char *item = strtok_r(question + 1, "&", &save); item;
             item = strtok_r(NULL, "&", &save)) {
            char *eq = strchr(item, '=');
            size_t name_length = eq ? (size_t)(eq - item) : strlen(item);
            r->query[r->query_count].name = keep(r, percent_decode(item, name_length));
            r->query[r->query_count].value =
                keep(r, percent_decode(eq ? eq + 1 : "", eq ? strlen(eq + 1) : 0));
            r->query_count++;
        }
    }
    r->path = keep(r, strdup(target));

    char *p = line_end + 1;
    while (*p && *p != '\n') {
        char *end = strchr(p, '\n');
        size_t length = end ? (size_t)(end - p) : strlen(p);
        if (p[0] == ' ' || p[0] == '\t') {
            /* A continuation: fold into the previous header's value. */
            struct sigv4_pair *last = &r->headers[r->header_count - 1];
            size_t size = strlen(last->value) + length + 2;
            char *joined = malloc(size);
            snprintf(joined, size, "%s\n%.*s", last->value, (int)length, p);
            last->value = keep(r, joined);
        } else {
            char *colon = memchr(p, ':', length);
            ck_assert_ptr_nonnull(colon);
            r->headers[r->header_count].name = keep(r, strndup(p, (size_t)(colon - p)));
            r->headers[r->header_count].value =
                keep(r, strndup(colon + 1, length - (size_t)(colon - p) - 1));
            r->header_count++;
        }
        p = end ? end + 1 : p + length;
    }
    r->body = keep(r, strdup(*p == '\n' ? p + 1 : ""));
}

static void free_request(struct parsed_request *r)
{
    for (size_t i = 0; i < r->stored; i++)
        free(r->storage[i]);
}

static void assert_file_eq(const char *dir, const char *name, const char *actual)
{
    char *expected = read_file(dir, name);
    ck_assert_msg(expected != NULL, "%s/%s missing", dir, name);
    ck_assert_msg(strcmp(expected, actual) == 0, "%s: %s differs:\nexpected:\n%s\nactual:\n%s",
                  dir, name, expected, actual);
    free(expected);
}

START_TEST(suite_case)
{
    const char *dir = cases[_i];
    char *context_text = read_file(dir, "context.json");
    json_t *context = json_loads(context_text, 0, NULL);
    ck_assert_ptr_nonnull(context);
    json_t *creds = json_object_get(context, "credentials");
    struct sigv4_credentials credentials = {
        json_string_value(json_object_get(creds, "access_key_id")),
        json_string_value(json_object_get(creds, "secret_access_key")),
        json_string_value(json_object_get(creds, "token")),
    };
    const char *timestamp = json_string_value(json_object_get(context, "timestamp"));
    char amz_date[17];
    snprintf(amz_date, sizeof amz_date, "%.4s%.2s%.2sT%.2s%.2s%.2sZ", timestamp, timestamp + 5,
             timestamp + 8, timestamp + 11, timestamp + 14, timestamp + 17);
    struct sigv4_options options = {
        .region = json_string_value(json_object_get(context, "region")),
        .service = json_string_value(json_object_get(context, "service")),
        .amz_date = amz_date,
        .normalize_path = json_is_true(json_object_get(context, "normalize")),
        /* The suite's paths are as sent: signed with one encoding. */
        .double_encode_path = false,
        .sign_payload_header = json_is_true(json_object_get(context, "sign_body")),
        .token_after_signing = json_is_true(json_object_get(context, "omit_session_token")),
    };

    char *request_text = read_file(dir, "request.txt");
    struct parsed_request parsed;
    parse_request(request_text, &parsed);
    char payload_hash[65];
    sigv4_sha256_hex(parsed.body, strlen(parsed.body), payload_hash);
    struct sigv4_request request = {
        .method = parsed.method,
        .path = parsed.path,
        .query = parsed.query,
        .query_count = parsed.query_count,
        .headers = parsed.headers,
        .header_count = parsed.header_count,
        .payload_hash = payload_hash,
    };
    struct sigv4_result result;
    ck_assert_int_eq(sigv4_sign(&request, &credentials, &options, &result), 0);
    assert_file_eq(dir, "header-canonical-request.txt", result.canonical_request);
    assert_file_eq(dir, "header-string-to-sign.txt", result.string_to_sign);
    assert_file_eq(dir, "header-signature.txt", result.signature);

    char *signed_request = read_file(dir, "header-signed-request.txt");
    char *authorization = strstr(signed_request, "\nAuthorization:");
    ck_assert_ptr_nonnull(authorization);
    authorization += strlen("\nAuthorization:");
    *strchrnul(authorization, '\n') = '\0';
    ck_assert_str_eq(result.authorization, authorization);

    sigv4_result_free(&result);
    free(signed_request);
    free_request(&parsed);
    free(request_text);
    json_decref(context);
    free(context_text);
}
END_TEST

START_TEST(other_services_sign_the_path_encoded_twice)
{
    struct sigv4_pair headers[] = {{"Host", "example.amazonaws.com"}};
    struct sigv4_request request = {"GET", "/my key/./x", NULL, 0, headers, 1,
                                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    struct sigv4_credentials credentials = {"AKID", "secret", NULL};
    struct sigv4_options options = {"us-east-1", "sagemaker", "20150830T123600Z", true, true,
                                    false, false};
    struct sigv4_result result;
    ck_assert_int_eq(sigv4_sign(&request, &credentials, &options, &result), 0);
    ck_assert_str_eq(result.encoded_path, "/my%20key/x");
    ck_assert(strncmp(result.canonical_request, "GET\n/my%2520key/x\n\n", 19) == 0);
    sigv4_result_free(&result);

    /* S3: the key is neither normalised nor encoded twice. */
    struct sigv4_options s3 = {"us-east-1", "s3", "20150830T123600Z", false, false, true, false};
    request.path = "/bucket/a+b=c&d,e;f:g@h(i)j'k*l!m ü/./n";
    ck_assert_int_eq(sigv4_sign(&request, &credentials, &s3, &result), 0);
    ck_assert_str_eq(result.encoded_path,
                     "/bucket/a%2Bb%3Dc%26d%2Ce%3Bf%3Ag%40h%28i%29j%27k%2Al%21m%20%C3%BC/./n");
    ck_assert(strncmp(result.canonical_request + 4, result.encoded_path,
                      strlen(result.encoded_path)) == 0);
    ck_assert_ptr_nonnull(strstr(result.canonical_request, "\nx-amz-content-sha256:e3b0"));
    ck_assert_str_eq(result.added_headers[1],
                     "X-Amz-Content-Sha256: "
                     "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    sigv4_result_free(&result);
}
END_TEST

START_TEST(session_token_is_sent_and_signed)
{
    struct sigv4_pair headers[] = {{"Host", "sts.amazonaws.com"}};
    struct sigv4_request request = {"POST", "/", NULL, 0, headers, 1,
                                    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"};
    struct sigv4_credentials credentials = {"AKID", "secret", "TOKEN/+="};
    struct sigv4_options options = {"us-east-1", "sts", "20150830T123600Z", true, true, false,
                                    false};
    struct sigv4_result result;
    ck_assert_int_eq(sigv4_sign(&request, &credentials, &options, &result), 0);
    ck_assert_ptr_nonnull(strstr(result.canonical_request, "\nx-amz-security-token:TOKEN/+=\n"));
    ck_assert_ptr_nonnull(strstr(result.authorization, "SignedHeaders=host;x-amz-date;x-amz-security-token,"));
    ck_assert_str_eq(result.added_headers[0], "X-Amz-Date: 20150830T123600Z");
    ck_assert_str_eq(result.added_headers[1], "X-Amz-Security-Token: TOKEN/+=");
    ck_assert_ptr_null(result.added_headers[2]);
    /* The secret never appears in anything the signer returns. */
    ck_assert_ptr_null(strstr(result.canonical_request, "secret"));
    ck_assert_ptr_null(strstr(result.string_to_sign, "secret"));
    ck_assert_ptr_null(strstr(result.authorization, "secret"));
    sigv4_result_free(&result);
}
END_TEST

/* AWS's published examples of a chunked upload (Amazon S3 API Reference,
 * "Transferring payload in multiple chunks" and "Including trailing
 * headers"): 65 KiB of 'a' in chunks of 64 KiB, 1 KiB and 0 bytes. The
 * seed is the request's own signature, from sigv4_sign. */
static void example_seed(struct sigv4_result *result)
{
    struct sigv4_pair headers[] = {
        {"Host", "s3.amazonaws.com"}, {"Content-Encoding", "aws-chunked"},
        {"Content-Length", "66824"}, {"x-amz-decoded-content-length", "66560"},
        {"x-amz-storage-class", "REDUCED_REDUNDANCY"}};
    struct sigv4_request request = {"PUT", "/examplebucket/chunkObject.txt", NULL, 0, headers, 5,
                                    "STREAMING-AWS4-HMAC-SHA256-PAYLOAD"};
    struct sigv4_credentials credentials = {"AKIAIOSFODNN7EXAMPLE",
                                            "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", NULL};
    struct sigv4_options options = {"us-east-1", "s3", "20130524T000000Z", false, false, true,
                                    false};
    ck_assert_int_eq(sigv4_sign(&request, &credentials, &options, result), 0);
}

static void example_chunk_hashes(char hashes[3][65])
{
    static char data[65536];
    memset(data, 'a', sizeof data);
    sigv4_sha256_hex(data, 65536, hashes[0]);
    sigv4_sha256_hex(data, 1024, hashes[1]);
    sigv4_sha256_hex("", 0, hashes[2]);
}

START_TEST(chunk_signatures_match_aws_example)
{
    struct sigv4_result seed;
    example_seed(&seed);
    ck_assert_str_eq(seed.signature,
                     "4f232c4386841ef735655705268965c44a0e4690baa4adea153f7db9fa80a0a9");
    char hashes[3][65], signature[65];
    example_chunk_hashes(hashes);
    const char *expected[] = {
        "ad80c730a21e5b8d04586a2213dd63b9a0e99e0e2307b0ade35a65485a288648",
        "0055627c9e194cb4542bae2aa5492e3c1575bbb81b612b7d234b86a503ef5497",
        "b6c6ea8a5354eaf15b3cb7646744f4275b71ea724fed81ceb9323e279d449df9"};
    struct sigv4_chain chain;
    sigv4_chain_start(&chain, &seed);
    for (int i = 0; i < 3; i++) {
        sigv4_chain_chunk(&chain, hashes[i], signature);
        ck_assert_str_eq(signature, expected[i]);
    }
    sigv4_chain_end(&chain);
    sigv4_result_free(&seed);
}
END_TEST

START_TEST(trailer_signature_matches_aws_example)
{
    /* The trailer example's seed (its request signs x-amz-trailer too). */
    struct sigv4_result seed;
    example_seed(&seed);
    snprintf(seed.signature, sizeof seed.signature, "%s",
             "106e2a8a18243abcf37539882f36619c00e2dfc72633413f02d3b74544bfeb8e");
    char hashes[3][65], signature[65];
    example_chunk_hashes(hashes);
    const char *expected[] = {
        "b474d8862b1487a5145d686f57f013e54db672cee1c953b3010fb58501ef5aa2",
        "1c1344b170168f8e65b41376b44b20fe354e373826ccbbe2c1d40a8cae51e5c7",
        "2ca2aba2005185cf7159c6277faf83795951dd77a3a99e6e65d5c9f85863f992"};
    struct sigv4_chain chain;
    sigv4_chain_start(&chain, &seed);
    for (int i = 0; i < 3; i++) {
        sigv4_chain_chunk(&chain, hashes[i], signature);
        ck_assert_str_eq(signature, expected[i]);
    }
    const char lines[] = "x-amz-checksum-crc32c:sOO8/Q==\n";
    sigv4_chain_trailer(&chain, lines, strlen(lines), signature);
    ck_assert_str_eq(signature, "d81f82fc3505edab99d459891051a732e8730629a2e4a59689829ca17fe2e435");
    sigv4_chain_end(&chain);
    sigv4_result_free(&seed);
}
END_TEST

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
    DIR *dir = opendir(SIGV4_SUITE_DIR);
    if (dir == NULL) {
        perror(SIGV4_SUITE_DIR);
        return 1;
    }
    struct dirent *entry;
    while ((entry = readdir(dir)) != NULL && case_count < 64) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s/context.json", SIGV4_SUITE_DIR, entry->d_name);
        FILE *probe = fopen(path, "r");
        if (probe == NULL)
            continue;
        fclose(probe);
        cases[case_count++] = strdup(entry->d_name);
    }
    closedir(dir);
    qsort(cases, (size_t)case_count, sizeof *cases, compare_names);
    if (case_count < 30) {
        fprintf(stderr, "only %d SigV4 cases found in %s\n", case_count, SIGV4_SUITE_DIR);
        return 1;
    }

    Suite *suite = suite_create("sigv4");
    TCase *suite_cases = tcase_create("aws-test-suite");
    tcase_add_loop_test(suite_cases, suite_case, 0, case_count);
    suite_add_tcase(suite, suite_cases);
    TCase *fahr_cases = tcase_create("services");
    tcase_add_test(fahr_cases, other_services_sign_the_path_encoded_twice);
    tcase_add_test(fahr_cases, session_token_is_sent_and_signed);
    tcase_add_test(fahr_cases, chunk_signatures_match_aws_example);
    tcase_add_test(fahr_cases, trailer_signature_matches_aws_example);
    suite_add_tcase(suite, fahr_cases);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_VERBOSE);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    for (int i = 0; i < case_count; i++)
        free(cases[i]);
    return failed == 0 ? 0 : 1;
}
