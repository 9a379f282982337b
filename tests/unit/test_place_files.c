/* Loose files placed through the host table (host->place_file/place_write,
 * core/place.c): the same names refused as an archive's entries, the same
 * all-or-nothing commit, and an abort that leaves the destination as it
 * was. Archives through place_archive are in test_unpack.c. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"
#include "unpack_fixtures.h"

static const struct fahr_host *h;

static struct fahr_place *open_place(int overwrite)
{
    h = host_services();
    struct fahr_place *place = NULL;
    struct fahr_error err = {{0}};
    ck_assert_msg(h->place_open(dest, overwrite, &place, &err) == FAHR_OK, "%s", err.message);
    return place;
}

static void add_file(struct fahr_place *place, const char *path, uint32_t mode, const char *text)
{
    struct fahr_error err = {{0}};
    ck_assert_msg(h->place_file(place, path, mode, &err) == FAHR_OK, "%s", err.message);
    ck_assert_msg(h->place_write(place, text, strlen(text), &err) == FAHR_OK, "%s", err.message);
}

static void write_dest_file(const char *name, const char *text)
{
    char path[256];
    snprintf(path, sizeof path, "%s/%s", dest, name);
    FILE *f = fopen(path, "w");
    ck_assert_ptr_nonnull(f);
    fputs(text, f);
    fclose(f);
}

static void assert_dest_file(const char *name, const char *text, mode_t mode)
{
    char path[256], got[256] = "";
    snprintf(path, sizeof path, "%s/%s", dest, name);
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s is missing", path);
    size_t n = fread(got, 1, sizeof got - 1, f);
    got[n] = '\0';
    fclose(f);
    ck_assert_str_eq(got, text);
    struct stat st;
    ck_assert_int_eq(stat(path, &st), 0);
    if (mode != 0)
        ck_assert_uint_eq(st.st_mode & 07777, mode);
}

/* place_file refuses `path` with `reason`; after the abort nothing of the
 * placement is anywhere. */
static void assert_file_refused(const char *earlier, const char *path, const char *reason)
{
    make_dirs();
    struct fahr_place *place = open_place(1);
    if (earlier != NULL)
        add_file(place, earlier, 0, "first");
    struct fahr_error err = {{0}};
    ck_assert_int_ne(h->place_file(place, path, 0, &err), FAHR_OK);
    ck_assert_msg(strstr(err.message, reason) != NULL, "'%s' lacks '%s'", err.message, reason);
    /* A failed placement stays failed: nothing more goes in. */
    struct fahr_error again = {{0}};
    ck_assert_int_ne(h->place_file(place, "fine.txt", 0, &again), FAHR_OK);
    ck_assert_str_eq(again.message, err.message);
    h->place_abort(place);
    ck_assert_uint_eq(count_entries(dest), 0);
    ck_assert_uint_eq(count_entries(outside), 0);
    remove_dirs();
}

START_TEST(places_loose_files_in_directories_with_their_modes)
{
    make_dirs();
    struct fahr_place *place = open_place(0);
    add_file(place, "model/weights.bin", 0755, "weights");
    add_file(place, "./model/sub/config.json", 0, "{}");
    add_file(place, "readme.txt", 04777, "hi");
    struct fahr_error err = {{0}};
    ck_assert_msg(h->place_commit(place, &err) == FAHR_OK, "%s", err.message);
    assert_dest_file("model/weights.bin", "weights", 0755);
    assert_dest_file("model/sub/config.json", "{}", 0644);
    assert_dest_file("readme.txt", "hi", 0755); /* no setuid, no one else's write */
    ck_assert_uint_eq(count_entries(dest), 5); /* and no staging directory left */
    remove_dirs();
}
END_TEST

START_TEST(refuses_names_that_leave_or_hide)
{
    assert_file_refused(NULL, "../x", "leaves the destination");
    assert_file_refused(NULL, "a/../../x", "leaves the destination");
    assert_file_refused(NULL, "/etc/passwd", "leaves the destination");
    assert_file_refused(NULL, "a\nb", "control characters");
    assert_file_refused(NULL, "a\033[2Jb", "control characters");
    assert_file_refused(NULL, "", "leaves the destination");
    assert_file_refused(NULL, "./", "names the destination itself");
    assert_file_refused(NULL, ".fahr-fetch-abcdef/x", "fahr keeps for its staging");
}
END_TEST

START_TEST(refuses_a_file_and_a_directory_at_one_path)
{
    assert_file_refused("a", "a/b", "goes through a file");
    assert_file_refused("a/b", "a", "an earlier entry has that path");
    assert_file_refused("a", "a", "an earlier entry has that path");
}
END_TEST

START_TEST(never_writes_through_a_link_in_dest)
{
    make_dirs();
    char link[256];
    snprintf(link, sizeof link, "%s/out", dest);
    ck_assert_int_eq(symlink(outside, link), 0);
    struct fahr_place *place = open_place(1);
    add_file(place, "out/x", 0, "escaped?");
    struct fahr_error err = {{0}};
    ck_assert_int_ne(h->place_commit(place, &err), FAHR_OK);
    ck_assert_msg(strstr(err.message, "not a directory") != NULL, "%s", err.message);
    ck_assert_uint_eq(count_entries(outside), 0);
    ck_assert_uint_eq(count_entries(dest), 1); /* the link, as it was */
    remove_dirs();
}
END_TEST

START_TEST(replaces_existing_files_only_with_overwrite)
{
    make_dirs();
    write_dest_file("model.bin", "mine");
    struct fahr_place *place = open_place(0);
    add_file(place, "model.bin", 0, "new");
    struct fahr_error err = {{0}};
    ck_assert_int_ne(h->place_commit(place, &err), FAHR_OK);
    ck_assert_msg(strstr(err.message, "exists; --overwrite replaces it") != NULL, "%s",
                  err.message);
    assert_dest_file("model.bin", "mine", 0);
    place = open_place(1);
    add_file(place, "model.bin", 0, "new");
    ck_assert_msg(h->place_commit(place, &err) == FAHR_OK, "%s", err.message);
    assert_dest_file("model.bin", "new", 0);
    ck_assert_uint_eq(count_entries(dest), 1);
    remove_dirs();
}
END_TEST

START_TEST(a_commit_is_all_or_nothing)
{
    make_dirs();
    write_dest_file("b.txt", "mine");
    struct fahr_place *place = open_place(0);
    add_file(place, "a.txt", 0, "new a");
    add_file(place, "b.txt", 0, "new b");
    add_file(place, "c/d.txt", 0, "new d");
    struct fahr_error err = {{0}};
    ck_assert_int_ne(h->place_commit(place, &err), FAHR_OK);
    assert_dest_file("b.txt", "mine", 0);
    ck_assert_uint_eq(count_entries(dest), 1); /* neither a.txt nor c/ moved in */
    remove_dirs();
}
END_TEST

START_TEST(an_abort_leaves_dest_as_it_was)
{
    make_dirs();
    write_dest_file("mine.txt", "mine");
    struct fahr_place *place = open_place(1);
    add_file(place, "mine.txt", 0, "theirs");
    add_file(place, "new/deep/file", 0, "x");
    h->place_abort(place);
    h->place_abort(NULL);
    assert_dest_file("mine.txt", "mine", 0);
    ck_assert_uint_eq(count_entries(dest), 1);
    remove_dirs();
}
END_TEST

START_TEST(takes_an_archive_or_files_not_both)
{
    make_dirs();
    struct fahr_place *place = open_place(1);
    add_file(place, "a.txt", 0, "a");
    struct fahr_error err = {{0}};
    ck_assert_int_ne(h->place_archive(place, "x", 1, &err), FAHR_OK);
    ck_assert_msg(strstr(err.message, "not both") != NULL, "%s", err.message);
    ck_assert_int_ne(h->place_commit(place, &err), FAHR_OK); /* the failure stays */
    ck_assert_uint_eq(count_entries(dest), 0);
    place = open_place(1);
    ck_assert_int_ne(h->place_write(place, "x", 1, &err), FAHR_OK); /* no file yet */
    h->place_abort(place);
    ck_assert_uint_eq(count_entries(dest), 0);
    remove_dirs();
}
END_TEST

TCase *place_files_tcase(void)
{
    TCase *files = tcase_create("loose files");
    tcase_add_test(files, places_loose_files_in_directories_with_their_modes);
    tcase_add_test(files, refuses_names_that_leave_or_hide);
    tcase_add_test(files, refuses_a_file_and_a_directory_at_one_path);
    tcase_add_test(files, never_writes_through_a_link_in_dest);
    tcase_add_test(files, replaces_existing_files_only_with_overwrite);
    tcase_add_test(files, a_commit_is_all_or_nothing);
    tcase_add_test(files, an_abort_leaves_dest_as_it_was);
    tcase_add_test(files, takes_an_archive_or_files_not_both);
    return files;
}
