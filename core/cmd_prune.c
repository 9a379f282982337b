/* core/cmd_prune.c: `fahr prune [--dry-run] [--older-than DURATION]`.
 *
 * What fahr leaves on this machine (exited job containers, job folders,
 * built images) belongs to the drivers that made it, so the host only asks:
 * every loaded driver with fahr_plugin.prune (an ABI 1.1 extension) removes
 * its own and reports each thing through the host's callback, which prints
 * one line for it and adds up the bytes. Train drivers go first, so that
 * the containers are gone before the build drivers look at the images they
 * held. Drivers without prune (1.0, earlier 1.1) are skipped. Nothing
 * remote is pruned unless --registry asks (request.remote): then each driver
 * also removes the image tags it pushed that no job needs; buckets never. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"

/* "30m", "12h", "7d", "2w" in seconds; false for anything else (no sign,
 * no space, no zero, nothing past ten years). */
static bool parse_duration(const char *text, int64_t *seconds)
{
    static const struct {
        char unit;
        int64_t seconds;
    } units[] = {{'m', 60}, {'h', 3600}, {'d', 86400}, {'w', 7 * 86400}};
    size_t digits = strspn(text, "0123456789");
    if (digits == 0 || digits > 6 || text[digits] == '\0' || text[digits + 1] != '\0')
        return false;
    int64_t count = 0;
    for (size_t i = 0; i < digits; i++)
        count = count * 10 + (text[i] - '0');
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (text[digits] == units[i].unit) {
            *seconds = count * units[i].seconds;
            return count > 0 && *seconds <= (int64_t)3650 * 86400;
        }
    return false;
}

struct prune_tally {
    bool dry_run;
    size_t count;
    uint64_t bytes;
};

/* A driver's name for a thing, as one safe line: control characters shown
 * as '?', a long one cut. */
static void shown_name(const char *name, char *out, size_t size)
{
    snprintf(out, size, "%s", name != NULL ? name : "?");
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
}

static void on_removed(void *data, const struct fahr_prune_item *item)
{
    static const char *const kinds[] = {"", "container", "image", "folder", "image tag"};
    struct prune_tally *tally = data;
    if (item == NULL || item->size < offsetof(struct fahr_prune_item, bytes) + sizeof item->bytes)
        return;
    unsigned kind = (unsigned)item->kind;
    char name[1024], size[32] = "";
    shown_name(item->name, name, sizeof name);
    if (item->bytes > 0) {
        char formatted[24];
        host_format_bytes((double)item->bytes, formatted, sizeof formatted);
        snprintf(size, sizeof size, " (%s)", formatted);
    }
    printf("%s %s %s%s\n", tally->dry_run ? "would remove" : "removed",
           kind < sizeof kinds / sizeof kinds[0] && kind > 0 ? kinds[kind] : "item", name, size);
    fflush(stdout);
    tally->count++;
    tally->bytes += item->bytes;
}

/* Open and prune with every driver of `kind` that offers it; the first
 * failure's exit code, the others going on. */
static int prune_kind(struct plugin_set *set, enum fahr_driver_kind kind,
                      const struct fahr_prune_request *request)
{
    int rc = FAHR_EXIT_OK;
    for (size_t i = 0; i < set->count && !host_interrupted(); i++) {
        struct plugin *plugin = &set->items[i];
        if (plugin->desc.kind != kind || plugin->handle == NULL ||
            !FAHR_HAS(&plugin->desc, prune))
            continue;
        struct fahr_error err = {{0}};
        int status = plugin_open(plugin, &err);
        if (status != FAHR_OK) {
            int code = report_driver_error(NULL, status, &err);
            rc = rc == FAHR_EXIT_OK ? code : rc;
            continue;
        }
        status = plugin->desc.prune(plugin->state, request, &err);
        if (status != FAHR_OK) {
            int code = report_driver_error(plugin, status, &err);
            rc = rc == FAHR_EXIT_OK ? code : rc;
        }
    }
    return rc;
}

int cmd_prune(struct cli *cli)
{
    struct fahr_prune_request request = {.size = sizeof request, .dry_run = cli->dry_run,
                                         .now = (int64_t)time(NULL), .removed = on_removed,
                                         .remote = cli->registry};
    if (cli->older_than != NULL && !parse_duration(cli->older_than, &request.older_than_s)) {
        host_error("--older-than '%s': expected a number and a unit, as in 30m, 12h, 7d or 2w "
                   "(see 'fahr prune --help')",
                   cli->older_than);
        return FAHR_EXIT_USAGE;
    }
    struct prune_tally tally = {.dry_run = cli->dry_run};
    request.removed_data = &tally;
    struct plugin_set set;
    memset(&set, 0, sizeof set);
    plugins_search_path(&set, cli->plugin_dirs, cli->plugin_dir_count);
    plugins_load(&set);
    /* All are loaded before any is opened: a rescan forks, and an open
     * driver may have started threads. Only a loaded driver shows whether
     * it has prune; one that cannot be loaded has nothing to say here. */
    for (size_t i = 0; i < set.count; i++) {
        struct fahr_error err = {{0}};
        if (plugin_activate(&set.items[i], &err) != FAHR_OK)
            host_warn("%s; its driver is not pruned", err.message);
    }
    int rc = prune_kind(&set, FAHR_DRIVER_TRAIN, &request);
    int build_rc = prune_kind(&set, FAHR_DRIVER_BUILD, &request);
    rc = rc != FAHR_EXIT_OK ? rc : build_rc;
    plugins_unload(&set);
    if (host_interrupted())
        return FAHR_EXIT_INTERRUPTED;
    char freed[24];
    host_format_bytes((double)tally.bytes, freed, sizeof freed);
    if (tally.count == 0)
        printf("%s\n", cli->dry_run ? "nothing would be removed" : "nothing to remove");
    else
        printf("%s %s\n", cli->dry_run ? "would free" : "freed", freed);
    if (cli->registry)
        host_info("image tags the drivers pushed were looked at; registries they were only "
                  "pointed at (--config.registry), tags they did not push and files in cloud "
                  "storage are left alone");
    else
        host_info("images pushed to registries and files in cloud storage are left alone");
    return rc;
}
