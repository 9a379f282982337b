/* core/main.c: fahr's entry point: the command table and option parsing.
 *
 * fahr finds its drivers at run time (core/plugins.c), checks the
 * --config.KEY values against the keys they declare (core/config.c), and hands
 * them the host services of include/fahr/plugin.h (core/host.c). Each command
 * lives in its own file (core/cmd_*.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "version.h"

static const struct command commands[] = {
    {"init", cmd_init, "PATH [--build-driver=NAME] [--train-driver=NAME] [--config.KEY=VALUE ...] [--overwrite]",
     "write Dockerfile and run.sh beside the artifact; build nothing",
     OPT_BUILD_DRIVER | OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_OVERWRITE, 1, 1},
    {"build", cmd_build, "PATH --build-driver=NAME [--config.KEY=VALUE ...] [--overwrite]",
     "write the build files and build the image in the local Docker engine",
     OPT_BUILD_DRIVER | OPT_CONFIG | OPT_OVERWRITE, 1, 1},
    {"fit", cmd_fit,
     "PATH [--build-driver=NAME] --train-driver=NAME [--config.KEY=VALUE ...] [--hp.KEY=VALUE ...]\n"
     "                [--input NAME=SOURCE ...] [--overwrite] [--no-wait | --fetch DIR [--fetch-overwrite]]",
     "build the image, run it with a train driver and follow the job",
     OPT_BUILD_DRIVER | OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_OVERWRITE | OPT_NO_WAIT |
         OPT_TRAINING_INPUTS | OPT_FETCH,
     1, 1},
    {"fetch", cmd_fetch, "LOCAL_DIR MODEL_IMAGE_TAG [ARTIFACT] [--train-driver=NAME] [--overwrite]",
     "download a model into LOCAL_DIR and unpack it (default: the tag's newest completed job)",
     OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_OVERWRITE, 2, 3},
    {"status", cmd_status, "JOB [--train-driver=NAME]", "show a job's state",
     OPT_TRAIN_DRIVER | OPT_CONFIG, 1, 1},
    {"logs", cmd_logs, "JOB [--follow] [--train-driver=NAME]",
     "print a job's log lines; --follow waits for more until the job ends",
     OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_FOLLOW, 1, 1},
    {"stop", cmd_stop, "JOB [--train-driver=NAME]", "ask the training service to stop a job",
     OPT_TRAIN_DRIVER | OPT_CONFIG, 1, 1},
    {"jobs", cmd_jobs, "[MODEL_IMAGE_TAG] [--train-driver=NAME]",
     "list jobs, most recent first, of one image or all", OPT_TRAIN_DRIVER | OPT_CONFIG, 0, 1},
    {"plugins", cmd_plugins, "[--verbose]",
     "list the drivers found, where, and the plugins skipped and why", 0, 0, 0},
    {"help", cmd_help, "[COMMAND|DRIVER]", "show help for a command or a driver's config keys", 0,
     0, 1},
};

static const char exit_codes_help[] =
    "Exit codes:\n"
    "  0    success\n"
    "  1    the work failed (a build, the Docker engine, a service)\n"
    "  2    usage error: bad command line, config value or driver name\n"
    "  3    the training job ended Failed or Stopped\n"
    "  130  interrupted\n";

static const char global_options_help[] =
    "Options for every command:\n"
    "  --plugin-dir DIR   look for driver plugins in DIR first (repeatable)\n"
    "  -q, --quiet        print only results and errors\n"
    "  -v, --verbose      also print debug lines and all live output\n"
    "  -h, --help         show help\n";

const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

void print_main_help(FILE *out)
{
    fputs("usage: fahr [--plugin-dir DIR] [-q|-v] COMMAND [ARGS]\n\n"
          "Build a training artifact (.py or .ipynb) into a container image, run it\n"
          "on a training service and bring the model home.\n\nCommands:\n",
          out);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(out, "  %-8s %s\n", commands[i].name, commands[i].summary);
    fputs("\n", out);
    fputs(global_options_help, out);
    fputs("  --version          print the version and plugin ABI\n\n", out);
    fputs(exit_codes_help, out);
    fputs("\nRun 'fahr help COMMAND' for a command, 'fahr help DRIVER' for a driver's keys.\n",
          out);
}

void print_command_help(const struct command *command, FILE *out)
{
    fprintf(out, "usage: fahr %s %s\n\n%s\n\n", command->name, command->usage,
            command->summary);
    if (command->options) {
        fputs("Options:\n", out);
        if (command->options & OPT_BUILD_DRIVER)
            fputs("  --build-driver=NAME     the build driver (see 'fahr plugins'); none for\n"
                  "                          a train driver that runs the source itself\n", out);
        if (command->options & OPT_TRAIN_DRIVER)
            fputs("  --train-driver=NAME     the train driver (see 'fahr plugins'); job\n"
                  "                          commands default to sagemaker\n", out);
        if (command->options & OPT_CONFIG)
            fputs("  --config.KEY=VALUE      a driver setting, also --config.KEY VALUE;\n"
                  "                          'fahr help DRIVER' lists a driver's keys\n",
                  out);
        if ((command->options & OPT_OVERWRITE) && command->run == cmd_fetch)
            fputs("  --overwrite             replace files of LOCAL_DIR that the model has too\n",
                  out);
        else if (command->options & OPT_OVERWRITE)
            fputs("  --overwrite             write Dockerfile and run.sh anew, replacing\n"
                  "                          edited ones\n", out);
        if (command->options & OPT_TRAINING_INPUTS)
            fputs("  --hp.KEY=VALUE          a hyperparameter for the job (repeatable)\n"
                  "  --input NAME=SOURCE     an input data channel: an s3:// prefix or a local\n"
                  "                          file or directory (repeatable)\n",
                  out);
        if (command->options & OPT_NO_WAIT)
            fputs("  --no-wait               return once the job is submitted\n", out);
        if (command->options & OPT_FETCH)
            fputs("  --fetch DIR             when the job completes, fetch its model into DIR\n"
                  "  --fetch-overwrite       with --fetch: replace files of DIR that the model\n"
                  "                          has too (the build files are kept)\n",
                  out);
        if (command->options & OPT_FOLLOW)
            fputs("  -f, --follow            keep printing until the job ends\n", out);
        fputs("\n", out);
    }
    fputs(global_options_help, out);
    fputs("\n", out);
    fputs(exit_codes_help, out);
}

static int usage_error(const struct command *command, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int usage_error(const struct command *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("fahr: ", stderr);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (command != NULL)
        fprintf(stderr, " (see 'fahr %s --help')\n", command->name);
    else
        fputs(" (see 'fahr --help')\n", stderr);
    return FAHR_EXIT_USAGE;
}

static bool config_key_is_valid(const char *key, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((key[i] >= 'a' && key[i] <= 'z') || (key[i] >= '0' && key[i] <= '9') ||
              key[i] == '_'))
            return false;
    return true;
}

/* "--name=value" or "--name value": the value, advancing *i for the second. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len) == 0 && argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool option_is(const char *arg, const char *name)
{
    size_t len = strlen(name);
    return strncmp(arg, name, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
}

static void push_string(char ***array, size_t *count, char *value)
{
    char **grown = realloc(*array, (*count + 1) * sizeof *grown);
    if (grown == NULL)
        abort();
    grown[(*count)++] = value;
    *array = grown;
}

/* Options that take a value, as data: "--name=value" or "--name value".
 * `needs` is the cli_option bit a command must declare (0: every command). */
static void store_plugin_dir(struct cli *cli, const char *value)
{
    push_string(&cli->plugin_dirs, &cli->plugin_dir_count, (char *)value);
}
static void store_build_driver(struct cli *cli, const char *value) { cli->build_driver = value; }
static void store_train_driver(struct cli *cli, const char *value) { cli->train_driver = value; }
static void store_input(struct cli *cli, const char *value)
{
    push_string(&cli->inputs, &cli->input_count, (char *)value);
}
static void store_fetch_dir(struct cli *cli, const char *value) { cli->fetch_dir = value; }

static const struct valued_option {
    const char *name;
    unsigned needs;
    const char *what;
    void (*store)(struct cli *cli, const char *value);
} valued_options[] = {
    {"--plugin-dir", 0, "a directory", store_plugin_dir},
    {"--build-driver", OPT_BUILD_DRIVER, "a driver name", store_build_driver},
    {"--train-driver", OPT_TRAIN_DRIVER, "a driver name", store_train_driver},
    {"--input", OPT_TRAINING_INPUTS, "NAME=SOURCE", store_input},
    {"--fetch", OPT_FETCH, "a directory", store_fetch_dir},
};

/* Options that are flags: they set a bool of struct cli. */
static const struct flag_option {
    const char *name;
    unsigned needs;
    size_t field;
} flag_options[] = {
    {"--overwrite", OPT_OVERWRITE, offsetof(struct cli, overwrite)},
    {"--fetch-overwrite", OPT_FETCH, offsetof(struct cli, fetch_overwrite)},
    {"--no-wait", OPT_NO_WAIT, offsetof(struct cli, no_wait)},
    {"--follow", OPT_FOLLOW, offsetof(struct cli, follow)},
    {"-f", OPT_FOLLOW, offsetof(struct cli, follow)},
};

static const struct valued_option *find_valued_option(const char *arg, unsigned allowed)
{
    for (size_t i = 0; i < sizeof valued_options / sizeof valued_options[0]; i++)
        if (option_is(arg, valued_options[i].name) &&
            (valued_options[i].needs == 0 || (allowed & valued_options[i].needs)))
            return &valued_options[i];
    return NULL;
}

static const struct flag_option *find_flag_option(const char *arg, unsigned allowed)
{
    for (size_t i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++)
        if (strcmp(arg, flag_options[i].name) == 0 && (allowed & flag_options[i].needs))
            return &flag_options[i];
    return NULL;
}

/* The value of "--prefix.KEY=VALUE" or "--prefix.KEY VALUE" (advancing *i
 * for the second), given KEY's start; KEY's length into *key_len. NULL when
 * no value follows. */
static const char *dotted_value(int argc, char **argv, int *i, const char *key, size_t *key_len)
{
    const char *eq = strchr(key, '=');
    *key_len = eq ? (size_t)(eq - key) : strlen(key);
    if (eq != NULL)
        return eq + 1;
    return *i + 1 < argc ? argv[++*i] : NULL;
}

static int unknown_command(const char *word)
{
    const char *names[sizeof commands / sizeof commands[0]];
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        names[i] = commands[i].name;
    const char *near = suggest_nearest(word, names, sizeof names / sizeof names[0]);
    if (near != NULL)
        return usage_error(NULL, "'%s' is not a fahr command; did you mean '%s'?", word, near);
    return usage_error(NULL, "'%s' is not a fahr command", word);
}

/* An option this command does not take: suggest the nearest one it does
 * take, comparing the name before any '=' (or, for --config.KEY and
 * --hp.KEY, before the '.'). */
static int unknown_option(const struct command *cmd, const char *arg)
{
    unsigned allowed = cmd ? cmd->options : 0;
    const char *names[32];
    size_t count = 0;
    for (size_t i = 0; i < sizeof valued_options / sizeof valued_options[0]; i++)
        if (valued_options[i].needs == 0 || (allowed & valued_options[i].needs))
            names[count++] = valued_options[i].name;
    for (size_t i = 0; i < sizeof flag_options / sizeof flag_options[0]; i++)
        if (allowed & flag_options[i].needs)
            names[count++] = flag_options[i].name;
    static const char *const global[] = {"--help", "--quiet", "--verbose", "--version"};
    for (size_t i = 0; i < sizeof global / sizeof global[0]; i++)
        names[count++] = global[i];
    if (allowed & OPT_CONFIG)
        names[count++] = "--config.";
    if (allowed & OPT_TRAINING_INPUTS)
        names[count++] = "--hp.";
    char word[128];
    size_t length = strcspn(arg, "=");
    const char *dot = strchr(arg, '.');
    if (dot != NULL && (size_t)(dot - arg) < length)
        length = (size_t)(dot - arg) + 1; /* "--confg.key" compares "--confg." */
    snprintf(word, sizeof word, "%.*s", (int)length, arg);
    const char *near = suggest_nearest(word, names, count);
    if (near == NULL)
        return usage_error(cmd, "unknown option '%s'", arg);
    if (near[strlen(near) - 1] == '.')
        return usage_error(cmd, "unknown option '%s'; did you mean %s%s?", arg, near,
                           arg + length);
    return usage_error(cmd, "unknown option '%s'; did you mean %s?", arg, near);
}

/* Returns -1 on success, or the exit code to end with. */
static int parse(int argc, char **argv, struct cli *cli)
{
    bool options_done = false;
    for (int i = 1; i < argc; i++) {
        char *arg = argv[i];
        const struct command *cmd = cli->command;
        unsigned allowed = cmd ? cmd->options : 0;
        if (options_done || arg[0] != '-' || strcmp(arg, "-") == 0) {
            if (cli->command == NULL) {
                cli->command = find_command(arg);
                if (cli->command == NULL)
                    return unknown_command(arg);
            } else {
                push_string(&cli->args, &cli->arg_count, arg);
            }
            continue;
        }
        const char *value;
        const struct valued_option *valued = find_valued_option(arg, allowed);
        if (valued != NULL) {
            if ((value = option_value(argc, argv, &i, valued->name)) == NULL || !value[0])
                return usage_error(cmd, "%s needs %s", valued->name, valued->what);
            valued->store(cli, value);
            continue;
        }
        const struct flag_option *flag = find_flag_option(arg, allowed);
        if (flag != NULL) {
            *(bool *)((char *)cli + flag->field) = true;
            continue;
        }
        if (strcmp(arg, "--") == 0) {
            options_done = true;
        } else if (strcmp(arg, "-h") == 0 || strcmp(arg, "--help") == 0) {
            cli->help = true;
        } else if (strcmp(arg, "-q") == 0 || strcmp(arg, "--quiet") == 0) {
            cli->verbosity = VERBOSITY_QUIET;
        } else if (strcmp(arg, "-v") == 0 || strcmp(arg, "--verbose") == 0) {
            cli->verbosity = VERBOSITY_VERBOSE;
        } else if (strcmp(arg, "--version") == 0) {
            printf("fahr %s (plugin ABI %d.%d)\n", FAHR_VERSION, FAHR_ABI_MAJOR, FAHR_ABI_MINOR);
            return FAHR_EXIT_OK;
        } else if (strncmp(arg, "--config.", 9) == 0 && (allowed & OPT_CONFIG)) {
            const char *key = arg + 9;
            size_t key_len;
            if (!config_key_is_valid(key, strcspn(key, "=")))
                return usage_error(cmd, "'%s': a config key is lower case letters, digits and _",
                                   arg);
            if ((value = dotted_value(argc, argv, &i, key, &key_len)) == NULL)
                return usage_error(cmd, "%s needs a value", arg);
            char name[256];
            snprintf(name, sizeof name, "%.*s", (int)key_len, key);
            config_set(cli->config, name, value);
        } else if (strncmp(arg, "--hp.", 5) == 0 && (allowed & OPT_TRAINING_INPUTS)) {
            char *key = arg + 5;
            size_t key_len;
            if (key[0] == '\0' || key[0] == '=')
                return usage_error(cmd, "'%s': a hyperparameter needs a name", arg);
            if ((value = dotted_value(argc, argv, &i, key, &key_len)) == NULL)
                return usage_error(cmd, "%s needs a value", arg);
            key[key_len] = '\0'; /* argv is ours to cut: the name ends at '=' */
            struct fahr_hyperparameter *grown = realloc(
                cli->hyperparameters, (cli->hyperparameter_count + 1) * sizeof *grown);
            if (grown == NULL)
                abort();
            grown[cli->hyperparameter_count++] = (struct fahr_hyperparameter){key, value};
            cli->hyperparameters = grown;
        } else {
            return unknown_option(cmd, arg);
        }
    }
    return -1;
}

int main(int argc, char **argv)
{
    struct cli cli;
    memset(&cli, 0, sizeof cli);
    cli.verbosity = VERBOSITY_NORMAL;
    cli.config = config_new();

    int rc = parse(argc, argv, &cli);
    if (rc < 0) {
        host_init(cli.verbosity);
        if (cli.command == NULL) {
            if (cli.help) {
                print_main_help(stdout);
                rc = FAHR_EXIT_OK;
            } else {
                print_main_help(stderr);
                rc = FAHR_EXIT_USAGE;
            }
        } else if (cli.help) {
            print_command_help(cli.command, stdout);
            rc = FAHR_EXIT_OK;
        } else if (cli.arg_count < cli.command->min_args) {
            rc = usage_error(cli.command, "'%s' needs more arguments", cli.command->name);
        } else if (cli.arg_count > cli.command->max_args) {
            rc = usage_error(cli.command, "too many arguments, starting at '%s'",
                             cli.args[cli.command->max_args]);
        } else if (cli.no_wait && cli.fetch_dir != NULL) {
            rc = usage_error(cli.command, "%s", "--no-wait and --fetch contradict each other");
        } else if (cli.fetch_overwrite && cli.fetch_dir == NULL) {
            rc = usage_error(cli.command, "%s", "--fetch-overwrite goes with --fetch DIR");
        } else {
            host_catch_signals();
            rc = cli.command->run(&cli);
        }
    }
    free(cli.args);
    free(cli.plugin_dirs);
    free(cli.hyperparameters);
    free(cli.inputs);
    config_free(cli.config);
    if (fflush(stdout) != 0 && rc == FAHR_EXIT_OK) {
        perror("fahr: cannot write the result");
        rc = FAHR_EXIT_FAILED;
    }
    return rc;
}
