/* core/cmd_plugins.c: `fahr plugins` and `fahr help`. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

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
    if (cli->arg_count == 0) {
        print_main_help(stdout);
        return FAHR_EXIT_OK;
    }
    const char *topic = cli->args[0];
    const struct command *command = find_command(topic);
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
