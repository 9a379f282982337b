/* The build drivers' templates: the Dockerfile and run.sh. The build
 * context, its .dockerignore and a failed step's output are tested in
 * test_build_context.c, the other half of this test. */
#define _GNU_SOURCE
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "build_driver.h"
#include "build_files_tests.h"

static const struct build_variant cpu = {
    .name = "local",
    .python_base_image = "python:3.11-slim",
    .conda_base_image = "continuumio/miniconda3:latest",
};
static const char *const gpu_env[] = {"NVIDIA_VISIBLE_DEVICES=all", NULL};
static const struct build_variant gpu = {
    .name = "local-gpu",
    .python_base_image = "nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04",
    .conda_base_image = "continuumio/miniconda3:latest",
    .environment = gpu_env,
};

START_TEST(dockerfile_for_a_plain_script)
{
    make_scratch();
    write_file("model.py", "print(1)\n");
    char artifact[512];
    snprintf(artifact, sizeof artifact, "%s/model.py", scratch);
    struct build_inputs inputs;
    build_inputs_detect(&cpu, artifact, NULL, &inputs);
    ck_assert_str_eq(inputs.artifact_name, "model.py");
    ck_assert(!inputs.notebook && !inputs.requirements);
    ck_assert_ptr_null(inputs.conda_file);
    ck_assert_str_eq(inputs.base_image, "python:3.11-slim");
    char out[8192];
    ck_assert_int_eq(build_render_dockerfile(&cpu, &inputs, out, sizeof out), FAHR_OK);
    ck_assert_ptr_nonnull(strstr(out, "\nFROM python:3.11-slim\n"));
    ck_assert_ptr_nonnull(strstr(out, "ENTRYPOINT [\"/opt/program/run.sh\"]\nCMD [\"train\"]\n"));
    ck_assert_ptr_null(strstr(out, "requirements.txt"));
    ck_assert_ptr_null(strstr(out, "NVIDIA"));
    ck_assert_ptr_null(strstr(out, "conda"));
    ck_assert_int_eq(build_render_dockerfile(&cpu, &inputs, out, 64), FAHR_EFAIL);
    remove_scratch();
}
END_TEST

START_TEST(dockerfile_installs_requirements_and_conda_environments)
{
    make_scratch();
    write_file("train.py", "");
    write_file("requirements.txt", "numpy\n");
    write_file("environment.yaml", "dependencies: [numpy]\n");
    char artifact[512], out[8192];
    snprintf(artifact, sizeof artifact, "%s/train.py", scratch);
    struct build_inputs inputs;
    build_inputs_detect(&cpu, artifact, NULL, &inputs);
    ck_assert(inputs.requirements);
    ck_assert_str_eq(inputs.conda_file, "environment.yaml");
    ck_assert_str_eq(inputs.base_image, "continuumio/miniconda3:latest");
    ck_assert_int_eq(build_render_dockerfile(&cpu, &inputs, out, sizeof out), FAHR_OK);
    ck_assert_ptr_nonnull(strstr(out, "FROM continuumio/miniconda3:latest\n"));
    ck_assert_ptr_nonnull(strstr(out, "RUN python3 -m pip install --no-cache-dir -r "
                                      "/opt/program/requirements.txt\n"));
    ck_assert_ptr_nonnull(
        strstr(out, "conda env update --name base --file /opt/program/environment.yaml"));
    /* --config.base_image wins over both defaults. */
    build_inputs_detect(&cpu, artifact, "fahr-bench/python:3", &inputs);
    ck_assert_str_eq(inputs.base_image, "fahr-bench/python:3");
    remove_scratch();
}
END_TEST

START_TEST(gpu_variant_sets_the_nvidia_environment)
{
    make_scratch();
    write_file("model.py", "");
    char artifact[512], out[8192];
    snprintf(artifact, sizeof artifact, "%s/model.py", scratch);
    struct build_inputs inputs;
    build_inputs_detect(&gpu, artifact, NULL, &inputs);
    ck_assert_int_eq(build_render_dockerfile(&gpu, &inputs, out, sizeof out), FAHR_OK);
    ck_assert_ptr_nonnull(strstr(out, "FROM nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04\n"));
    ck_assert_ptr_nonnull(strstr(out, "\nENV NVIDIA_VISIBLE_DEVICES=all\n"));
    /* The CUDA image has no Python: the Dockerfile installs it. */
    ck_assert_ptr_nonnull(strstr(out, "apt-get install -y --no-install-recommends python3"));
    remove_scratch();
}
END_TEST

START_TEST(run_sh_runs_scripts_and_notebooks_under_the_train_contract)
{
    struct build_inputs inputs = {.artifact_name = "model.py", .base_image = "x"};
    char out[BUILD_RUN_SH_MAX];
    ck_assert_int_eq(build_render_run_sh(&inputs, out, sizeof out), FAHR_OK);
    ck_assert_ptr_nonnull(strstr(out, "#!/bin/sh\n"));
    ck_assert_ptr_nonnull(strstr(out, "    \"$PYTHON\" 'model.py'\n"));
    ck_assert_ptr_nonnull(strstr(out, "case \"${1:-train}\" in\ntrain)\n"));
    ck_assert_ptr_nonnull(strstr(out, ">/opt/ml/output/failure"));

    inputs.artifact_name = "it's \"my\" $model.ipynb";
    inputs.notebook = true;
    ck_assert_int_eq(build_render_run_sh(&inputs, out, sizeof out), FAHR_OK);
    /* nbconvert's executor, run from Python so that a failing cell is the
     * failure reason and the executed notebook is kept with the model. */
    ck_assert_ptr_nonnull(strstr(out, "from nbconvert.preprocessors import ExecutePreprocessor"));
    ck_assert_ptr_nonnull(strstr(out, "os.path.join(\"/opt/ml/model\""));
    ck_assert_ptr_nonnull(strstr(out, "    \"$PYTHON\" -c \"$RUN_NOTEBOOK\" 'it'\\''s \"my\" $model.ipynb'\n"));
    /* The runner is one single-quoted shell word: no quote ends it early. */
    const char *runner = strstr(out, "RUN_NOTEBOOK='");
    ck_assert_ptr_nonnull(runner);
    ck_assert_ptr_nonnull(strstr(strchr(runner, '\'') + 1, "'\n\ntrain() {"));
    ck_assert_ptr_eq(strchr(strchr(runner, '\'') + 1, '\''), strstr(runner, "'\n\ntrain() {"));
    ck_assert_ptr_nonnull(strstr(out, "echo \"it's \\\"my\\\" \\$model.ipynb exited with status"));
}
END_TEST

START_TEST(run_sh_quoting_survives_a_real_shell)
{
    /* Render for a hostile name and let sh parse the train() line. */
    struct build_inputs inputs = {.artifact_name = "a'b\"c$(touch /tmp/fahr-pwned)`x`.py"};
    char out[BUILD_RUN_SH_MAX];
    ck_assert_int_eq(build_render_run_sh(&inputs, out, sizeof out), FAHR_OK);
    make_scratch();
    char script[512];
    snprintf(script, sizeof script, "%s/run.sh", scratch);
    FILE *file = fopen(script, "w");
    ck_assert_ptr_nonnull(file);
    /* Replace the shell's view of python with echo of the argument. */
    fputs(out, file);
    fclose(file);
    unlink("/tmp/fahr-pwned");
    char command[1024];
    snprintf(command, sizeof command,
             "cd '%s' && sed -e 's#^cd /opt/program#cd .#' -e 's#/opt/ml/#./ml/#g' "
             "-e 's#^PYTHON=.*#PYTHON=echo#' run.sh > run2.sh && sh run2.sh train > out.txt",
             scratch);
    ck_assert_int_eq(system(command), 0);
    char out_path[512], line[512] = "";
    snprintf(out_path, sizeof out_path, "%s/out.txt", scratch);
    file = fopen(out_path, "r");
    ck_assert_ptr_nonnull(file);
    ck_assert_ptr_nonnull(fgets(line, sizeof line, file));
    fclose(file);
    ck_assert_str_eq(line, "a'b\"c$(touch /tmp/fahr-pwned)`x`.py\n");
    ck_assert_int_ne(access("/tmp/fahr-pwned", F_OK), 0);
    remove_scratch();
}
END_TEST

/* Start SHELL on the rendered run.sh of train.py in the scratch directory,
 * paths made local as in the test above; its pid. */
static pid_t start_run_sh(const char *shell)
{
    struct build_inputs inputs = {.artifact_name = "train.py"};
    char out[BUILD_RUN_SH_MAX];
    ck_assert_int_eq(build_render_run_sh(&inputs, out, sizeof out), FAHR_OK);
    write_file("run.sh", out);
    char command[1024];
    snprintf(command, sizeof command,
             "cd '%s' && sed -e 's#^cd /opt/program#cd .#' -e 's#/opt/ml/#./ml/#g' run.sh "
             "> run2.sh && mkdir -p ml/model ml/output",
             scratch);
    ck_assert_int_eq(system(command), 0);
    pid_t child = fork();
    ck_assert_int_ge(child, 0);
    if (child == 0) {
        if (chdir(scratch) != 0)
            _exit(126);
        execlp(shell, shell, "run2.sh", "train", (char *)NULL);
        _exit(127);
    }
    return child;
}

START_TEST(run_sh_passes_sigterm_on_to_the_script)
{
    /* fahr stop and SageMaker's StopTrainingJob send SIGTERM to run.sh: the
     * script's handler must run (here it saves a checkpoint and exits 0). */
    const char *shells[] = {"sh", "bash"};
    for (size_t i = 0; i < sizeof shells / sizeof shells[0]; i++) {
        if (i > 0 && system("command -v bash >/dev/null") != 0)
            continue;
        make_scratch();
        write_file("train.py", "import signal, sys, time\n"
                               "def on_term(signum, frame):\n"
                               "    open('ml/model/checkpoint', 'w').write('saved')\n"
                               "    sys.exit(0)\n"
                               "signal.signal(signal.SIGTERM, on_term)\n"
                               "open('ml/started', 'w').close()\n"
                               "time.sleep(20)\n"
                               "sys.exit(9)\n");
        pid_t child = start_run_sh(shells[i]);
        char started[512], checkpoint[512], failure[512];
        snprintf(started, sizeof started, "%s/ml/started", scratch);
        snprintf(checkpoint, sizeof checkpoint, "%s/ml/model/checkpoint", scratch);
        snprintf(failure, sizeof failure, "%s/ml/output/failure", scratch);
        for (int tries = 0; tries < 200 && access(started, F_OK) != 0; tries++)
            usleep(50 * 1000);
        ck_assert_int_eq(access(started, F_OK), 0);
        ck_assert_int_eq(kill(child, SIGTERM), 0);
        int status = 0;
        ck_assert_int_eq(waitpid(child, &status, 0), child);
        ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0,
                      "%s: run.sh ended with wait status %d", shells[i], status);
        ck_assert_msg(access(checkpoint, F_OK) == 0, "%s: the handler did not run", shells[i]);
        ck_assert_int_ne(access(failure, F_OK), 0);
        remove_scratch();
    }
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("build-files");
    TCase *templates = tcase_create("templates");
    tcase_add_test(templates, dockerfile_for_a_plain_script);
    tcase_add_test(templates, dockerfile_installs_requirements_and_conda_environments);
    tcase_add_test(templates, gpu_variant_sets_the_nvidia_environment);
    tcase_add_test(templates, run_sh_runs_scripts_and_notebooks_under_the_train_contract);
    tcase_add_test(templates, run_sh_quoting_survives_a_real_shell);
    tcase_add_test(templates, run_sh_passes_sigterm_on_to_the_script);
    suite_add_tcase(suite, templates);
    suite_add_tcase(suite, build_context_tcase());
    suite_add_tcase(suite, run_sh_contract_tcase());
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
