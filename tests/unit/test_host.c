/* Host services of ABI 1.1 that live in core: each driver's own table with
 * its name on every log line, job names, and progress over several files. */
#define _GNU_SOURCE
#include <check.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fahr.h"
#include "job_name.h"

static int saved_stderr = -1;

/* Point stderr at `fd` (host_init() then sees whether it is a terminal). */
static void stderr_to(int fd)
{
    fflush(stderr);
    if (saved_stderr < 0)
        saved_stderr = dup(STDERR_FILENO);
    ck_assert_int_ge(dup2(fd, STDERR_FILENO), 0);
    host_init(VERBOSITY_NORMAL);
}

static void stderr_back(void)
{
    fflush(stderr);
    dup2(saved_stderr, STDERR_FILENO);
}

/* What was written to the file `fd` since the start. */
static const char *file_text(int fd)
{
    static char text[4096];
    fflush(stderr);
    ssize_t n = pread(fd, text, sizeof text - 1, 0);
    text[n > 0 ? n : 0] = '\0';
    return text;
}

static void *log_from_a_thread(void *table)
{
    const struct fahr_host *host = table;
    host->log(FAHR_LOG_INFO, "from a thread of %s", host->driver);
    return NULL;
}

START_TEST(each_driver_logs_under_its_own_name)
{
    FILE *file = tmpfile();
    stderr_to(fileno(file));
    struct fahr_host alpha, beta, alpha_again;
    host_table_for_driver(&alpha, "alpha");
    host_table_for_driver(&beta, "beta");
    host_table_for_driver(&alpha_again, "alpha"); /* a build and a train driver's name */
    ck_assert_str_eq(alpha.driver, "alpha");
    ck_assert_str_eq(beta.driver, "beta");
    ck_assert_ptr_null(host_services()->driver);
    alpha.log(FAHR_LOG_WARN, "one %d", 1);
    beta.log(FAHR_LOG_INFO, "two");
    alpha_again.log(FAHR_LOG_ERROR, "three");
    beta.log(FAHR_LOG_DEBUG, "not shown without --verbose");
    pthread_t thread;
    ck_assert_int_eq(pthread_create(&thread, NULL, log_from_a_thread, &beta), 0);
    pthread_join(thread, NULL);
    host_services()->log(FAHR_LOG_WARN, "the host's own");
    const char *text = file_text(fileno(file));
    stderr_back();
    ck_assert_str_eq(text, "fahr: alpha: warning: one 1\n"
                           "fahr: beta: two\n"
                           "fahr: alpha: three\n"
                           "fahr: beta: from a thread of beta\n"
                           "fahr: warning: the host's own\n");
    fclose(file);
}
END_TEST

START_TEST(job_names_fit_the_length_asked_for)
{
    char name[128];
    struct fahr_error err = {{0}};
    const struct fahr_host *host = host_services();
    ck_assert_int_eq(host->job_name("foo/model", 63, name, sizeof name, &err), FAHR_OK);
    ck_assert_msg(job_name_is_derived_from(name, "foo/model"), "%s", name);
    ck_assert_uint_eq(strlen(name), strlen("foo-model-") + 20);
    /* The image name's part is cut, never the time or the random part, and
     * a cut never leaves a '-' at its end. */
    const char *long_image = "abcdef/ghijklmnop/qrstuvwxyz/0123456789";
    for (size_t max = 22; max <= 63; max++) {
        ck_assert_int_eq(host->job_name(long_image, max, name, sizeof name, &err), FAHR_OK);
        ck_assert_msg(strlen(name) <= max, "%zu: %s", max, name);
        ck_assert_msg(job_name_is_valid(name), "%zu: %s", max, name);
        const char *suffix = name + strlen(name) - 20;
        ck_assert_msg(suffix[-1] == '-' && suffix[8] == '-' && suffix[15] == '-', "%s", name);
        ck_assert_msg(strncmp(name, "abcdef", strlen(name) - 21 < 6 ? strlen(name) - 21 : 6) == 0,
                      "%s", name);
    }
    ck_assert_int_eq(host->job_name("foo/model", 21, name, sizeof name, &err), FAHR_EINVAL);
    ck_assert_ptr_nonnull(strstr(err.message, "22 at least"));
    ck_assert_int_eq(host->job_name("foo/model", 63, name, 20, &err), FAHR_EINVAL);
}
END_TEST

/* A pseudo-terminal `columns` wide as stderr; returns its master side. */
static int terminal_as_stderr(unsigned short columns)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    ck_assert_int_ge(master, 0);
    ck_assert_int_eq(grantpt(master), 0);
    ck_assert_int_eq(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    ck_assert_int_ge(slave, 0);
    struct winsize size = {.ws_row = 20, .ws_col = columns};
    ck_assert_int_eq(ioctl(slave, TIOCSWINSZ, &size), 0);
    setenv("TERM", "xterm", 1);
    stderr_to(slave);
    close(slave);
    fcntl(master, F_SETFL, O_NONBLOCK);
    return master;
}

static const char *terminal_text(int master)
{
    static char text[8192];
    fflush(stderr);
    size_t used = 0;
    ssize_t n;
    while (used < sizeof text - 1 && (n = read(master, text + used, sizeof text - 1 - used)) > 0)
        used += (size_t)n;
    text[used] = '\0';
    return text;
}

START_TEST(progress_over_files_is_one_line_cut_to_the_terminal)
{
    int master = terminal_as_stderr(200);
    const struct fahr_host *host = host_services();
    host->progress_files("copying", 0, 100u << 20, 0, 4);
    struct timespec pause = {0, 600 * 1000000L};
    nanosleep(&pause, NULL); /* long enough for a rate */
    host->progress_files("copying", 50u << 20, 100u << 20, 2, 4);
    const char *text = terminal_text(master);
    ck_assert_msg(strstr(text, "\033[Kcopying: 0/4 files, 0 B of 100.0 MiB") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "\033[Kcopying: 2/4 files, 50.0 MiB of 100.0 MiB, ") != NULL, "%s",
                  text);
    ck_assert_msg(strstr(text, "MiB/s, 0:0") != NULL && strstr(text, " left") != NULL, "%s",
                  text);
    host->progress_files("copying", 100u << 20, 100u << 20, 4, 4); /* the end: a newline */
    text = terminal_text(master);
    ck_assert_msg(strstr(text, "copying: 4/4 files, 100.0 MiB of 100.0 MiB") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "left") == NULL, "%s", text);
    ck_assert_msg(text[strlen(text) - 1] == '\n', "%s", text);
    stderr_back();
    close(master);

    master = terminal_as_stderr(40); /* 39 columns, so the line never wraps */
    host->progress_files("uploading", 1u << 30, 4ull << 30, 3, 10);
    text = terminal_text(master);
    stderr_back();
    close(master);
    ck_assert_msg(strstr(text, "\033[Kuploading: 3/10 files, 1.0 GiB of 4.0 G") != NULL, "%s",
                  text);
    ck_assert_msg(strstr(text, "4.0 GiB") == NULL, "not cut: %s", text);
}
END_TEST

START_TEST(no_progress_where_stderr_is_no_terminal)
{
    FILE *file = tmpfile();
    stderr_to(fileno(file));
    host_services()->progress_files("copying", 1, 2, 1, 2);
    host_services()->progress_files("copying", 2, 2, 2, 2);
    const char *text = file_text(fileno(file));
    stderr_back();
    ck_assert_str_eq(text, "");
    fclose(file);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("host");
    TCase *tcase = tcase_create("host");
    tcase_add_test(tcase, each_driver_logs_under_its_own_name);
    tcase_add_test(tcase, job_names_fit_the_length_asked_for);
    tcase_add_test(tcase, progress_over_files_is_one_line_cut_to_the_terminal);
    tcase_add_test(tcase, no_progress_where_stderr_is_no_terminal);
    suite_add_tcase(suite, tcase);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
