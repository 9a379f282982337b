/* core/plugin_cache.c: the registry of scan records, as GStreamer's
 * registry cache: one file, $XDG_CACHE_HOME/fahr/plugin-registry (default
 * ~/.cache/fahr/plugin-registry; FAHR_PLUGIN_CACHE names another, or empty
 * turns caching off), 0600 in a 0700 directory, replaced atomically (a
 * temporary file renamed over it).
 *
 * Each record is keyed by the plugin's resolved path, device, inode, size
 * and mtime (ns); a file that differs in any of them is scanned again. The
 * header names fahr's version and ABI: another fahr ignores the whole file.
 * The file is read as untrusted bytes (plugin_record.c's bounded reader); a
 * corrupt one, or one another user owns or could write, is ignored and
 * rebuilt. Nothing in it is run: a record only describes a plugin, and the
 * plugin a command uses is checked against it once loaded
 * (plugin_activate). */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_load.h"
#include "version.h"

#define CACHE_FILE_MAX (16u << 20)
#define CACHE_ENTRIES_MAX 4096

static void debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void debug(const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    host_services()->log(FAHR_LOG_DEBUG, "%s", line);
}

static void cache_header(struct text *text)
{
    text_printf(text, "fahr-plugin-registry 2 fahr %s abi %u.%u\n", FAHR_VERSION,
                FAHR_ABI_MAJOR, FAHR_ABI_MINOR);
}

/* The cache file's name (caller frees), or NULL when caching is off. */
static char *cache_file_name(void)
{
    const char *chosen = getenv("FAHR_PLUGIN_CACHE");
    char path[4096];
    if (chosen != NULL)
        return chosen[0] ? xstrdup(chosen) : NULL;
    return xdg_path("XDG_CACHE_HOME", ".cache", "plugin-registry", path, sizeof path)
               ? xstrdup(path)
               : NULL;
}

/* The cache file's bytes, if it is ours alone. Returns the reason it is
 * not used, or NULL; a missing file is an empty cache, no reason. */
static const char *read_cache_file(const char *file, struct text *out, bool *exists)
{
    *exists = false;
    int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
    if (fd < 0)
        return errno == ENOENT ? NULL : strerror(errno);
    *exists = true;
    struct stat st;
    const char *why = trust_own_file(fd, &st);
    if (why == NULL && (uint64_t)st.st_size > CACHE_FILE_MAX)
        why = "too large";
    for (ssize_t n = 1; why == NULL && n > 0;) {
        char buffer[16384];
        n = read(fd, buffer, sizeof buffer);
        if (n < 0 && errno != EINTR)
            why = strerror(errno);
        else if (n > 0 && out->len + (size_t)n > CACHE_FILE_MAX)
            why = "too large";
        else if (n > 0)
            text_append(out, buffer, (size_t)n);
    }
    close(fd);
    return why;
}

static void free_entries(struct plugin_cache *cache)
{
    for (size_t i = 0; i < cache->count; i++) {
        free(cache->entries[i].path);
        record_free(&cache->entries[i].record);
    }
    free(cache->entries);
    cache->entries = NULL;
    cache->count = 0;
}

static struct cache_entry *add_entry(struct plugin_cache *cache)
{
    cache->entries = xgrow(cache->entries, cache->count, sizeof *cache->entries);
    struct cache_entry *entry = &cache->entries[cache->count++];
    memset(entry, 0, sizeof *entry);
    return entry;
}

/* Parse the whole file; false (and no entries) on anything malformed. */
static bool parse_cache(struct plugin_cache *cache, const struct text *bytes)
{
    struct text header = {0};
    cache_header(&header);
    struct reader in = {bytes->data, bytes->data + bytes->len, bytes->len == 0};
    read_literal(&in, header.data);
    text_free(&header);
    while (!in.bad && in.at < in.end) {
        if (cache->count == CACHE_ENTRIES_MAX) {
            in.bad = true;
            break;
        }
        struct cache_entry *entry = add_entry(cache);
        read_literal(&in, "file ");
        entry->path = read_string(&in, 4095);
        uint64_t *numbers[] = {&entry->id.dev, &entry->id.ino, &entry->id.size};
        for (size_t i = 0; i < 3; i++) {
            read_literal(&in, " ");
            *numbers[i] = read_number(&in);
        }
        read_literal(&in, " ");
        entry->id.mtime_sec = read_signed(&in);
        read_literal(&in, " ");
        entry->id.mtime_nsec = read_signed(&in);
        read_literal(&in, "\n");
        if (entry->path == NULL || entry->path[0] != '/')
            in.bad = true;
        record_decode(&in, &entry->record);
    }
    if (in.bad)
        free_entries(cache);
    return !in.bad;
}

void plugin_cache_open(struct plugin_cache *cache)
{
    memset(cache, 0, sizeof *cache);
    cache->file = cache_file_name();
    if (cache->file == NULL)
        return;
    struct text bytes = {0};
    bool exists;
    const char *why = read_cache_file(cache->file, &bytes, &exists);
    if (why == NULL && exists && !parse_cache(cache, &bytes))
        why = "not a cache this fahr wrote, or corrupt";
    if (why != NULL) {
        debug("ignoring the plugin cache %s: %s", cache->file, why);
        cache->dirty = true; /* rebuilt from this run's scans */
    }
    text_free(&bytes);
}

static struct cache_entry *entry_of(struct plugin_cache *cache, const char *path)
{
    for (size_t i = 0; i < cache->count; i++)
        if (strcmp(cache->entries[i].path, path) == 0)
            return &cache->entries[i];
    return NULL;
}

const struct plugin_record *plugin_cache_find(struct plugin_cache *cache, const char *path,
                                              const struct plugin_file_id *id)
{
    struct cache_entry *entry = entry_of(cache, path);
    if (entry == NULL || !file_id_equal(&entry->id, id))
        return NULL;
    entry->seen = true;
    return &entry->record;
}

void plugin_cache_put(struct plugin_cache *cache, const char *path,
                      const struct plugin_file_id *id, const struct plugin_record *record)
{
    struct cache_entry *entry = entry_of(cache, path);
    if (entry != NULL) {
        record_free(&entry->record);
    } else {
        entry = add_entry(cache);
        entry->path = xstrdup(path);
    }
    entry->id = *id;
    record_copy(&entry->record, record);
    entry->seen = true;
    cache->dirty = true;
}

/* mkdir -p of the directory holding `file`, new directories 0700. */
static void make_parent_dirs(const char *file)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", file);
    for (char *slash = strchr(dir + 1, '/'); slash != NULL; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(dir, 0700);
        *slash = '/';
    }
}

static void encode_cache(const struct plugin_cache *cache, struct text *out)
{
    cache_header(out);
    size_t written = 0;
    for (size_t i = 0; i < cache->count && written < CACHE_ENTRIES_MAX; i++) {
        const struct cache_entry *entry = &cache->entries[i];
        struct stat st;
        /* Records of plugins not on this run's path are kept for other
         * runs (another --plugin-dir) while their file exists. */
        if (!entry->seen && lstat(entry->path, &st) != 0 && errno == ENOENT)
            continue;
        text_append(out, "file ", 5);
        text_string(out, entry->path);
        text_printf(out, " %llu %llu %llu %lld %lld\n", (unsigned long long)entry->id.dev,
                    (unsigned long long)entry->id.ino, (unsigned long long)entry->id.size,
                    (long long)entry->id.mtime_sec, (long long)entry->id.mtime_nsec);
        record_encode(out, &entry->record);
        written++;
    }
}

static void write_cache(const struct plugin_cache *cache)
{
    struct text out = {0};
    encode_cache(cache, &out);
    make_parent_dirs(cache->file);
    char *temp = NULL;
    if (asprintf(&temp, "%s.XXXXXX", cache->file) < 0)
        abort();
    int fd = mkostemp(temp, O_CLOEXEC); /* 0600 */
    bool written = fd >= 0;
    for (size_t done = 0; written && done < out.len;) {
        ssize_t n = write(fd, out.data + done, out.len - done);
        if (n < 0 && errno == EINTR)
            continue;
        written = n > 0;
        done += written ? (size_t)n : 0;
    }
    if (fd >= 0 && close(fd) != 0)
        written = false;
    if (!written || rename(temp, cache->file) != 0) {
        debug("cannot write the plugin cache %s: %s", cache->file, strerror(errno));
        if (fd >= 0)
            unlink(temp);
    }
    free(temp);
    text_free(&out);
}

void plugin_cache_close(struct plugin_cache *cache)
{
    if (cache->file != NULL && cache->dirty)
        write_cache(cache);
    free_entries(cache);
    free(cache->file);
    memset(cache, 0, sizeof *cache);
}

void plugin_cache_forget(const char *path)
{
    struct plugin_cache cache;
    plugin_cache_open(&cache);
    struct cache_entry *entry = entry_of(&cache, path);
    if (entry != NULL) {
        free(entry->path);
        record_free(&entry->record);
        *entry = cache.entries[--cache.count];
        cache.dirty = true;
    }
    plugin_cache_close(&cache);
}
