/* ABI 1.1 config values: FAHR_CONFIG_URL, FAHR_CONFIG_URI with a key's
 * scheme, and defaults taken from an environment variable. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fahr.h"

TCase *config_keys2_tcase(void);

static int url(const char *value, char *out, struct fahr_error *err)
{
    return config_check_value(FAHR_CONFIG_URL, value, out, 256, err);
}

START_TEST(urls_are_http_or_https_with_a_host)
{
    static const char *const good[] = {
        "https://api.example.com", "http://localhost:8080/v1/", "https://[::1]:443/x",
        "https://a.b-c.example/path/to?x=1", "http://10.0.0.1:1"};
    char out[256];
    struct fahr_error err;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(url(good[i], out, &err) == FAHR_OK, "%s: %s", good[i], err.message);
        ck_assert_str_eq(out, good[i]); /* a URL is kept as given */
    }
    static const char *const bad[] = {
        "ftp://example.com", "example.com", "https://", "https:///path", "https://host:0",
        "https://host:65536", "https://host:8x", "https://-host", "https://host?x",
        "https://[::1", "HTTPS://example.com"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(url(bad[i], out, &err) == FAHR_EINVAL, "%s was taken", bad[i]);
        ck_assert_msg(strstr(err.message, "is not an http:// or https:// URL") != NULL, "%s: %s",
                      bad[i], err.message);
    }
    ck_assert_int_eq(url("https://ex ample.com", out, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "has a space"));
    ck_assert_int_eq(url("https://example.com/\r\nX: y", out, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "control character"));
}
END_TEST

START_TEST(a_password_in_a_url_is_refused_unquoted)
{
    static const char *const values[] = {"https://user:hunter2@example.com/x",
                                         "https://hunter2@example.com", "user:hunter2@host"};
    char out[256];
    struct fahr_error err;
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        ck_assert_int_eq(url(values[i], out, &err), FAHR_EINVAL);
        ck_assert_msg(strstr(err.message, "hunter2") == NULL, "quoted: %s", err.message);
        ck_assert_ptr_nonnull(strstr(err.message, "user:password@"));
    }
    /* An '@' in the path is no user name. */
    ck_assert_int_eq(url("https://example.com/@team", out, &err), FAHR_OK);
}
END_TEST

START_TEST(uris_take_the_keys_scheme_and_drop_a_trailing_slash)
{
    const struct fahr_config_key2 key = {sizeof key, "bucket", FAHR_CONFIG_URI, NULL, "",
                                         0,          NULL,     "gs"};
    char out[256];
    struct fahr_error err;
    static const char *const cases[][2] = {
        {"gs://bucket", "gs://bucket"},           {"gs://bucket/", "gs://bucket"},
        {"gs://bucket/a/b//", "gs://bucket/a/b"}, {"GS://bucket/a", "gs://bucket/a"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        ck_assert_msg(config_check_key_value(&key, cases[i][0], out, sizeof out, &err) == FAHR_OK,
                      "%s: %s", cases[i][0], err.message);
        ck_assert_str_eq(out, cases[i][1]);
    }
    static const char *const bad[] = {"s3://bucket", "gs:/bucket", "gs://", "gs:///path",
                                      "gsx://bucket", "bucket"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ck_assert_msg(config_check_key_value(&key, bad[i], out, sizeof out, &err) == FAHR_EINVAL,
                      "%s was taken", bad[i]);
        ck_assert_msg(strstr(err.message, "is not a gs:// location") != NULL, "%s", err.message);
    }
    ck_assert_int_eq(config_check_key_value(&key, "gs://u:pw@bucket", out, sizeof out, &err),
                     FAHR_EINVAL);
    ck_assert_ptr_null(strstr(err.message, "pw"));
    /* A URI without the key (and so without its scheme) is never taken. */
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_URI, "gs://bucket", out, sizeof out, &err),
                     FAHR_EINVAL);
}
END_TEST

static const struct fahr_config_key2 env_keys[] = {
    {sizeof(struct fahr_config_key2), "bucket", FAHR_CONFIG_URI, "gs://fallback", "where", 0,
     "TEST_FAHR_BUCKET", "gs"},
    {sizeof(struct fahr_config_key2), "project", FAHR_CONFIG_STRING, NULL, "billing",
     FAHR_CONFIG_REQUIRED, "TEST_FAHR_PROJECT", NULL},
    {sizeof(struct fahr_config_key2), "token", FAHR_CONFIG_URL, NULL, "secret", FAHR_CONFIG_SECRET,
     "TEST_FAHR_TOKEN", NULL},
    {sizeof(struct fahr_config_key2), NULL, 0, NULL, NULL, 0, NULL, NULL},
};

static int validate_env(struct fahr_config *config, struct fahr_error *err)
{
    const struct fahr_config_key2 *const tables[] = {env_keys};
    const char *const owners[] = {"vertex"};
    return config_validate(config, tables, owners, 1, 0x1, err);
}

START_TEST(defaults_come_from_the_environment_checked_like_values)
{
    unsetenv("TEST_FAHR_BUCKET");
    unsetenv("TEST_FAHR_TOKEN");
    unsetenv("TEST_FAHR_PROJECT");
    struct fahr_config *config = config_new();
    struct fahr_error err = {{0}};
    ck_assert_int_eq(validate_env(config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message,
                     "vertex needs --config.project=VALUE or $TEST_FAHR_PROJECT (billing)");
    config_free(config);

    setenv("TEST_FAHR_PROJECT", "p-1", 1);
    setenv("TEST_FAHR_BUCKET", "", 1); /* empty: not set */
    config = config_new();
    ck_assert_int_eq(validate_env(config, &err), FAHR_OK);
    ck_assert_str_eq(config_get(config, "project"), "p-1");
    ck_assert_str_eq(config_get(config, "bucket"), "gs://fallback");
    config_free(config);

    setenv("TEST_FAHR_BUCKET", "gs://from-env/x/", 1);
    config = config_new();
    ck_assert_int_eq(validate_env(config, &err), FAHR_OK);
    ck_assert_str_eq(config_get(config, "bucket"), "gs://from-env/x"); /* normalised */
    config_free(config);

    /* The command line wins over the environment. */
    config = config_new();
    config_set(config, "bucket", "gs://typed");
    ck_assert_int_eq(validate_env(config, &err), FAHR_OK);
    ck_assert_str_eq(config_get(config, "bucket"), "gs://typed");
    config_free(config);

    setenv("TEST_FAHR_BUCKET", "s3://wrong", 1);
    config = config_new();
    ck_assert_int_eq(validate_env(config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message, "$TEST_FAHR_BUCKET (the default of --config.bucket): "
                                  "'s3://wrong' is not a gs:// location (like gs://name/path)");
    config_free(config);
    unsetenv("TEST_FAHR_BUCKET");

    setenv("TEST_FAHR_TOKEN", "not-a-url-hunter2", 1);
    config = config_new();
    ck_assert_int_eq(validate_env(config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message, "$TEST_FAHR_TOKEN (the default of --config.token): not a "
                                  "valid value (not shown: the key is secret)");
    config_free(config);
    unsetenv("TEST_FAHR_TOKEN");
    unsetenv("TEST_FAHR_PROJECT");
}
END_TEST

TCase *config_keys2_tcase(void)
{
    TCase *tcase = tcase_create("keys2");
    tcase_add_test(tcase, urls_are_http_or_https_with_a_host);
    tcase_add_test(tcase, a_password_in_a_url_is_refused_unquoted);
    tcase_add_test(tcase, uris_take_the_keys_scheme_and_drop_a_trailing_slash);
    tcase_add_test(tcase, defaults_come_from_the_environment_checked_like_values);
    return tcase;
}
