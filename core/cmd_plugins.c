/* core/cmd_plugins.c: `fahr plugins` and `fahr help`. */
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

/* A driver as a JSON object of `type` ("plugin", "driver"), keys and all. */
static json_t *plugin_json(const char *type, const struct plugin *plugin)
{
    char abi[32];
    snprintf(abi, sizeof abi, "%u.%u", FAHR_ABI_VERSION_MAJOR(plugin->desc.abi_version),
             FAHR_ABI_VERSION_MINOR(plugin->desc.abi_version));
    json_t *object = output_object(type);
    output_set_string(object, "name", plugin->desc.name);
    output_set_string(object, "kind", driver_kind_name(plugin->desc.kind));
    output_set_text(object, "version", plugin->desc.version);
    output_set_string(object, "abi", abi);
    output_set_string(object, "path", plugin->path);
    output_set_text(object, "description", plugin->desc.description);
    json_object_set_new(object, "keys", driver_keys_json(plugin));
    return object;
}

/* A shadowed or skipped plugin: where, and why. */
static void print_passed_over_json(const char *type, const char *path, const char *reason)
{
    json_t *object = output_object(type);
    output_set_string(object, "path", path);
    output_set_string(object, "reason", reason);
    output_write(object);
}

/* plugins --output json: one object a driver, then the shadowed and the
 * skipped ones, then (-v) the search path. */
static void print_plugins_json(const struct plugin_set *set, bool verbose)
{
    for (size_t i = 0; i < set->count; i++)
        output_write(plugin_json("plugin", &set->items[i]));
    for (size_t i = 0; i < set->shadowed_count; i++)
        print_passed_over_json("shadowed", set->shadowed[i].path, set->shadowed[i].reason);
    for (size_t i = 0; i < set->skipped_count; i++)
        print_passed_over_json("skipped", set->skipped[i].path, set->skipped[i].reason);
    for (size_t i = 0; verbose && i < set->dir_count; i++) {
        json_t *object = output_object("search_dir");
        output_set_string(object, "path", set->dirs[i]);
        output_write(object);
    }
}

static void print_plugin_line(const struct plugin *plugin, FILE *out)
{
    fprintf(out, "%-16s %-6s %-10s %u.%-4u %s\n", plugin->desc.name,
            driver_kind_name(plugin->desc.kind),
            plugin->desc.version ? plugin->desc.version : "-",
            FAHR_ABI_VERSION_MAJOR(plugin->desc.abi_version),
            FAHR_ABI_VERSION_MINOR(plugin->desc.abi_version), plugin->path);
}

int cmd_plugins(struct cli *cli)
{
    struct plugin_set set;
    memset(&set, 0, sizeof set);
    plugins_search_path(&set, cli->plugin_dirs, cli->plugin_dir_count);
    plugins_load(&set);
    if (output_is_json()) {
        print_plugins_json(&set, cli->verbosity == VERBOSITY_VERBOSE);
        plugins_unload(&set);
        return FAHR_EXIT_OK;
    }

    printf("%-16s %-6s %-10s %-6s %s\n", "NAME", "KIND", "VERSION", "ABI", "PATH");
    for (size_t i = 0; i < set.count; i++) {
        print_plugin_line(&set.items[i], stdout);
        if (cli->verbosity == VERBOSITY_VERBOSE) {
            printf("    %s\n", set.items[i].desc.description ? set.items[i].desc.description : "");
            print_driver_keys(&set.items[i], stdout);
        }
    }
    if (set.shadowed_count > 0) {
        printf("\nshadowed (an earlier directory has a driver of the same name):\n");
        for (size_t i = 0; i < set.shadowed_count; i++)
            printf("  %s: %s\n", set.shadowed[i].path, set.shadowed[i].reason);
    }
    if (set.skipped_count > 0) {
        printf("\nskipped:\n");
        for (size_t i = 0; i < set.skipped_count; i++)
            printf("  %s: %s\n", set.skipped[i].path, set.skipped[i].reason);
    }
    if (cli->verbosity == VERBOSITY_VERBOSE) {
        printf("\nsearch path:\n");
        for (size_t i = 0; i < set.dir_count; i++)
            printf("  %s\n", set.dirs[i]);
    }
    plugins_unload(&set);
    return FAHR_EXIT_OK;
}

int cmd_help(struct cli *cli)
{
    if (cli->arg_count == 0 && output_is_json()) {
        host_error("help --output json needs a COMMAND or DRIVER (see 'fahr help help')");
        return FAHR_EXIT_USAGE;
    }
    if (cli->arg_count == 0) {
        print_main_help(stdout);
        return FAHR_EXIT_OK;
    }
    const char *topic = cli->args[0];
    const struct command *command = find_command(topic);
    if (command != NULL && output_is_json()) {
        json_t *object = output_object("command");
        output_set_string(object, "name", command->name);
        output_set_string(object, "usage", command->usage);
        output_set_string(object, "summary", command->summary);
        output_write(object);
        return FAHR_EXIT_OK;
    }
    if (command != NULL) {
        print_command_help(command, stdout);
        return FAHR_EXIT_OK;
    }
    struct plugin_set set;
    memset(&set, 0, sizeof set);
    plugins_search_path(&set, cli->plugin_dirs, cli->plugin_dir_count);
    plugins_load(&set);
    int rc = FAHR_EXIT_USAGE;
    /* A build and a train driver may share the name: both are shown. */
    for (size_t i = 0; i < set.count; i++) {
        struct plugin *plugin = &set.items[i];
        if (strcmp(plugin->desc.name, topic) != 0)
            continue;
        if (output_is_json()) {
            output_write(plugin_json("driver", plugin));
            rc = FAHR_EXIT_OK;
            continue;
        }
        printf("%s%s: %s driver %s\n  %s\n  from %s\n\nConfig keys:\n",
               rc == FAHR_EXIT_OK ? "\n" : "", plugin->desc.name,
               driver_kind_name(plugin->desc.kind),
               plugin->desc.version ? plugin->desc.version : "",
               plugin->desc.description ? plugin->desc.description : "", plugin->path);
        print_driver_keys(plugin, stdout);
        rc = FAHR_EXIT_OK;
    }
    if (rc != FAHR_EXIT_OK)
        host_error("'%s' is neither a command nor a driver; 'fahr plugins' lists the drivers",
                   topic);
    plugins_unload(&set);
    return rc;
}
