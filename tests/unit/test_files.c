/* The host's user directories and tree removal (core/files.c) and the
 * scratch and data directories drivers get (core/scratch.c). */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"

static char tmp[64];

static void make_tmp(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/fahr-test-files.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char command[256];
    snprintf(command, sizeof command, "chmod -R u+w '%s'; rm -rf '%s'", tmp, tmp);
    ck_assert_int_eq(system(command), 0);
}

static void touch(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ck_assert_int_ge(fd, 0);
    close(fd);
}

static bool exists(const char *dir, const char *name)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    struct stat st;
    return lstat(path, &st) == 0;
}

START_TEST(xdg_paths_follow_the_spec)
{
    char out[256];
    setenv("HOME", "/home/u", 1);
    setenv("XDG_STATE_HOME", "/state", 1);
    ck_assert(xdg_path("XDG_STATE_HOME", ".local/state", "jobs", out, sizeof out));
    ck_assert_str_eq(out, "/state/fahr/jobs");
    /* A relative value is to be ignored (the XDG spec). */
    setenv("XDG_STATE_HOME", "state", 1);
    ck_assert(xdg_path("XDG_STATE_HOME", ".local/state", "jobs", out, sizeof out));
    ck_assert_str_eq(out, "/home/u/.local/state/fahr/jobs");
    unsetenv("XDG_STATE_HOME");
    ck_assert(xdg_path("XDG_STATE_HOME", ".local/state", "", out, sizeof out));
    ck_assert_str_eq(out, "/home/u/.local/state/fahr");
    unsetenv("HOME");
    ck_assert(!xdg_path("XDG_STATE_HOME", ".local/state", "jobs", out, sizeof out));
    setenv("XDG_STATE_HOME", "/a-long-state-home", 1);
    ck_assert(!xdg_path("XDG_STATE_HOME", ".local/state", "jobs", out, 10)); /* cut: none */
}
END_TEST

START_TEST(a_tree_is_removed_without_following_links)
{
    make_tmp();
    char tree[128], outside[128], path[256];
    snprintf(tree, sizeof tree, "%s/tree/a/b", tmp);
    snprintf(outside, sizeof outside, "%s/outside", tmp);
    struct fahr_error err = {{0}};
    ck_assert_int_eq(mkdir_parents(tree, 0700, &err), FAHR_OK);
    ck_assert_int_eq(mkdir_parents(outside, 0700, &err), FAHR_OK);
    touch(tree, "file");
    touch(outside, "precious");
    snprintf(path, sizeof path, "%s/link", tree);
    ck_assert_int_eq(symlink(outside, path), 0);
    /* A read-only directory in the way, as an archive may make. */
    snprintf(path, sizeof path, "%s/tree/a", tmp);
    ck_assert_int_eq(chmod(path, 0500), 0);
    int fd = open(tmp, O_RDONLY | O_DIRECTORY);
    ck_assert(tree_remove_at(fd, "tree"));
    ck_assert(tree_remove_at(fd, "tree")); /* gone already: done */
    close(fd);
    ck_assert(!exists(tmp, "tree"));
    ck_assert(exists(outside, "precious"));
    remove_tmp();
}
END_TEST

START_TEST(the_scratch_directory_is_private_and_goes)
{
    make_tmp();
    setenv("TMPDIR", tmp, 1);
    char first[256], second[256];
    struct fahr_error err = {{0}};
    const struct fahr_host *host = host_services();
    ck_assert_int_eq(host->scratch_dir(first, sizeof first, &err), FAHR_OK);
    ck_assert_int_eq(host->scratch_dir(second, sizeof second, &err), FAHR_OK);
    ck_assert_str_eq(first, second); /* one for the command */
    ck_assert_int_eq(strncmp(first, tmp, strlen(tmp)), 0);
    struct stat st;
    ck_assert_int_eq(stat(first, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    char small[8];
    ck_assert_int_ne(host->scratch_dir(small, sizeof small, &err), FAHR_OK);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/locked", first);
    ck_assert_int_eq(mkdir(sub, 0700), 0);
    touch(sub, "file");
    ck_assert_int_eq(chmod(sub, 0500), 0);
    scratch_remove();
    ck_assert_int_ne(stat(first, &st), 0);
    /* The next use makes a new one. */
    ck_assert_int_eq(host->scratch_dir(second, sizeof second, &err), FAHR_OK);
    ck_assert_str_ne(first, second);
    scratch_remove();
    remove_tmp();
}
END_TEST

START_TEST(each_driver_has_its_own_data_directory)
{
    make_tmp();
    char data_home[128], path[256], expected[256];
    snprintf(data_home, sizeof data_home, "%s/data", tmp);
    setenv("XDG_DATA_HOME", data_home, 1);
    struct fahr_host host = *host_services();
    struct fahr_error err = {{0}};
    /* The table without a driver's name cannot say whose. */
    ck_assert_int_eq(host.data_dir(&host, path, sizeof path, &err), FAHR_EINVAL);
    host.driver = "kaggle";
    ck_assert_msg(host.data_dir(&host, path, sizeof path, &err) == FAHR_OK, "%s", err.message);
    snprintf(expected, sizeof expected, "%s/fahr/drivers/kaggle", data_home);
    ck_assert_str_eq(path, expected);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    touch(path, "kept");
    ck_assert_int_eq(host.data_dir(&host, path, sizeof path, &err), FAHR_OK);
    ck_assert(exists(path, "kept"));
    unsetenv("XDG_DATA_HOME");
    remove_tmp();
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("files");
    TCase *tc = tcase_create("files");
    tcase_add_test(tc, xdg_paths_follow_the_spec);
    tcase_add_test(tc, a_tree_is_removed_without_following_links);
    tcase_add_test(tc, the_scratch_directory_is_private_and_goes);
    tcase_add_test(tc, each_driver_has_its_own_data_directory);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
