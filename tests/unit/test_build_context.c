/* The build drivers' shared code, part two of the build-files test:
 * .dockerignore, the tar stream of a build context or a model, and a failed
 * step's last output. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <check.h>
#include <grp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build_files_tests.h"
#include "dockerignore.h"
#include "output_tail.h"
#include "tar_stream.h"

START_TEST(dockerignore_globs)
{
    ck_assert(dockerignore_glob("*.csv", "data.csv"));
    ck_assert(!dockerignore_glob("*.csv", "data/x.csv"));
    ck_assert(dockerignore_glob("**/*.csv", "data/x.csv"));
    ck_assert(dockerignore_glob("**/*.csv", "x.csv"));
    ck_assert(dockerignore_glob("data/**", "data/a/b/c"));
    ck_assert(dockerignore_glob("data/**/c", "data/a/b/c"));
    ck_assert(dockerignore_glob("data/**/c", "data/c"));
    ck_assert(dockerignore_glob("model?.py", "model2.py"));
    ck_assert(!dockerignore_glob("model?.py", "model.py"));
    ck_assert(dockerignore_glob("[a-c]at", "bat"));
    ck_assert(!dockerignore_glob("[a-c]at", "rat"));
    ck_assert(dockerignore_glob("[^a-c]at", "rat"));
    ck_assert(dockerignore_glob("\\*star", "*star"));
    ck_assert(!dockerignore_glob("\\*star", "xstar"));
}
END_TEST

START_TEST(dockerignore_rules_in_order)
{
    const char text[] = "# comment\n"
                        "\n"
                        "  *.log  \n"
                        "/data\n"
                        "!data/keep.csv\n"
                        "./secrets/\n"
                        "**/__pycache__\n";
    struct dockerignore *ignore = dockerignore_parse(text, sizeof text - 1);
    ck_assert(dockerignore_excludes(ignore, "train.log"));
    ck_assert(!dockerignore_excludes(ignore, "dir/train.log")); /* '*' stays in its dir */
    ck_assert(dockerignore_excludes(ignore, "data"));
    ck_assert(dockerignore_excludes(ignore, "data/big.csv"));   /* under an excluded dir */
    ck_assert(!dockerignore_excludes(ignore, "data/keep.csv")); /* '!' brings it back */
    ck_assert(dockerignore_excludes(ignore, "secrets/key"));
    ck_assert(dockerignore_excludes(ignore, "pkg/__pycache__/x.pyc"));
    ck_assert(!dockerignore_excludes(ignore, "model.py"));
    ck_assert(!dockerignore_excludes(ignore, "# comment"));
    ck_assert(dockerignore_may_reinclude(ignore));
    dockerignore_free(ignore);
}
END_TEST

/* Read the whole stream of DIR as a build context (its .dockerignore
 * honoured) or, with `whole`, as a model, in small pieces, and list its
 * entries. */
static void read_any_stream(const char *dir, bool whole, char entries[][128], size_t *count,
                            char *model_content)
{
    struct tar_stream *context;
    struct fahr_error err = {{0}};
    struct dockerignore *ignore = dockerignore_load(dir);
    ck_assert_int_eq(tar_stream_open(dir, whole ? NULL : dockerignore_filter, ignore, &context,
                                     &err),
                     FAHR_OK);
    size_t capacity = 1 << 20, length = 0;
    char *tar = malloc(capacity);
    ssize_t n;
    while ((n = tar_stream_read(context, tar + length, 1000, &err)) > 0) {
        length += (size_t)n;
        ck_assert_uint_lt(length + 1000, capacity);
    }
    ck_assert_int_eq(n, 0);
    ck_assert_uint_eq(tar_stream_content_sent(context), tar_stream_content_bytes(context));
    tar_stream_close(context);
    dockerignore_free(ignore);

    struct archive *archive = archive_read_new();
    archive_read_support_format_tar(archive);
    ck_assert_int_eq(archive_read_open_memory(archive, tar, length), ARCHIVE_OK);
    struct archive_entry *entry;
    *count = 0;
    while (archive_read_next_header(archive, &entry) == ARCHIVE_OK) {
        snprintf(entries[*count], 128, "%s", archive_entry_pathname(entry));
        ck_assert_int_eq(archive_entry_uid(entry), 0);
        if (strcmp(archive_entry_pathname(entry), "model.py") == 0) {
            la_ssize_t got = archive_read_data(archive, model_content, 4096);
            ck_assert_int_ge(got, 0);
            model_content[got] = '\0';
        }
        (*count)++;
    }
    archive_read_free(archive);
    free(tar);
}

static void read_stream(const char *dir, char entries[][128], size_t *count, char *model_content)
{
    read_any_stream(dir, false, entries, count, model_content);
}

static bool listed(char entries[][128], size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(entries[i], name) == 0 || (strncmp(entries[i], name, strlen(name)) == 0 &&
                                               strcmp(entries[i] + strlen(name), "/") == 0))
            return true;
    return false;
}

START_TEST(build_context_streams_what_dockerignore_keeps)
{
    make_scratch();
    char path[512];
    snprintf(path, sizeof path, "%s/data", scratch);
    mkdir(path, 0755);
    snprintf(path, sizeof path, "%s/venv", scratch);
    mkdir(path, 0755);
    write_file("model.py", "print('hello')\n");
    write_file("Dockerfile", "FROM x\n");
    write_file("data/keep.csv", "1,2\n");
    write_file("data/drop.csv", "3,4\n");
    write_file("venv/lib.py", "");
    write_file("notes.log", "");
    write_file(".dockerignore", "venv\n*.log\ndata/*.csv\n!data/keep.csv\nDockerfile\n");
    snprintf(path, sizeof path, "%s/link", scratch);
    ck_assert_int_eq(symlink("model.py", path), 0);

    char entries[32][128], model[4096];
    size_t count = 0;
    read_stream(scratch, entries, &count, model);
    ck_assert(listed(entries, count, "model.py"));
    ck_assert(listed(entries, count, "data/keep.csv"));
    ck_assert(listed(entries, count, "link"));
    ck_assert(listed(entries, count, "Dockerfile"));    /* always sent */
    ck_assert(listed(entries, count, ".dockerignore")); /* always sent */
    ck_assert(!listed(entries, count, "data/drop.csv"));
    ck_assert(!listed(entries, count, "venv"));
    ck_assert(!listed(entries, count, "venv/lib.py"));
    ck_assert(!listed(entries, count, "notes.log"));
    ck_assert_str_eq(model, "print('hello')\n");
    remove_scratch();
}
END_TEST

START_TEST(build_context_always_sends_the_build_files)
{
    /* `*` then `!model.py`: the Docker CLI still sends the Dockerfile and
     * .dockerignore, and the image needs run.sh (RUN chmod run.sh). */
    make_scratch();
    write_file("model.py", "print(1)\n");
    write_file("Dockerfile", "FROM x\n");
    write_file("run.sh", "#!/bin/sh\n");
    write_file("notes.txt", "");
    write_file(".dockerignore", "*\n!model.py\n");
    char entries[32][128], model[4096];
    size_t count = 0;
    read_stream(scratch, entries, &count, model);
    ck_assert(listed(entries, count, "model.py"));
    ck_assert(listed(entries, count, "Dockerfile"));
    ck_assert(listed(entries, count, "run.sh"));
    ck_assert(listed(entries, count, ".dockerignore"));
    ck_assert(!listed(entries, count, "notes.txt"));
    ck_assert_uint_eq(count, 4);
    remove_scratch();
}
END_TEST

START_TEST(a_model_is_streamed_whole_whatever_its_dockerignore_says)
{
    make_scratch();
    char path[512];
    snprintf(path, sizeof path, "%s/weights", scratch);
    mkdir(path, 0755);
    write_file("model.py", "weights\n");
    write_file("weights/layer1.bin", "0123");
    write_file("top.bin", "4567");
    write_file(".dockerignore", "*.bin\n**/*.bin\nweights\n");
    char entries[32][128], model[4096];
    size_t count = 0;
    read_any_stream(scratch, true, entries, &count, model);
    ck_assert(listed(entries, count, "top.bin"));
    ck_assert(listed(entries, count, "weights"));
    ck_assert(listed(entries, count, "weights/layer1.bin"));
    ck_assert(listed(entries, count, ".dockerignore"));
    ck_assert(listed(entries, count, "model.py"));
    /* The same folder as a build context leaves them out. */
    read_any_stream(scratch, false, entries, &count, model);
    ck_assert(!listed(entries, count, "top.bin"));
    ck_assert(!listed(entries, count, "weights/layer1.bin"));
    remove_scratch();
}
END_TEST

/* Make RELATIVE (its directories too) with CONTENT. */
static void write_deep_file(const char *relative, const char *content)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", scratch, relative);
    for (char *slash = strchr(path + strlen(scratch) + 1, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    write_file(relative, content);
}

START_TEST(names_travel_as_the_bytes_on_disk)
{
    make_scratch();
    char long_name[160], deep[400];
    memset(long_name, 'n', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    snprintf(deep, sizeof deep, "d%.90s/é%.90s/%.100s.csv", long_name, long_name, long_name);
    ck_assert_uint_gt(strlen(deep), 255);
    const char *names[] = {"données.csv", "mödel.py", "with space.txt", "latin1-\xe9.txt",
                           long_name, deep};
    size_t wanted = sizeof names / sizeof names[0];
    for (size_t i = 0; i < wanted; i++)
        write_deep_file(names[i], names[i]);
    char link[512];
    snprintf(link, sizeof link, "%s/lien", scratch);
    ck_assert_int_eq(symlink("données.csv", link), 0);

    struct tar_stream *stream;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(tar_stream_open(scratch, NULL, NULL, &stream, &err), FAHR_OK);
    size_t length = 0;
    char *tar = malloc(1 << 20);
    ssize_t n;
    while ((n = tar_stream_read(stream, tar + length, 4096, &err)) > 0)
        length += (size_t)n;
    ck_assert_msg(n == 0, "stream failed: %s", err.message);
    tar_stream_close(stream);

    struct archive *archive = archive_read_new();
    archive_read_support_format_tar(archive);
    ck_assert_int_eq(archive_read_open_memory(archive, tar, length), ARCHIVE_OK);
    struct archive_entry *entry;
    size_t found = 0;
    bool link_found = false;
    while (archive_read_next_header(archive, &entry) == ARCHIVE_OK) {
        const char *name = archive_entry_pathname(entry);
        if (strcmp(name, "lien") == 0) {
            ck_assert_str_eq(archive_entry_symlink(entry), "données.csv");
            link_found = true;
            continue;
        }
        for (size_t i = 0; i < wanted; i++) {
            if (strcmp(name, names[i]) != 0)
                continue;
            char content[512] = "";
            ck_assert_int_eq(archive_read_data(archive, content, sizeof content - 1),
                             (la_ssize_t)strlen(names[i]));
            ck_assert_str_eq(content, names[i]);
            found++;
        }
    }
    archive_read_free(archive);
    free(tar);
    ck_assert_uint_eq(found, wanted);
    ck_assert(link_found);
    remove_scratch();
}
END_TEST

START_TEST(an_unreadable_file_fails_with_its_name_and_reason)
{
    make_scratch();
    write_file("model.py", "print(1)\n");
    write_file("secret.csv", "s3cr3t\n");
    char secret[512];
    snprintf(secret, sizeof secret, "%s/secret.csv", scratch);
    ck_assert_int_eq(chmod(secret, 0), 0);
    ck_assert_int_eq(chmod(scratch, 0755), 0);
    int fds[2];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        /* root reads any file: read as nobody, in a child of our own. */
        if (geteuid() == 0 && (setgroups(0, NULL) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                               setresuid(65534, 65534, 65534) != 0))
            _exit(2);
        struct tar_stream *stream;
        struct fahr_error err = {{0}};
        int rc = tar_stream_open(scratch, NULL, NULL, &stream, &err);
        if (rc == FAHR_OK) {
            char buffer[4096];
            ssize_t n;
            while ((n = tar_stream_read(stream, buffer, sizeof buffer, &err)) > 0)
                ;
            rc = n < 0 ? FAHR_EFAIL : FAHR_OK;
            tar_stream_close(stream);
        }
        if (rc != FAHR_OK && write(fds[1], err.message, strlen(err.message)) < 0)
            _exit(3);
        _exit(rc == FAHR_OK ? 0 : 1);
    }
    close(fds[1]);
    char message[1100] = "";
    ssize_t got = read(fds[0], message, sizeof message - 1);
    close(fds[0]);
    int status = 0;
    ck_assert_int_eq(waitpid(child, &status, 0), child);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 1);
    ck_assert_int_gt(got, 0);
    char expected[1100];
    snprintf(expected, sizeof expected, "cannot read %s: Permission denied", secret);
    ck_assert_str_eq(message, expected);
    remove_scratch();
}
END_TEST

START_TEST(a_failed_steps_last_lines_without_the_engines_chatter)
{
    static const char *const chatter[] = {" ---> ", "Removing intermediate container ", NULL};
    struct output_tail tail;
    output_tail_init(&tail, chatter);
    char out[512];
    ck_assert_uint_eq(output_tail_join(&tail, out, sizeof out), 0);
    ck_assert_str_eq(out, "");
    /* As the engine sends a RUN step's output: colored stderr, lines split
     * across messages, a progress bar redrawn with carriage returns. */
    const char *pieces[] = {" ---> Running in 7a403121bbda\n",
                            "\033[91mline two\n\033[0mline one\n",
                            "Downloading 10%\rDownloading 100%\n",
                            "\033[91m/usr/bin/python3: No module ",
                            "named pip\n\033[0m",
                            "Removing intermediate container 7a403121bbda\n"};
    for (size_t i = 0; i < sizeof pieces / sizeof pieces[0]; i++)
        output_tail_feed(&tail, pieces[i], strlen(pieces[i]));
    output_tail_join(&tail, out, sizeof out);
    ck_assert_str_eq(out, "line one | Downloading 100% | /usr/bin/python3: No module named pip");
    /* What does not fit leaves out the oldest lines first. */
    output_tail_join(&tail, out, 50);
    ck_assert_str_eq(out, "/usr/bin/python3: No module named pip");
    /* A line still arriving counts; a new step starts empty. */
    output_tail_feed(&tail, "\tlast\x07 words", 12);
    output_tail_join(&tail, out, sizeof out);
    ck_assert_str_eq(out, "Downloading 100% | /usr/bin/python3: No module named pip | last words");
    output_tail_reset(&tail);
    output_tail_join(&tail, out, sizeof out);
    ck_assert_str_eq(out, "");
}
END_TEST

TCase *build_context_tcase(void)
{
    TCase *context = tcase_create("context");
    tcase_add_test(context, dockerignore_globs);
    tcase_add_test(context, dockerignore_rules_in_order);
    tcase_add_test(context, build_context_streams_what_dockerignore_keeps);
    tcase_add_test(context, build_context_always_sends_the_build_files);
    tcase_add_test(context, a_model_is_streamed_whole_whatever_its_dockerignore_says);
    tcase_add_test(context, names_travel_as_the_bytes_on_disk);
    tcase_add_test(context, an_unreadable_file_fails_with_its_name_and_reason);
    tcase_add_test(context, a_failed_steps_last_lines_without_the_engines_chatter);
    return context;
}
