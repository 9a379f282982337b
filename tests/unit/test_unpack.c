/* Model archives as untrusted input (core/place_unpack.c, reached through
 * place.c as host->place_archive is):
 * crafted hostile archives, links that lead out once resolved, names and
 * conflicts between entries, modes; staging directories and write
 * failures are in test_unpack_staging.c. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"
#include "unpack_fixtures.h"

char dest[64];
char outside[64];

void make_dirs(void)
{
    snprintf(dest, sizeof dest, "/tmp/fahr-test-dest.XXXXXX");
    snprintf(outside, sizeof outside, "/tmp/fahr-test-outside.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dest));
    ck_assert_ptr_nonnull(mkdtemp(outside));
}

void remove_dirs(void)
{
    char command[256];
    snprintf(command, sizeof command, "rm -rf '%s' '%s'", dest, outside);
    ck_assert_int_eq(system(command), 0);
}

/* Write a .tar.gz of `entries` to a temporary file, with `modes` (NULL:
 * 0644 each); returns an open fd at its start. */
int craft_with_modes(const struct crafted *entries, const int *modes, size_t count)
{
    char path[] = "/tmp/fahr-test-archive.XXXXXX";
    int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    unlink(path);
    struct archive *archive = archive_write_new();
    archive_write_add_filter_gzip(archive);
    archive_write_set_format_pax_restricted(archive);
    ck_assert_int_eq(archive_write_open_fd(archive, fd), ARCHIVE_OK);
    for (size_t i = 0; i < count; i++) {
        struct archive_entry *entry = archive_entry_new();
        archive_entry_set_pathname(entry, entries[i].path);
        archive_entry_set_filetype(entry, (unsigned)entries[i].type);
        archive_entry_set_perm(entry, modes ? (unsigned)modes[i] : 0644);
        size_t size = 0;
        if (entries[i].hardlink) {
            archive_entry_set_hardlink(entry, entries[i].content_or_target);
        } else if (entries[i].type == AE_IFREG) {
            size = strlen(entries[i].content_or_target);
            archive_entry_set_size(entry, (la_int64_t)size);
        } else if (entries[i].type == AE_IFLNK) {
            archive_entry_set_symlink(entry, entries[i].content_or_target);
        }
        ck_assert_int_eq(archive_write_header(archive, entry), ARCHIVE_OK);
        if (size > 0)
            archive_write_data(archive, entries[i].content_or_target, size);
        archive_entry_free(entry);
    }
    archive_write_close(archive);
    archive_write_free(archive);
    lseek(fd, 0, SEEK_SET);
    return fd;
}

int craft(const struct crafted *entries, size_t count)
{
    return craft_with_modes(entries, NULL, count);
}

static int dummy_interrupted(void)
{
    return 0;
}
static void dummy_log(enum fahr_log_level level, const char *fmt, ...)
{
    (void)level, (void)fmt;
}
const struct fahr_host host = {.size = sizeof host, .log = dummy_log,
                                      .interrupted = dummy_interrupted};

size_t count_entries(const char *dir)
{
    char command[256];
    snprintf(command, sizeof command, "find '%s' -mindepth 1 | wc -l", dir);
    FILE *pipe = popen(command, "r");
    size_t n = 0;
    ck_assert_int_eq(fscanf(pipe, "%zu", &n), 1);
    pclose(pipe);
    return n;
}

void assert_refused(const struct crafted *entries, size_t count, const char *reason)
{
    make_dirs();
    int fd = craft(entries, count);
    struct fahr_error err = {{0}};
    ck_assert_int_ne(place_archive_fd(&host, fd, dest, true, &err), FAHR_OK);
    close(fd);
    ck_assert_msg(strstr(err.message, reason) != NULL, "'%s' lacks '%s'", err.message, reason);
    ck_assert_uint_eq(count_entries(dest), 0);    /* nothing of the archive */
    ck_assert_uint_eq(count_entries(outside), 0); /* and nothing outside */
    remove_dirs();
}

START_TEST(unpacks_a_good_archive)
{
    make_dirs();
    struct crafted entries[] = {
        {"model.json", AE_IFREG, "{}", false},
        {"./weights", AE_IFDIR, NULL, false},
        {"weights/layer1.bin", AE_IFREG, "0123", false},
        {"latest", AE_IFLNK, "weights/layer1.bin", false},
        {"weights/copy.bin", AE_IFREG, "weights/layer1.bin", true},
    };
    int fd = craft(entries, 5);
    struct fahr_error err = {{0}};
    ck_assert_int_eq(place_archive_fd(&host, fd, dest, false, &err), FAHR_OK);
    close(fd);
    char path[256], buffer[16] = "";
    snprintf(path, sizeof path, "%s/latest", dest);
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    ck_assert_ptr_nonnull(fgets(buffer, sizeof buffer, file));
    fclose(file);
    ck_assert_str_eq(buffer, "0123");
    ck_assert_uint_eq(count_entries(dest), 5); /* no staging directory left */
    remove_dirs();
}
END_TEST

START_TEST(refuses_dot_dot)
{
    struct crafted entries[] = {{"ok.txt", AE_IFREG, "x", false},
                                {"../escape.txt", AE_IFREG, "x", false}};
    assert_refused(entries, 2, "its path leaves the destination");
}
END_TEST

START_TEST(refuses_absolute_paths)
{
    char path[128];
    make_dirs();
    snprintf(path, sizeof path, "%s/abs.txt", outside);
    remove_dirs();
    struct crafted entries[] = {{path, AE_IFREG, "x", false}};
    assert_refused(entries, 1, "its path leaves the destination");
}
END_TEST

START_TEST(refuses_symlinks_leading_outside)
{
    struct crafted entries[] = {{"link", AE_IFLNK, "../../etc", false},
                                {"link/passwd", AE_IFREG, "x", false}};
    assert_refused(entries, 2, "symbolic link leading outside");
    struct crafted absolute[] = {{"link", AE_IFLNK, "/etc/passwd", false}};
    assert_refused(absolute, 1, "symbolic link leading outside");
}
END_TEST

START_TEST(refuses_writing_through_a_symlink)
{
    /* The link stays inside, but a file written through it must not land
     * anywhere but where its own path says. */
    struct crafted entries[] = {{"dir", AE_IFDIR, NULL, false},
                                {"alias", AE_IFLNK, "dir", false},
                                {"alias/file", AE_IFREG, "x", false}};
    assert_refused(entries, 3, "cannot unpack alias/file");
}
END_TEST

START_TEST(refuses_hard_links_outside)
{
    struct crafted entries[] = {{"hard", AE_IFREG, "../../etc/passwd", true}};
    assert_refused(entries, 1, "hard link");
}
END_TEST

START_TEST(refuses_devices_and_fifos)
{
    struct crafted fifo[] = {{"pipe", AE_IFIFO, NULL, false}};
    assert_refused(fifo, 1, "device, FIFO or socket");
    struct crafted device[] = {{"null", AE_IFCHR, NULL, false}};
    assert_refused(device, 1, "device, FIFO or socket");
}
END_TEST

START_TEST(refuses_control_characters)
{
    struct crafted entries[] = {{"bad\nname", AE_IFREG, "x", false}};
    assert_refused(entries, 1, "control characters");
}
END_TEST

START_TEST(refuses_truncated_and_corrupt_archives)
{
    make_dirs();
    struct crafted entries[] = {{"model.bin", AE_IFREG, "0123456789abcdef0123456789", false}};
    int fd = craft(entries, 1);
    struct stat st;
    fstat(fd, &st);
    ck_assert_int_eq(ftruncate(fd, st.st_size / 2), 0);
    lseek(fd, 0, SEEK_SET);
    struct fahr_error err = {{0}};
    ck_assert_int_ne(place_archive_fd(&host, fd, dest, false, &err), FAHR_OK);
    close(fd);
    ck_assert_uint_eq(count_entries(dest), 0);

    char garbage[] = "/tmp/fahr-test-garbage.XXXXXX";
    fd = mkstemp(garbage);
    unlink(garbage);
    ck_assert_int_eq(write(fd, "this is not a tar at all, not even close.............", 54), 54);
    lseek(fd, 0, SEEK_SET);
    ck_assert_int_ne(place_archive_fd(&host, fd, dest, false, &err), FAHR_OK);
    close(fd);
    ck_assert_uint_eq(count_entries(dest), 0);
    remove_dirs();
}
END_TEST

START_TEST(unpacks_multi_member_gzip)
{
    /* A tar split across two gzip members, with zero padding after: what
     * `cat a.gz b.gz` and some writers produce. */
    make_dirs();
    char command[1024];
    snprintf(command, sizeof command,
             "set -e; cd '%s'; mkdir src; head -c 300000 /dev/urandom > src/big.bin; "
             "echo hi > src/small.txt; tar -C src -cf m.tar big.bin small.txt; "
             "head -c 150000 m.tar | gzip -1 > m.tar.gz; tail -c +150001 m.tar | gzip -9 >> m.tar.gz; "
             "head -c 512 /dev/zero >> m.tar.gz",
             outside);
    ck_assert_int_eq(system(command), 0);
    char path[256];
    snprintf(path, sizeof path, "%s/m.tar.gz", outside);
    int fd = open(path, O_RDONLY);
    ck_assert_int_ge(fd, 0);
    struct fahr_error err = {{0}};
    ck_assert_msg(place_archive_fd(&host, fd, dest, false, &err) == FAHR_OK, "%s", err.message);
    close(fd);
    snprintf(command, sizeof command, "cmp '%s/src/big.bin' '%s/big.bin' && cmp '%s/src/small.txt' '%s/small.txt'",
             outside, dest, outside, dest);
    ck_assert_int_eq(system(command), 0);
    ck_assert_uint_eq(count_entries(dest), 2);
    remove_dirs();
}
END_TEST

/* ---- Links that lead out once resolved ------------------------------------ */

/* Each link's target stays inside as text; once a path crosses a link, ".."
 * no longer means what the text says. */
START_TEST(refuses_a_chain_of_links_leading_out)
{
    struct crafted entries[] = {{"a/", AE_IFDIR, NULL, false},
                                {"a/b/", AE_IFDIR, NULL, false},
                                {"a/b/c", AE_IFLNK, "../..", false},
                                {"e", AE_IFLNK, "a/b/c/../../..", false}};
    assert_refused(entries, 4, "entry 'e': it is a symbolic link leading outside");
}
END_TEST

/* Seven directories and a link at the bottom back to the top: from there,
 * eight ".." climb to / from any staging directory up to eight deep. */
#define EIGHT_LEVELS                                                                         \
    {"a/", AE_IFDIR, NULL, false}, {"a/b/", AE_IFDIR, NULL, false},                          \
        {"a/b/c/", AE_IFDIR, NULL, false}, {"a/b/c/d/", AE_IFDIR, NULL, false},              \
        {"a/b/c/d/e/", AE_IFDIR, NULL, false}, {"a/b/c/d/e/f/", AE_IFDIR, NULL, false},      \
        {"a/b/c/d/e/f/g/", AE_IFDIR, NULL, false},                                           \
        {"a/b/c/d/e/f/g/h", AE_IFLNK, "../../../../../../..", false}
#define CLIMB "a/b/c/d/e/f/g/h/../../../../../../../.."

START_TEST(refuses_a_link_to_etc_passwd_through_eight_levels)
{
    struct crafted entries[] = {EIGHT_LEVELS, {"passwd", AE_IFLNK, CLIMB "/etc/passwd", false}};
    assert_refused(entries, 9, "entry 'passwd': it is a symbolic link leading outside");
}
END_TEST

START_TEST(refuses_hard_links_through_links)
{
    /* Through a link that stays inside: still not a path the kernel
     * resolves without following a link. */
    struct crafted inside[] = {{"d/", AE_IFDIR, NULL, false},
                               {"d/f", AE_IFREG, "x", false},
                               {"s", AE_IFLNK, "d", false},
                               {"h", AE_IFREG, "s/f", true}};
    assert_refused(inside, 4, "entry 'h': it is a hard link through a symbolic link");
    /* Through the chain to a file outside: no second name for it. */
    make_dirs();
    char secret[128], target[256];
    snprintf(secret, sizeof secret, "%s/secret", outside);
    FILE *file = fopen(secret, "w");
    ck_assert_ptr_nonnull(file);
    fclose(file);
    snprintf(target, sizeof target, "up%s", secret);
    struct crafted chain[] = {EIGHT_LEVELS, {"up", AE_IFLNK, CLIMB, false},
                              {"stolen", AE_IFREG, target, true}};
    int fd = craft(chain, 10);
    struct fahr_error err = {{0}};
    ck_assert_int_ne(place_archive_fd(&host, fd, dest, false, &err), FAHR_OK);
    close(fd);
    ck_assert_msg(strstr(err.message, "entry 'stolen': it is a hard link through") != NULL, "%s",
                  err.message);
    struct stat st;
    ck_assert_int_eq(stat(secret, &st), 0);
    ck_assert_uint_eq(st.st_nlink, 1);
    ck_assert_uint_eq(count_entries(dest), 0);
    remove_dirs();
}
END_TEST

/* A dangling link is refused: what it names is not the archive's, and in
 * LOCAL_DIR it could be anything, such as a link of the user's that leads
 * out (the fuzz target found that one). */
START_TEST(refuses_dangling_links)
{
    struct crafted plain[] = {{"checkpoints/", AE_IFDIR, NULL, false},
                              {"latest", AE_IFLNK, "checkpoints/step-900", false}};
    assert_refused(plain, 2, "entry 'latest': it is a symbolic link to something not in the archive");
    struct crafted through_a_file[] = {{"f", AE_IFREG, "x", false},
                                       {"x", AE_IFLNK, "f/g", false}};
    assert_refused(through_a_file, 2, "entry 'x': it is a symbolic link to something not in");
    struct crafted dot_dot[] = {{"sub/", AE_IFDIR, NULL, false},
                                {"x", AE_IFLNK, "sub/../../escape", false}};
    assert_refused(dot_dot, 2, "symbolic link leading outside");
    /* The user's link in LOCAL_DIR to a directory outside: a link of the
     * archive's to it would lead there. */
    make_dirs();
    char user_link[128];
    snprintf(user_link, sizeof user_link, "%s/data", dest);
    ck_assert_int_eq(symlink(outside, user_link), 0);
    struct crafted to_users[] = {{"x", AE_IFLNK, "data", false}};
    int fd = craft(to_users, 1);
    struct fahr_error err = {{0}};
    ck_assert_int_ne(place_archive_fd(&host, fd, dest, false, &err), FAHR_OK);
    close(fd);
    ck_assert_msg(strstr(err.message, "entry 'x': it is a symbolic link to something not in") !=
                      NULL,
                  "%s", err.message);
    ck_assert_uint_eq(count_entries(dest), 1); /* the user's link alone */
    remove_dirs();
}
END_TEST

/* ---- Names and conflicts ---------------------------------------------------- */

START_TEST(refuses_names_past_the_path_limit)
{
    /* 5,025 characters: 25 names of 200 and their slashes. */
    char name[5100] = "";
    for (int i = 0; i < 25; i++)
        snprintf(name + strlen(name), sizeof name - strlen(name), "%s%0200d", i ? "/" : "", i);
    ck_assert_uint_eq(strlen(name), 5024);
    strcat(name, "x");
    struct crafted entries[] = {{name, AE_IFREG, "cut short?", false}};
    assert_refused(entries, 1, "longer than the system's limit");
    /* Deeper than any model: 300 directories. */
    char deep[700] = "";
    for (int i = 0; i < 300; i++)
        strcat(deep, "d/");
    strcat(deep, "f");
    struct crafted nested[] = {{deep, AE_IFREG, "x", false}};
    assert_refused(nested, 1, "nest too deep");
}
END_TEST

START_TEST(refuses_an_entry_whose_path_an_earlier_one_holds)
{
    const char *why = "an earlier entry has that path";
    struct crafted dir_then_link[] = {{"d/", AE_IFDIR, NULL, false},
                                      {"d", AE_IFLNK, "elsewhere", false}};
    assert_refused(dir_then_link, 2, why);
    struct crafted link_then_dir[] = {{"d", AE_IFLNK, "e", false},
                                      {"e/", AE_IFDIR, NULL, false},
                                      {"d/", AE_IFDIR, NULL, false}};
    assert_refused(link_then_dir, 3, why);
    struct crafted file_then_dir[] = {{"d", AE_IFREG, "x", false}, {"d/", AE_IFDIR, NULL, false}};
    assert_refused(file_then_dir, 2, why);
    struct crafted dir_then_file[] = {{"d/", AE_IFDIR, NULL, false}, {"d", AE_IFREG, "x", false}};
    assert_refused(dir_then_file, 2, why);
    struct crafted file_twice[] = {{"f", AE_IFREG, "x", false}, {"f", AE_IFREG, "y", false}};
    assert_refused(file_twice, 2, why);
    struct crafted file_then_link[] = {{"f", AE_IFREG, "x", false},
                                       {"f", AE_IFLNK, "g", false}};
    assert_refused(file_then_link, 2, why);
    struct crafted file_then_hardlink[] = {{"f", AE_IFREG, "x", false},
                                           {"g", AE_IFREG, "y", false},
                                           {"g", AE_IFREG, "f", true}};
    assert_refused(file_then_hardlink, 3, why);
    /* A directory made for an earlier entry's path, then that name as a file. */
    struct crafted implied_dir_then_file[] = {{"d/f", AE_IFREG, "x", false},
                                              {"d", AE_IFREG, "y", false}};
    assert_refused(implied_dir_then_file, 2, why);
    struct crafted through_a_file[] = {{"f", AE_IFREG, "x", false},
                                       {"f/g", AE_IFREG, "y", false}};
    assert_refused(through_a_file, 2, "cannot unpack f/g: its path goes through a file");
    struct crafted reserved[] = {{".fahr-fetch-abc123/x", AE_IFREG, "x", false}};
    assert_refused(reserved, 1, "fahr keeps for its staging directories");
}
END_TEST

START_TEST(keeps_modes_and_merges_a_directory_listed_twice)
{
    make_dirs();
    struct crafted entries[] = {{"d/", AE_IFDIR, NULL, false},
                                {"d/run.sh", AE_IFREG, "#!/bin/sh", false},
                                {"d/", AE_IFDIR, NULL, false},
                                {"d/data", AE_IFREG, "x", false},
                                {"open/", AE_IFDIR, NULL, false}};
    int modes[] = {0750, 04777, 0750, 0600, 0777};
    int fd = craft_with_modes(entries, modes, 5);
    struct fahr_error err = {{0}};
    mode_t old_mask = umask(077); /* the archive's modes, not the umask's */
    int rc = place_archive_fd(&host, fd, dest, false, &err);
    umask(old_mask);
    ck_assert_msg(rc == FAHR_OK, "%s", err.message);
    close(fd);
    const struct {
        const char *path;
        mode_t mode;
    } expected[] = {{"d", 0750}, {"d/run.sh", 0755}, {"d/data", 0600}, {"open", 0755}};
    for (size_t i = 0; i < 4; i++) {
        char path[256];
        struct stat st;
        snprintf(path, sizeof path, "%s/%s", dest, expected[i].path);
        ck_assert_int_eq(lstat(path, &st), 0);
        ck_assert_msg((st.st_mode & 07777) == expected[i].mode, "%s: %o", expected[i].path,
                      (unsigned)(st.st_mode & 07777));
    }
    remove_dirs();
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("unpack");
    TCase *archives = tcase_create("archives");
    tcase_add_test(archives, unpacks_a_good_archive);
    tcase_add_test(archives, refuses_dot_dot);
    tcase_add_test(archives, refuses_absolute_paths);
    tcase_add_test(archives, refuses_symlinks_leading_outside);
    tcase_add_test(archives, refuses_writing_through_a_symlink);
    tcase_add_test(archives, refuses_hard_links_outside);
    tcase_add_test(archives, refuses_devices_and_fifos);
    tcase_add_test(archives, refuses_control_characters);
    tcase_add_test(archives, refuses_truncated_and_corrupt_archives);
    tcase_add_test(archives, unpacks_multi_member_gzip);
    suite_add_tcase(suite, archives);
    TCase *links = tcase_create("links");
    tcase_add_test(links, refuses_a_chain_of_links_leading_out);
    tcase_add_test(links, refuses_a_link_to_etc_passwd_through_eight_levels);
    tcase_add_test(links, refuses_hard_links_through_links);
    tcase_add_test(links, refuses_dangling_links);
    suite_add_tcase(suite, links);
    TCase *names = tcase_create("names");
    tcase_add_test(names, refuses_names_past_the_path_limit);
    tcase_add_test(names, refuses_an_entry_whose_path_an_earlier_one_holds);
    tcase_add_test(names, keeps_modes_and_merges_a_directory_listed_twice);
    suite_add_tcase(suite, names);
    suite_add_tcase(suite, staging_tcase());
    suite_add_tcase(suite, place_files_tcase());
    /* As fahr's main(): a pipe whose reader stopped fails a write. */
    signal(SIGPIPE, SIG_IGN);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
