/* ABI 1.1 in the loader: config_keys2 read (and preferred to config_keys),
 * checked and kept in the record and the cache with the train driver's
 * input kind and flags, all known before the driver is loaded. */
#define _GNU_SOURCE
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_fixtures.h"
#include "plugin_load.h"

static const struct fahr_config_key2 *key_named(const struct plugin *plugin, const char *name)
{
    for (const struct fahr_config_key2 *k = plugin->record.keys; k && k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* What the loader learnt of train_keys2.so, from a scan or the cache. */
static void assert_keys2_record(const struct plugin *plugin)
{
    ck_assert_ptr_nonnull(plugin);
    ck_assert_ptr_null(plugin->handle); /* described, not loaded */
    ck_assert_int_eq(plugin->train.input, FAHR_TRAIN_SOURCE);
    ck_assert_uint_eq(plugin->train.flags,
                      FAHR_TRAIN_NO_HYPERPARAMETERS | FAHR_TRAIN_NO_CHANNELS);
    ck_assert_uint_eq(plugin->record.key_count, 4);
    ck_assert_ptr_null(key_named(plugin, "old_only")); /* keys2 preferred */
    const struct fahr_config_key2 *bucket = key_named(plugin, "bucket");
    ck_assert_ptr_nonnull(bucket);
    ck_assert_int_eq(bucket->type, FAHR_CONFIG_URI);
    ck_assert_str_eq(bucket->scheme, "gs");
    ck_assert_str_eq(bucket->default_env, "FIXTURE_BUCKET");
    ck_assert_str_eq(bucket->default_value, "gs://fallback-bucket");
    ck_assert_uint_eq(key_named(plugin, "token")->flags, FAHR_CONFIG_SECRET);
    ck_assert_ptr_null(key_named(plugin, "endpoint")->default_env);
}

START_TEST(keys2_input_and_flags_are_known_before_loading)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture("train_keys2.so", dir, "train_keys2.so", 0755);
    for (int run = 0; run < 2; run++) { /* a scan, then the cache */
        struct plugin_set set;
        load_dirs(&set, dir, NULL);
        assert_keys2_record(plugins_find(&set, "fixture-keys2"));
        plugins_unload(&set);
    }
    /* The cache's record matches the loaded descriptor. */
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    struct fahr_error err = {{0}};
    ck_assert_int_eq(plugin_activate(plugins_find(&set, "fixture-keys2"), &err), FAHR_OK);
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(a_key2_shorter_than_its_members_is_refused)
{
    assert_skipped("train_keys2_short_key.so", "config key 2 is");
}
END_TEST

START_TEST(a_uri_key_without_a_scheme_is_refused)
{
    assert_skipped("train_keys2_no_scheme.so", "config key 'bucket' is a URI without a scheme");
}
END_TEST

START_TEST(records_keep_keys2_members_in_their_text_form)
{
    static const struct fahr_config_key2 url = {FAHR_STRUCT_HEADER(struct fahr_config_key2),
                                                .name = "where", .type = FAHR_CONFIG_URI,
                                                .default_env = "WHERE_ENV", .scheme = "gs"};
    static const struct fahr_config_key2 *const keys2[] = {&url, NULL};
    static const struct fahr_train_ops ops = {FAHR_STRUCT_HEADER(struct fahr_train_ops),
                                              .input = FAHR_TRAIN_IMAGE,
                                              .flags = FAHR_TRAIN_NO_CHANNELS};
    const struct fahr_plugin desc = {FAHR_PLUGIN_HEADER, .kind = FAHR_DRIVER_TRAIN,
                                     .name = "round-trip", .train = &ops,
                                     .config_keys2 = keys2};
    struct plugin_record record, decoded;
    char why[256];
    ck_assert_ptr_null(record_from_descriptor(&desc, &record, why, sizeof why));
    struct text text = {0};
    record_encode(&text, &record);
    struct reader in = {text.data, text.data + text.len, false};
    ck_assert(record_decode(&in, &decoded));
    ck_assert(record_equal(&record, &decoded));
    ck_assert_str_eq(decoded.keys[0].default_env, "WHERE_ENV");
    ck_assert_str_eq(decoded.keys[0].scheme, "gs");
    ck_assert_int_eq(decoded.train_input, FAHR_TRAIN_IMAGE);
    ck_assert_uint_eq(decoded.train_flags, FAHR_TRAIN_NO_CHANNELS);
    /* A record differing only in them is another record. */
    free((char *)decoded.keys[0].scheme);
    decoded.keys[0].scheme = NULL;
    ck_assert(!record_equal(&record, &decoded));
    decoded.keys[0].scheme = strdup("gs");
    decoded.train_flags = 0;
    ck_assert(!record_equal(&record, &decoded));
    record_free(&decoded);
    record_free(&record);
    text_free(&text);
}
END_TEST

TCase *keys2_tcase(void)
{
    TCase *tcase = tcase_create("keys2");
    tcase_add_test(tcase, keys2_input_and_flags_are_known_before_loading);
    tcase_add_test(tcase, a_key2_shorter_than_its_members_is_refused);
    tcase_add_test(tcase, a_uri_key_without_a_scheme_is_refused);
    tcase_add_test(tcase, records_keep_keys2_members_in_their_text_form);
    return tcase;
}
