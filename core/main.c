/* core/main.c: fahr's entry point: the command table and option parsing.
 *
 * fahr finds its drivers at run time (core/plugins.c), checks the
 * --config.KEY values against the keys they declare (core/config.c), and hands
 * them the host services of include/fahr/plugin.h (core/host.c). Each command
 * lives in its own file (core/cmd_*.c). */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "user_config.h"
#include "version.h"

static const struct command commands[] = {
    {"init", cmd_init, "PATH [--build-driver=NAME] [--train-driver=NAME] [--config.KEY=VALUE ...] [--overwrite]",
     "write Dockerfile and run.sh beside the artifact; build nothing",
     OPT_BUILD_DRIVER | OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_OVERWRITE, 1, 1},
    {"build", cmd_build, "PATH --build-driver=NAME [--config.KEY=VALUE ...] [--overwrite]",
     "write the build files and build the image in the local Docker engine",
     OPT_BUILD_DRIVER | OPT_CONFIG | OPT_OVERWRITE, 1, 1},
    {"fit", cmd_fit,
     "PATH [--build-driver=NAME] --train-driver=NAME [--config.KEY=VALUE ...] [--hp.KEY=VALUE ...] "
     "[--input NAME=SOURCE ...] [--overwrite] [--no-wait | --fetch DIR [--fetch-overwrite]] "
     "[--dry-run] [--output=text|json]",
     "build the image, run it with a train driver and follow the job",
     OPT_BUILD_DRIVER | OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_OVERWRITE | OPT_NO_WAIT |
         OPT_TRAINING_INPUTS | OPT_FETCH | OPT_DRY_RUN | OPT_OUTPUT,
     1, 1},
    {"fetch", cmd_fetch, "LOCAL_DIR MODEL_IMAGE_TAG [ARTIFACT] [--train-driver=NAME] [--overwrite]"
     " [--output=text|json]",
     "download a model into LOCAL_DIR and unpack it (default: the tag's newest completed job)",
     OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_OVERWRITE | OPT_OUTPUT, 2, 3},
    {"status", cmd_status, "JOB [--train-driver=NAME] [--output=text|json]", "show a job's state",
     OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_OUTPUT, 1, 1},
    {"logs", cmd_logs, "JOB [--follow] [--train-driver=NAME]",
     "print a job's log lines; --follow waits for more until the job ends",
     OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_FOLLOW, 1, 1},
    {"stop", cmd_stop, "JOB [--train-driver=NAME]", "ask the training service to stop a job",
     OPT_TRAIN_DRIVER | OPT_CONFIG, 1, 1},
    {"jobs", cmd_jobs, "[MODEL_IMAGE_TAG] [--train-driver=NAME] [--state=STATE] [--limit=N] "
     "[--output=text|json]",
     "list jobs, most recent first, of one image or all",
     OPT_TRAIN_DRIVER | OPT_CONFIG | OPT_JOBS_FILTER | OPT_OUTPUT, 0, 1},
    {"prune", cmd_prune, "[--dry-run] [--older-than DURATION] [--registry]",
     "remove exited local job containers, job folders and images fahr built that no job "
     "needs; with --registry also the image tags fahr pushed that no job needs",
     OPT_DRY_RUN | OPT_OLDER_THAN | OPT_REGISTRY, 0, 0},
    {"plugins", cmd_plugins, "[--verbose] [--output=text|json]",
     "list the drivers found, where, and the plugins skipped and why", OPT_OUTPUT, 0, 0},
    {"help", cmd_help, "[COMMAND|DRIVER] [--output=text|json]",
     "show help for a command or a driver's config keys", OPT_OUTPUT, 0, 1},
    {"config", cmd_config, "get|set|unset|list [SECTION.KEY [VALUE]] [--profile NAME]",
     "read and edit the defaults in the config file ($XDG_CONFIG_HOME/fahr/config)", 0, 1, 3},
    {"completion", cmd_completion, "bash|zsh|fish",
     "print the completion script of a shell (see 'man fahr', COMPLETION)", 0, 1, 1},
};

const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
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

static void push_string(char ***array, size_t *count, char *value)
{
    *array = xgrow(*array, *count, sizeof **array);
    (*array)[(*count)++] = value;
}

/* What each option does with its value (a prefixed option's key too):
 * -1 to go on parsing, or the exit code to end with. */
#define GO_ON (-1)
static int set_help(struct cli *cli, char *key, const char *value)
{
    (void)key, (void)value;
    cli->help = true;
    return GO_ON;
}
static int set_quiet(struct cli *cli, char *key, const char *value)
{
    (void)key, (void)value;
    cli->verbosity = VERBOSITY_QUIET;
    return GO_ON;
}
static int set_verbose(struct cli *cli, char *key, const char *value)
{
    (void)key, (void)value;
    cli->verbosity = VERBOSITY_VERBOSE;
    return GO_ON;
}
static int print_version(struct cli *cli, char *key, const char *value)
{
    (void)cli, (void)key, (void)value;
    printf("fahr %s (plugin ABI %d.%d)\n", FAHR_VERSION, FAHR_ABI_MAJOR, FAHR_ABI_MINOR);
    return FAHR_EXIT_OK;
}
#define SET_BOOL(field)                                                     \
    static int set_##field(struct cli *cli, char *key, const char *value)  \
    {                                                                       \
        (void)key, (void)value;                                             \
        cli->field = true;                                                  \
        return GO_ON;                                                       \
    }
SET_BOOL(overwrite)
SET_BOOL(fetch_overwrite)
SET_BOOL(no_wait)
SET_BOOL(dry_run)
SET_BOOL(follow)
SET_BOOL(registry)
#define STORE(field)                                                          \
    static int store_##field(struct cli *cli, char *key, const char *value)  \
    {                                                                         \
        (void)key;                                                            \
        cli->field = value;                                                   \
        return GO_ON;                                                         \
    }
STORE(build_driver)
STORE(train_driver)
STORE(fetch_dir)
STORE(profile)
STORE(older_than)
static int store_plugin_dir(struct cli *cli, char *key, const char *value)
{
    (void)key;
    push_string(&cli->plugin_dirs, &cli->plugin_dir_count, (char *)value);
    return GO_ON;
}
static int store_input(struct cli *cli, char *key, const char *value)
{
    (void)key;
    push_string(&cli->inputs, &cli->input_count, (char *)value);
    return GO_ON;
}
static int store_output(struct cli *cli, char *key, const char *value)
{
    (void)key;
    if (strcmp(value, "text") != 0 && strcmp(value, "json") != 0)
        return usage_error(cli->command, "--output is text or json, not '%s'", value);
    output_set_form(strcmp(value, "json") == 0 ? OUTPUT_JSON : OUTPUT_TEXT);
    return GO_ON;
}
static int store_limit(struct cli *cli, char *key, const char *value)
{
    (void)key;
    char *end;
    errno = 0;
    long limit = strtol(value, &end, 10);
    if (value[0] < '0' || value[0] > '9' || *end != '\0' || errno != 0 || limit < 1)
        return usage_error(cli->command, "--limit takes a whole number of 1 or more, not '%s'",
                           value);
    cli->job_limit = limit;
    return GO_ON;
}
static int store_state(struct cli *cli, char *key, const char *value)
{
    (void)key;
    if (!job_state_from_name(value, &cli->state))
        return usage_error(cli->command, "--state '%s' is not a job state; one of %s", value,
                           JOB_STATE_NAMES);
    cli->state_filter = true;
    return GO_ON;
}
static int store_config(struct cli *cli, char *key, const char *value)
{
    config_set(cli->config, key, value);
    return GO_ON;
}
static int store_hyperparameter(struct cli *cli, char *key, const char *value)
{
    cli->hyperparameters = xgrow(cli->hyperparameters, cli->hyperparameter_count,
                                 sizeof *cli->hyperparameters);
    cli->hyperparameters[cli->hyperparameter_count++] = (struct fahr_hyperparameter){key, value};
    return GO_ON;
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
static bool hyperparameter_name_is_valid(const char *key, size_t len)
{
    (void)key;
    return len > 0;
}

enum option_form {
    OPTION_FLAG,     /* --name */
    OPTION_VALUED,   /* --name=VALUE or --name VALUE */
    OPTION_PREFIXED, /* --name.KEY=VALUE or --name.KEY VALUE */
};

/* Every option fahr takes, the one source of the parser and of --help (as
 * git's parse-options.h). */
static const struct option_spec {
    const char *short_name;  /* "-f", or NULL */
    const char *name;        /* "--follow"; a prefixed one's ends in '.' */
    enum option_form form;
    const char *shown_arg;   /* after the name in help: "=NAME", " DIR", "KEY=VALUE" */
    unsigned needs;          /* the cli_option bit a command must declare; 0: every command */
    const char *help;        /* one line; --help wraps it */
    struct {
        const char *commands; /* names, space-separated */
        const char *help;
    } help_for[3];           /* a command's own wording of `help` */
    int (*apply)(struct cli *cli, char *key, const char *value);
    const char *what;        /* valued: what a missing value should have been */
    bool (*key_is_valid)(const char *key, size_t len); /* prefixed */
    const char *bad_key;     /* prefixed: why a key is refused */
} options[] = {
    {.name = "--build-driver", .form = OPTION_VALUED, .shown_arg = "=NAME",
     .needs = OPT_BUILD_DRIVER, .apply = store_build_driver, .what = "a driver name",
     .help = "the build driver (see 'fahr plugins'); none for a train driver that runs the "
             "source itself"},
    {.name = "--train-driver", .form = OPTION_VALUED, .shown_arg = "=NAME",
     .needs = OPT_TRAIN_DRIVER, .apply = store_train_driver, .what = "a driver name",
     .help = "the train driver (see 'fahr plugins')",
     .help_for = {{"status logs stop",
                   "the train driver (see 'fahr plugins'); default: the one the job index "
                   "recorded for JOB, else sagemaker"},
                  {"fetch", "the train driver (see 'fahr plugins'); default: the one the job "
                            "index recorded for the image's newest job, else sagemaker"},
                  {"jobs", "the train driver (see 'fahr plugins'); default: sagemaker"}}},
    {.name = "--config.", .form = OPTION_PREFIXED, .shown_arg = "KEY=VALUE", .needs = OPT_CONFIG,
     .apply = store_config, .key_is_valid = config_key_is_valid,
     .bad_key = "a config key is lower case letters, digits and _",
     .help = "a driver setting, also --config.KEY VALUE; 'fahr help DRIVER' lists a driver's "
             "keys"},
    {.name = "--overwrite", .form = OPTION_FLAG, .needs = OPT_OVERWRITE, .apply = set_overwrite,
     .help = "write Dockerfile and run.sh anew, replacing edited ones",
     .help_for = {{"fetch", "replace files of LOCAL_DIR that the model has too"}}},
    {.name = "--hp.", .form = OPTION_PREFIXED, .shown_arg = "KEY=VALUE",
     .needs = OPT_TRAINING_INPUTS, .apply = store_hyperparameter,
     .key_is_valid = hyperparameter_name_is_valid, .bad_key = "a hyperparameter needs a name",
     .help = "a hyperparameter for the job (repeatable)"},
    {.name = "--input", .form = OPTION_VALUED, .shown_arg = " NAME=SOURCE",
     .needs = OPT_TRAINING_INPUTS, .apply = store_input, .what = "NAME=SOURCE",
     .help = "an input data channel: an s3:// prefix or a local file or directory "
             "(repeatable)"},
    {.name = "--no-wait", .form = OPTION_FLAG, .needs = OPT_NO_WAIT, .apply = set_no_wait,
     .help = "return once the job is submitted"},
    {.name = "--dry-run", .form = OPTION_FLAG, .needs = OPT_DRY_RUN, .apply = set_dry_run,
     .help = "check everything and say what the job would run on and cost; build, push, "
             "upload and submit nothing",
     .help_for = {{"prune", "list what would be removed; remove nothing"}}},
    {.name = "--older-than", .form = OPTION_VALUED, .shown_arg = " DURATION",
     .needs = OPT_OLDER_THAN, .apply = store_older_than, .what = "a duration (30m, 12h, 7d, 2w)",
     .help = "keep what is younger than DURATION: a number and m, h, d or w (30m, 12h, 7d, "
             "2w)"},
    {.name = "--registry", .form = OPTION_FLAG, .needs = OPT_REGISTRY, .apply = set_registry,
     .help = "also remove the image tags the train drivers pushed to their registries that no "
             "job needs (the sagemaker driver: ECR)"},
    {.name = "--fetch", .form = OPTION_VALUED, .shown_arg = " DIR", .needs = OPT_FETCH,
     .apply = store_fetch_dir, .what = "a directory",
     .help = "when the job completes, fetch its model into DIR"},
    {.name = "--fetch-overwrite", .form = OPTION_FLAG, .needs = OPT_FETCH,
     .apply = set_fetch_overwrite,
     .help = "with --fetch: replace files of DIR that the model has too (the build files are "
             "kept)"},
    {.short_name = "-f", .name = "--follow", .form = OPTION_FLAG, .needs = OPT_FOLLOW,
     .apply = set_follow, .help = "keep printing until the job ends"},
    {.name = "--profile", .form = OPTION_VALUED, .shown_arg = " NAME", .apply = store_profile,
     .what = "a profile name",
     .help = "the profile of the config file whose defaults to use (default: $FAHR_PROFILE)"},
    {.name = "--state", .form = OPTION_VALUED, .shown_arg = "=STATE", .needs = OPT_JOBS_FILTER,
     .apply = store_state, .what = "a job state",
     .help = "only jobs in STATE: pending, running, completed, failed or stopped"},
    {.name = "--limit", .form = OPTION_VALUED, .shown_arg = "=N", .needs = OPT_JOBS_FILTER,
     .apply = store_limit, .what = "a number", .help = "only the N most recent jobs"},
    {.short_name = "-o", .name = "--output", .form = OPTION_VALUED, .shown_arg = "=FORM",
     .needs = OPT_OUTPUT, .apply = store_output, .what = "text or json",
     .help = "text (the default) or json: one JSON object a line, as the README's \"Output "
             "for scripts\" describes"},
    {.name = "--plugin-dir", .form = OPTION_VALUED, .shown_arg = " DIR", .apply = store_plugin_dir,
     .what = "a directory", .help = "look for driver plugins in DIR first (repeatable)"},
    {.short_name = "-q", .name = "--quiet", .form = OPTION_FLAG, .apply = set_quiet,
     .help = "print only results and errors"},
    {.short_name = "-v", .name = "--verbose", .form = OPTION_FLAG, .apply = set_verbose,
     .help = "also print debug lines and all live output"},
    {.short_name = "-h", .name = "--help", .form = OPTION_FLAG, .apply = set_help,
     .help = "show help"},
    {.name = "--version", .form = OPTION_FLAG, .apply = print_version,
     .help = "print the version and plugin ABI"},
};
#define OPTION_COUNT (sizeof options / sizeof options[0])

static bool takes(const struct command *command, const struct option_spec *option)
{
    return option->needs == 0 || (command != NULL && (command->options & option->needs));
}

static bool name_in_list(const char *name, const char *list)
{
    size_t len = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += len)
        if ((p == list || p[-1] == ' ') && (p[len] == '\0' || p[len] == ' '))
            return true;
    return false;
}

static const char *option_help(const struct option_spec *option, const struct command *command)
{
    for (size_t i = 0; i < sizeof option->help_for / sizeof option->help_for[0]; i++)
        if (command != NULL && option->help_for[i].commands != NULL &&
            name_in_list(command->name, option->help_for[i].commands))
            return option->help_for[i].help;
    return option->help;
}

/* ---- the tables, for completion (cmd_completion.c) and --help (help.c) ---- */

const struct command *command_at(size_t i)
{
    return i < sizeof commands / sizeof commands[0] ? &commands[i] : NULL;
}

size_t command_options(const struct command *command, struct option_info *out, size_t max)
{
    size_t count = 0;
    for (size_t i = 0; i < OPTION_COUNT && count < max; i++) {
        if (!takes(command, &options[i]))
            continue;
        out[count++] = (struct option_info){options[i].short_name, options[i].name,
                                            options[i].shown_arg, options[i].needs,
                                            options[i].form != OPTION_FLAG,
                                            options[i].form == OPTION_PREFIXED,
                                            option_help(&options[i], command)};
    }
    return count;
}

/* ---- parsing ---- */

/* "--name=value" or "--name value": the value, advancing *i for the second. */
static const char *option_value(int argc, char **argv, int *i, const char *name)
{
    if (name == NULL)
        return NULL;
    size_t len = strlen(name);
    if (strncmp(argv[*i], name, len) == 0 && argv[*i][len] == '=')
        return argv[*i] + len + 1;
    if (strcmp(argv[*i], name) == 0 && *i + 1 < argc)
        return argv[++*i];
    return NULL;
}

static bool option_matches(const struct option_spec *option, const char *arg)
{
    size_t len = strlen(option->name);
    switch (option->form) {
    case OPTION_FLAG:
        return strcmp(arg, option->name) == 0 ||
               (option->short_name != NULL && strcmp(arg, option->short_name) == 0);
    case OPTION_VALUED:
        if (option->short_name != NULL && strcmp(arg, option->short_name) == 0)
            return true; /* "-o json" */
        return strncmp(arg, option->name, len) == 0 && (arg[len] == '\0' || arg[len] == '=');
    case OPTION_PREFIXED:
        return strncmp(arg, option->name, len) == 0;
    }
    return false;
}

static const struct option_spec *find_option(const struct command *command, const char *arg)
{
    for (size_t i = 0; i < OPTION_COUNT; i++)
        if (takes(command, &options[i]) && option_matches(&options[i], arg))
            return &options[i];
    return NULL;
}

/* "--prefix.KEY=VALUE" or "--prefix.KEY VALUE" (advancing *i for the
 * second): the key is checked, cut at its end (argv is ours to cut) and
 * applied with its value. */
static int take_prefixed(const struct option_spec *option, int argc, char **argv, int *i,
                         struct cli *cli)
{
    char *arg = argv[*i];
    char *key = arg + strlen(option->name);
    size_t key_len = strcspn(key, "=");
    if (!option->key_is_valid(key, key_len))
        return usage_error(cli->command, "'%s': %s", arg, option->bad_key);
    const char *value = key[key_len] == '=' ? key + key_len + 1 : NULL;
    if (value == NULL && *i + 1 < argc)
        value = argv[++*i];
    if (value == NULL)
        return usage_error(cli->command, "%s needs a value", arg);
    key[key_len] = '\0';
    return option->apply(cli, key, value);
}

static int take_option(const struct option_spec *option, int argc, char **argv, int *i,
                       struct cli *cli)
{
    const char *value = NULL;
    switch (option->form) {
    case OPTION_FLAG:
        break;
    case OPTION_VALUED:
        value = option_value(argc, argv, i, option->name);
        if (value == NULL)
            value = option_value(argc, argv, i, option->short_name);
        if (value == NULL || !value[0])
            return usage_error(cli->command, "%s needs %s", option->name, option->what);
        break;
    case OPTION_PREFIXED:
        return take_prefixed(option, argc, argv, i, cli);
    }
    return option->apply(cli, NULL, value);
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
    const char *names[2 * OPTION_COUNT];
    size_t count = 0;
    for (size_t i = 0; i < OPTION_COUNT; i++) {
        if (!takes(cmd, &options[i]))
            continue;
        names[count++] = options[i].name;
        if (options[i].short_name != NULL)
            names[count++] = options[i].short_name;
    }
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
        if (strcmp(arg, "--") == 0) {
            options_done = true;
            continue;
        }
        const struct option_spec *option = find_option(cli->command, arg);
        if (option == NULL)
            return unknown_option(cli->command, arg);
        int rc = take_option(option, argc, argv, &i, cli);
        if (rc != GO_ON)
            return rc;
    }
    return GO_ON;
}

int main(int argc, char **argv)
{
    /* A reader that goes away (fahr jobs | head) makes a write fail with
     * EPIPE instead of killing fahr, which may be in the middle of a fetch. */
    signal(SIGPIPE, SIG_IGN);
    /* The completion scripts' call back: its words are the line being
     * completed, not options of fahr's own. */
    if (argc >= 2 && strcmp(argv[1], COMPLETE_COMMAND) == 0)
        return complete_words(argc - 2, argv + 2);
    struct cli cli;
    memset(&cli, 0, sizeof cli);
    cli.verbosity = VERBOSITY_NORMAL;
    cli.config = config_new();

    int rc = parse(argc, argv, &cli);
    if (rc == GO_ON) {
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
        } else if ((cli.command->options & OPT_CONFIG) &&
                   (rc = user_defaults_load(&cli)) != FAHR_EXIT_OK) {
            /* said */
        } else {
            host_catch_signals();
            rc = cli.command->run(&cli);
        }
    }
    /* However the command ended, Ctrl-C included (the handler only sets a
     * flag, so the command returns here). */
    scratch_remove();
    free(cli.args);
    free(cli.plugin_dirs);
    free(cli.hyperparameters);
    free(cli.inputs);
    config_free(cli.config);
    user_config_free(cli.user_config);
    free(cli.build_driver_origin);
    free(cli.train_driver_origin);
    if (fflush(stdout) != 0 && rc == FAHR_EXIT_OK) {
        if (errno != EPIPE) /* a reader that went away knows */
            perror("fahr: cannot write the result");
        rc = FAHR_EXIT_FAILED;
    }
    return rc;
}
