/* core/plugins.c: finding driver plugins and loading the ones a command uses.
 *
 * Every *.so on the search path is treated the same way, built-in or not:
 * its real path and every directory above it must pass the trust checks
 * (plugin_trust.c); then its record comes from the cache or from a scan in a
 * child process (plugin_cache.c, plugin_scan.c). A plugin that cannot be
 * used is skipped with one warning line naming its file and the reason; it
 * never stops the host or the other plugins. Only plugin_activate() dlopens
 * a plugin into fahr, and only for a driver a command uses.
 *
 * Why dlopen() of the resolved path is safe after the checks: each of its
 * components is owned by root or the user and writable by no one else (the
 * sticky-directory rule aside, which protects the next component), so only
 * those already trusted could change what the path names between the checks
 * and the load. dlopen("/proc/self/fd/N") of a checked descriptor would be
 * exact too, but it breaks plugins that find their own libraries through
 * $ORIGIN. A file changed in place since its scan (its size or mtime moved)
 * is scanned again before it is loaded, and the loaded descriptor must match
 * the record the command was checked against. */
#define _GNU_SOURCE
#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "plugin_load.h"
#include "version.h"

static void add_dir(struct plugin_set *set, const char *dir)
{
    if (dir == NULL || dir[0] == '\0')
        return;
    set->dirs = xgrow(set->dirs, set->dir_count, sizeof *set->dirs);
    set->dirs[set->dir_count++] = xstrdup(dir);
}

/* A directory named by an environment variable: only an absolute one, or
 * what is loaded would depend on the directory fahr was started in. */
static void add_env_dir(struct plugin_set *set, const char *dir, const char *variable)
{
    if (dir[0] != '\0' && dir[0] != '/') {
        host_warn("ignoring '%s' in %s: a plugin directory must be an absolute path", dir,
                  variable);
        return;
    }
    add_dir(set, dir);
}

void plugins_search_path(struct plugin_set *set, char *const *extra_dirs, size_t extra_count)
{
    for (size_t i = 0; i < extra_count; i++)
        add_dir(set, extra_dirs[i]);
    set->explicit_dir_count = set->dir_count;
    const char *env_path = getenv("FAHR_PLUGIN_PATH");
    if (env_path != NULL) {
        char *copy = xstrdup(env_path), *save = NULL;
        for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save))
            add_env_dir(set, dir, "FAHR_PLUGIN_PATH");
        free(copy);
    }
    char user_dir[4096];
    if (xdg_path("XDG_DATA_HOME", ".local/share", "plugins", user_dir, sizeof user_dir))
        add_dir(set, user_dir);
    /* As GST_PLUGIN_SYSTEM_PATH does for GStreamer: lets a test (or a
     * relocated install) replace the built-in directory; empty means none. */
    const char *system_path = getenv("FAHR_PLUGIN_SYSTEM_PATH");
    if (system_path != NULL)
        add_env_dir(set, system_path, "FAHR_PLUGIN_SYSTEM_PATH");
    else
        add_dir(set, FAHR_PLUGIN_DIR);
}

static void note(struct plugin_note **notes, size_t *count, const char *path, const char *fmt,
                 ...) __attribute__((format(printf, 4, 5)));

static void note(struct plugin_note **notes, size_t *count, const char *path, const char *fmt,
                 ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    *notes = xgrow(*notes, *count, sizeof **notes);
    (*notes)[*count].path = xstrdup(path);
    (*notes)[*count].reason = xstrdup(reason);
    (*count)++;
}

#define SKIP(set, path, ...)                                                              \
    do {                                                                                  \
        note(&(set)->skipped, &(set)->skipped_count, path, __VA_ARGS__);                  \
        host_warn("skipping plugin %s: %s", path, (set)->skipped[(set)->skipped_count - 1].reason); \
    } while (0)

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with_so(const char *name)
{
    size_t len = strlen(name);
    return len > 3 && strcmp(name + len - 3, ".so") == 0;
}

/* Resolve and check the file `path`; fills plugin->resolved and ->id.
 * Returns the reason it is refused, or NULL. */
static const char *check_file(const char *path, struct plugin *plugin, char *why, size_t why_size)
{
    struct stat st;
    plugin->resolved = realpath(path, NULL);
    if (plugin->resolved == NULL || lstat(plugin->resolved, &st) != 0) {
        snprintf(why, why_size, "cannot resolve: %s", strerror(errno));
        return why;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
        return why;
    }
    file_id_of(&st, &plugin->id);
    return trust_check_path(path, plugin->resolved, &st, TRUST_FILE, why, why_size);
}

struct load_run {              /* one plugins_load() */
    struct plugin_cache cache;
    size_t scanned, cached;
};

/* Fill plugin->record from the cache, or scan the file. */
static void describe(struct load_run *run, struct plugin *plugin)
{
    const struct plugin_record *cached =
        plugin_cache_find(&run->cache, plugin->resolved, &plugin->id);
    if (cached != NULL) {
        record_copy(&plugin->record, cached);
        run->cached++;
        return;
    }
    bool cacheable;
    plugin_scan(plugin->resolved, &plugin->record, &cacheable);
    host_services()->log(FAHR_LOG_DEBUG, "scanned plugin %s", plugin->resolved);
    run->scanned++;
    if (cacheable)
        plugin_cache_put(&run->cache, plugin->resolved, &plugin->id, &plugin->record);
}

/* The descriptor as the record gives it; operations come with activation. */
static void desc_from_record(struct plugin *plugin)
{
    const struct plugin_record *record = &plugin->record;
    memset(&plugin->desc, 0, sizeof plugin->desc);
    plugin->desc.size = sizeof plugin->desc;
    plugin->desc.abi_version = record->abi_version;
    plugin->desc.kind = record->kind;
    plugin->desc.name = record->name;
    plugin->desc.version = record->version;
    plugin->desc.description = record->description;
    /* The keys are the record's (plugin->record.keys, 1.0 and 1.1 alike).
     * What a train driver runs and takes is known before it is loaded. */
    plugin->train.input = record->train_input;
    plugin->train.flags = record->train_flags;
}

static void free_plugin(struct plugin *plugin)
{
    free(plugin->path);
    free(plugin->resolved);
    record_free(&plugin->record);
}

/* Keep a described plugin unless an earlier one has its name and kind. */
static void add_plugin(struct plugin_set *set, struct plugin *plugin, size_t dir_index)
{
    /* A build and a train driver may share a name ("local"); two of a kind
     * may not. */
    struct plugin *earlier = plugins_find_kind(set, plugin->desc.kind, plugin->desc.name);
    if (earlier == NULL) {
        set->items = xgrow(set->items, set->count, sizeof *set->items);
        set->items[set->count++] = *plugin;
        return;
    }
    /* The same name twice in one directory is ambiguous: warn. Across
     * directories the earlier one is a deliberate override. */
    const char *slash = strrchr(earlier->path, '/');
    size_t earlier_dir_len = slash ? (size_t)(slash - earlier->path) : 0;
    bool same_dir = strlen(set->dirs[dir_index]) == earlier_dir_len &&
                    strncmp(set->dirs[dir_index], earlier->path, earlier_dir_len) == 0;
    if (same_dir)
        SKIP(set, plugin->path, "duplicate %s driver name '%s', already loaded from %s",
             driver_kind_name(plugin->desc.kind), plugin->desc.name, earlier->path);
    else
        note(&set->shadowed, &set->shadowed_count, plugin->path, "'%s' is shadowed by %s",
             plugin->desc.name, earlier->path);
    free_plugin(plugin);
}

static void load_file(struct plugin_set *set, struct load_run *run, const char *path,
                      size_t dir_index)
{
    struct plugin plugin;
    memset(&plugin, 0, sizeof plugin);
    char why[1024];
    if (check_file(path, &plugin, why, sizeof why) != NULL) {
        SKIP(set, path, "%s", why);
        free_plugin(&plugin);
        return;
    }
    describe(run, &plugin);
    if (plugin.record.skip_reason != NULL) {
        SKIP(set, path, "%s", plugin.record.skip_reason);
        free_plugin(&plugin);
        return;
    }
    desc_from_record(&plugin);
    plugin.path = xstrdup(path);
    add_plugin(set, &plugin, dir_index);
}

/* The sorted *.so names in a directory, or NULL with *count 0. */
static char **plugin_names(DIR *handle, size_t *count)
{
    char **names = NULL;
    *count = 0;
    struct dirent *entry;
    while ((entry = readdir(handle)) != NULL) {
        if (entry->d_name[0] == '.' || !ends_with_so(entry->d_name))
            continue;
        names = xgrow(names, *count, sizeof *names);
        names[(*count)++] = xstrdup(entry->d_name);
    }
    if (*count > 1)
        qsort(names, *count, sizeof *names, compare_names); /* a stable order */
    return names;
}

/* Resolve and check a directory of the search path; NULL (and a warning
 * where due) when it is not searched. Caller frees. */
static char *check_dir(struct plugin_set *set, size_t dir_index)
{
    const char *dir = set->dirs[dir_index];
    struct stat st;
    char *resolved = realpath(dir, NULL);
    if (resolved == NULL || stat(resolved, &st) != 0 || !S_ISDIR(st.st_mode)) {
        /* An absent directory on the path is normal, unless named. */
        if (dir_index < set->explicit_dir_count)
            host_warn("--plugin-dir %s: %s", dir,
                      resolved == NULL ? strerror(errno) : "not a directory");
        free(resolved);
        return NULL;
    }
    char why[1024];
    if (trust_check_path(dir, resolved, &st, TRUST_DIR, why, sizeof why) != NULL) {
        SKIP(set, dir, "%s", why);
        free(resolved);
        return NULL;
    }
    return resolved;
}

static void load_dir(struct plugin_set *set, struct load_run *run, size_t dir_index)
{
    const char *dir = set->dirs[dir_index];
    char *resolved = check_dir(set, dir_index);
    if (resolved == NULL)
        return;
    DIR *handle = opendir(resolved);
    free(resolved);
    if (handle == NULL) {
        SKIP(set, dir, "cannot read directory: %s", strerror(errno));
        return;
    }
    size_t count;
    char **names = plugin_names(handle, &count);
    closedir(handle);
    for (size_t i = 0; i < count; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        load_file(set, run, path, dir_index);
        free(names[i]);
    }
    free(names);
}

static int compare_drivers(const void *a, const void *b)
{
    const struct plugin *x = a, *y = b;
    if (x->desc.kind != y->desc.kind)
        return x->desc.kind < y->desc.kind ? -1 : 1;
    return strcmp(x->desc.name, y->desc.name);
}

void plugins_load(struct plugin_set *set)
{
    struct load_run run;
    memset(&run, 0, sizeof run);
    plugin_cache_open(&run.cache);
    for (size_t i = 0; i < set->dir_count; i++)
        load_dir(set, &run, i);
    host_services()->log(FAHR_LOG_DEBUG, "plugins: %zu described by the cache %s, %zu scanned",
                         run.cached, run.cache.file ? run.cache.file : "(off)", run.scanned);
    plugin_cache_close(&run.cache);
    /* Listed by kind, then name, whatever the files are called. */
    if (set->count > 1)
        qsort(set->items, set->count, sizeof *set->items, compare_drivers);
}

struct plugin *plugins_find_kind(struct plugin_set *set, enum fahr_driver_kind kind,
                                 const char *name)
{
    for (size_t i = 0; i < set->count; i++)
        if (strcmp(set->items[i].desc.name, name) == 0 &&
            (kind == 0 || set->items[i].desc.kind == kind))
            return &set->items[i];
    return NULL;
}

struct plugin *plugins_find(struct plugin_set *set, const char *name)
{
    return plugins_find_kind(set, 0, name);
}

/* The file changed since it was checked and described: check and scan it
 * again, and go on only if it still is the driver the command chose. */
static int rescan_changed(struct plugin *plugin, const struct stat *st, struct fahr_error *err)
{
    const char *name = plugin->record.name;
    char why[1024];
    struct plugin_file_id id;
    file_id_of(st, &id);
    if (!S_ISREG(st->st_mode))
        return fahr_error_set(err, FAHR_EFAIL, "%s: %s is no longer a regular file", name,
                              plugin->resolved);
    if (trust_check_path(plugin->resolved, plugin->resolved, st, TRUST_FILE, why, sizeof why) != NULL)
        return fahr_error_set(err, FAHR_EFAIL, "%s: %s: %s", name, plugin->resolved, why);
    struct plugin_record fresh;
    bool cacheable;
    plugin_scan(plugin->resolved, &fresh, &cacheable);
    struct plugin_cache cache;
    plugin_cache_open(&cache);
    if (cacheable)
        plugin_cache_put(&cache, plugin->resolved, &id, &fresh);
    plugin_cache_close(&cache);
    bool same = record_equal(&fresh, &plugin->record);
    int rc = FAHR_OK;
    if (fresh.skip_reason != NULL)
        rc = fahr_error_set(err, FAHR_EFAIL, "%s: %s changed and cannot be used: %s", name,
                            plugin->resolved, fresh.skip_reason);
    else if (!same)
        rc = fahr_error_set(err, FAHR_EFAIL,
                            "%s: %s changed while fahr started; run the command again", name,
                            plugin->resolved);
    record_free(&fresh);
    if (rc == FAHR_OK)
        plugin->id = id;
    return rc;
}

/* Fill the operations from a loaded descriptor that must match the record. */
static int take_descriptor(struct plugin *plugin, void *handle, struct fahr_error *err)
{
    const struct fahr_plugin *desc = dlsym(handle, FAHR_PLUGIN_SYMBOL);
    struct plugin loaded;
    memset(&loaded, 0, sizeof loaded);
    struct plugin_record real;
    memset(&real, 0, sizeof real);
    char why[512];
    bool matches = desc != NULL && descriptor_accept(desc, &loaded, why, sizeof why) == NULL &&
                   record_from_descriptor(&loaded.desc, &real, why, sizeof why) == NULL &&
                   record_equal(&real, &plugin->record);
    record_free(&real);
    if (!matches) {
        plugin_cache_forget(plugin->resolved); /* the next run scans it again */
        return fahr_error_set(err, FAHR_EFAIL,
                              "%s: %s is not what was scanned of it; run the command again",
                              plugin->record.name, plugin->resolved);
    }
    plugin->build = loaded.build;
    plugin->train = loaded.train;
    plugin->desc.open = loaded.desc.open;
    plugin->desc.close = loaded.desc.close;
    plugin->desc.build = loaded.desc.build;
    plugin->desc.train = loaded.desc.train;
    plugin->desc.prune = loaded.desc.prune; /* NULL for a driver without it */
    return FAHR_OK;
}

int plugin_activate(struct plugin *plugin, struct fahr_error *err)
{
    if (plugin->handle != NULL)
        return FAHR_OK;
    struct stat st;
    struct plugin_file_id now;
    if (lstat(plugin->resolved, &st) != 0)
        return fahr_error_set(err, FAHR_EFAIL, "%s: %s: %s", plugin->record.name,
                              plugin->resolved, strerror(errno));
    file_id_of(&st, &now);
    int rc = file_id_equal(&now, &plugin->id) ? FAHR_OK : rescan_changed(plugin, &st, err);
    if (rc != FAHR_OK)
        return rc;
    char why[1024];
    void *handle = plugin_dlopen_quietly(plugin->resolved, why, sizeof why);
    if (handle == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "%s: %s", plugin->record.name, why);
    if ((rc = take_descriptor(plugin, handle, err)) != FAHR_OK) {
        dlclose(handle);
        return rc;
    }
    plugin->handle = handle;
    return FAHR_OK;
}

int plugin_open(struct plugin *plugin, struct fahr_error *err)
{
    if (plugin->opened)
        return FAHR_OK;
    int rc = plugin_activate(plugin, err);
    if (rc != FAHR_OK)
        return rc;
    /* Each driver its own copy of the table, naming it (host->driver,
     * host->data_dir): valid until it is closed, as plugin.h promises. */
    host_table_for_driver(&plugin->host, plugin->desc.name);
    if (FAHR_HAS(&plugin->desc, open)) {
        struct fahr_error open_err = {{0}};
        rc = plugin->desc.open(&plugin->host, &plugin->state, &open_err);
        if (rc != FAHR_OK)
            return fahr_error_set(err, rc < 0 ? rc : FAHR_EFAIL, "%s: cannot start: %s",
                                  plugin->desc.name,
                                  open_err.message[0] ? open_err.message : "open failed");
    }
    plugin->opened = true;
    return FAHR_OK;
}

static void free_notes(struct plugin_note *notes, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        free(notes[i].path);
        free(notes[i].reason);
    }
    free(notes);
}

void plugins_unload(struct plugin_set *set)
{
    for (size_t i = 0; i < set->count; i++) {
        struct plugin *plugin = &set->items[i];
        if (plugin->opened && FAHR_HAS(&plugin->desc, close))
            plugin->desc.close(plugin->state);
        if (plugin->handle != NULL)
            dlclose(plugin->handle);
        free_plugin(plugin);
    }
    free(set->items);
    free_notes(set->skipped, set->skipped_count);
    free_notes(set->shadowed, set->shadowed_count);
    for (size_t i = 0; i < set->dir_count; i++)
        free(set->dirs[i]);
    free(set->dirs);
    memset(set, 0, sizeof *set);
}

const char *driver_kind_name(enum fahr_driver_kind kind)
{
    switch (kind) {
    case FAHR_DRIVER_BUILD:
        return "build";
    case FAHR_DRIVER_TRAIN:
        return "train";
    }
    return "unknown";
}
