/* core/job_index.c: the jobs fahr started, so that `fahr status JOB` finds
 * the driver and the keys that address the job without being told.
 *
 * One small JSON file per job in $XDG_STATE_HOME/fahr/jobs (default
 * ~/.local/state/fahr/jobs): 0600 in a 0700 directory that must be the
 * user's alone, written to a temporary file and renamed over the old one.
 * It names the job, its driver, its image and the driver's keys marked
 * FAHR_CONFIG_JOB (never one marked FAHR_CONFIG_SECRET). A job id is the
 * file's name where it is a safe one; other bytes are %XX-encoded, and an id
 * too long even so is named by its hash (the file holds the id itself, and
 * only a file holding the id asked for is used). Files are read as untrusted
 * bytes: a corrupt one is ignored with a warning. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"

#define INDEX_FILE_MAX (64u << 10)
#define INDEX_KEYS_MAX 64
#define FILE_NAME_MAX 200

/* The index directory's path into `out`; false where there is none. */
static bool index_dir_path(char *out, size_t size)
{
    return xdg_path("XDG_STATE_HOME", ".local/state", "jobs", out, size);
}

/* The index directory, opened (made 0700 where missing and `create`), if
 * only its user can use it. -1 with the reason in err otherwise, -2 where
 * it is missing. */
static int open_index_dir(bool create, char *path, size_t size, struct fahr_error *err)
{
    if (!index_dir_path(path, size))
        return fahr_error_set(err, -1, "no state directory (set HOME or XDG_STATE_HOME)");
    if (create && mkdir_parents(path, 0700, err) != FAHR_OK)
        return -1;
    int dir = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dir < 0 && errno == ENOENT && !create)
        return -2; /* no job recorded yet */
    if (dir < 0)
        return fahr_error_set(err, -1, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(dir, &st) != 0 || st.st_uid != geteuid() || (st.st_mode & 077) != 0) {
        close(dir);
        return fahr_error_set(err, -1, "%s is not a directory that only you can use", path);
    }
    return dir;
}

static bool is_safe_byte(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-' || c == '.';
}

/* The file name of a job id (see the top of the file). */
static void file_name_of(const char *job_id, char out[FILE_NAME_MAX + 8])
{
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)job_id; *p && used <= FILE_NAME_MAX;
         p++) {
        if (is_safe_byte(*p) && !(p == (const unsigned char *)job_id && *p == '.'))
            out[used++] = (char)*p;
        else
            used += (size_t)snprintf(out + used, 4, "%%%02X", *p);
    }
    out[used] = '\0';
    if (used > FILE_NAME_MAX || used == 0) {
        uint64_t hash = 14695981039346656037ull; /* FNV-1a */
        for (const unsigned char *p = (const unsigned char *)job_id; *p; p++)
            hash = (hash ^ *p) * 1099511628211ull;
        snprintf(out, FILE_NAME_MAX + 8, "~%016llx", (unsigned long long)hash);
    }
}

/* The entry's JSON; NULL where a string is not UTF-8. Only the driver's
 * FAHR_CONFIG_JOB keys are kept, and never a secret one. */
static char *encode_entry(const char *job_id, const struct plugin *train,
                          const char *image_name, const struct fahr_config *config)
{
    json_t *keys = json_object();
    bool whole = true; /* json_string() refuses what is not UTF-8 */
    for (const struct fahr_config_key2 *k = train->record.keys; k && k->name; k++) {
        const char *value = config_get(config, k->name);
        if ((k->flags & FAHR_CONFIG_JOB) && !(k->flags & FAHR_CONFIG_SECRET) && value != NULL &&
            json_object_set_new(keys, k->name, json_string(value)) != 0)
            whole = false;
    }
    json_t *entry = json_pack("{s:i, s:s, s:s, s:s, s:I, s:O}", "version", 1, "job_id", job_id,
                              "driver", train->desc.name, "image_name", image_name, "created",
                              (json_int_t)time(NULL), "config", keys);
    json_decref(keys);
    char *text = whole && entry != NULL ? json_dumps(entry, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(entry);
    return text;
}

int job_index_add(const char *job_id, const struct plugin *train, const char *image_name,
                  const struct fahr_config *config, struct fahr_error *err)
{
    char *text = encode_entry(job_id, train, image_name, config);
    if (text == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "the job's id or a key's value is not UTF-8");
    char path[4096], name[FILE_NAME_MAX + 8], temp[64];
    int dir = open_index_dir(true, path, sizeof path, err);
    if (dir < 0) {
        free(text);
        return FAHR_EFAIL;
    }
    file_name_of(job_id, name);
    snprintf(temp, sizeof temp, ".new.%ld", (long)getpid());
    unlinkat(dir, temp, 0); /* left by a fahr of the same pid that died */
    int fd = openat(dir, temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    bool written = fd >= 0 && write_all(fd, text, strlen(text)) && fsync(fd) == 0;
    if (fd >= 0 && close(fd) != 0)
        written = false;
    int status = FAHR_OK;
    if (!written || renameat(dir, temp, dir, name) != 0) {
        status = fahr_error_set(err, FAHR_EFAIL, "cannot write %s/%s: %s", path, name,
                                strerror(errno));
        unlinkat(dir, temp, 0);
    }
    close(dir);
    free(text);
    return status;
}

/* The entry's bytes, if the file is the user's alone and small. Returns the
 * reason it is not used, or NULL; a missing file sets *missing. */
static const char *read_entry(int dir, const char *name, char *bytes, size_t *len,
                              bool *missing)
{
    *missing = false;
    int fd = openat(dir, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        *missing = errno == ENOENT;
        return strerror(errno);
    }
    struct stat st;
    const char *why = trust_own_file(fd, &st);
    *len = 0;
    for (ssize_t n = 1; why == NULL && n > 0;) {
        n = read(fd, bytes + *len, INDEX_FILE_MAX - *len);
        if (n < 0 && errno != EINTR)
            why = strerror(errno);
        else if (n > 0 && (*len += (size_t)n) == INDEX_FILE_MAX)
            why = "too large";
    }
    close(fd);
    return why;
}

static bool name_is(const char *name, const char *allowed, size_t max)
{
    size_t len = strlen(name);
    return len > 0 && len <= max && strspn(name, allowed) == len;
}

/* Fill `record` from the entry's JSON. Returns the reason it is not a
 * usable entry of `job_id` (NULL: of any job), or NULL. */
static const char *decode_entry(const char *bytes, size_t len, const char *job_id,
                                struct job_record *record)
{
    json_t *entry = json_loadb(bytes, len, JSON_REJECT_DUPLICATES, NULL), *keys = NULL;
    const char *id = NULL, *driver = NULL, *image = NULL, *why = NULL;
    json_int_t created = 0;
    if (json_unpack(entry, "{s:s, s:s, s:s, s?I, s:o}", "job_id", &id, "driver", &driver,
                    "image_name", &image, "created", &created, "config", &keys) != 0 ||
        !json_is_object(keys))
        why = "not a job index entry";
    else if (job_id != NULL && strcmp(id, job_id) != 0)
        why = "it names another job";
    else if (!name_is(driver, "abcdefghijklmnopqrstuvwxyz0123456789-", 64) ||
             strlen(image) >= sizeof record->image_name || json_object_size(keys) > INDEX_KEYS_MAX)
        why = "a bad driver name, image name or key count";
    const char *key;
    json_t *value;
    json_object_foreach(why ? NULL : keys, key, value)
        if (!json_is_string(value) || !name_is(key, "abcdefghijklmnopqrstuvwxyz0123456789_", 255))
            why = "a bad config key";
    if (why == NULL) {
        snprintf(record->driver, sizeof record->driver, "%s", driver);
        snprintf(record->image_name, sizeof record->image_name, "%s", image);
        record->created = (int64_t)created;
        record->config = config_new();
        json_object_foreach(keys, key, value)
            config_set(record->config, key, json_string_value(value));
    }
    json_decref(entry);
    return why;
}

bool job_index_find(const char *job_id, struct job_record *record)
{
    memset(record, 0, sizeof *record);
    char path[4096], name[FILE_NAME_MAX + 8];
    struct fahr_error err = {{0}};
    int dir = open_index_dir(false, path, sizeof path, &err);
    if (dir < 0) {
        if (dir != -2)
            host_warn("the job index is not used: %s", err.message);
        return false;
    }
    file_name_of(job_id, name);
    char *bytes = malloc(INDEX_FILE_MAX);
    if (bytes == NULL)
        abort();
    size_t len = 0;
    bool missing;
    const char *why = read_entry(dir, name, bytes, &len, &missing);
    if (why == NULL)
        why = decode_entry(bytes, len, job_id, record);
    if (why != NULL && !missing)
        host_warn("ignoring %s/%s of the job index: %s", path, name, why);
    free(bytes);
    close(dir);
    return why == NULL;
}

bool job_index_find_newest_of_image(const char *image_name, struct job_record *record)
{
    memset(record, 0, sizeof *record);
    char path[4096];
    struct fahr_error err = {{0}};
    int fd = open_index_dir(false, path, sizeof path, &err);
    DIR *dir = fd >= 0 ? fdopendir(fd) : NULL;
    if (dir == NULL) {
        if (fd == -1)
            host_warn("the job index is not used: %s", err.message);
        if (fd >= 0)
            close(fd);
        return false;
    }
    char *bytes = malloc(INDEX_FILE_MAX);
    if (bytes == NULL)
        abort();
    bool found = false;
    for (struct dirent *d; (d = readdir(dir)) != NULL;) {
        size_t len = 0;
        bool missing;
        struct job_record candidate = {0};
        if (d->d_name[0] == '.')
            continue; /* ., .. and files being written */
        const char *why = read_entry(dirfd(dir), d->d_name, bytes, &len, &missing);
        if (why == NULL)
            why = decode_entry(bytes, len, NULL, &candidate);
        if (why != NULL && !missing)
            host_warn("ignoring %s/%s of the job index: %s", path, d->d_name, why);
        if (why != NULL || strcmp(candidate.image_name, image_name) != 0 ||
            (found && candidate.created <= record->created)) {
            job_record_free(&candidate);
            continue;
        }
        job_record_free(record);
        *record = candidate;
        found = true;
    }
    free(bytes);
    closedir(dir);
    return found;
}

void job_record_free(struct job_record *record)
{
    config_free(record->config);
    record->config = NULL;
}
