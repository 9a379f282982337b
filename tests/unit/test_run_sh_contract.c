/* run.sh's container contract for train drivers whose service does not
 * give SageMaker's layout itself (plugin.h): FAHR_MODEL_URI,
 * FAHR_MODEL_DIR_URI, FAHR_HYPERPARAMETERS and FAHR_CHANNELS, run by the
 * system's sh with /opt/ml and /gcs made local. tests/integration/image_test.sh
 * runs the same in a container of the bench image. */
#define _GNU_SOURCE
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build_driver.h"
#include "build_files_tests.h"

/* The interpreter python3 runs, found once: a version manager's shim
 * (pyenv's costs about a second a start under load) would put the tests
 * past their timeout. */
static const char *real_python3(void)
{
    static char path[1024];
    if (path[0])
        return path;
    FILE *pipe = popen("python3 -c 'import sys; print(sys.executable)'", "r");
    ck_assert_ptr_nonnull(pipe);
    ck_assert_ptr_nonnull(fgets(path, sizeof path, pipe));
    ck_assert_int_eq(pclose(pipe), 0);
    path[strcspn(path, "\n")] = '\0';
    return path;
}

/* Render run.sh for model.py into the scratch directory as run2.sh, its
 * /opt/ml and /gcs paths made local (./ml, ./gcs), and link bin/python3 to
 * the real interpreter for train_with's PATH. */
static void render_local_run_sh(void)
{
    struct build_inputs inputs = {.artifact_name = "model.py"};
    char out[BUILD_RUN_SH_MAX], command[1024];
    ck_assert_int_eq(build_render_run_sh(&inputs, out, sizeof out), FAHR_OK);
    write_file("run.sh", out);
    snprintf(command, sizeof command,
             "cd '%s' && sed -e 's#^cd /opt/program#cd .#' -e 's#/opt/ml/#./ml/#g' "
             "-e 's#/gcs/#./gcs/#g' run.sh > run2.sh",
             scratch);
    ck_assert_int_eq(system(command), 0);
    snprintf(command, sizeof command, "%s/bin", scratch);
    ck_assert_int_eq(mkdir(command, 0755), 0);
    strcat(command, "/python3");
    ck_assert_int_eq(symlink(real_python3(), command), 0);
}

/* The contract tests loop over these shells (the image's /bin/sh may be
 * dash or busybox); one not installed is skipped, saying so. */
static const char *const shells[] = {"sh", "bash", "busybox sh"};
static const char *run_shell = "sh";

static bool use_shell(int i)
{
    char command[256];
    snprintf(command, sizeof command, "command -v %.*s >/dev/null",
             (int)strcspn(shells[i], " "), shells[i]);
    if (system(command) != 0) {
        fprintf(stderr, "skipped under %s: not installed\n", shells[i]);
        return false;
    }
    run_shell = shells[i];
    return true;
}

/* Run run2.sh train in the scratch directory, after a fresh ml/ made by the
 * shell command `setup` ("" for none), with the shell assignments `env`;
 * its exit status. */
static int train_with(const char *setup, const char *env)
{
    char command[4096];
    snprintf(command, sizeof command,
             "cd '%s' && rm -rf ml && mkdir ml && %s%s %s PATH=\"$PWD/bin:$PATH\" %s run2.sh "
             "train >/dev/null 2>&1",
             scratch, setup, setup[0] ? " &&" : "", env, run_shell);
    int status = system(command);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The same with FAHR_MODEL_URI=uri (NULL: unset), for a model.py that
 * writes ml/model/weights. */
static int train_with_model_uri(const char *uri)
{
    char env[2048];
    snprintf(env, sizeof env, "%s%s%s", uri ? "FAHR_MODEL_URI='" : "", uri ? uri : "",
             uri ? "'" : "");
    return train_with("", env);
}

/* The scratch directory's shell command `check` succeeds. */
static void expect_shell(const char *check)
{
    char command[4096];
    snprintf(command, sizeof command, "cd '%s' && %s", scratch, check);
    ck_assert_msg(system(command) == 0, "failed: %s", check);
}

static void expect_failure_file(const char *expected)
{
    char path[512], line[1024] = "";
    snprintf(path, sizeof path, "%s/ml/output/failure", scratch);
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, file));
    fclose(file);
    ck_assert_str_eq(line, expected);
}

START_TEST(run_sh_writes_the_model_to_fahr_model_uri)
{
    if (!use_shell(_i))
        return;
    make_scratch();
    write_file("model.py", "open('ml/model/weights', 'w').write('42')\n");
    render_local_run_sh();
    char uri[1024], command[2048];
    /* Unset: nothing more than the model directory. */
    ck_assert_int_eq(train_with_model_uri(NULL), 0);
    /* An absolute path: model.tar.gz of the model directory, in it. */
    snprintf(uri, sizeof uri, "%s/out/job-1", scratch);
    ck_assert_int_eq(train_with_model_uri(uri), 0);
    snprintf(command, sizeof command,
             "cd '%s' && test \"$(tar -xzOf out/job-1/model.tar.gz ./weights)\" = 42 && "
             "test \"$(ls -A out/job-1)\" = model.tar.gz",
             scratch);
    ck_assert_int_eq(system(command), 0);
    /* gs://BUCKET/PATH: through the Cloud Storage FUSE mount /gcs/BUCKET/PATH. */
    ck_assert_int_eq(train_with_model_uri("gs://bucket/models/job-2"), 0);
    snprintf(command, sizeof command,
             "cd '%s' && test \"$(tar -xzOf gcs/bucket/models/job-2/model.tar.gz ./weights)\" = 42",
             scratch);
    ck_assert_int_eq(system(command), 0);
    /* Any other form fails the job, saying so. */
    ck_assert_int_eq(train_with_model_uri("s3://bucket/models"), 1);
    expect_failure_file("FAHR_MODEL_URI must be gs://BUCKET/PATH or an absolute path, not "
                        "s3://bucket/models\n");
    ck_assert_int_eq(train_with_model_uri("gs:///models"), 1);
    ck_assert_int_eq(train_with_model_uri("gs://bucket/../../etc"), 1);
    expect_failure_file("FAHR_MODEL_URI must not hold . or .. segments: gs://bucket/../../etc\n");
    /* A copy that fails fails the job, and leaves no part behind. */
    write_file("blocked", "a file where the directory should be\n");
    snprintf(uri, sizeof uri, "%s/blocked/job-3", scratch);
    ck_assert_int_eq(train_with_model_uri(uri), 1);
    snprintf(command, sizeof command, "cannot write the model to %s/model.tar.gz\n", uri);
    expect_failure_file(command);
    remove_scratch();
}
END_TEST

/* A model of nested directories, a file name with spaces, a dot file and
 * an empty directory. */
static const char nested_model[] =
    "import os\n"
    "os.makedirs('ml/model/sub dir/deeper', exist_ok=True)\n"
    "os.makedirs('ml/model/empty', exist_ok=True)\n"
    "open('ml/model/weights', 'w').write('42')\n"
    "open('ml/model/sub dir/my file.txt', 'w').write('spaces')\n"
    "open('ml/model/sub dir/deeper/.hidden', 'w').write('dot')\n";

START_TEST(run_sh_copies_the_model_files_to_fahr_model_dir_uri)
{
    if (!use_shell(_i))
        return;
    make_scratch();
    write_file("model.py", nested_model);
    render_local_run_sh();
    /* Unset: nothing is copied anywhere. */
    ck_assert_int_eq(train_with("", ""), 0);
    expect_shell("test ! -e out && test ! -e gcs");
    /* An absolute path: the same tree, file for file, no temporary left. */
    char env[2048];
    snprintf(env, sizeof env, "FAHR_MODEL_DIR_URI='%s/out/job 1'", scratch);
    ck_assert_int_eq(train_with("", env), 0);
    expect_shell("diff -r ml/model 'out/job 1' && test -d 'out/job 1/empty' && "
                 "test \"$(cat 'out/job 1/sub dir/my file.txt')\" = spaces && "
                 "test -z \"$(find out -name '.fahr-partial*')\"");
    /* gs://BUCKET/PATH through the FUSE mount; with FAHR_MODEL_URI, both. */
    ck_assert_int_eq(train_with("", "FAHR_MODEL_DIR_URI=gs://bucket/m/2 "
                                     "FAHR_MODEL_URI=gs://bucket/m/3"),
                     0);
    expect_shell("diff -r ml/model gcs/bucket/m/2 && "
                 "tar -xzOf gcs/bucket/m/3/model.tar.gz './sub dir/deeper/.hidden' | grep -qx dot");
    /* The forms FAHR_MODEL_URI refuses, refused alike. */
    ck_assert_int_eq(train_with("", "FAHR_MODEL_DIR_URI=s3://bucket/m"), 1);
    expect_failure_file("FAHR_MODEL_DIR_URI must be gs://BUCKET/PATH or an absolute path, not "
                        "s3://bucket/m\n");
    ck_assert_int_eq(train_with("", "FAHR_MODEL_DIR_URI=gs://bucket/m/../../etc"), 1);
    expect_failure_file("FAHR_MODEL_DIR_URI must not hold . or .. segments: "
                        "gs://bucket/m/../../etc\n");
    /* A copy that fails fails the job, naming what: the directory... */
    write_file("blocked", "a file where the directory should be\n");
    snprintf(env, sizeof env, "FAHR_MODEL_DIR_URI='%s/blocked/m'", scratch);
    ck_assert_int_eq(train_with("", env), 1);
    char line[2048];
    snprintf(line, sizeof line, "cannot copy the model to %s/blocked/m\n", scratch);
    expect_failure_file(line);
    /* ...or one file (a directory stands at its name), no temporary left. */
    snprintf(env, sizeof env, "FAHR_MODEL_DIR_URI='%s/out/4'", scratch);
    expect_shell("mkdir -p 'out/4/sub dir/my file.txt'");
    ck_assert_int_eq(train_with("", env), 1);
    snprintf(line, sizeof line,
             "cannot copy the model's sub dir/my file.txt to %s/out/4/sub dir/my file.txt\n",
             scratch);
    expect_failure_file(line);
    expect_shell("test -z \"$(find out/4 -name '.fahr-partial*')\"");
    /* Only files and directories are copied: a link to a directory fails. */
    ck_assert_int_eq(train_with("", "FAHR_MODEL_DIR_URI=gs://bucket/m/5"), 0);
    write_file("model.py", "import os\nos.symlink('/etc', 'ml/model/etc')\n");
    ck_assert_int_eq(train_with("", "FAHR_MODEL_DIR_URI=gs://bucket/m/5"), 1);
    expect_failure_file("cannot copy the model's etc: not a file or a directory\n");
    remove_scratch();
}
END_TEST

/* A model.py that records what it finds: the hyperparameters file, and
 * each channel's link and the file `data` read through it (or, for a
 * channel that is a directory, the links in it). */
static const char recording_model[] =
    "import json, os\n"
    "seen = {}\n"
    "config = 'ml/input/config/hyperparameters.json'\n"
    "if os.path.exists(config):\n"
    "    seen['hp'] = open(config).read()\n"
    "data = 'ml/input/data'\n"
    "for name in sorted(os.listdir(data)) if os.path.isdir(data) else []:\n"
    "    path = os.path.join(data, name)\n"
    "    if not os.path.islink(path):\n"
    "        seen[name] = {f: os.readlink(os.path.join(path, f)) for f in os.listdir(path)}\n"
    "        continue\n"
    "    seen[name] = [os.readlink(path), open(os.path.join(path, 'data')).read()\n"
    "                  if os.path.exists(os.path.join(path, 'data')) else None]\n"
    "json.dump(seen, open('seen.json', 'w'), sort_keys=True)\n";

static void expect_seen(const char *expected)
{
    char path[512], seen[4096] = "";
    snprintf(path, sizeof path, "%s/seen.json", scratch);
    FILE *file = fopen(path, "r");
    ck_assert_ptr_nonnull(file);
    ck_assert_ptr_nonnull(fgets(seen, sizeof seen, file));
    fclose(file);
    ck_assert_str_eq(seen, expected);
    ck_assert_int_eq(unlink(path), 0);
}

START_TEST(run_sh_writes_fahr_hyperparameters_before_the_script)
{
    if (!use_shell(_i))
        return;
    make_scratch();
    write_file("model.py", recording_model);
    render_local_run_sh();
    /* Written as is, before the script starts. */
    ck_assert_int_eq(train_with("", "FAHR_HYPERPARAMETERS='{\"lr\": \"0.1\", \"q\": \"a'\\''b\"}'"),
                     0);
    expect_seen("{\"hp\": \"{\\\"lr\\\": \\\"0.1\\\", \\\"q\\\": \\\"a'b\\\"}\"}");
    expect_shell("test -z \"$(ls -A ml/input/config | grep -v '^hyperparameters.json$')\"");
    /* Unset: the service's own file stays as it is (SageMaker writes it). */
    const char *sagemaker = "mkdir -p ml/input/config && "
                            "printf '{\"epochs\": \"3\"}' >ml/input/config/hyperparameters.json";
    ck_assert_int_eq(train_with(sagemaker, ""), 0);
    expect_seen("{\"hp\": \"{\\\"epochs\\\": \\\"3\\\"}\"}");
    ck_assert_int_eq(train_with("", ""), 0);
    expect_seen("{}");
    /* Not a JSON object, or not writable: the job fails before the script. */
    ck_assert_int_eq(train_with("", "FAHR_HYPERPARAMETERS='[1]'"), 1);
    expect_failure_file("FAHR_HYPERPARAMETERS must be a JSON object\n");
    expect_shell("test ! -e seen.json");
    ck_assert_int_eq(train_with("mkdir -p ml/input && : >ml/input/config",
                                "FAHR_HYPERPARAMETERS='{}'"),
                     1);
    expect_failure_file("cannot write ./ml/input/config/hyperparameters.json\n");
    expect_shell("test ! -e seen.json");
    remove_scratch();
}
END_TEST

START_TEST(run_sh_links_fahr_channels)
{
    if (!use_shell(_i))
        return;
    make_scratch();
    write_file("model.py", recording_model);
    render_local_run_sh();
    expect_shell("mkdir -p 'in/train set' && echo rows >'in/train set/data'");
    /* An absolute path is linked as it is (and read through the link), a
     * gs:// location through the FUSE mount; a blank line is skipped. */
    char env[2048], expected[2048];
    snprintf(env, sizeof env,
             "FAHR_CHANNELS='train=%s/in/train set\n\nval ue=gs://bucket/data/v'", scratch);
    ck_assert_int_eq(train_with("", env), 0);
    snprintf(expected, sizeof expected,
             "{\"train\": [\"%s/in/train set\", \"rows\\n\"], "
             "\"val ue\": [\"./gcs/bucket/data/v\", null]}",
             scratch);
    expect_seen(expected);
    /* A file: a directory holding a link to it under its name, as SageMaker
     * and the local driver give one. */
    snprintf(env, sizeof env, "FAHR_CHANNELS='one=%s/in/train set/data'", scratch);
    ck_assert_int_eq(train_with("", env), 0);
    snprintf(expected, sizeof expected, "{\"one\": {\"data\": \"%s/in/train set/data\"}}",
             scratch);
    expect_seen(expected);
    /* A name that is not one, a location of another form or with . or ..
     * segments, a line without '=': the job fails before the script. */
    static const struct {
        const char *channels, *failure;
    } bad[] = {
        {"../x=/data", "FAHR_CHANNELS: the channel name '../x' is empty, . or .. or holds /\n"},
        {"..=/data", "FAHR_CHANNELS: the channel name '..' is empty, . or .. or holds /\n"},
        {".=/data", "FAHR_CHANNELS: the channel name '.' is empty, . or .. or holds /\n"},
        {"=/data", "FAHR_CHANNELS: the channel name '' is empty, . or .. or holds /\n"},
        {"a/b=/data", "FAHR_CHANNELS: the channel name 'a/b' is empty, . or .. or holds /\n"},
        {"train=s3://b/p", "the location of channel train in FAHR_CHANNELS must be "
                           "gs://BUCKET/PATH or an absolute path, not s3://b/p\n"},
        {"train=gs://b/../../etc", "the location of channel train in FAHR_CHANNELS must not "
                                   "hold . or .. segments: gs://b/../../etc\n"},
        {"train=/data/./x", "the location of channel train in FAHR_CHANNELS must not "
                            "hold . or .. segments: /data/./x\n"},
        {"train", "FAHR_CHANNELS lines must be NAME=LOCATION, not train\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        snprintf(env, sizeof env, "FAHR_CHANNELS='ok=/data\n%s'", bad[i].channels);
        ck_assert_int_eq(train_with("", env), 1);
        expect_failure_file(bad[i].failure);
        expect_shell("test ! -e seen.json && test ! -e ml/input/data/x && test ! -e etc");
    }
    /* Something that is not a link at the channel's place is left alone. */
    ck_assert_int_eq(train_with("mkdir -p ml/input/data/train", "FAHR_CHANNELS='train=/data'"), 1);
    expect_failure_file("cannot link ./ml/input/data/train to /data\n");
    expect_shell("test -d ml/input/data/train && test ! -L ml/input/data/train");
    remove_scratch();
}
END_TEST

START_TEST(run_sh_runs_any_other_command_as_given)
{
    /* A service may wrap the image's command: it runs as given, without
     * /opt/ml made first and in an image without Python. */
    make_scratch();
    render_local_run_sh();
    char command[1024];
    snprintf(command, sizeof command,
             "cd '%s' && PATH=/nonexistent /bin/sh run2.sh /bin/sh -c 'exit 7'", scratch);
    int status = system(command);
    ck_assert(WIFEXITED(status));
    ck_assert_int_eq(WEXITSTATUS(status), 7);
    snprintf(command, sizeof command, "%s/ml", scratch);
    ck_assert_int_ne(access(command, F_OK), 0);
    remove_scratch();
}
END_TEST

TCase *run_sh_contract_tcase(void)
{
    const int shell_count = (int)(sizeof shells / sizeof shells[0]);
    TCase *contract = tcase_create("contract");
    tcase_add_loop_test(contract, run_sh_writes_the_model_to_fahr_model_uri, 0, shell_count);
    tcase_add_loop_test(contract, run_sh_copies_the_model_files_to_fahr_model_dir_uri, 0,
                        shell_count);
    tcase_add_loop_test(contract, run_sh_writes_fahr_hyperparameters_before_the_script, 0,
                        shell_count);
    tcase_add_loop_test(contract, run_sh_links_fahr_channels, 0, shell_count);
    tcase_add_test(contract, run_sh_runs_any_other_command_as_given);
    return contract;
}
