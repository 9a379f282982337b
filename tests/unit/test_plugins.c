/* Plugin discovery and the loader's rules, one fixture plugin per rule
 * (tests/fixtures/plugins). */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"
#include "plugin_load.h"
#include "plugin_fixtures.h"
#include "version.h"

static char scratch[256];

void make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/fahr-test-plugins.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(scratch));
    unsetenv("FAHR_PLUGIN_PATH");
    setenv("FAHR_PLUGIN_SYSTEM_PATH", "", 1); /* not the installed drivers */
    char xdg[512];
    snprintf(xdg, sizeof xdg, "%s/xdg", scratch);
    setenv("XDG_DATA_HOME", xdg, 1);
    char cache[512];
    snprintf(cache, sizeof cache, "%s/cache/plugin-registry", scratch);
    setenv("FAHR_PLUGIN_CACHE", cache, 1); /* never the user's */
}

void remove_scratch(void)
{
    char command[1024];
    snprintf(command, sizeof command, "chmod -R u+w,o-w '%s' && rm -rf '%s'", scratch, scratch);
    ck_assert_int_eq(system(command), 0);
}

/* A directory under the scratch directory; returns its path (static). */
const char *subdir(const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 512, "%.200s/%.200s", scratch, name);
    mkdir(path, 0755);
    chmod(path, 0755);
    return path;
}

void copy_fixture(const char *fixture, const char *dir, const char *name, mode_t mode)
{
    char src[1024], dst[1024], buffer[65536];
    snprintf(src, sizeof src, "%s/%s", FIXTURE_DIR, fixture);
    snprintf(dst, sizeof dst, "%s/%s", dir, name);
    int in = open(src, O_RDONLY);
    ck_assert_msg(in >= 0, "missing fixture %s", src);
    int out = open(dst, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(out, 0);
    ssize_t n;
    while ((n = read(in, buffer, sizeof buffer)) > 0)
        ck_assert_int_eq(write(out, buffer, (size_t)n), n);
    close(in);
    close(out);
    ck_assert_int_eq(chmod(dst, mode), 0);
}

void load_dirs(struct plugin_set *set, const char *first, const char *second)
{
    memset(set, 0, sizeof *set);
    char *dirs[2] = {(char *)first, (char *)second};
    plugins_search_path(set, dirs, second ? 2 : 1);
    plugins_load(set);
}

/* The reason recorded for a skipped path ending in `suffix`, or NULL. */
static const char *skip_reason(const struct plugin_set *set, const char *suffix)
{
    for (size_t i = 0; i < set->skipped_count; i++) {
        size_t a = strlen(set->skipped[i].path), b = strlen(suffix);
        if (a >= b && strcmp(set->skipped[i].path + a - b, suffix) == 0)
            return set->skipped[i].reason;
    }
    return NULL;
}

void assert_skipped(const char *fixture, const char *expected_reason)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture(fixture, dir, fixture, 0755);
    copy_fixture("train_ok.so", dir, "zz_good.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    const char *reason = skip_reason(&set, fixture);
    ck_assert_msg(reason != NULL, "%s was not skipped", fixture);
    ck_assert_msg(strstr(reason, expected_reason) != NULL, "reason '%s' lacks '%s'", reason,
                  expected_reason);
    /* A bad plugin never stops the others from loading. */
    ck_assert_ptr_nonnull(plugins_find(&set, "fixture-train"));
    plugins_unload(&set);
    remove_scratch();
}

START_TEST(accepts_a_valid_driver)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture("train_ok.so", dir, "train_ok.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    struct plugin *plugin = plugins_find(&set, "fixture-train");
    ck_assert_ptr_nonnull(plugin);
    struct fahr_error err = {{0}};
    ck_assert_int_eq(plugin_activate(plugin, &err), FAHR_OK);
    ck_assert_int_eq(plugin->desc.kind, FAHR_DRIVER_TRAIN);
    ck_assert_str_eq(plugin->desc.version, "1.0.0");
    ck_assert_int_eq(plugin->train.input, FAHR_TRAIN_SOURCE);
    ck_assert_ptr_nonnull(plugin->train.submit);
    ck_assert_ptr_null(plugin->train.read_logs);
    ck_assert_uint_eq(set.skipped_count, 0);
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(refuses_another_major)
{
    assert_skipped("abi_wrong_major.so", "built for plugin ABI 2.0");
}
END_TEST

START_TEST(refuses_a_newer_minor)
{
    assert_skipped("abi_newer_minor.so", "newer than this fahr's");
}
END_TEST

START_TEST(refuses_a_missing_entry_symbol)
{
    assert_skipped("no_entry_symbol.so", "no 'fahr_plugin' symbol");
}
END_TEST

START_TEST(refuses_a_short_descriptor)
{
    assert_skipped("short_descriptor.so", "has no train operations");
}
END_TEST

START_TEST(refuses_missing_operations)
{
    assert_skipped("missing_ops.so", "lacks submit or poll");
}
END_TEST

START_TEST(refuses_a_bad_name)
{
    assert_skipped("bad_name.so", "driver name");
}
END_TEST

START_TEST(refuses_a_file_that_is_not_a_shared_object)
{
    make_scratch();
    const char *dir = subdir("plugins");
    char path[1024];
    snprintf(path, sizeof path, "%s/junk.so", dir);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs("this is text, not ELF\n", file);
    fclose(file);
    copy_fixture("train_ok.so", dir, "train_ok.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    const char *reason = skip_reason(&set, "junk.so");
    ck_assert_ptr_nonnull(reason);
    ck_assert_ptr_nonnull(strstr(reason, "cannot load"));
    ck_assert_ptr_nonnull(plugins_find(&set, "fixture-train"));
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(refuses_a_world_writable_file)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture("train_ok.so", dir, "writable.so", 0777);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    const char *reason = skip_reason(&set, "writable.so");
    ck_assert_ptr_nonnull(reason);
    ck_assert_ptr_nonnull(strstr(reason, "world-writable"));
    ck_assert_ptr_null(plugins_find(&set, "fixture-train"));
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(refuses_a_world_writable_directory)
{
    make_scratch();
    const char *open_dir = subdir("open");
    const char *safe_dir = subdir("safe");
    copy_fixture("train_ok.so", open_dir, "train_ok.so", 0755);
    copy_fixture("short_ops.so", safe_dir, "short_ops.so", 0755);
    ck_assert_int_eq(chmod(open_dir, 0777), 0);
    struct plugin_set set;
    load_dirs(&set, open_dir, safe_dir);
    const char *reason = skip_reason(&set, "/open");
    ck_assert_ptr_nonnull(reason);
    ck_assert_ptr_nonnull(strstr(reason, "directory is world-writable"));
    ck_assert_ptr_null(plugins_find(&set, "fixture-train"));
    ck_assert_ptr_nonnull(plugins_find(&set, "short-ops"));
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(refuses_a_duplicate_name_in_one_directory)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture("train_ok.so", dir, "a.so", 0755);
    copy_fixture("train_ok.so", dir, "b.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    struct plugin *plugin = plugins_find(&set, "fixture-train");
    ck_assert_ptr_nonnull(plugin);
    ck_assert_ptr_nonnull(strstr(plugin->path, "/a.so"));
    const char *reason = skip_reason(&set, "/b.so");
    ck_assert_ptr_nonnull(reason);
    ck_assert_ptr_nonnull(strstr(reason, "duplicate train driver name 'fixture-train'"));
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(first_directory_wins_and_reports_the_shadowed)
{
    make_scratch();
    const char *first = subdir("first");
    const char *second = subdir("second");
    copy_fixture("train_ok.so", first, "mine.so", 0755);
    copy_fixture("train_ok.so", second, "theirs.so", 0755);
    struct plugin_set set;
    load_dirs(&set, first, second);
    struct plugin *plugin = plugins_find(&set, "fixture-train");
    ck_assert_ptr_nonnull(plugin);
    ck_assert_ptr_nonnull(strstr(plugin->path, "/first/mine.so"));
    ck_assert_uint_eq(set.skipped_count, 0);
    ck_assert_uint_eq(set.shadowed_count, 1);
    ck_assert_ptr_nonnull(strstr(set.shadowed[0].path, "/second/theirs.so"));
    ck_assert_ptr_nonnull(strstr(set.shadowed[0].reason, "shadowed by"));
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(reads_members_only_inside_the_declared_size)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture("short_ops.so", dir, "short_ops.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    struct plugin *plugin = plugins_find(&set, "short-ops");
    ck_assert_ptr_nonnull(plugin);
    struct fahr_error err = {{0}};
    ck_assert_int_eq(plugin_activate(plugin, &err), FAHR_OK);
    ck_assert_ptr_nonnull(plugin->train.poll);
    ck_assert_ptr_null(plugin->train.read_logs); /* (void *)1 beyond the size */
    ck_assert_ptr_null(plugin->train.fetch);
    ck_assert(!FAHR_HAS(&plugin->train, read_logs));
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

/* fahr_prune_request.remote, appended to the prune extension: a request as
 * a host before it sized it (up to removed_data) does not cover it, so a
 * driver never reads what lies beyond; the members before it keep their
 * places. */
START_TEST(prune_remote_is_read_only_inside_the_declared_size)
{
    struct fahr_prune_request request = {.size = sizeof request, .remote = 1};
    ck_assert(FAHR_COVERS(&request, remote));
    request.size = (uint32_t)(offsetof(struct fahr_prune_request, removed_data) +
                              sizeof request.removed_data);
    ck_assert(!FAHR_COVERS(&request, remote));
    ck_assert(!FAHR_COVERS((struct fahr_prune_request *)NULL, remote));
    ck_assert_uint_gt(offsetof(struct fahr_prune_request, remote),
                      offsetof(struct fahr_prune_request, removed_data));
    ck_assert_int_eq(FAHR_PRUNE_REMOTE_IMAGE, 4);
}
END_TEST

START_TEST(a_failing_open_is_a_clear_error)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture("failing_open.so", dir, "failing_open.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    struct plugin *plugin = plugins_find(&set, "failing-open");
    ck_assert_ptr_nonnull(plugin);
    struct fahr_error err = {{0}};
    ck_assert_int_eq(plugin_open(plugin, &err), FAHR_EFAIL);
    ck_assert_str_eq(err.message, "failing-open: cannot start: no credentials found");
    ck_assert(!plugin->opened);
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(search_path_order)
{
    make_scratch();
    setenv("FAHR_PLUGIN_PATH", "/env/one:/env/two", 1);
    setenv("XDG_DATA_HOME", "/xdg", 1);
    struct plugin_set set;
    memset(&set, 0, sizeof set);
    char *extra[] = {"/cli/a", "/cli/b"};
    plugins_search_path(&set, extra, 2);
    ck_assert_str_eq(set.dirs[0], "/cli/a");
    ck_assert_str_eq(set.dirs[1], "/cli/b");
    ck_assert_str_eq(set.dirs[2], "/env/one");
    ck_assert_str_eq(set.dirs[3], "/env/two");
    ck_assert_str_eq(set.dirs[4], "/xdg/fahr/plugins");
    ck_assert_uint_eq(set.dir_count, 5); /* FAHR_PLUGIN_SYSTEM_PATH is empty */
    plugins_unload(&set);

    unsetenv("FAHR_PLUGIN_SYSTEM_PATH");
    memset(&set, 0, sizeof set);
    plugins_search_path(&set, extra, 2);
    ck_assert_uint_eq(set.dir_count, 6);
    ck_assert_str_eq(set.dirs[5], FAHR_PLUGIN_DIR);
    plugins_unload(&set);

    unsetenv("XDG_DATA_HOME");
    setenv("HOME", "/home/someone", 1);
    memset(&set, 0, sizeof set);
    plugins_search_path(&set, NULL, 0);
    ck_assert_str_eq(set.dirs[2], "/home/someone/.local/share/fahr/plugins");
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

/* ---- the scan record cache ------------------------------------------------ */

static char *read_file(const char *path, size_t *len)
{
    FILE *file = fopen(path, "rb");
    ck_assert_ptr_nonnull(file);
    static char data[65536];
    *len = fread(data, 1, sizeof data, file);
    fclose(file);
    return data;
}

static void write_file(const char *path, const char *data, size_t len)
{
    FILE *file = fopen(path, "wb");
    ck_assert_ptr_nonnull(file);
    ck_assert_uint_eq(fwrite(data, 1, len, file), len);
    fclose(file);
}

START_TEST(records_survive_their_text_form)
{
    static const struct fahr_config_key keys[] = {
        {"plain", FAHR_CONFIG_STRING, NULL, NULL, 0},
        {"odd", FAHR_CONFIG_INT, "1 2:3 -\n", "help with\nnew lines", FAHR_CONFIG_REQUIRED},
        {NULL, 0, NULL, NULL, 0},
    };
    const struct fahr_plugin desc = {FAHR_PLUGIN_HEADER, .kind = FAHR_DRIVER_BUILD,
                                     .name = "round-trip", .description = "a - b",
                                     .config_keys = keys};
    struct plugin_record record, decoded;
    char why[256];
    ck_assert_ptr_null(record_from_descriptor(&desc, &record, why, sizeof why));
    struct text text = {0};
    record_encode(&text, &record);
    struct reader in = {text.data, text.data + text.len, false};
    ck_assert(record_decode(&in, &decoded));
    ck_assert(in.at == in.end);
    ck_assert(record_equal(&record, &decoded));
    ck_assert_ptr_null(decoded.version);
    ck_assert_str_eq(decoded.keys[1].default_value, "1 2:3 -\n");
    ck_assert_ptr_null(decoded.keys[2].name);
    record_free(&decoded);
    /* Every shorter prefix is refused whole, and leaves nothing behind. */
    for (size_t len = 0; len < text.len; len++) {
        struct reader cut = {text.data, text.data + len, false};
        ck_assert(!record_decode(&cut, &decoded));
        ck_assert_ptr_null(decoded.name);
    }
    record_free(&record);
    text_free(&text);
}
END_TEST

/* The cache of one loaded directory holding train_ok.so; returns its path. */
static const char *cache_of_one_plugin(void)
{
    static char dir[512];
    snprintf(dir, sizeof dir, "%s", subdir("plugins"));
    copy_fixture("train_ok.so", dir, "train_ok.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    ck_assert_ptr_nonnull(plugins_find(&set, "fixture-train"));
    plugins_unload(&set);
    return dir;
}

START_TEST(a_damaged_cache_is_never_trusted_into_a_crash)
{
    make_scratch();
    cache_of_one_plugin();
    const char *file = getenv("FAHR_PLUGIN_CACHE");
    size_t len;
    char original[65536];
    const char *data = read_file(file, &len);
    memcpy(original, data, len);
    ck_assert_uint_gt(len, 100);
    /* Every truncation and every flipped byte parses to a prefix of the
     * entries or to nothing; never a crash (ASan checks the reads). */
    for (size_t i = 0; i < len; i++) {
        for (int flip = 0; flip < 2; flip++) {
            char damaged[65536];
            memcpy(damaged, original, len);
            damaged[i] ^= (char)(flip ? 0x11 : 0);
            write_file(file, damaged, flip ? len : i);
            struct plugin_cache cache;
            plugin_cache_open(&cache);
            ck_assert_uint_le(cache.count, 1);
            cache.dirty = false; /* leave the damaged file for the next round */
            plugin_cache_close(&cache);
        }
    }
    remove_scratch();
}
END_TEST

START_TEST(a_record_that_lies_is_caught_when_loaded)
{
    make_scratch();
    const char *dir = cache_of_one_plugin();
    const char *file = getenv("FAHR_PLUGIN_CACHE");
    size_t len;
    char *data = read_file(file, &len);
    char *description = memmem(data, len, "a fixture train driver", 22);
    ck_assert_ptr_nonnull(description);
    memcpy(description, "a fixture TRAIN driver", 22); /* same length: still well formed */
    write_file(file, data, len);

    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    struct plugin *plugin = plugins_find(&set, "fixture-train");
    ck_assert_str_eq(plugin->desc.description, "a fixture TRAIN driver");
    struct fahr_error err = {{0}};
    ck_assert_int_eq(plugin_open(plugin, &err), FAHR_EFAIL);
    ck_assert_ptr_nonnull(strstr(err.message, "is not what was scanned of it"));
    ck_assert_ptr_null(plugin->handle);
    plugins_unload(&set);
    /* The lie was dropped: the next run scans the plugin again. */
    load_dirs(&set, dir, NULL);
    ck_assert_str_eq(plugins_find(&set, "fixture-train")->desc.description,
                     "a fixture train driver");
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

START_TEST(a_plugin_changed_before_use_is_scanned_again)
{
    make_scratch();
    const char *dir = subdir("plugins");
    copy_fixture("train_ok.so", dir, "driver.so", 0755);
    struct plugin_set set;
    load_dirs(&set, dir, NULL);
    /* Touched: scanned again, still the same driver, used. */
    char path[1024];
    snprintf(path, sizeof path, "%s/driver.so", dir);
    ck_assert_int_eq(utimensat(AT_FDCWD, path, (struct timespec[]){{1, 0}, {1, 0}}, 0), 0);
    struct fahr_error err = {{0}};
    ck_assert_int_eq(plugin_activate(plugins_find(&set, "fixture-train"), &err), FAHR_OK);
    plugins_unload(&set);
    /* Replaced by another driver: refused. */
    load_dirs(&set, dir, NULL);
    copy_fixture("short_ops.so", dir, "driver.so", 0755);
    ck_assert_int_eq(plugin_activate(plugins_find(&set, "fixture-train"), &err), FAHR_EFAIL);
    ck_assert_ptr_nonnull(strstr(err.message, "changed while fahr started"));
    plugins_unload(&set);
    remove_scratch();
}
END_TEST

int main(void)
{
    host_init(VERBOSITY_QUIET);
    Suite *suite = suite_create("plugins");
    TCase *loader = tcase_create("loader");
    tcase_add_test(loader, accepts_a_valid_driver);
    tcase_add_test(loader, refuses_another_major);
    tcase_add_test(loader, refuses_a_newer_minor);
    tcase_add_test(loader, refuses_a_missing_entry_symbol);
    tcase_add_test(loader, refuses_a_short_descriptor);
    tcase_add_test(loader, refuses_missing_operations);
    tcase_add_test(loader, refuses_a_bad_name);
    tcase_add_test(loader, refuses_a_file_that_is_not_a_shared_object);
    tcase_add_test(loader, refuses_a_world_writable_file);
    tcase_add_test(loader, refuses_a_world_writable_directory);
    tcase_add_test(loader, refuses_a_duplicate_name_in_one_directory);
    tcase_add_test(loader, first_directory_wins_and_reports_the_shadowed);
    tcase_add_test(loader, reads_members_only_inside_the_declared_size);
    tcase_add_test(loader, prune_remote_is_read_only_inside_the_declared_size);
    tcase_add_test(loader, a_failing_open_is_a_clear_error);
    tcase_add_test(loader, search_path_order);
    suite_add_tcase(suite, loader);
    TCase *cache = tcase_create("cache");
    tcase_add_test(cache, records_survive_their_text_form);
    tcase_add_test(cache, a_damaged_cache_is_never_trusted_into_a_crash);
    tcase_add_test(cache, a_record_that_lies_is_caught_when_loaded);
    tcase_add_test(cache, a_plugin_changed_before_use_is_scanned_again);
    suite_add_tcase(suite, cache);
    suite_add_tcase(suite, keys2_tcase());
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
