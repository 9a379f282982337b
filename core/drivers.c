/* core/drivers.c: what init, build and fit share: the artifact, the chosen
 * drivers and their checked configuration. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <jansson.h>

#include "cli.h"

int report_driver_error(const struct plugin *plugin, int status, const struct fahr_error *err)
{
    const char *message = err->message[0] ? err->message : "failed";
    if (plugin != NULL)
        host_error("%s: %s", plugin->desc.name, message);
    else
        host_error("%s", message);
    switch (status) {
    case FAHR_EINVAL:
        return FAHR_EXIT_USAGE;
    case FAHR_EINTERRUPTED:
        return FAHR_EXIT_INTERRUPTED;
    default:
        return FAHR_EXIT_FAILED;
    }
}

/* `origin`: where the config file named the driver ("PATH:LINE: which"),
 * else NULL for the command line. */
static int pick(struct plugin_set *set, const char *name, enum fahr_driver_kind kind,
                const char *option, const char *origin, struct plugin **out)
{
    if (origin != NULL)
        option = origin;
    if (name == NULL) {
        host_error("%s=NAME is required (or %s in the config file's [defaults]); 'fahr "
                   "plugins' lists the drivers",
                   option, option + 2);
        return FAHR_EXIT_USAGE;
    }
    struct plugin *plugin = plugins_find_kind(set, kind, name);
    struct plugin *other = plugin ? NULL : plugins_find(set, name);
    if (other != NULL) {
        host_error("'%s' is a %s driver; %s needs a %s driver", name,
                   driver_kind_name(other->desc.kind), option, driver_kind_name(kind));
        return FAHR_EXIT_USAGE;
    }
    if (plugin == NULL) {
        char known[512] = "";
        const char *names[64];
        size_t used = 0, count = 0;
        for (size_t i = 0; i < set->count && used < sizeof known; i++) {
            if (set->items[i].desc.kind != kind)
                continue;
            used += (size_t)snprintf(known + used, sizeof known - used, "%s%s",
                                     used ? ", " : "", set->items[i].desc.name);
            if (count < sizeof names / sizeof names[0])
                names[count++] = set->items[i].desc.name;
        }
        const char *near = suggest_nearest(name, names, count);
        const char *from = origin != NULL ? origin : "", *colon = origin != NULL ? ": " : "";
        if (near != NULL)
            host_error("%s%sno %s driver named '%s'; did you mean '%s'? found: %s", from, colon,
                       driver_kind_name(kind), name, near, known);
        else
            host_error("%s%sno %s driver named '%s'; found: %s", from, colon,
                       driver_kind_name(kind), name, known[0] ? known : "none (see 'fahr plugins')");
        return FAHR_EXIT_USAGE;
    }
    *out = plugin;
    return FAHR_EXIT_OK;
}

/* What a train driver runs is in its record: a driver of the artifact's
 * source takes no build driver, so none is picked (and its keys stay
 * unknown). Returns FAHR_EXIT_OK to go on and pick the build driver, -1 to
 * go on without one, or an exit code. */
static int refuse_build_for_source(const struct cli *cli, const struct plugin *train)
{
    if (train->record.train_input != FAHR_TRAIN_SOURCE)
        return FAHR_EXIT_OK;
    if (cli->build_driver != NULL) {
        host_error("the %s driver runs the artifact's source; it takes no --build-driver",
                   train->desc.name);
        return FAHR_EXIT_USAGE;
    }
    return -1;
}

/* --hp and --input for a driver that declared it takes none, refused before
 * anything is loaded or built. */
static int refuse_unwanted_inputs(const struct cli *cli, const struct plugin *train)
{
    uint32_t flags = train->record.train_flags;
    if (cli->hyperparameter_count > 0 && (flags & FAHR_TRAIN_NO_HYPERPARAMETERS)) {
        host_error("the %s driver takes no hyperparameters; drop --hp.%s", train->desc.name,
                   cli->hyperparameters[0].key);
        return FAHR_EXIT_USAGE;
    }
    if (cli->input_count > 0 && (flags & FAHR_TRAIN_NO_CHANNELS)) {
        host_error("the %s driver takes no input channels; drop --input %s", train->desc.name,
                   cli->inputs[0]);
        return FAHR_EXIT_USAGE;
    }
    return FAHR_EXIT_OK;
}

/* The keys recorded with the job, where the driver still marks them
 * FAHR_CONFIG_JOB and the command line did not give them. */
static void fill_in_recorded_keys(struct cli *cli, const struct plugin *train)
{
    for (const struct fahr_config_key2 *k = train->record.keys; k && k->name; k++) {
        const char *value = config_get(cli->recorded->config, k->name);
        if ((k->flags & FAHR_CONFIG_JOB) && value != NULL && config_get(cli->config, k->name) == NULL)
            config_set(cli->config, k->name, value);
    }
}

int drivers_prepare(struct cli *cli, struct drivers *drivers, bool need_build, bool need_train,
                    enum required_keys required)
{
    memset(drivers, 0, sizeof *drivers);
    plugins_search_path(&drivers->set, cli->plugin_dirs, cli->plugin_dir_count);
    plugins_load(&drivers->set);

    int rc;
    if (need_train && cli->train_driver == NULL)
        cli->train_driver = user_defaults_driver(cli, "train-driver");
    if (need_train || cli->train_driver != NULL)
        if ((rc = pick(&drivers->set, cli->train_driver, FAHR_DRIVER_TRAIN, "--train-driver",
                       cli->train_driver_origin, &drivers->train)) != FAHR_EXIT_OK)
            return rc;
    if (drivers->train != NULL && (rc = refuse_unwanted_inputs(cli, drivers->train)) != FAHR_EXIT_OK)
        return rc;
    if (cli->recorded != NULL && drivers->train != NULL)
        fill_in_recorded_keys(cli, drivers->train);
    bool wants_build = need_build || cli->build_driver != NULL;
    if (wants_build && drivers->train != NULL) {
        if ((rc = refuse_build_for_source(cli, drivers->train)) > 0)
            return rc;
        wants_build = rc == FAHR_EXIT_OK;
    }
    /* The file's build driver only where one is wanted: beside a driver
     * of the source it is not refused, just not used. */
    if (wants_build && cli->build_driver == NULL)
        cli->build_driver = user_defaults_driver(cli, "build-driver");
    if (wants_build)
        if ((rc = pick(&drivers->set, cli->build_driver, FAHR_DRIVER_BUILD, "--build-driver",
                       cli->build_driver_origin, &drivers->build)) != FAHR_EXIT_OK)
            return rc;

    const struct fahr_config_key2 *tables[2];
    const char *owners[2];
    size_t ntables = 0;
    unsigned required_tables = 0;
    struct plugin *chosen[2] = {drivers->build, drivers->train};
    for (size_t i = 0; i < 2; i++) {
        if (chosen[i] == NULL)
            continue;
        /* init writes build files alone: a train driver named beside it
         * has its keys checked, but none of them is needed yet. */
        if (required == REQUIRED_ALL || (required == REQUIRED_BUILD && i == 0))
            required_tables |= 1u << ntables;
        tables[ntables] = chosen[i]->record.keys;
        owners[ntables++] = chosen[i]->desc.name;
    }
    if ((rc = user_defaults_fill_keys(cli, tables, owners, ntables)) != FAHR_EXIT_OK)
        return rc;
    struct fahr_error err = {{0}};
    if (config_validate(cli->config, tables, owners, ntables, required_tables, &err) != FAHR_OK) {
        host_error("%s", err.message);
        return FAHR_EXIT_USAGE;
    }
    /* Both are loaded before either is opened: a rescan forks, and an open
     * driver may have started threads. */
    for (size_t pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < 2; i++) {
            if (chosen[i] == NULL)
                continue;
            int status = pass == 0 ? plugin_activate(chosen[i], &err)
                                   : plugin_open(chosen[i], &err);
            if (status != FAHR_OK)
                return report_driver_error(NULL, status, &err);
        }
    return FAHR_EXIT_OK;
}

void drivers_release(struct drivers *drivers)
{
    plugins_unload(&drivers->set);
}

/* What a key's value looks like, for help. */
static const char *value_form(const struct fahr_config_key2 *key, char *out, size_t size)
{
    static const char *const type_names[] = {"",     "string", "integer",
                                             "true|false", "path", "image",
                                             "s3://bucket/prefix", "http(s)://host[:port][/path]"};
    unsigned type = (unsigned)key->type;
    if (key->type == FAHR_CONFIG_URI)
        snprintf(out, size, "%s://...", key->scheme ? key->scheme : "scheme");
    else
        snprintf(out, size, "%s",
                 type < sizeof type_names / sizeof type_names[0] ? type_names[type] : "value");
    return out;
}

void print_driver_keys(const struct plugin *plugin, FILE *out)
{
    const struct fahr_config_key2 *key = plugin->record.keys;
    if (key == NULL || key->name == NULL) {
        fputs("    (no config keys)\n", out);
        return;
    }
    for (; key->name != NULL; key++) {
        char form[64];
        bool secret = (key->flags & FAHR_CONFIG_SECRET) != 0;
        fprintf(out, "    --config.%s=<%s>%s\n        %s", key->name,
                value_form(key, form, sizeof form),
                (key->flags & FAHR_CONFIG_REQUIRED) ? "  (required)" : "",
                key->help ? key->help : "");
        const char *fallback = key->default_value == NULL ? NULL
                               : secret                   ? "(secret)"
                                                          : key->default_value;
        if (key->default_env != NULL)
            fprintf(out, " [default: $%s%s%s]", key->default_env, fallback ? ", else " : "",
                    fallback ? fallback : "");
        else if (fallback != NULL)
            fprintf(out, " [default: %s]", fallback);
        fputc('\n', out);
    }
}

/* A driver's keys for --output json: what print_driver_keys() shows, as
 * fields; a secret key's default stays hidden. */
struct json_t *driver_keys_json(const struct plugin *plugin)
{
    json_t *keys = json_array();
    for (const struct fahr_config_key2 *key = plugin->record.keys; key && key->name; key++) {
        char form[64];
        bool secret = (key->flags & FAHR_CONFIG_SECRET) != 0;
        json_t *object = json_object();
        output_set_string(object, "name", key->name);
        output_set_string(object, "value", value_form(key, form, sizeof form));
        json_object_set_new(object, "required",
                            json_boolean((key->flags & FAHR_CONFIG_REQUIRED) != 0));
        json_object_set_new(object, "secret", json_boolean(secret));
        output_set_string(object, "help", key->help);
        output_set_string(object, "default", secret ? NULL : key->default_value);
        output_set_string(object, "default_env", key->default_env);
        json_array_append_new(keys, object);
    }
    return keys;
}
