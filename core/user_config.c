/* core/user_config.c: the user's config file read into its lines, looked
 * up, edited in place and written back atomically (see user_config.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_load.h"
#include "user_config.h"

struct config_line {
    char *text;                     /* as in the file, without its newline */
    bool is_header, is_entry;
    char *profile, *section;        /* the section it is in (or opens) */
    char *key, *value;              /* entries */
    unsigned number;
};

struct user_config {
    char *path;
    char shown[4096];
    struct config_line *lines;
    size_t count;
    struct user_config_entry view; /* what user_config_entry_at/find return */
};

static const char *const defaults_keys[] = {"build-driver", "train-driver"};

bool user_config_is_defaults_key(const char *key)
{
    return strcmp(key, defaults_keys[0]) == 0 || strcmp(key, defaults_keys[1]) == 0;
}

bool user_config_path(char *out, size_t size)
{
    return xdg_path("XDG_CONFIG_HOME", ".config", "config", out, size);
}

const char *user_config_shown(const struct user_config *config)
{
    return config->shown;
}

void user_config_show_path(const char *path, char *out, size_t size)
{
    const char *home = getenv("HOME");
    size_t home_len = home != NULL ? strlen(home) : 0;
    if (home_len > 1 && home[0] == '/' && strncmp(path, home, home_len) == 0 &&
        path[home_len] == '/')
        snprintf(out, size, "~%s", path + home_len);
    else
        snprintf(out, size, "%s", path);
}

static void line_free(struct config_line *line)
{
    free(line->text), free(line->profile), free(line->section);
    free(line->key), free(line->value);
}

void user_config_free(struct user_config *config)
{
    if (config == NULL)
        return;
    for (size_t i = 0; i < config->count; i++)
        line_free(&config->lines[i]);
    free(config->lines);
    free(config->path);
    free(config);
}

/* ---- parsing ---- */

static bool is_blank(char c) { return c == ' ' || c == '\t'; }

static bool all_of(const char *s, size_t len, const char *extra, bool upper)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || (upper && c >= 'A' && c <= 'Z') ||
              (c != '\0' && strchr(extra, c) != NULL)))
            return false;
    }
    return true;
}

/* A driver's name (plugin_scan.c's rule) or "defaults". */
bool user_config_section_is_valid(const char *s, size_t len)
{
    return len <= 64 && all_of(s, len, "-", false);
}
bool user_config_profile_is_valid(const char *s, size_t len)
{
    return len <= 64 && all_of(s, len, "-_.", true);
}

/* Split "[a b c]"'s inside into at most 3 words; the count, or 4 for more. */
static size_t split_words(char *inside, char *words[3])
{
    size_t count = 0;
    for (char *p = strtok(inside, " \t"); p != NULL; p = strtok(NULL, " \t")) {
        if (count == 3)
            return 4;
        words[count++] = p;
    }
    return count;
}

static int parse_header(const char *where, const char *text, struct config_line *line,
                        struct fahr_error *err)
{
    const char *close = strchr(text, ']');
    if (close == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "%s: a section header without its ']'", where);
    const char *rest = close + 1 + strspn(close + 1, " \t");
    if (*rest != '\0' && *rest != '#' && *rest != ';')
        return fahr_error_set(err, FAHR_EINVAL, "%s: text after the section header's ']'", where);
    char inside[USER_CONFIG_LINE_MAX];
    snprintf(inside, sizeof inside, "%.*s", (int)(close - text - 1), text + 1);
    char *words[3] = {NULL};
    size_t count = split_words(inside, words);
    bool is_profile = count >= 1 && strcmp(words[0], "profile") == 0;
    if (count == 1 && !is_profile && user_config_section_is_valid(words[0], strlen(words[0]))) {
        line->section = xstrdup(words[0]);
    } else if (is_profile && (count == 2 || count == 3) &&
               user_config_profile_is_valid(words[1], strlen(words[1])) &&
               (count == 2 || (user_config_section_is_valid(words[2], strlen(words[2])) &&
                               strcmp(words[2], USER_CONFIG_DEFAULTS) != 0))) {
        line->profile = xstrdup(words[1]);
        line->section = xstrdup(count == 3 ? words[2] : USER_CONFIG_DEFAULTS);
    } else {
        return fahr_error_set(err, FAHR_EINVAL,
                              "%s: '%.200s' is not a section fahr knows ([defaults], "
                              "[DRIVER], [profile NAME] or [profile NAME DRIVER])",
                              where, text);
    }
    line->is_header = true;
    return FAHR_OK;
}

static int parse_entry(const char *where, const char *text, const struct config_line *header,
                       struct config_line *line, struct fahr_error *err)
{
    const char *equals = strchr(text, '=');
    if (equals == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "%s: expected KEY = VALUE or [SECTION]", where);
    size_t key_len = (size_t)(equals - text);
    while (key_len > 0 && is_blank(text[key_len - 1]))
        key_len--;
    if (!all_of(text, key_len, "_-", false))
        return fahr_error_set(err, FAHR_EINVAL,
                              "%s: '%.*s' is not a key (lower case letters, digits, _ and -)",
                              where, (int)(key_len > 64 ? 64 : key_len), text);
    if (header == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "%s: '%.*s' before any [section]", where,
                              (int)key_len, text);
    line->key = strndup(text, key_len);
    if (line->key == NULL)
        abort();
    const char *value = equals + 1 + strspn(equals + 1, " \t");
    line->value = xstrdup(value);
    line->profile = header->profile ? xstrdup(header->profile) : NULL;
    line->section = xstrdup(header->section);
    line->is_entry = true;
    if (strcmp(line->section, USER_CONFIG_DEFAULTS) == 0 && !user_config_is_defaults_key(line->key)) {
        const char *near = suggest_nearest(line->key, defaults_keys, 2);
        return fahr_error_set(err, FAHR_EINVAL, "%s: [%s%s] has no key '%s'%s%s%s; it takes %s and %s",
                              where, header->profile ? "profile " : "defaults",
                              header->profile ? header->profile : "", line->key,
                              near ? " (did you mean " : "", near ? near : "", near ? "?)" : "",
                              defaults_keys[0], defaults_keys[1]);
    }
    return FAHR_OK;
}

/* The first byte of a line that no config file holds, or NULL. */
static const char *hostile_byte(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return text + i;
    }
    return NULL;
}

/* One line (without its newline; a CR before it dropped) into `line`. */
static int parse_line(const char *path, unsigned number, const char *text, size_t length,
                      const struct config_line *header, struct config_line *line,
                      struct fahr_error *err)
{
    memset(line, 0, sizeof *line);
    char where[4200];
    snprintf(where, sizeof where, "%s:%u", path, number);
    if (length >= USER_CONFIG_LINE_MAX)
        return fahr_error_set(err, FAHR_EINVAL, "%s: the line is longer than %d bytes", where,
                              USER_CONFIG_LINE_MAX - 1);
    const char *bad = hostile_byte(text, length);
    if (bad != NULL)
        return fahr_error_set(err, FAHR_EINVAL, "%s: %s (byte 0x%02x at column %zu); refusing the file",
                              where, *bad ? "a control character" : "a NUL byte",
                              (unsigned char)*bad, (size_t)(bad - text) + 1);
    line->number = number;
    line->text = strndup(text, length);
    if (line->text == NULL)
        abort();
    char *trimmed = line->text + strspn(line->text, " \t");
    size_t end = strlen(trimmed);
    char body[USER_CONFIG_LINE_MAX];
    while (end > 0 && is_blank(trimmed[end - 1]))
        end--;
    snprintf(body, sizeof body, "%.*s", (int)end, trimmed);
    if (body[0] == '\0' || body[0] == '#' || body[0] == ';')
        return FAHR_OK;
    if (body[0] == '[')
        return parse_header(where, body, line, err);
    return parse_entry(where, body, header, line, err);
}

static struct user_config *config_new_for(const char *path)
{
    struct user_config *config = calloc(1, sizeof *config);
    if (config == NULL)
        abort();
    config->path = xstrdup(path);
    user_config_show_path(path, config->shown, sizeof config->shown);
    return config;
}

int user_config_parse(const char *path, const char *text, size_t length,
                      struct user_config **out, struct fahr_error *err)
{
    struct user_config *config = config_new_for(path);
    size_t header = SIZE_MAX; /* an index: xgrow may move the lines */
    unsigned number = 0;
    for (size_t at = 0; at < length;) {
        const char *newline = memchr(text + at, '\n', length - at);
        size_t line_len = newline ? (size_t)(newline - text - at) : length - at;
        size_t kept = line_len > 0 && text[at + line_len - 1] == '\r' ? line_len - 1 : line_len;
        config->lines = xgrow(config->lines, config->count, sizeof *config->lines);
        struct config_line *line = &config->lines[config->count];
        const struct config_line *in = header == SIZE_MAX ? NULL : &config->lines[header];
        int rc = parse_line(config->shown, ++number, text + at, kept, in, line, err);
        if (rc == FAHR_OK || line->text != NULL)
            config->count++; /* freed with the rest */
        if (rc != FAHR_OK) {
            user_config_free(config);
            return FAHR_EINVAL;
        }
        if (line->is_header)
            header = config->count - 1;
        at += line_len + (newline ? 1 : 0);
    }
    *out = config;
    return FAHR_OK;
}

/* ---- reading the file ---- */

/* Why the opened file may not be trusted (it, or a directory above it), or
 * NULL: the StrictModes rule of plugin_trust.c, but the file must be the
 * user's own, not root's. */
static const char *untrusted(int fd, const char *path, char *why, size_t why_size)
{
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(why, why_size, "%s", strerror(errno));
        return why;
    }
    if (!S_ISREG(st.st_mode)) {
        snprintf(why, why_size, "not a regular file");
        return why;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, why_size, "owned by uid %u, not by you; fahr reads only a config file of "
                                "your own", (unsigned)st.st_uid);
        return why;
    }
    if (trust_check(&st, TRUST_FILE, why, why_size) != NULL)
        return why;
    char *resolved = realpath(path, NULL);
    if (resolved == NULL) {
        snprintf(why, why_size, "%s", strerror(errno));
        return why;
    }
    const char *flaw = trust_check_ancestors(resolved, why, why_size);
    free(resolved);
    return flaw;
}

static int read_all(int fd, const char *shown, char **text, size_t *length,
                    struct fahr_error *err)
{
    char *buffer = malloc(USER_CONFIG_SIZE_MAX + 1);
    if (buffer == NULL)
        abort();
    size_t used = 0;
    for (;;) {
        ssize_t n = read(fd, buffer + used, USER_CONFIG_SIZE_MAX + 1 - used);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            free(buffer);
            return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", shown, strerror(errno));
        }
        if (n == 0)
            break;
        used += (size_t)n;
        if (used > USER_CONFIG_SIZE_MAX) {
            free(buffer);
            return fahr_error_set(err, FAHR_EINVAL, "%s is larger than %d KiB; refusing it",
                                  shown, USER_CONFIG_SIZE_MAX / 1024);
        }
    }
    *text = buffer;
    *length = used;
    return FAHR_OK;
}

int user_config_load(const char *path, struct user_config **out, struct fahr_error *err)
{
    struct user_config *named = config_new_for(path); /* for its shown path */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    /* No file, or a path through something that is not a directory
     * (XDG_CONFIG_HOME naming a file): no defaults, as git reads it. */
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        *out = named;
        return FAHR_OK;
    }
    int rc = FAHR_OK;
    char why[1024];
    char *text = NULL;
    size_t length = 0;
    if (fd < 0)
        rc = fahr_error_set(err, FAHR_EFAIL, "cannot open %s: %s", named->shown, strerror(errno));
    else if (untrusted(fd, path, why, sizeof why) != NULL)
        rc = fahr_error_set(err, FAHR_EINVAL, "refusing %s: %s", named->shown, why);
    else
        rc = read_all(fd, named->shown, &text, &length, err);
    if (fd >= 0)
        close(fd);
    if (rc == FAHR_OK)
        rc = user_config_parse(path, text, length, out, err);
    free(text);
    user_config_free(named);
    return rc;
}

/* ---- looking up ---- */

size_t user_config_count(const struct user_config *config)
{
    size_t n = 0;
    for (size_t i = 0; i < config->count; i++)
        n += config->lines[i].is_entry;
    return n;
}

static const struct user_config_entry *view_of(const struct user_config *config,
                                               const struct config_line *line)
{
    struct user_config_entry *view = (struct user_config_entry *)&config->view;
    *view = (struct user_config_entry){line->profile, line->section, line->key, line->value,
                                       line->number};
    return view;
}

const struct user_config_entry *user_config_entry_at(const struct user_config *config, size_t i)
{
    for (size_t l = 0; l < config->count; l++)
        if (config->lines[l].is_entry && i-- == 0)
            return view_of(config, &config->lines[l]);
    return NULL;
}

static bool same(const char *a, const char *b)
{
    return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The index of the last line of `key` in exactly that section, or SIZE_MAX. */
static size_t last_line_of(const struct user_config *config, const char *profile,
                           const char *section, const char *key)
{
    size_t found = SIZE_MAX;
    for (size_t i = 0; i < config->count; i++) {
        const struct config_line *line = &config->lines[i];
        if (line->is_entry && same(line->profile, profile) && strcmp(line->section, section) == 0 &&
            strcmp(line->key, key) == 0)
            found = i;
    }
    return found;
}

const struct user_config_entry *user_config_find(const struct user_config *config,
                                                 const char *profile, const char *section,
                                                 const char *key)
{
    size_t i = profile != NULL ? last_line_of(config, profile, section, key) : SIZE_MAX;
    if (i == SIZE_MAX)
        i = last_line_of(config, NULL, section, key);
    return i == SIZE_MAX ? NULL : view_of(config, &config->lines[i]);
}

bool user_config_has_profile(const struct user_config *config, const char *profile)
{
    for (size_t i = 0; i < config->count; i++)
        if (config->lines[i].is_header && same(config->lines[i].profile, profile))
            return true;
    return false;
}

void user_config_profiles(const struct user_config *config, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t i = 0; i < config->count; i++) {
        const char *name = config->lines[i].is_header ? config->lines[i].profile : NULL;
        bool seen = false;
        for (size_t j = 0; name != NULL && j < i && !seen; j++)
            seen = config->lines[j].is_header && same(config->lines[j].profile, name);
        if (name == NULL || seen)
            continue;
        int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", name);
        if (n < 0 || (size_t)n >= size - used)
            return;
        used += (size_t)n;
    }
}

/* ---- editing ---- */

static void remove_line(struct user_config *config, size_t i)
{
    line_free(&config->lines[i]);
    memmove(&config->lines[i], &config->lines[i + 1],
            (config->count - i - 1) * sizeof *config->lines);
    config->count--;
}

static void insert_line(struct user_config *config, size_t at, struct config_line line)
{
    config->lines = xgrow(config->lines, config->count, sizeof *config->lines);
    memmove(&config->lines[at + 1], &config->lines[at], (config->count - at) * sizeof line);
    config->lines[at] = line;
    config->count++;
}

static char *entry_text(const char *key, const char *value)
{
    size_t size = strlen(key) + strlen(value) + 4;
    char *text = malloc(size);
    if (text == NULL)
        abort();
    snprintf(text, size, "%s = %s", key, value);
    return text;
}

static struct config_line new_entry(const char *profile, const char *section, const char *key,
                                    const char *value)
{
    return (struct config_line){.text = entry_text(key, value), .is_entry = true,
                                .profile = profile ? xstrdup(profile) : NULL,
                                .section = xstrdup(section), .key = xstrdup(key),
                                .value = xstrdup(value)};
}

static char *header_text(const char *profile, const char *section)
{
    char text[256];
    if (profile == NULL)
        snprintf(text, sizeof text, "[%s]", section);
    else if (strcmp(section, USER_CONFIG_DEFAULTS) == 0)
        snprintf(text, sizeof text, "[profile %s]", profile);
    else
        snprintf(text, sizeof text, "[profile %s %s]", profile, section);
    return xstrdup(text);
}

/* Where a new line of the section goes: after its last entry (or its last
 * header where it has no entry), or SIZE_MAX where there is no section. */
static size_t insertion_point(const struct user_config *config, const char *profile,
                              const char *section)
{
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < config->count; i++) {
        const struct config_line *line = &config->lines[i];
        if ((line->is_entry || line->is_header) && same(line->profile, profile) &&
            strcmp(line->section, section) == 0)
            at = i + 1;
    }
    return at;
}

void user_config_set(struct user_config *config, const char *profile, const char *section,
                     const char *key, const char *value)
{
    size_t last = last_line_of(config, profile, section, key);
    if (last != SIZE_MAX) {
        struct config_line *line = &config->lines[last];
        /* The line keeps its indentation; key and value are written anew. */
        size_t indent = strspn(line->text, " \t");
        char *text = entry_text(key, value);
        size_t size = indent + strlen(text) + 1;
        char *indented = malloc(size);
        if (indented == NULL)
            abort();
        snprintf(indented, size, "%.*s%s", (int)indent, line->text, text);
        free(text);
        free(line->text), free(line->value);
        line->text = indented;
        line->value = xstrdup(value);
        /* Earlier repeats would read as the value once this line is gone. */
        for (size_t i = last; i-- > 0;)
            if (config->lines[i].is_entry && same(config->lines[i].profile, profile) &&
                strcmp(config->lines[i].section, section) == 0 &&
                strcmp(config->lines[i].key, key) == 0)
                remove_line(config, i);
        return;
    }
    size_t at = insertion_point(config, profile, section);
    if (at == SIZE_MAX) {
        if (config->count > 0 && config->lines[config->count - 1].text[0] != '\0')
            insert_line(config, config->count, (struct config_line){.text = xstrdup("")});
        insert_line(config, config->count,
                    (struct config_line){.text = header_text(profile, section), .is_header = true,
                                         .profile = profile ? xstrdup(profile) : NULL,
                                         .section = xstrdup(section)});
        at = config->count;
    }
    insert_line(config, at, new_entry(profile, section, key, value));
}

bool user_config_unset(struct user_config *config, const char *profile, const char *section,
                       const char *key)
{
    bool removed = false;
    size_t i;
    while ((i = last_line_of(config, profile, section, key)) != SIZE_MAX) {
        remove_line(config, i);
        removed = true;
    }
    return removed;
}

char *user_config_text(const struct user_config *config)
{
    size_t size = 1;
    for (size_t i = 0; i < config->count; i++)
        size += strlen(config->lines[i].text) + 1;
    char *text = malloc(size);
    if (text == NULL)
        abort();
    size_t used = 0;
    for (size_t i = 0; i < config->count; i++) {
        size_t len = strlen(config->lines[i].text);
        memcpy(text + used, config->lines[i].text, len);
        text[used + len] = '\n';
        used += len + 1;
    }
    text[used] = '\0';
    return text;
}

int user_config_save(const struct user_config *config, struct fahr_error *err)
{
    struct user_config_lock lock;
    if (user_config_lock(config->path, &lock, err) != FAHR_OK)
        return FAHR_EFAIL;
    char *text = user_config_text(config);
    int rc = user_config_commit(&lock, text, err);
    free(text);
    return rc;
}
