/* --config.KEY=VALUE checking and image names from artifact paths. */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "fahr.h"

/* A key of the host's tables (struct fahr_config_key2, sized); KEY_ENV
 * adds its default_env and scheme. */
#define KEY_ENV(name, type, default_value, help, flags, env, scheme)                               \
    {sizeof(struct fahr_config_key2), name, type, default_value, help, flags, env, scheme}
#define KEY(name, type, default_value, help, flags)                                               \
    KEY_ENV(name, type, default_value, help, flags, NULL, NULL)

static const struct fahr_config_key2 build_keys[] = {
    KEY("base_image", FAHR_CONFIG_IMAGE_REF, NULL, "the base image", 0),
    KEY("region", FAHR_CONFIG_STRING, "eu-west-1", "the region", 0),
    KEY(NULL, 0, NULL, NULL, 0),
};

static const struct fahr_config_key2 train_keys[] = {
    KEY("region", FAHR_CONFIG_STRING, "us-east-1", "the region, shared", 0),
    KEY("train_instance_count", FAHR_CONFIG_INT, "1", "machines", 0),
    KEY("output_path", FAHR_CONFIG_S3_URI, NULL, "where models go", FAHR_CONFIG_REQUIRED),
    KEY("spot", FAHR_CONFIG_BOOL, "false", "use spot capacity", 0),
    KEY("data", FAHR_CONFIG_PATH, NULL, "a local directory", 0),
    KEY(NULL, 0, NULL, NULL, 0),
};

static const struct fahr_config_key2 *const tables[] = {build_keys, train_keys};
static const char *const owners[] = {"local", "sagemaker"};

static int validate(struct fahr_config *config, struct fahr_error *err)
{
    return config_validate(config, tables, owners, 2, 0x3, err);
}

START_TEST(fills_defaults_and_keeps_given_values)
{
    struct fahr_config *config = config_new();
    config_set(config, "output_path", "s3://my-bucket/models");
    config_set(config, "train_instance_count", "4");
    struct fahr_error err = {{0}};
    ck_assert_int_eq(validate(config, &err), FAHR_OK);
    ck_assert_str_eq(config_get(config, "output_path"), "s3://my-bucket/models");
    ck_assert_str_eq(config_get(config, "train_instance_count"), "4");
    ck_assert_str_eq(config_get(config, "region"), "eu-west-1"); /* first driver's default */
    ck_assert_str_eq(config_get(config, "spot"), "0");
    ck_assert_ptr_null(config_get(config, "base_image"));
    ck_assert_ptr_null(config_get(config, "nonexistent"));
    config_free(config);
}
END_TEST

START_TEST(last_value_wins)
{
    struct fahr_config *config = config_new();
    config_set(config, "region", "a");
    config_set(config, "region", "b");
    ck_assert_str_eq(config_get(config, "region"), "b");
    config_free(config);
}
END_TEST

START_TEST(unknown_key_lists_the_accepted_ones)
{
    struct fahr_config *config = config_new();
    config_set(config, "output_path", "s3://bucket/x");
    config_set(config, "instance_typo", "ml.m5.large");
    struct fahr_error err = {{0}};
    ck_assert_int_eq(validate(config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message, "unknown config key 'instance_typo'; accepted: base_image, "
                                  "region, train_instance_count, output_path, spot, data");
    config_free(config);
}
END_TEST

START_TEST(a_secret_value_is_not_quoted_in_an_error)
{
    static const struct fahr_config_key2 secret_keys[] = {
        KEY("api_key", FAHR_CONFIG_S3_URI, NULL, "a secret of the wrong shape", FAHR_CONFIG_SECRET),
        KEY("bucket", FAHR_CONFIG_S3_URI, NULL, "not secret", 0),
        KEY(NULL, 0, NULL, NULL, 0),
    };
    const struct fahr_config_key2 *const one[] = {secret_keys};
    const char *const owner[] = {"vault"};
    struct fahr_config *config = config_new();
    config_set(config, "api_key", "hunter2-sk-0123");
    struct fahr_error err = {{0}};
    ck_assert_int_eq(config_validate(config, one, owner, 1, 0, &err), FAHR_EINVAL);
    ck_assert_msg(strstr(err.message, "hunter2") == NULL, "the secret was quoted: %s",
                  err.message);
    ck_assert_str_eq(err.message, "--config.api_key: not a valid value (not shown: the key "
                                  "is secret)");
    config_free(config);
    /* A key that is not secret still has its value quoted. */
    config = config_new();
    config_set(config, "bucket", "nobucket");
    ck_assert_int_eq(config_validate(config, one, owner, 1, 0, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "'nobucket'"));
    config_free(config);
}
END_TEST

START_TEST(missing_required_key_names_driver_and_key)
{
    struct fahr_config *config = config_new();
    struct fahr_error err = {{0}};
    ck_assert_int_eq(validate(config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message,
                     "sagemaker needs --config.output_path=VALUE (where models go)");
    /* Commands that only look at jobs need no required keys. */
    ck_assert_int_eq(config_validate(config, tables, owners, 2, 0, &err), FAHR_OK);
    config_free(config);
}
END_TEST

START_TEST(integers_must_be_integers)
{
    struct fahr_config *config = config_new();
    config_set(config, "output_path", "s3://bucket/x");
    config_set(config, "train_instance_count", "two");
    struct fahr_error err = {{0}};
    ck_assert_int_eq(validate(config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message,
                     "--config.train_instance_count: expected a whole number >= 0, got 'two'");
    config_free(config);

    char out[64];
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_INT, "007", out, sizeof out, &err), FAHR_OK);
    ck_assert_str_eq(out, "7");
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_INT, "-1", out, sizeof out, &err),
                     FAHR_EINVAL);
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_INT, "", out, sizeof out, &err), FAHR_EINVAL);
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_INT, "99999999999999999999", out, sizeof out,
                                        &err),
                     FAHR_EINVAL);
}
END_TEST

START_TEST(booleans_normalise)
{
    char out[8];
    struct fahr_error err;
    const char *yes[] = {"true", "YES", "1", "on"}, *no[] = {"false", "No", "0", "off"};
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(config_check_value(FAHR_CONFIG_BOOL, yes[i], out, sizeof out, &err),
                         FAHR_OK);
        ck_assert_str_eq(out, "1");
        ck_assert_int_eq(config_check_value(FAHR_CONFIG_BOOL, no[i], out, sizeof out, &err),
                         FAHR_OK);
        ck_assert_str_eq(out, "0");
    }
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_BOOL, "maybe", out, sizeof out, &err),
                     FAHR_EINVAL);
}
END_TEST

START_TEST(paths_must_exist_and_become_absolute)
{
    char out[4096];
    struct fahr_error err = {{0}};
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_PATH, "/", out, sizeof out, &err), FAHR_OK);
    ck_assert_str_eq(out, "/");
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_PATH, ".", out, sizeof out, &err), FAHR_OK);
    ck_assert_int_eq(out[0], '/');
    ck_assert_int_eq(
        config_check_value(FAHR_CONFIG_PATH, "/no/such/dir/here", out, sizeof out, &err),
        FAHR_EINVAL);
    ck_assert_str_eq(err.message, "'/no/such/dir/here': No such file or directory");
}
END_TEST

START_TEST(image_references)
{
    const char *good[] = {"python",
                          "python:3.11-slim",
                          "fahr-bench/python:3",
                          "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04",
                          "127.0.0.1:5000/foo/model:latest",
                          "localhost/foo",
                          "registry.example.com/team/my_model__v2",
                          "python@sha256:0123456789abcdef",
                          "a.b-c/d--e/f.g"};
    const char *bad[] = {"",        "Python",      "python:",      ":tag",          "foo//bar",
                         "foo/-bar", "foo/bar_",   "has space",    "python@sha256:", "foo/bar:ta/g",
                         "python@nodigest", "-foo", "foo/.bar"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        ck_assert_msg(image_ref_is_valid(good[i]), "'%s' should be valid", good[i]);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        ck_assert_msg(!image_ref_is_valid(bad[i]), "'%s' should be invalid", bad[i]);
}
END_TEST

START_TEST(s3_uris)
{
    char out[256];
    struct fahr_error err;
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_S3_URI, "s3://my-bucket/a/b", out, sizeof out,
                                        &err),
                     FAHR_OK);
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_S3_URI, "s3://ab", out, sizeof out, &err),
                     FAHR_EINVAL);
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_S3_URI, "https://bucket/x", out, sizeof out,
                                        &err),
                     FAHR_EINVAL);
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_S3_URI, "s3://Bucket/x", out, sizeof out,
                                        &err),
                     FAHR_EINVAL);
}
END_TEST

static void assert_name(const char *path, const char *expected)
{
    char out[256];
    ck_assert_int_eq(image_name_from_path(path, out, sizeof out), FAHR_OK);
    ck_assert_msg(strcmp(out, expected) == 0, "%s gave '%s', expected '%s'", path, out, expected);
}

START_TEST(image_name_from_artifact_path)
{
    assert_name("/home/ada/projects/foo/model.py", "foo/model");
    assert_name("/work/foo/model.ipynb", "foo/model");
    assert_name("/work/My Project/Train Model.PY", "my-project/train-model");
    assert_name("/work/__weird__/--model--.py", "weird/model");
    assert_name("/work/a.b.c/model.v2.py", "a-b-c/model-v2");
    /* Latin letters with marks read as the plain letters, not as separators. */
    assert_name("/work/données/modèle.py", "donnees/modele");
    assert_name("/work/foo/mödel.py", "foo/model");
    assert_name("/work/ü2/model.py", "u2/model");
    assert_name("/work/Ærø/Straße-Łódź.py", "aero/strasse-lodz");
    assert_name("/work/模型/model.py", "model");     /* no Latin letters: no directory part */
    assert_name("/work/x\xc3/model\xc3.py", "x/model"); /* a cut UTF-8 sequence */
    /* Where a name is cut to fit, a separator never ends it (found by
     * fuzz_config: "...hhhhh991n-" was no valid reference). */
    for (size_t n = 100; n < 140; n++) {
        char path[256], name[256];
        snprintf(path, sizeof path, "/work/x/%.*s.n.py", (int)n,
                 "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"
                 "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh");
        ck_assert_int_eq(image_name_from_path(path, name, sizeof name), FAHR_OK);
        ck_assert_msg(image_ref_is_valid(name), "'%s' from %s", name, path);
    }
    assert_name("/model.py", "model");
    assert_name("/work/___/model.py", "model");
    char out[256];
    ck_assert_int_eq(image_name_from_path("/work/foo/___.py", out, sizeof out), FAHR_EINVAL);
    ck_assert_int_eq(image_name_from_path("/work/foo/model.py", out, 5), FAHR_EINVAL);
    /* Every derived name is a valid reference. */
    ck_assert(image_ref_is_valid("my-project/train-model:latest"));
}
END_TEST

static void assert_untagged(const char *typed, const char *expected)
{
    char out[256];
    image_name_without_tag(typed, out, sizeof out);
    ck_assert_msg(strcmp(out, expected) == 0, "%s gave '%s', expected '%s'", typed, out,
                  expected);
}

START_TEST(a_typed_tag_is_dropped_but_not_a_port)
{
    assert_untagged("foo/model:latest", "foo/model");
    assert_untagged("foo/model", "foo/model");
    assert_untagged("model:v2", "model");
    assert_untagged("registry.example.com:5000/foo/model", "registry.example.com:5000/foo/model");
    assert_untagged("registry.example.com:5000/foo/model:3", "registry.example.com:5000/foo/model");
}
END_TEST

START_TEST(suggestions_pick_the_clearly_nearest)
{
    ck_assert_uint_eq(suggest_distance("overwrite", "overwrite"), 0);
    ck_assert_uint_eq(suggest_distance("ovewrite", "overwrite"), 1);  /* a dropped letter */
    ck_assert_uint_eq(suggest_distance("bulid", "build"), 1);         /* swapped neighbours */
    ck_assert_uint_eq(suggest_distance("", "abc"), 3);
    static const char *const commands[] = {"init", "build", "fit", "fetch", "jobs", "stop"};
    ck_assert_str_eq(suggest_nearest("buld", commands, 6), "build");
    ck_assert_str_eq(suggest_nearest("jbos", commands, 6), "jobs");
    ck_assert_ptr_null(suggest_nearest("train", commands, 6));   /* nothing near */
    ck_assert_ptr_null(suggest_nearest("fi", commands, 6));      /* too short to guess */
    static const char *const tied[] = {"fetch", "fitch", NULL};
    ck_assert_ptr_null(suggest_nearest("fatch", tied, 3));         /* two equally near */
    static const char *const keys[] = {"base_image", "region", "role_name"};
    ck_assert_str_eq(suggest_nearest("base_imag", keys, 3), "base_image");
    char long_word[200];
    memset(long_word, 'a', sizeof long_word - 1);
    long_word[sizeof long_word - 1] = '\0';
    ck_assert_ptr_null(suggest_nearest(long_word, keys, 3));
}
END_TEST

START_TEST(unknown_key_suggests_the_nearest)
{
    struct fahr_config *config = config_new();
    config_set(config, "regoin", "us-east-1");
    struct fahr_error err = {{0}};
    ck_assert_int_eq(validate(config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message, "unknown config key 'regoin' (did you mean --config.region?); "
                                  "accepted: base_image, region, train_instance_count, "
                                  "output_path, spot, data");
    config_free(config);
}
END_TEST

START_TEST(control_characters_are_refused_in_every_value)
{
    /* Values reach URLs and header lines (the region is signed into every
     * AWS request): a CR or LF there would start a line of the caller's
     * choosing. */
    static const char *const values[][2] = {
        {"region", "us-east-1\r\nX-Injected: yes"},
        {"region", "us-east-1\n"},
        {"region", "eu\x1b[2Jwest-1"},
        {"region", "eu-west-1\x7f"},
        {"train_instance_count", "1\r\n"},
        {"spot", "true\t"},
        {"base_image", "python:3.11\r\nX: y"},
        {"data", "/tmp\n"},
    };
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        struct fahr_config *config = config_new();
        config_set(config, "output_path", "s3://bucket/x");
        config_set(config, values[i][0], values[i][1]);
        struct fahr_error err = {{0}};
        ck_assert_int_eq(validate(config, &err), FAHR_EINVAL);
        char expected[128];
        snprintf(expected, sizeof expected, "--config.%s: the value has a control character",
                 values[i][0]);
        ck_assert_msg(strncmp(err.message, expected, strlen(expected)) == 0, "%s", err.message);
        ck_assert_msg(strpbrk(err.message, "\r\n\x1b") == NULL, "raw: %s", err.message);
        config_free(config);
    }
    char out[64];
    struct fahr_error err;
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_S3_URI, "s3://bucket/x\r\ny", out,
                                        sizeof out, &err),
                     FAHR_EINVAL);
    ck_assert_str_eq(err.message, "the value has a control character (0x0d); refusing it");
    /* Anything else printable, UTF-8 included, stays a value. */
    ck_assert_int_eq(config_check_value(FAHR_CONFIG_STRING, "Zürich ~!@#$%^&*()", out, sizeof out,
                                        &err),
                     FAHR_OK);
}
END_TEST

TCase *config_keys2_tcase(void); /* test_config_keys2.c */

int main(void)
{
    Suite *suite = suite_create("config");
    TCase *config = tcase_create("config");
    tcase_add_test(config, fills_defaults_and_keeps_given_values);
    tcase_add_test(config, last_value_wins);
    tcase_add_test(config, unknown_key_lists_the_accepted_ones);
    tcase_add_test(config, a_secret_value_is_not_quoted_in_an_error);
    tcase_add_test(config, unknown_key_suggests_the_nearest);
    tcase_add_test(config, suggestions_pick_the_clearly_nearest);
    tcase_add_test(config, missing_required_key_names_driver_and_key);
    tcase_add_test(config, integers_must_be_integers);
    tcase_add_test(config, booleans_normalise);
    tcase_add_test(config, paths_must_exist_and_become_absolute);
    tcase_add_test(config, image_references);
    tcase_add_test(config, s3_uris);
    tcase_add_test(config, control_characters_are_refused_in_every_value);
    suite_add_tcase(suite, config);
    TCase *naming = tcase_create("naming");
    tcase_add_test(naming, image_name_from_artifact_path);
    tcase_add_test(naming, a_typed_tag_is_dropped_but_not_a_port);
    suite_add_tcase(suite, naming);
    suite_add_tcase(suite, config_keys2_tcase());
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
