/* core/plugins.c: finding and loading driver plugins.
 *
 * Every *.so on the search path is loaded the same way, built-in or not:
 * its real path and every directory above it must pass the trust checks
 * (plugin_trust.c) first. A plugin that cannot be used is skipped with one
 * warning line naming its file and the reason; it never stops the host or
 * the other plugins.
 *
 * Why dlopen() of the resolved path is safe after the checks: each of its
 * components is owned by root or the user and writable by no one else (the
 * sticky-directory rule aside, which protects the next component), so only
 * those already trusted could change what the path names between the checks
 * and the load. dlopen("/proc/self/fd/N") of a checked descriptor would be
 * exact too, but it breaks plugins that find their own libraries through
 * $ORIGIN. */
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

static char *xstrdup(const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL)
        abort();
    return copy;
}

static void *grow(void *array, size_t count, size_t item_size)
{
    void *grown = realloc(array, (count + 1) * item_size);
    if (grown == NULL)
        abort();
    return grown;
}

static void add_dir(struct plugin_set *set, const char *dir)
{
    if (dir == NULL || dir[0] == '\0')
        return;
    set->dirs = grow(set->dirs, set->dir_count, sizeof *set->dirs);
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
    const char *xdg = getenv("XDG_DATA_HOME");
    const char *home = getenv("HOME");
    if (xdg != NULL && xdg[0] == '/') {
        snprintf(user_dir, sizeof user_dir, "%s/fahr/plugins", xdg);
        add_dir(set, user_dir);
    } else if (home != NULL && home[0] == '/') {
        snprintf(user_dir, sizeof user_dir, "%s/.local/share/fahr/plugins", home);
        add_dir(set, user_dir);
    }
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
    *notes = grow(*notes, *count, sizeof **notes);
    (*notes)[*count].path = xstrdup(path);
    (*notes)[*count].reason = xstrdup(reason);
    (*count)++;
}

#define SKIP(set, path, ...)                                                              \
    do {                                                                                  \
        note(&(set)->skipped, &(set)->skipped_count, path, __VA_ARGS__);                  \
        host_warn("skipping plugin %s: %s", path, (set)->skipped[(set)->skipped_count - 1].reason); \
    } while (0)

static bool name_is_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || strlen(name) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

/* Copy a versioned struct the plugin compiled with `their_size` bytes into
 * the host's zeroed one, so members the plugin does not know read as NULL. */
static void copy_versioned(void *ours, size_t our_size, const void *theirs, uint32_t their_size)
{
    memset(ours, 0, our_size);
    if (theirs != NULL)
        memcpy(ours, theirs, their_size < our_size ? their_size : our_size);
}

/* Check a loaded descriptor; on success fill `plugin`. Returns the reason it
 * was refused, or NULL. */
static const char *accept_descriptor(const struct fahr_plugin *desc, struct plugin *plugin,
                                     char *why, size_t why_size)
{
    uint32_t major = FAHR_ABI_VERSION_MAJOR(desc->abi_version);
    uint32_t minor = FAHR_ABI_VERSION_MINOR(desc->abi_version);
    if (major != FAHR_ABI_MAJOR) {
        snprintf(why, why_size, "built for plugin ABI %u.%u; this fahr speaks %u.%u", major, minor,
                 FAHR_ABI_MAJOR, FAHR_ABI_MINOR);
        return why;
    }
    if (minor > FAHR_ABI_MINOR) {
        snprintf(why, why_size, "built for plugin ABI %u.%u, newer than this fahr's %u.%u", major,
                 minor, FAHR_ABI_MAJOR, FAHR_ABI_MINOR);
        return why;
    }
    size_t need = offsetof(struct fahr_plugin, config_keys);
    if (desc->size < need) {
        snprintf(why, why_size, "descriptor is %u bytes, too short for ABI %u.%u", desc->size,
                 major, minor);
        return why;
    }
    copy_versioned(&plugin->desc, sizeof plugin->desc, desc, desc->size);
    if (!name_is_valid(plugin->desc.name)) {
        snprintf(why, why_size, "driver name is missing or not [a-z0-9-]+");
        return why;
    }
    if (plugin->desc.kind == FAHR_DRIVER_BUILD) {
        const struct fahr_build_ops *ops = FAHR_HAS(&plugin->desc, build) ? plugin->desc.build : NULL;
        if (ops == NULL || ops->size < sizeof(uint32_t)) {
            snprintf(why, why_size, "build driver '%s' has no build operations", plugin->desc.name);
            return why;
        }
        copy_versioned(&plugin->build, sizeof plugin->build, ops, ops->size);
        if (!FAHR_HAS(&plugin->build, init) || !FAHR_HAS(&plugin->build, build)) {
            snprintf(why, why_size, "build driver '%s' lacks init or build", plugin->desc.name);
            return why;
        }
    } else if (plugin->desc.kind == FAHR_DRIVER_TRAIN) {
        const struct fahr_train_ops *ops = FAHR_HAS(&plugin->desc, train) ? plugin->desc.train : NULL;
        if (ops == NULL || ops->size < sizeof(uint32_t)) {
            snprintf(why, why_size, "train driver '%s' has no train operations", plugin->desc.name);
            return why;
        }
        copy_versioned(&plugin->train, sizeof plugin->train, ops, ops->size);
        if (!FAHR_HAS(&plugin->train, submit) || !FAHR_HAS(&plugin->train, poll)) {
            snprintf(why, why_size, "train driver '%s' lacks submit or poll", plugin->desc.name);
            return why;
        }
        if (plugin->train.input != FAHR_TRAIN_IMAGE && plugin->train.input != FAHR_TRAIN_SOURCE) {
            snprintf(why, why_size, "train driver '%s' declares no input kind", plugin->desc.name);
            return why;
        }
    } else {
        snprintf(why, why_size, "unknown driver kind %d", (int)plugin->desc.kind);
        return why;
    }
    return NULL;
}

static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool ends_with_so(const char *name)
{
    size_t len = strlen(name);
    return len > 3 && strcmp(name + len - 3, ".so") == 0;
}

/* The trust checks of `st`, the object `path` resolves to, and of every
 * directory above it. Returns the reason it is refused, or NULL. */
static const char *check_trust(const char *path, const char *resolved, const struct stat *st,
                               enum trust_what what, char *why, size_t why_size)
{
    char reason[768];
    if (trust_check(st, what, reason, sizeof reason) == NULL &&
        trust_check_ancestors(resolved, reason, sizeof reason) == NULL)
        return NULL;
    if (strcmp(path, resolved) == 0)
        snprintf(why, why_size, "%s", reason);
    else
        snprintf(why, why_size, "resolves to %s: %s", resolved, reason);
    return why;
}

/* Resolve and check the file `path`; fills plugin->resolved.
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
    return check_trust(path, plugin->resolved, &st, TRUST_FILE, why, why_size);
}

/* Why a loaded plugin cannot be used (its descriptor checked into
 * `plugin`), or NULL. */
static const char *check_loaded(void *handle, struct plugin *plugin, char *why, size_t why_size)
{
    const struct fahr_plugin *desc = dlsym(handle, FAHR_PLUGIN_SYMBOL);
    if (desc == NULL) {
        snprintf(why, why_size, "no '%s' symbol, not a fahr plugin", FAHR_PLUGIN_SYMBOL);
        return why;
    }
    return accept_descriptor(desc, plugin, why, why_size);
}

static void load_file(struct plugin_set *set, const char *path, size_t dir_index)
{
    struct plugin plugin;
    memset(&plugin, 0, sizeof plugin);
    char why[1024];
    void *handle = NULL;
    if (check_file(path, &plugin, why, sizeof why) == NULL &&
        (handle = dlopen(plugin.resolved, RTLD_NOW | RTLD_LOCAL)) == NULL)
        snprintf(why, sizeof why, "cannot load: %s", dlerror());
    if (handle == NULL || check_loaded(handle, &plugin, why, sizeof why) != NULL) {
        SKIP(set, path, "%s", why);
        if (handle != NULL)
            dlclose(handle);
        free(plugin.resolved);
        return;
    }
    /* A build and a train driver may share a name ("local"); two of a kind
     * may not. */
    struct plugin *earlier = plugins_find_kind(set, plugin.desc.kind, plugin.desc.name);
    if (earlier != NULL) {
        /* The same name twice in one directory is ambiguous: warn. Across
         * directories the earlier one is a deliberate override. */
        const char *slash = strrchr(earlier->path, '/');
        size_t earlier_dir_len = slash ? (size_t)(slash - earlier->path) : 0;
        bool same_dir = strlen(set->dirs[dir_index]) == earlier_dir_len &&
                        strncmp(set->dirs[dir_index], earlier->path, earlier_dir_len) == 0;
        if (same_dir)
            SKIP(set, path, "duplicate %s driver name '%s', already loaded from %s",
                 driver_kind_name(plugin.desc.kind), plugin.desc.name, earlier->path);
        else
            note(&set->shadowed, &set->shadowed_count, path, "'%s' is shadowed by %s",
                 plugin.desc.name, earlier->path);
        dlclose(handle);
        free(plugin.resolved);
        return;
    }
    plugin.handle = handle;
    plugin.path = xstrdup(path);
    set->items = grow(set->items, set->count, sizeof *set->items);
    set->items[set->count++] = plugin;
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
        names = grow(names, *count, sizeof *names);
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
    if (check_trust(dir, resolved, &st, TRUST_DIR, why, sizeof why) != NULL) {
        SKIP(set, dir, "%s", why);
        free(resolved);
        return NULL;
    }
    return resolved;
}

static void load_dir(struct plugin_set *set, size_t dir_index)
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
        load_file(set, path, dir_index);
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
    for (size_t i = 0; i < set->dir_count; i++)
        load_dir(set, i);
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

int plugin_open(struct plugin *plugin, struct fahr_error *err)
{
    if (plugin->opened)
        return FAHR_OK;
    if (FAHR_HAS(&plugin->desc, open)) {
        struct fahr_error open_err = {{0}};
        int rc = plugin->desc.open(host_services(), &plugin->state, &open_err);
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
        dlclose(plugin->handle);
        free(plugin->path);
        free(plugin->resolved);
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
