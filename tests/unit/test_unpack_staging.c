/* Model archives: the staging directories that killed fetches leave, two
 * fetches into one directory at once, and write failures
 * (core/place_staging.c, place_unpack.c). */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fahr.h"
#include "unpack_fixtures.h"

/* The archive in `fd`, whole, in memory. */
static char *slurp(int fd, size_t *size)
{
    struct stat st;
    ck_assert_int_eq(fstat(fd, &st), 0);
    char *data = malloc((size_t)st.st_size);
    ck_assert_ptr_nonnull(data);
    ck_assert_int_eq(pread(fd, data, (size_t)st.st_size, 0), st.st_size);
    *size = (size_t)st.st_size;
    return data;
}

/* A fetch in a child process, unpacking what the parent writes to *feed. */
static pid_t start_fetch(int *feed)
{
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[1]);
        struct fahr_error err = {{0}};
        int rc = place_archive_fd(&host, fds[0], dest, false, &err);
        if (rc != FAHR_OK)
            fprintf(stderr, "child fetch: %s\n", err.message);
        _exit(rc == FAHR_OK ? 0 : 1);
    }
    close(fds[0]);
    *feed = fds[1];
    return pid;
}

/* The staging directory in dest with `file` in it, partly written (waits
 * for it), whether the model is staged in it or in its model/; its name
 * into `name`. */
static void wait_for_partial_file(const char *file, char *name, size_t size)
{
    for (int tries = 0; tries < 1000; tries++) {
        DIR *dir = opendir(dest);
        ck_assert_ptr_nonnull(dir);
        struct dirent *entry;
        while ((entry = readdir(dir)) != NULL) {
            char path[512], model_path[512];
            struct stat st;
            snprintf(path, sizeof path, "%s/%s/%s", dest, entry->d_name, file);
            snprintf(model_path, sizeof model_path, "%s/%s/model/%s", dest, entry->d_name, file);
            if (strncmp(entry->d_name, ".fahr-fetch-", 12) == 0 &&
                ((stat(path, &st) == 0 && st.st_size > 0) ||
                 (stat(model_path, &st) == 0 && st.st_size > 0))) {
                snprintf(name, size, "%s", entry->d_name);
                closedir(dir);
                return;
            }
        }
        closedir(dir);
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
    }
    ck_abort_msg("no staging directory with %s appeared in %s", file, dest);
}

static bool exists_in_dest(const char *name)
{
    char path[512];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", dest, name);
    return lstat(path, &st) == 0;
}

/* A model with one big file (4 MiB, highly compressible), as an archive in
 * memory. */
static char *big_model(const char *file_name, size_t *size)
{
    char *content = malloc(4 << 20);
    ck_assert_ptr_nonnull(content);
    memset(content, 'w', (4 << 20) - 1);
    content[(4 << 20) - 1] = '\0';
    struct crafted entries[] = {{file_name, AE_IFREG, content, false}};
    int fd = craft(entries, 1);
    free(content);
    char *archive = slurp(fd, size);
    close(fd);
    return archive;
}

/* A fetch in a child process, fed half of a big model whose one file is
 * `file`: it waits for the rest in the middle of writing it. */
struct half_fetch {
    pid_t pid;
    int feed;
    char *archive;
    size_t size;
    char staging[256]; /* its staging directory's name */
};

static void start_half_fetch(struct half_fetch *fetch, const char *file)
{
    fetch->archive = big_model(file, &fetch->size);
    fetch->pid = start_fetch(&fetch->feed);
    ck_assert(write_all(fetch->feed, fetch->archive, fetch->size / 2));
    wait_for_partial_file(file, fetch->staging, sizeof fetch->staging);
}

/* A whole fetch, here, of a model of one small file. */
static void fetch_small_model(const char *name)
{
    struct crafted entries[] = {{name, AE_IFREG, "{}", false}};
    int fd = craft(entries, 1);
    struct fahr_error err = {{0}};
    ck_assert_msg(place_archive_fd(&host, fd, dest, false, &err) == FAHR_OK, "%s", err.message);
    close(fd);
}

START_TEST(a_killed_fetchs_staging_is_removed_by_the_next)
{
    make_dirs();
    struct half_fetch killed;
    start_half_fetch(&killed, "weights.bin");
    kill(killed.pid, SIGKILL);
    ck_assert_int_eq(waitpid(killed.pid, NULL, 0), killed.pid);
    close(killed.feed);
    const char *left = killed.staging;
    ck_assert(exists_in_dest(left)); /* kill -KILL leaves it */
    /* Look-alikes that are not a killed fetch's: a user's directory of that
     * name, and (where we may chown) a staging directory, a copy of the one
     * left, that is another user's. */
    bool root = geteuid() == 0;
    char command[1024];
    snprintf(command, sizeof command,
             "mkdir '%s/.fahr-fetch-user01' && echo mine > '%s/.fahr-fetch-user01/notes'", dest,
             dest);
    ck_assert_int_eq(system(command), 0);
    snprintf(command, sizeof command,
             "cp -a '%s/%s' '%s/.fahr-fetch-other1' && chown -R 65534 '%s/.fahr-fetch-other1'",
             dest, left, dest, dest);
    ck_assert_int_eq(root ? system(command) : 0, 0);

    fetch_small_model("model.json");
    ck_assert_msg(!exists_in_dest(left), "%s/%s is still there", dest, left);
    ck_assert(exists_in_dest("model.json"));
    ck_assert(exists_in_dest(".fahr-fetch-user01/notes"));
    ck_assert(exists_in_dest(".fahr-fetch-other1/model/weights.bin") || !root);
    ck_assert_uint_eq(count_entries(outside), 0);
    free(killed.archive);
    remove_dirs();
}
END_TEST

START_TEST(two_fetches_into_one_directory_at_once)
{
    make_dirs();
    struct half_fetch first;
    start_half_fetch(&first, "first.bin");
    /* The second, whole, while the first waits for the rest of its bytes:
     * it must leave the first's staging directory alone. */
    fetch_small_model("second.json");
    ck_assert(exists_in_dest(first.staging));
    ck_assert(write_all(first.feed, first.archive + first.size / 2, first.size - first.size / 2));
    close(first.feed);
    int status;
    ck_assert_int_eq(waitpid(first.pid, &status, 0), first.pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    struct stat st;
    char path[256];
    snprintf(path, sizeof path, "%s/first.bin", dest);
    ck_assert_int_eq(stat(path, &st), 0);
    ck_assert_int_eq(st.st_size, (4 << 20) - 1);
    ck_assert(exists_in_dest("second.json"));
    ck_assert_uint_eq(count_entries(dest), 2);
    free(first.archive);
    remove_dirs();
}
END_TEST

/* ---- Write failures ---------------------------------------------------------- */

/* A file-size limit (RLIMIT_FSIZE, SIGXFSZ ignored) fails writes with
 * EFBIG, as a full disk fails them with ENOSPC: the message names the
 * write, and nothing is left. */
START_TEST(a_write_failure_says_so)
{
    make_dirs();
    size_t size;
    char *archive = big_model("weights.bin", &size);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        close(fds[0]);
        int in = memfd_create("archive", 0);
        if (in < 0 || write(in, archive, size) != (ssize_t)size || lseek(in, 0, SEEK_SET) != 0)
            _exit(2);
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit limit = {1 << 20, 1 << 20};
        setrlimit(RLIMIT_FSIZE, &limit);
        struct fahr_error err = {{0}};
        int rc = place_archive_fd(&host, in, dest, false, &err);
        ssize_t n = write(fds[1], err.message, strlen(err.message));
        _exit(rc != FAHR_OK && n >= 0 ? 0 : 1);
    }
    close(fds[1]);
    char message[FAHR_ERROR_MAX] = "";
    ssize_t n = read(fds[0], message, sizeof message - 1);
    message[n > 0 ? n : 0] = '\0';
    close(fds[0]);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %d: %s", status, message);
    char expected[256];
    snprintf(expected, sizeof expected, "cannot write to %s: %s", dest, strerror(EFBIG));
    ck_assert_str_eq(message, expected);
    ck_assert_uint_eq(count_entries(dest), 0);
    free(archive);
    remove_dirs();
}
END_TEST

TCase *staging_tcase(void)
{
    TCase *staging = tcase_create("staging");
    tcase_add_test(staging, a_killed_fetchs_staging_is_removed_by_the_next);
    tcase_add_test(staging, two_fetches_into_one_directory_at_once);
    tcase_add_test(staging, a_write_failure_says_so);
    return staging;
}
