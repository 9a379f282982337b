/* The AWS shared files, endpoints and XML answers, and the download
 * checks (hostile model archives: test_unpack.c). */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws_config.h"
#include "aws_http.h"
#include "aws_metadata.h"
#include "job_name.h"
#include "model_fetch.h"

START_TEST(profiles_from_both_files)
{
    const char credentials[] = "[default]\n"
                               "aws_access_key_id = AKIDDEFAULT\n"
                               "aws_secret_access_key = default-secret\n"
                               "\n"
                               "[dev]\n"
                               "aws_access_key_id=AKIDDEV\n"
                               "aws_secret_access_key=dev/secret+x=\n"
                               "aws_session_token = tok\n";
    const char config[] = "# comment\n"
                          "[default]\n"
                          "region = eu-west-1\n"
                          "[profile dev]\n"
                          "region = us-west-2\n"
                          "s3 =\n"
                          "  max_concurrent_requests = 20\n"
                          "endpoint_url = http://localhost:4566\n"
                          "[dev]\n"
                          "region = wrong-section-form\n"
                          "[profile ops]\n"
                          "role_arn = arn:aws:iam::1:role/ops\n"
                          "source_profile = dev\n"
                          "external_id = xyz\n";
    struct aws_profile dev;
    memset(&dev, 0, sizeof dev);
    aws_profile_parse(credentials, "dev", false, &dev);
    aws_profile_parse(config, "dev", true, &dev);
    ck_assert(dev.found);
    ck_assert_str_eq(dev.access_key_id, "AKIDDEV");
    ck_assert_str_eq(dev.secret_access_key, "dev/secret+x=");
    ck_assert_str_eq(dev.session_token, "tok");
    ck_assert_str_eq(dev.region, "us-west-2"); /* not "[dev]" in the config file */
    ck_assert_str_eq(dev.endpoint_url, "http://localhost:4566");

    struct aws_profile ops;
    memset(&ops, 0, sizeof ops);
    aws_profile_parse(config, "ops", true, &ops);
    ck_assert_str_eq(ops.role_arn, "arn:aws:iam::1:role/ops");
    ck_assert_str_eq(ops.source_profile, "dev");
    ck_assert_str_eq(ops.external_id, "xyz");

    struct aws_profile missing;
    memset(&missing, 0, sizeof missing);
    aws_profile_parse(config, "nobody", true, &missing);
    ck_assert(!missing.found);
}
END_TEST

START_TEST(region_and_endpoint_resolution)
{
    char dir[] = "/tmp/fahr-test-aws.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    char path[256];
    snprintf(path, sizeof path, "%s/config", dir);
    FILE *file = fopen(path, "w");
    fputs("[profile p]\nregion = ap-south-1\n", file);
    fclose(file);
    setenv("AWS_CONFIG_FILE", path, 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_PROFILE", "p", 1);
    unsetenv("AWS_REGION");
    unsetenv("AWS_DEFAULT_REGION");
    char region[64];
    struct fahr_error err;
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "ap-south-1");
    setenv("AWS_DEFAULT_REGION", "eu-central-1", 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "eu-central-1");
    setenv("AWS_REGION", "us-east-2", 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "us-east-2");
    ck_assert_int_eq(aws_region("sa-east-1", region, sizeof region, &err), FAHR_OK);
    ck_assert_str_eq(region, "sa-east-1");

    char url[512];
    unsetenv("AWS_ENDPOINT_URL");
    unsetenv("AWS_ENDPOINT_URL_SAGEMAKER");
    aws_endpoint("SAGEMAKER", "api.sagemaker.{region}.amazonaws.com", "eu-west-1", url,
                 sizeof url, &err);
    ck_assert_str_eq(url, "https://api.sagemaker.eu-west-1.amazonaws.com");
    aws_endpoint("IAM", "iam.amazonaws.com", "eu-west-1", url, sizeof url, &err);
    ck_assert_str_eq(url, "https://iam.amazonaws.com");
    setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000/", 1);
    aws_endpoint("SAGEMAKER", "api.sagemaker.{region}.amazonaws.com", "eu-west-1", url,
                 sizeof url, &err);
    ck_assert_str_eq(url, "http://127.0.0.1:5000");
    setenv("AWS_ENDPOINT_URL_SAGEMAKER", "http://127.0.0.1:6000", 1);
    aws_endpoint("SAGEMAKER", "api.sagemaker.{region}.amazonaws.com", "eu-west-1", url,
                 sizeof url, &err);
    ck_assert_str_eq(url, "http://127.0.0.1:6000");
    unlink(path);
    rmdir(dir);
}
END_TEST

START_TEST(xml_answers)
{
    const char text[] =
        "<GetRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">"
        "<GetRoleResult><Role><RoleName>r</RoleName><Arn>arn:aws:iam::1:role/r</Arn></Role>"
        "</GetRoleResult><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>"
        "</GetRoleResponse>";
    struct xml_node *root = xml_parse(text, sizeof text - 1);
    ck_assert_ptr_nonnull(root);
    ck_assert_str_eq(xml_text(root, "GetRoleResult/Role/Arn"), "arn:aws:iam::1:role/r");
    ck_assert_str_eq(xml_text(root, "Arn"), "arn:aws:iam::1:role/r");
    ck_assert_ptr_null(xml_text(root, "GetRoleResult/Nope"));
    xml_free(root);
    ck_assert_ptr_null(xml_parse("<a><b></a>", 10));
    ck_assert_ptr_null(xml_parse("", 0));
}
END_TEST

/* ---- Values that reach a URL or a header (issue 9, part 4) ---- */

/* A file in a fresh directory of its own; its path in `path`. */
static void hostile_file(char *path, size_t size, const char *name, const char *text)
{
    char dir[] = "/tmp/fahr-test-hostile.XXXXXX";
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, size, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(text, file);
    fclose(file);
}

static void hostile_file_remove(const char *path)
{
    unlink(path);
    char dir[256];
    snprintf(dir, sizeof dir, "%.*s", (int)(strrchr(path, '/') - path), path);
    rmdir(dir);
}

/* Nothing of the machine's own AWS setup, nor a credentials endpoint. */
static void bare_aws_environment(void)
{
    static const char *const names[] = {
        "AWS_REGION", "AWS_DEFAULT_REGION", "AWS_PROFILE", "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_SAGEMAKER", "AWS_ENDPOINT_URL_S3", "AWS_CA_BUNDLE",
        "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
        "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "AWS_CONTAINER_AUTHORIZATION_TOKEN", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        unsetenv(names[i]);
    setenv("AWS_CONFIG_FILE", "/nonexistent", 1);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);
    setenv("AWS_EC2_METADATA_DISABLED", "true", 1);
}

START_TEST(regions_are_host_labels)
{
    bare_aws_environment();
    char region[64];
    struct fahr_error err;
    static const char *const valid[] = {"us-east-1", "us-gov-west-1", "cn-north-1",
                                        "eu-central-1", "ap-southeast-4", "local"};
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++) {
        ck_assert_msg(aws_region_is_valid(valid[i]), "%s", valid[i]);
        ck_assert_int_eq(aws_region(valid[i], region, sizeof region, &err), FAHR_OK);
        ck_assert_str_eq(region, valid[i]);
    }
    /* A header line of the caller's choosing; another host; and what
     * botocore's rule refuses besides. */
    static const char *const invalid[] = {
        "us-east-1\r\nX-Injected: yes", "x@127.0.0.1:18443/", "us-east-1.evil.example",
        "us east 1", "-us-east-1", "us-east-1-", "12345", "us_east_1",
        "a123456789012345678901234567890123456789012345678901234567890123",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++) {
        ck_assert_msg(!aws_region_is_valid(invalid[i]), "%s", invalid[i]);
        ck_assert_int_eq(aws_region(invalid[i], region, sizeof region, &err), FAHR_EINVAL);
        ck_assert_msg(strstr(err.message, "--config.region") != NULL, "%s", err.message);
        ck_assert_msg(strstr(err.message, "doesn't match a supported format") != NULL, "%s",
                      err.message);
        ck_assert_msg(strpbrk(err.message, "\r\n") == NULL, "a raw line break: %s",
                      err.message);
    }
    setenv("AWS_REGION", "us-east-1\r\nX-Injected: yes", 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "AWS_REGION: region 'us-east-1\\x0d\\x0aX-Injected: yes'"),
                  "%s", err.message);
    setenv("AWS_REGION", "x@127.0.0.1:18443/", 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_EINVAL);
    unsetenv("AWS_REGION");
    setenv("AWS_DEFAULT_REGION", "x@127.0.0.1:18443/", 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "AWS_DEFAULT_REGION") != NULL, "%s", err.message);
    unsetenv("AWS_DEFAULT_REGION");

    char path[256];
    hostile_file(path, sizeof path, "config", "[default]\nregion = x@127.0.0.1:18443/\n");
    setenv("AWS_CONFIG_FILE", path, 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "region in profile 'default'") != NULL, "%s", err.message);
    ck_assert_int_eq(aws_region("eu-central-1", region, sizeof region, &err), FAHR_OK);
    hostile_file_remove(path);
    /* A lone CR inside a value is no line end for the parser. */
    hostile_file(path, sizeof path, "config", "[default]\nregion = us-east-1\rX-Injected: y\n");
    setenv("AWS_CONFIG_FILE", path, 1);
    ck_assert_int_eq(aws_region(NULL, region, sizeof region, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "profile 'default': region has a control character"),
                  "%s", err.message);
    hostile_file_remove(path);
}
END_TEST

START_TEST(profile_and_credential_values_with_control_characters)
{
    bare_aws_environment();
    struct aws_profile parsed;
    memset(&parsed, 0, sizeof parsed);
    aws_profile_parse("[p]\naws_access_key_id = AKID\naws_session_token = tok\x01secret\n"
                      "role_session_name = a\tb\n",
                      "p", false, &parsed);
    ck_assert_str_eq(parsed.bad_key, "aws_session_token"); /* the first one */
    ck_assert_str_eq(parsed.session_token, "");            /* never stored */
    ck_assert_str_eq(parsed.role_session_name, "");
    ck_assert_str_eq(parsed.access_key_id, "AKID");

    struct aws_credentials credentials;
    struct fahr_error err;
    char path[256];
    hostile_file(path, sizeof path, "credentials",
                 "[default]\naws_access_key_id = AKID\naws_secret_access_key = s3cret\n"
                 "aws_session_token = t0ken\rX-Injected: yes\n");
    setenv("AWS_SHARED_CREDENTIALS_FILE", path, 1);
    ck_assert_int_eq(aws_credentials_resolve(NULL, "us-east-1", &credentials, &err),
                     FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "profile 'default': aws_session_token has a control") !=
                      NULL,
                  "%s", err.message);
    ck_assert_msg(strstr(err.message, "t0ken") == NULL && strstr(err.message, "s3cret") == NULL,
                  "a secret in: %s", err.message);
    hostile_file_remove(path);
    setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent", 1);

    /* The environment's, and any source's through aws_credentials_set. */
    setenv("AWS_ACCESS_KEY_ID", "AKID", 1);
    setenv("AWS_SECRET_ACCESS_KEY", "s3cret", 1);
    setenv("AWS_SESSION_TOKEN", "t0ken\r\nX-Injected: yes", 1);
    ck_assert_int_eq(aws_credentials_resolve(NULL, "us-east-1", &credentials, &err),
                     FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "the environment") != NULL, "%s", err.message);
    ck_assert_msg(strstr(err.message, "t0ken") == NULL, "a secret in: %s", err.message);
    setenv("AWS_SESSION_TOKEN", "tok", 1);
    ck_assert_int_eq(aws_credentials_resolve(NULL, "us-east-1", &credentials, &err), FAHR_OK);
    ck_assert_str_eq(credentials.session_token, "tok");
    ck_assert_int_eq(aws_credentials_set(&credentials, "AKID\n", "s", NULL, "a test", &err),
                     FAHR_EINVAL);
    ck_assert_int_eq(aws_credentials_set(&credentials, "", "s", NULL, "a test", &err),
                     FAHR_ENOTFOUND);
    bare_aws_environment();
}
END_TEST

START_TEST(endpoint_urls_are_checked)
{
    bare_aws_environment();
    char url[512];
    struct fahr_error err;
    static const char *const good[][2] = {
        {"https://s3.example.com:9000/", "https://s3.example.com:9000"},
        {"http://[::1]:5000", "http://[::1]:5000"},
        {"http://localhost:4566/prefix", "http://localhost:4566/prefix"},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        setenv("AWS_ENDPOINT_URL", good[i][0], 1);
        ck_assert_int_eq(aws_endpoint("S3", "s3.{region}.amazonaws.com", "us-east-1", url,
                                      sizeof url, &err),
                         FAHR_OK);
        ck_assert_str_eq(url, good[i][1]);
    }
    static const char *const bad[] = {
        "http://127.0.0.1:5000\r\nX-Injected: yes", "http://127.0.0.1:5000/\x7f",
        "http://api.example.com@127.0.0.1:18443/", "http://127.0.0.1:5000/?x=y",
        "http://127.0.0.1:5000/#x", "ftp://127.0.0.1/", "127.0.0.1:5000", "http://", "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("AWS_ENDPOINT_URL_S3", bad[i], 1);
        setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000", 1);
        int rc = aws_endpoint("S3", "s3.{region}.amazonaws.com", "us-east-1", url, sizeof url,
                              &err);
        if (bad[i][0] == '\0') { /* empty: unset, AWS_ENDPOINT_URL serves */
            ck_assert_int_eq(rc, FAHR_OK);
            continue;
        }
        ck_assert_msg(rc == FAHR_EINVAL, "%s", bad[i]);
        ck_assert_msg(strstr(err.message, "AWS_ENDPOINT_URL_S3: '") != NULL, "%s", err.message);
        ck_assert_msg(strpbrk(err.message, "\r\n\x7f") == NULL, "raw: %s", err.message);
    }
    unsetenv("AWS_ENDPOINT_URL_S3");
    unsetenv("AWS_ENDPOINT_URL");
    /* The default endpoint too: a region would make it another host. */
    ck_assert_int_eq(aws_endpoint("S3", "s3.{region}.amazonaws.com", "x@127.0.0.1:18443/", url,
                                  sizeof url, &err),
                     FAHR_EINVAL);
    /* The profile's. */
    char path[256];
    hostile_file(path, sizeof path, "config",
                 "[default]\nendpoint_url = http://127.0.0.1:1\x1b[2J\n");
    setenv("AWS_CONFIG_FILE", path, 1);
    ck_assert_int_eq(aws_endpoint("S3", "s3.{region}.amazonaws.com", "us-east-1", url,
                                  sizeof url, &err),
                     FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "endpoint_url has a control character"), "%s",
                  err.message);
    hostile_file_remove(path);
    hostile_file(path, sizeof path, "config", "[default]\nendpoint_url = http://u:p@h/\n");
    setenv("AWS_CONFIG_FILE", path, 1);
    ck_assert_int_eq(aws_endpoint("S3", "s3.{region}.amazonaws.com", "us-east-1", url,
                                  sizeof url, &err),
                     FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "endpoint_url in profile 'default'"), "%s", err.message);
    hostile_file_remove(path);
    bare_aws_environment();
}
END_TEST

START_TEST(container_credentials_uris)
{
    bare_aws_environment();
    struct fahr_error err;
    static const char *const allowed[] = {
        "https://creds.example.com/v1", "http://127.0.0.1:1234/creds", "http://127.1.2.3/",
        "http://[::1]:80/creds", "http://localhost:8080/", "http://LOCALHOST/",
        "http://169.254.170.2/v2/credentials/x", "http://169.254.170.23/v1/credentials",
        "http://[fd00:ec2::23]/v1/credentials", "http://someone@127.0.0.1/creds",
    };
    for (size_t i = 0; i < sizeof allowed / sizeof allowed[0]; i++)
        ck_assert_msg(aws_container_uri_check(allowed[i], &err) == FAHR_OK, "%s: %s",
                      allowed[i], err.message);
    /* Hosts that merely start like an allowed one, or name one as a user. */
    static const char *const refused[] = {
        "http://192.0.2.10/creds", "http://127.0.0.1.evil.example/",
        "http://169.254.170.2.evil.example/", "http://127.0.0.1@evil.example/",
        "http://localhost.evil.example/", "http://[fd00:ec2::24]/", "http://169.254.170.3/",
        "http://[::ffff:192.0.2.10]/", "file:///etc/passwd", "http://127.0.0.1/\r\nX: y",
    };
    for (size_t i = 0; i < sizeof refused / sizeof refused[0]; i++) {
        ck_assert_msg(aws_container_uri_check(refused[i], &err) == FAHR_EINVAL, "%s",
                      refused[i]);
        ck_assert_msg(strpbrk(err.message, "\r\n") == NULL, "raw: %s", err.message);
    }
    ck_assert_int_eq(aws_container_uri_check("http://192.0.2.10/creds", &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "refusing to send it a token in cleartext"), "%s",
                  err.message);
    /* The relative URI is checked as a whole: it cannot name a user. */
    char body[256];
    setenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "@192.0.2.10/creds", 1);
    ck_assert_int_eq(aws_container_credentials(NULL, body, sizeof body, &err), FAHR_EINVAL);
    unsetenv("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI");
    setenv("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://192.0.2.10/creds", 1);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "container-secret", 1);
    struct aws_credentials credentials;
    ck_assert_int_eq(aws_credentials_resolve(NULL, "us-east-1", &credentials, &err),
                     FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "container-secret") == NULL, "%s", err.message);
    bare_aws_environment();
}
END_TEST

START_TEST(container_token_file)
{
    bare_aws_environment();
    char token[16384], path[256];
    struct fahr_error err;
    ck_assert_int_eq(aws_container_token(token, sizeof token, &err), FAHR_OK);
    ck_assert_str_eq(token, "");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "from-the-variable", 1);
    ck_assert_int_eq(aws_container_token(token, sizeof token, &err), FAHR_OK);
    ck_assert_str_eq(token, "from-the-variable");
    /* The file wins, read whole, as botocore reads it. */
    hostile_file(path, sizeof path, "token", "from-the-file");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    ck_assert_int_eq(aws_container_token(token, sizeof token, &err), FAHR_OK);
    ck_assert_str_eq(token, "from-the-file");
    hostile_file_remove(path);
    /* A line break: refused, the file named, the token not shown. */
    hostile_file(path, sizeof path, "token", "secret-token\r\nX-Injected: yes");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    ck_assert_int_eq(aws_container_token(token, sizeof token, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, path) != NULL, "%s", err.message);
    ck_assert_msg(strstr(err.message, "secret-token") == NULL, "%s", err.message);
    ck_assert_msg(strstr(err.message, "cannot be sent as a header") != NULL, "%s", err.message);
    hostile_file_remove(path);
    ck_assert_int_eq(aws_container_token(token, sizeof token, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "cannot read") && strstr(err.message, path), "%s",
                  err.message);
    char *large = malloc(sizeof token + 1);
    memset(large, 'a', sizeof token);
    large[sizeof token] = '\0';
    hostile_file(path, sizeof path, "token", large);
    free(large);
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", path, 1);
    ck_assert_int_eq(aws_container_token(token, sizeof token, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "is larger than") != NULL, "%s", err.message);
    hostile_file_remove(path);
    unsetenv("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE");
    setenv("AWS_CONTAINER_AUTHORIZATION_TOKEN", "secret-token\nX-Injected: yes", 1);
    ck_assert_int_eq(aws_container_token(token, sizeof token, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "AWS_CONTAINER_AUTHORIZATION_TOKEN has a line break"),
                  "%s", err.message);
    bare_aws_environment();
}
END_TEST

START_TEST(ca_bundles)
{
    bare_aws_environment();
    char bundle[4096], path[256], config[256], text[400];
    struct fahr_error err;
    ck_assert_int_eq(aws_ca_bundle(bundle, sizeof bundle, &err), FAHR_OK);
    ck_assert_str_eq(bundle, "");
    hostile_file(path, sizeof path, "ca.pem", "not checked here\n");
    snprintf(text, sizeof text, "[default]\nca_bundle = %s\n", path);
    hostile_file(config, sizeof config, "config", text);
    setenv("AWS_CONFIG_FILE", config, 1);
    ck_assert_int_eq(aws_ca_bundle(bundle, sizeof bundle, &err), FAHR_OK);
    ck_assert_str_eq(bundle, path);
    setenv("AWS_CA_BUNDLE", "/nonexistent/ca.pem", 1); /* before the profile's */
    ck_assert_int_eq(aws_ca_bundle(bundle, sizeof bundle, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "AWS_CA_BUNDLE names /nonexistent/ca.pem") != NULL, "%s",
                  err.message);
    setenv("AWS_CA_BUNDLE", "/tmp", 1);
    ck_assert_int_eq(aws_ca_bundle(bundle, sizeof bundle, &err), FAHR_EINVAL);
    hostile_file_remove(path);
    hostile_file_remove(config);
    bare_aws_environment();
}
END_TEST

START_TEST(job_names_are_checked)
{
    static const char *const valid[] = {
        "foo-model-20261126-131554-49ea", "a", "A1--b9",
        "a12345678901234567890123456789012345678901234567890123456789012",
    };
    for (size_t i = 0; i < sizeof valid / sizeof valid[0]; i++)
        ck_assert_msg(job_name_is_valid(valid[i]), "%s", valid[i]);
    static const char *const invalid[] = {
        "", "-a", "a-", "a\r\nX-Injected: yes", "a_b", "a b", "a/b", "a\x7f",
        "a123456789012345678901234567890123456789012345678901234567890123",
    };
    for (size_t i = 0; i < sizeof invalid / sizeof invalid[0]; i++)
        ck_assert_msg(!job_name_is_valid(invalid[i]), "%s", invalid[i]);
    char derived[64];
    job_name_derive("foo/model", derived, sizeof derived);
    ck_assert_msg(job_name_is_valid(derived), "%s", derived);
}
END_TEST

TCase *job_name_tcase(void); /* test_job_name.c */
TCase *checksum_tcase(void);  /* test_s3_checksum.c */
TCase *pricing_tcase(void);   /* test_aws_pricing.c */

int main(void)
{
    Suite *suite = suite_create("aws");
    TCase *config = tcase_create("config");
    tcase_add_test(config, profiles_from_both_files);
    tcase_add_test(config, region_and_endpoint_resolution);
    tcase_add_test(config, xml_answers);
    suite_add_tcase(suite, config);
    suite_add_tcase(suite, checksum_tcase());
    TCase *hostile = tcase_create("hostile values");
    tcase_add_test(hostile, regions_are_host_labels);
    tcase_add_test(hostile, profile_and_credential_values_with_control_characters);
    tcase_add_test(hostile, endpoint_urls_are_checked);
    tcase_add_test(hostile, container_credentials_uris);
    tcase_add_test(hostile, container_token_file);
    tcase_add_test(hostile, ca_bundles);
    tcase_add_test(hostile, job_names_are_checked);
    suite_add_tcase(suite, hostile);

    suite_add_tcase(suite, job_name_tcase());
    suite_add_tcase(suite, pricing_tcase());
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
