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
#include "version.h"

static char scratch[256];

static void make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/fahr-test-plugins.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(scratch));
    unsetenv("FAHR_PLUGIN_PATH");
    setenv("FAHR_PLUGIN_SYSTEM_PATH", "", 1); /* not the installed drivers */
    char xdg[512];
    snprintf(xdg, sizeof xdg, "%s/xdg", scratch);
    setenv("XDG_DATA_HOME", xdg, 1);
}

static void remove_scratch(void)
{
    char command[1024];
    snprintf(command, sizeof command, "chmod -R u+w,o-w '%s' && rm -rf '%s'", scratch, scratch);
    ck_assert_int_eq(system(command), 0);
}

/* A directory under the scratch directory; returns its path (static). */
static const char *subdir(const char *name)
{
    static char paths[4][512];
    static int next;
    char *path = paths[next++ % 4];
    snprintf(path, 512, "%.200s/%.200s", scratch, name);
    mkdir(path, 0755);
    chmod(path, 0755);
    return path;
}

static void copy_fixture(const char *fixture, const char *dir, const char *name, mode_t mode)
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

static void load_dirs(struct plugin_set *set, const char *first, const char *second)
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

static void assert_skipped(const char *fixture, const char *expected_reason)
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
    ck_assert_ptr_nonnull(plugin->train.poll);
    ck_assert_ptr_null(plugin->train.read_logs); /* (void *)1 beyond the size */
    ck_assert_ptr_null(plugin->train.fetch);
    ck_assert(!FAHR_HAS(&plugin->train, read_logs));
    plugins_unload(&set);
    remove_scratch();
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
    tcase_add_test(loader, a_failing_open_is_a_clear_error);
    tcase_add_test(loader, search_path_order);
    suite_add_tcase(suite, loader);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
