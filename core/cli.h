/* core/cli.h: the parsed command line, shared by main.c and the commands. */
#ifndef FAHR_CLI_H
#define FAHR_CLI_H

#include <stdio.h>

#include "fahr.h"

struct user_config;

/* Options a command may take: its `options` bits in main.c's command table, each
 * the `needs` of entries of main.c's option table (which --help is made from). */
enum cli_option {
    OPT_BUILD_DRIVER = 1u << 0,
    OPT_TRAIN_DRIVER = 1u << 1,
    OPT_CONFIG = 1u << 2,
    OPT_OVERWRITE = 1u << 3,
    OPT_NO_WAIT = 1u << 4,
    OPT_FOLLOW = 1u << 5,
    OPT_TRAINING_INPUTS = 1u << 6, /* --hp.KEY=VALUE, --input NAME=SOURCE */
    OPT_FETCH = 1u << 7,
    OPT_DRY_RUN = 1u << 8,
    OPT_OLDER_THAN = 1u << 9,
    OPT_OUTPUT = 1u << 10,     /* --output text|json */
    OPT_JOBS_FILTER = 1u << 11, /* --limit N, --state STATE */
    OPT_REGISTRY = 1u << 12    /* prune --registry */
};

struct cli {
    const struct command *command;
    char **args;                 /* positional arguments after the command */
    size_t arg_count;
    char **plugin_dirs;          /* --plugin-dir, in order */
    size_t plugin_dir_count;
    const char *build_driver;
    const char *train_driver;
    struct fahr_config *config;  /* raw --config.KEY values */
    bool overwrite;              /* init, build, fit: the build files; fetch: the model's */
    bool fetch_overwrite;        /* fit --fetch: the model's files */
    bool no_wait;
    bool dry_run;                /* fit: check and plan, build and submit nothing */
    bool follow;
    const char *older_than;      /* prune --older-than DURATION, unchecked */
    bool registry;               /* prune --registry: remote image tags too */
    const char *fetch_dir;       /* fit --fetch DIR */
    struct fahr_hyperparameter *hyperparameters; /* borrowed from argv */
    size_t hyperparameter_count;
    char **inputs;               /* raw NAME=SOURCE, from argv */
    size_t input_count;
    bool help;
    enum verbosity verbosity;
    long job_limit;              /* jobs --limit N; 0: all */
    bool state_filter;           /* jobs --state STATE */
    enum fahr_job_state state;
    /* The job index's entry of the job a command names (used where no
     * --train-driver is given); its keys fill in those not given. */
    struct job_record *recorded;
    bool job_indexed;            /* the job is in the index: hints need no driver */
    const char *profile;         /* --profile NAME (else $FAHR_PROFILE) */
    struct user_config *user_config; /* the user's config file (user_defaults.c) */
    /* "PATH:LINE" where a driver came from the config file, else NULL */
    char *build_driver_origin, *train_driver_origin;
};

struct command {
    const char *name;
    int (*run)(struct cli *cli);
    const char *usage;       /* after "fahr NAME " */
    const char *summary;     /* one line */
    unsigned options;        /* enum cli_option bits */
    size_t min_args, max_args;
};

int cmd_init(struct cli *cli);
int cmd_build(struct cli *cli);
int cmd_fit(struct cli *cli);
int cmd_plugins(struct cli *cli);
int cmd_help(struct cli *cli);
int cmd_fetch(struct cli *cli);
int cmd_status(struct cli *cli);
int cmd_logs(struct cli *cli);
int cmd_stop(struct cli *cli);
int cmd_jobs(struct cli *cli);
int cmd_config(struct cli *cli);

/* user_defaults.c: the user's config file (user_config.h) as the defaults
 * of the command line. load reads it and checks the chosen profile (a
 * missing file is no error); driver gives the [defaults] (or profile's)
 * build-driver or train-driver and records where it came from; fill_keys
 * checks the chosen drivers' sections against their keys and fills in the
 * keys neither the command line nor their environment variables gave.
 * Each prints its error and returns an exit code. */
int user_defaults_load(struct cli *cli);
const char *user_defaults_driver(struct cli *cli, const char *which);
int user_defaults_fill_keys(struct cli *cli, const struct fahr_config_key2 *const *tables,
                            const char *const *owners, size_t ntables);
int cmd_completion(struct cli *cli);

/* cmd_completion.c: `fahr __complete WORD... CURRENT`, which the completion
 * scripts run: the candidates for CURRENT, one a line, made from main.c's
 * tables and the drivers' keys; ":files" or ":dirs" asks the shell for
 * paths. Not in the command table, so not in --help. */
#define COMPLETE_COMMAND "__complete"
int complete_words(int count, char **words);
int cmd_prune(struct cli *cli);

/* inputs.c: check --hp and --input values for the syntax every driver
 * shares (a service's limits are its driver's, in check()) and turn the
 * inputs into channels: a source with a URI scheme as it is, any other a
 * local path that must exist, made absolute. Prints the error and returns an
 * exit code. Free `channels` with inputs_free(). */
int inputs_prepare(const struct cli *cli, struct fahr_channel **channels);
void inputs_free(struct fahr_channel *channels, size_t count);

/* cmd_jobs.c: fetch a job's model into dir (made if missing, removed again
 * on failure), replacing files there only if `overwrite`; fit --fetch
 * shares it. The directory's absolute path goes into `fetched`. */
int fetch_job_model(struct cli *cli, struct plugin *train, const char *job_id,
                    const char *artifact, const char *dir, bool overwrite, char *fetched,
                    size_t fetched_size);

/* cmd_jobs.c: "--train-driver=NAME " for a printed follow-up command, or
 * "" where the job index knows the job (cli->job_indexed). */
const char *hint_driver_option(const struct cli *cli, const struct plugin *train, char *out,
                               size_t size);

/* cmd_jobs.c: follow a job until it ends, its log lines to `log_out`, and
 * (show_status) each state change on stderr. Where the model is, once known,
 * goes into `artifact_uri` (may be NULL). Returns the exit code. */
int follow_job(struct cli *cli, struct plugin *train, const char *job_id, FILE *log_out,
               bool show_status, char *artifact_uri, size_t artifact_uri_size);

/* cmd_jobs.c: a job state's name as fahr shows it ("running"), and back;
 * JOB_STATE_NAMES lists them for a usage error. */
const char *job_state_name(enum fahr_job_state state);
bool job_state_from_name(const char *name, enum fahr_job_state *state);
#define JOB_STATE_NAMES "pending, running, completed, failed, stopped"

/* output_json.c: --output json, one JSON object a line on stdout, each with
 * "schema": OUTPUT_SCHEMA and a "type". Objects are jansson's (json_t);
 * output_write() writes one and releases it, -1 where stdout failed. */
enum output_form { OUTPUT_TEXT, OUTPUT_JSON };
#define OUTPUT_SCHEMA "fahr/1"
struct json_t;
void output_set_form(enum output_form chosen);
bool output_is_json(void);
struct json_t *output_object(const char *type);
/* Any bytes as a JSON string (invalid UTF-8 becomes U+FFFD); NULL: null. */
struct json_t *output_string(const char *text, size_t length);
void output_set_string(struct json_t *object, const char *key, const char *value);
void output_set_text(struct json_t *object, const char *key, const char *value); /* "": null */
void output_set_int(struct json_t *object, const char *key, long long value);
int output_write(struct json_t *object);
/* fit's events, rendered as text (as fahr always printed them) or JSON:
 * built and pushed (JSON only), submitted (the job id on stdout), each state
 * change and the model (stderr), each log line (to text_out), and done (the
 * fetched model's directory on stdout, if any). */
void event_built(const char *image, const char *driver);
void event_pushed(const char *image, const char *driver);
void event_submitted(const char *job_id, const char *driver);
void event_job_state(const char *job_id, const char *state, const char *detail,
                     const char *reason);
int event_log_line(FILE *text_out, const char *job_id, const char *line, size_t length);
void event_model(const char *model);
void event_done(int exit_code, const char *model_dir);

/* job_index.c: the jobs fahr started, in the user's state directory. */
struct job_record {
    char driver[128];
    char image_name[512];
    int64_t created;            /* Unix time of the submit */
    struct fahr_config *config; /* the recorded keys, raw */
};
/* Record a job: its driver, image and the driver's FAHR_CONFIG_JOB keys
 * (never FAHR_CONFIG_SECRET ones). */
int job_index_add(const char *job_id, const struct plugin *train, const char *image_name,
                  const struct fahr_config *config, struct fahr_error *err);
/* The entry of `job_id`, if there is a usable one (a corrupt one is warned
 * about); free it with job_record_free(). */
bool job_index_find(const char *job_id, struct job_record *record);
/* The newest job of an image (untagged) in the index, for fetch. */
bool job_index_find_newest_of_image(const char *image_name, struct job_record *record);
void job_record_free(struct job_record *record);

/* main.c */
/* The command table's i-th entry, NULL past its end. */
const struct command *command_at(size_t i);
/* An option of main.c's table as completion sees it. */
struct option_info {
    const char *short_name; /* "-f", or NULL */
    const char *name;       /* "--follow"; a prefixed one's ends in '.' */
    const char *shown_arg;  /* "=NAME", " DIR", "KEY=VALUE", or NULL */
    unsigned needs;         /* enum cli_option bit; 0: every command */
    bool takes_value;
    bool prefixed;          /* --name.KEY=VALUE */
    const char *help;       /* one line, in the command's own wording */
};
/* The options `command` takes (NULL: those every command takes), at most
 * `max`, in the table's order. */
size_t command_options(const struct command *command, struct option_info *out, size_t max);
/* help.c */
void print_main_help(FILE *out);
void print_command_help(const struct command *command, FILE *out);
const struct command *find_command(const char *name);

/* drivers.c: what the commands share */
struct drivers {
    struct plugin_set set;
    struct plugin *build;   /* NULL when the command takes none */
    struct plugin *train;
};
/* Load plugins, pick the named drivers of the right kinds, check the config
 * against their keys and open them. Beside a train driver that runs the
 * source (FAHR_TRAIN_SOURCE) no build driver is picked, even with
 * need_build, and a --build-driver is refused. Prints the error and returns
 * an exit code on failure. */
/* Which drivers' required keys a command needs set. */
enum required_keys { REQUIRED_NONE = 0, REQUIRED_BUILD = 1, REQUIRED_ALL = 2 };
int drivers_prepare(struct cli *cli, struct drivers *drivers, bool need_build, bool need_train,
                    enum required_keys required);
void drivers_release(struct drivers *drivers);
/* Resolve PATH to an absolute artifact path (.py or .ipynb) and its
 * directory and image name. Prints the error and returns an exit code. */
struct artifact {
    char path[4096];
    char dir[4096];
    char image_name[256];
};
int artifact_resolve(const char *path, struct artifact *artifact);
/* Print "fahr: <driver>: <message>" and map a FAHR_E* status to an exit code. */
int report_driver_error(const struct plugin *plugin, int status, const struct fahr_error *err);
void print_driver_keys(const struct plugin *plugin, FILE *out);
/* The same keys as a JSON array, for --output json. */
struct json_t *driver_keys_json(const struct plugin *plugin);
/* cmd_build.c: build with the chosen build driver (used by build and fit),
 * described into `image` (build2, or build() for a 1.0 driver). */
int build_image(struct cli *cli, struct drivers *drivers, const struct artifact *artifact,
                struct fahr_image *image);

#endif
