/* The user's config file (core/user_config.c): parsing, lookups with
 * profiles, edits that keep the rest of the file, hostile text, and the
 * atomic, private write. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "user_config.h"

static const char sample[] = "# my defaults\n"
                             "[defaults]\n"
                             "train-driver = sagemaker\n"
                             "\n"
                             "[sagemaker]\n"
                             "; where models go\n"
                             "output_path=s3://bucket/models\n"
                             "  role_name = prod-role  \n"
                             "role_name = later-role\n"
                             "\n"
                             "[profile dev]\n"
                             "train-driver = local\n"
                             "[profile dev sagemaker]\n"
                             "role_name = dev-role\n";

static struct user_config *parse(const char *text)
{
    struct user_config *config = NULL;
    struct fahr_error err = {{0}};
    ck_assert_msg(user_config_parse("/c", text, strlen(text), &config, &err) == FAHR_OK, "%s",
                  err.message);
    return config;
}

#define REFUSED(literal) refused(literal, sizeof literal - 1)

/* The one-line error of text the parser refuses. */
static const char *refused(const char *text, size_t length)
{
    static struct fahr_error err;
    memset(&err, 0, sizeof err);
    struct user_config *config = NULL;
    ck_assert_int_eq(user_config_parse("/c", text, length, &config, &err), FAHR_EINVAL);
    ck_assert_ptr_null(config);
    ck_assert_ptr_null(strchr(err.message, '\n'));
    return err.message;
}

START_TEST(sections_profiles_and_the_last_line_win)
{
    struct user_config *config = parse(sample);
    const struct user_config_entry *e = user_config_find(config, NULL, "sagemaker", "role_name");
    ck_assert_str_eq(e->value, "later-role");
    ck_assert_uint_eq(e->line, 9);
    e = user_config_find(config, NULL, "sagemaker", "output_path");
    ck_assert_str_eq(e->value, "s3://bucket/models");
    e = user_config_find(config, "dev", "sagemaker", "role_name");
    ck_assert_str_eq(e->value, "dev-role");
    ck_assert_str_eq(e->profile, "dev");
    /* A key the profile lacks falls through to the plain section. */
    e = user_config_find(config, "dev", "sagemaker", "output_path");
    ck_assert_str_eq(e->value, "s3://bucket/models");
    ck_assert_str_eq(user_config_find(config, "dev", "defaults", "train-driver")->value, "local");
    ck_assert_str_eq(user_config_find(config, NULL, "defaults", "train-driver")->value,
                     "sagemaker");
    ck_assert_ptr_null(user_config_find(config, NULL, "sagemaker", "region"));
    ck_assert(user_config_has_profile(config, "dev"));
    ck_assert(!user_config_has_profile(config, "prod"));
    ck_assert_uint_eq(user_config_count(config), 6);
    ck_assert_str_eq(user_config_entry_at(config, 2)->value, "prod-role"); /* blanks trimmed */
    user_config_free(config);
}
END_TEST

START_TEST(an_unedited_file_is_written_back_as_it_was)
{
    struct user_config *config = parse(sample);
    char *text = user_config_text(config);
    ck_assert_str_eq(text, sample);
    free(text);
    user_config_free(config);
}
END_TEST

START_TEST(set_changes_one_line_and_keeps_the_rest)
{
    struct user_config *config = parse(sample);
    user_config_set(config, NULL, "sagemaker", "role_name", "new-role");
    user_config_set(config, NULL, "sagemaker", "region", "eu-west-1");
    user_config_set(config, "dev", "sagemaker", "output_path", "s3://dev/out");
    user_config_set(config, "ci", "defaults", "build-driver", "local");
    user_config_set(config, NULL, "local", "base_image", "python:3");
    char *text = user_config_text(config);
    ck_assert_str_eq(text, "# my defaults\n"
                           "[defaults]\n"
                           "train-driver = sagemaker\n"
                           "\n"
                           "[sagemaker]\n"
                           "; where models go\n"
                           "output_path=s3://bucket/models\n"
                           "role_name = new-role\n"
                           "region = eu-west-1\n"
                           "\n"
                           "[profile dev]\n"
                           "train-driver = local\n"
                           "[profile dev sagemaker]\n"
                           "role_name = dev-role\n"
                           "output_path = s3://dev/out\n"
                           "\n"
                           "[profile ci]\n"
                           "build-driver = local\n"
                           "\n"
                           "[local]\n"
                           "base_image = python:3\n");
    free(text);
    ck_assert_str_eq(user_config_find(config, NULL, "sagemaker", "role_name")->value, "new-role");
    user_config_free(config);
}
END_TEST

START_TEST(set_keeps_a_lines_indentation)
{
    struct user_config *config = parse("[sagemaker]\n    region = a\n");
    user_config_set(config, NULL, "sagemaker", "region", "b");
    char *text = user_config_text(config);
    ck_assert_str_eq(text, "[sagemaker]\n    region = b\n");
    free(text);
    user_config_free(config);
}
END_TEST

START_TEST(unset_removes_the_keys_lines_only)
{
    struct user_config *config = parse(sample);
    ck_assert(user_config_unset(config, NULL, "sagemaker", "role_name"));
    ck_assert(!user_config_unset(config, NULL, "sagemaker", "role_name"));
    ck_assert(!user_config_unset(config, NULL, "sagemaker", "region"));
    char *text = user_config_text(config);
    ck_assert_str_eq(text, "# my defaults\n"
                           "[defaults]\n"
                           "train-driver = sagemaker\n"
                           "\n"
                           "[sagemaker]\n"
                           "; where models go\n"
                           "output_path=s3://bucket/models\n"
                           "\n"
                           "[profile dev]\n"
                           "train-driver = local\n"
                           "[profile dev sagemaker]\n"
                           "role_name = dev-role\n");
    free(text);
    user_config_free(config);
}
END_TEST

START_TEST(hostile_text_is_refused_with_one_line)
{
    ck_assert_str_eq(REFUSED("[defaults]\ntrain-driver = a\0b\n"),
                     "/c:2: a NUL byte (byte 0x00 at column 17); refusing the file");
    ck_assert_str_eq(REFUSED("[a]\nk = \x1b[31m\n"),
                     "/c:2: a control character (byte 0x1b at column 5); refusing the file");
    char *long_line = malloc(6000);
    memset(long_line, 'a', 6000);
    ck_assert_str_eq(refused(long_line, 6000), "/c:1: the line is longer than 4095 bytes");
    free(long_line);
    ck_assert_str_eq(REFUSED("key = v\n"), "/c:1: 'key' before any [section]");
    ck_assert_str_eq(REFUSED("[a]\njust words\n"), "/c:2: expected KEY = VALUE or [SECTION]");
    ck_assert_str_eq(REFUSED("[a]\nKey = v\n"),
                     "/c:2: 'Key' is not a key (lower case letters, digits, _ and -)");
    ck_assert_str_eq(REFUSED("[a\n"), "/c:1: a section header without its ']'");
    ck_assert_str_eq(REFUSED("[a] b\n"), "/c:1: text after the section header's ']'");
    ck_assert_str_eq(REFUSED("[profile a b c]\n"),
                     "/c:1: '[profile a b c]' is not a section fahr knows ([defaults], [DRIVER], "
                     "[profile NAME] or [profile NAME DRIVER])");
    ck_assert_str_eq(REFUSED("[Sage]\n"),
                     "/c:1: '[Sage]' is not a section fahr knows ([defaults], [DRIVER], "
                     "[profile NAME] or [profile NAME DRIVER])");
    ck_assert_str_eq(REFUSED("[profile x]\ntrain_driver = a\n"),
                     "/c:2: [profile x] has no key 'train_driver' (did you mean train-driver?); "
                     "it takes build-driver and train-driver");
    /* A CR before the newline is a Windows line end, not a hostile byte. */
    struct user_config *config = parse("[a]\r\nk = v\r\n");
    ck_assert_str_eq(user_config_find(config, NULL, "a", "k")->value, "v");
    user_config_free(config);
}
END_TEST

static char tmp[64];

static void make_tmp(void)
{
    snprintf(tmp, sizeof tmp, "/tmp/fahr-test-uc.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmp));
}

static void remove_tmp(void)
{
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s'", tmp);
    ck_assert_int_eq(system(command), 0);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_eq(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    ck_assert_int_eq(fchmod(fd, mode), 0);
    close(fd);
}

static char *read_file(const char *path)
{
    static char buffer[8192];
    FILE *f = fopen(path, "r");
    ck_assert_ptr_nonnull(f);
    size_t n = fread(buffer, 1, sizeof buffer - 1, f);
    buffer[n] = '\0';
    fclose(f);
    return buffer;
}

START_TEST(a_missing_file_is_an_empty_one_and_unsafe_ones_are_refused)
{
    make_tmp();
    char path[256];
    snprintf(path, sizeof path, "%s/config", tmp);
    struct user_config *config = NULL;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_OK);
    ck_assert_uint_eq(user_config_count(config), 0);
    user_config_free(config);
    write_file(path, "[a]\nk = v\n", 0620);
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "group-writable"));
    write_file(path, "[a]\nk = v\n", 0602);
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "world-writable"));
    if (geteuid() == 0) {
        ck_assert_int_eq(chown(path, 65534, 65534), 0);
        chmod(path, 0600);
        ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_EINVAL);
        ck_assert_ptr_nonnull(strstr(err.message, "owned by uid 65534, not by you"));
        ck_assert_int_eq(chown(path, 0, 0), 0);
    }
    write_file(path, "[a]\nk = v\n", 0600);
    chmod(tmp, 0777);
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "above it is world-writable"));
    chmod(tmp, 0700);
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_OK);
    ck_assert_str_eq(user_config_find(config, NULL, "a", "k")->value, "v");
    user_config_free(config);
    /* Too large to be a config file. */
    char *big = malloc(USER_CONFIG_SIZE_MAX + 2);
    memset(big, '\n', USER_CONFIG_SIZE_MAX + 1);
    big[USER_CONFIG_SIZE_MAX + 1] = '\0';
    write_file(path, big, 0600);
    free(big);
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "is larger than 1024 KiB"));
    remove_tmp();
}
END_TEST

START_TEST(save_is_atomic_private_and_keeps_a_link)
{
    make_tmp();
    char path[256], lock[300], dotfile[256];
    snprintf(path, sizeof path, "%s/new/fahr/config", tmp);
    snprintf(lock, sizeof lock, "%s.lock", path);
    struct user_config *config = NULL;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_OK);
    user_config_set(config, NULL, "sagemaker", "role_name", "r");
    mode_t old = umask(0);
    ck_assert_msg(user_config_save(config, &err) == FAHR_OK, "%s", err.message);
    umask(old);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0600);
    char dir[256];
    snprintf(dir, sizeof dir, "%s/new/fahr", tmp);
    ck_assert_int_eq(stat(dir, &st), 0);
    ck_assert_uint_eq(st.st_mode & 0777, 0700);
    ck_assert_str_eq(read_file(path), "[sagemaker]\nrole_name = r\n");
    ck_assert_int_ne(access(lock, F_OK), 0);
    /* Another writer's lock: refused, the file as it was. */
    write_file(lock, "", 0600);
    user_config_set(config, NULL, "sagemaker", "role_name", "s");
    ck_assert_int_eq(user_config_save(config, &err), FAHR_EFAIL);
    ck_assert_ptr_nonnull(strstr(err.message, "config.lock exists"));
    ck_assert_str_eq(read_file(path), "[sagemaker]\nrole_name = r\n");
    unlink(lock);
    /* A lock held from before the read to the commit shuts out a second
     * writer; given up unused, it leaves nothing and the file as it was. */
    struct user_config_lock held, second;
    ck_assert_int_eq(user_config_lock(path, &held, &err), FAHR_OK);
    ck_assert_int_eq(user_config_lock(path, &second, &err), FAHR_EFAIL);
    ck_assert_ptr_nonnull(strstr(err.message, "config.lock exists"));
    user_config_unlock(&held);
    ck_assert_int_ne(access(lock, F_OK), 0);
    ck_assert_str_eq(read_file(path), "[sagemaker]\nrole_name = r\n");
    ck_assert_int_eq(user_config_lock(path, &held, &err), FAHR_OK);
    ck_assert_int_eq(user_config_commit(&held, "# new\n", &err), FAHR_OK);
    user_config_unlock(&held); /* after a commit: nothing to undo */
    ck_assert_str_eq(read_file(path), "# new\n");
    ck_assert_int_ne(access(lock, F_OK), 0);
    user_config_free(config);
    /* Through a symlink: the file it points to is replaced, the link kept. */
    snprintf(dotfile, sizeof dotfile, "%s/dotfile", tmp);
    write_file(dotfile, "# mine\n", 0600);
    unlink(path);
    ck_assert_int_eq(symlink(dotfile, path), 0);
    ck_assert_int_eq(user_config_load(path, &config, &err), FAHR_OK);
    user_config_set(config, NULL, "defaults", "build-driver", "local");
    ck_assert_msg(user_config_save(config, &err) == FAHR_OK, "%s", err.message);
    ck_assert_int_eq(lstat(path, &st), 0);
    ck_assert(S_ISLNK(st.st_mode));
    ck_assert_str_eq(read_file(dotfile), "# mine\n\n[defaults]\nbuild-driver = local\n");
    user_config_free(config);
    remove_tmp();
}
END_TEST

START_TEST(the_path_follows_xdg_and_is_shown_under_home)
{
    char out[256];
    setenv("HOME", "/home/u", 1);
    unsetenv("XDG_CONFIG_HOME");
    ck_assert(user_config_path(out, sizeof out));
    ck_assert_str_eq(out, "/home/u/.config/fahr/config");
    struct user_config *config = NULL;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(user_config_parse(out, "[a]\nk\n", 6, &config, &err), FAHR_EINVAL);
    ck_assert_str_eq(err.message, "~/.config/fahr/config:2: expected KEY = VALUE or [SECTION]");
    setenv("XDG_CONFIG_HOME", "/xdg", 1);
    ck_assert(user_config_path(out, sizeof out));
    ck_assert_str_eq(out, "/xdg/fahr/config");
    unsetenv("XDG_CONFIG_HOME");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("user_config");
    TCase *tc = tcase_create("user_config");
    tcase_add_test(tc, sections_profiles_and_the_last_line_win);
    tcase_add_test(tc, an_unedited_file_is_written_back_as_it_was);
    tcase_add_test(tc, set_changes_one_line_and_keeps_the_rest);
    tcase_add_test(tc, set_keeps_a_lines_indentation);
    tcase_add_test(tc, unset_removes_the_keys_lines_only);
    tcase_add_test(tc, hostile_text_is_refused_with_one_line);
    tcase_add_test(tc, a_missing_file_is_an_empty_one_and_unsafe_ones_are_refused);
    tcase_add_test(tc, save_is_atomic_private_and_keeps_a_link);
    tcase_add_test(tc, the_path_follows_xdg_and_is_shown_under_home);
    suite_add_tcase(suite, tc);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
