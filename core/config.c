/* core/config.c: --config.KEY=VALUE values, checked against the keys the
 * chosen drivers declare. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "fahr.h"

struct config_entry {
    char *key;
    char *value;
};

struct fahr_config {
    struct config_entry *entries;
    size_t count;
};

struct fahr_config *config_new(void)
{
    struct fahr_config *config = calloc(1, sizeof *config);
    if (config == NULL)
        abort();
    return config;
}

void config_free(struct fahr_config *config)
{
    if (config == NULL)
        return;
    for (size_t i = 0; i < config->count; i++) {
        free(config->entries[i].key);
        free(config->entries[i].value);
    }
    free(config->entries);
    free(config);
}

static struct config_entry *find_entry(const struct fahr_config *config, const char *key)
{
    for (size_t i = 0; i < config->count; i++)
        if (strcmp(config->entries[i].key, key) == 0)
            return &config->entries[i];
    return NULL;
}

void config_set(struct fahr_config *config, const char *key, const char *value)
{
    struct config_entry *entry = find_entry(config, key);
    if (entry != NULL) {
        free(entry->value);
        entry->value = xstrdup(value);
        return;
    }
    config->entries = xgrow(config->entries, config->count, sizeof *config->entries);
    config->entries[config->count].key = xstrdup(key);
    config->entries[config->count].value = xstrdup(value);
    config->count++;
}

const char *config_get(const struct fahr_config *config, const char *key)
{
    if (config == NULL || key == NULL)
        return NULL;
    const struct config_entry *entry = find_entry(config, key);
    return entry ? entry->value : NULL;
}

/* A path component of an image reference, from the distribution spec:
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* */
static bool path_component_is_valid(const char *s, size_t len)
{
    if (len == 0 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char)s[i];
        if (islower(c) || isdigit(c)) {
            i++;
            continue;
        }
        size_t sep = i;
        if (c == '.')
            i++;
        else if (c == '_')
            i += (i + 1 < len && s[i + 1] == '_') ? 2 : 1;
        else if (c == '-')
            while (i < len && s[i] == '-')
                i++;
        else
            return false;
        if (i >= len || sep == i || !(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i])))
            return false;
    }
    return true;
}

static bool host_component_is_valid(const char *s, size_t len)
{
    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (!(isalnum(c) || c == '.' || c == '-' || c == ':'))
            return false;
    }
    return s[0] != '-' && s[0] != '.' && s[0] != ':';
}

/* [host[:port]/]path[/path...][:tag][@digest] */
bool image_ref_is_valid(const char *ref)
{
    size_t len = strlen(ref);
    if (len == 0 || len > 255 + 128 + 80)
        return false;
    const char *at = strchr(ref, '@');
    size_t name_end = at ? (size_t)(at - ref) : len;
    if (at != NULL) {
        const char *digest = at + 1;
        const char *colon = strchr(digest, ':');
        if (colon == NULL || colon == digest || colon[1] == '\0')
            return false;
        for (const char *p = colon + 1; *p; p++)
            if (!isxdigit((unsigned char)*p))
                return false;
    }
    /* A tag is after the last ':' that follows the last '/'. */
    const char *last_slash = NULL;
    for (size_t i = 0; i < name_end; i++)
        if (ref[i] == '/')
            last_slash = ref + i;
    const char *search_from = last_slash ? last_slash + 1 : ref;
    const char *tag = NULL;
    for (const char *p = search_from; p < ref + name_end; p++)
        if (*p == ':')
            tag = p;
    if (tag != NULL) {
        size_t tag_len = (size_t)(ref + name_end - tag - 1);
        if (tag_len == 0 || tag_len > 128)
            return false;
        if (!(isalnum((unsigned char)tag[1]) || tag[1] == '_'))
            return false;
        for (const char *p = tag + 1; p < ref + name_end; p++)
            if (!(isalnum((unsigned char)*p) || *p == '_' || *p == '.' || *p == '-'))
                return false;
        name_end = (size_t)(tag - ref);
    }
    /* The first component is a registry host if it has '.', ':' or is
     * "localhost" and more components follow. */
    size_t start = 0;
    const char *first_slash = memchr(ref, '/', name_end);
    if (first_slash != NULL) {
        size_t first_len = (size_t)(first_slash - ref);
        bool is_host = memchr(ref, '.', first_len) || memchr(ref, ':', first_len) ||
                       (first_len == 9 && strncmp(ref, "localhost", 9) == 0);
        if (is_host) {
            if (!host_component_is_valid(ref, first_len))
                return false;
            start = first_len + 1;
        }
    }
    if (start >= name_end)
        return false;
    while (start <= name_end) {
        const char *slash = memchr(ref + start, '/', name_end - start);
        size_t end = slash ? (size_t)(slash - ref) : name_end;
        if (!path_component_is_valid(ref + start, end - start))
            return false;
        start = end + 1;
    }
    return true;
}

static bool s3_uri_is_valid(const char *uri)
{
    if (strncmp(uri, "s3://", 5) != 0)
        return false;
    const char *bucket = uri + 5;
    size_t len = strcspn(bucket, "/");
    if (len < 3 || len > 63)
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)bucket[i];
        if (!(islower(c) || isdigit(c) || c == '.' || c == '-'))
            return false;
    }
    return isalnum((unsigned char)bucket[0]) && isalnum((unsigned char)bucket[len - 1]);
}

static int copy_out(const char *value, char *out, size_t out_size, struct fahr_error *err)
{
    if (strlen(value) >= out_size)
        return fahr_error_set(err, FAHR_EINVAL, "value is too long");
    memcpy(out, value, strlen(value) + 1);
    return FAHR_OK;
}

const char *first_control_character(const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
            return text + i;
    return NULL;
}

/* A value of a type; `scheme` is a URI key's. */
static int check_value(enum fahr_config_type type, const char *scheme, const char *value,
                       char *out, size_t out_size, struct fahr_error *err)
{
    /* Values end up in URLs, header lines and file names, where a CR or LF
     * would start a line of the caller's choosing. */
    const char *control = first_control_character(value, strlen(value));
    if (control != NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "the value has a control character (0x%02x); refusing it",
                              (unsigned char)*control);
    switch (type) {
    case FAHR_CONFIG_STRING:
        return copy_out(value, out, out_size, err);
    case FAHR_CONFIG_INT: {
        if (value[0] == '\0')
            return fahr_error_set(err, FAHR_EINVAL, "expected an integer, got an empty value");
        for (const char *p = value; *p; p++)
            if (!isdigit((unsigned char)*p))
                return fahr_error_set(err, FAHR_EINVAL, "expected a whole number >= 0, got '%s'",
                                      value);
        errno = 0;
        unsigned long long n = strtoull(value, NULL, 10);
        if (errno == ERANGE || n > (unsigned long long)INT64_MAX)
            return fahr_error_set(err, FAHR_EINVAL, "'%s' is too large", value);
        char digits[32];
        snprintf(digits, sizeof digits, "%llu", n);
        return copy_out(digits, out, out_size, err);
    }
    case FAHR_CONFIG_BOOL: {
        static const char *const truths[] = {"1", "true", "yes", "on"};
        static const char *const falsities[] = {"0", "false", "no", "off"};
        for (size_t i = 0; i < 4; i++) {
            if (strcasecmp(value, truths[i]) == 0)
                return copy_out("1", out, out_size, err);
            if (strcasecmp(value, falsities[i]) == 0)
                return copy_out("0", out, out_size, err);
        }
        return fahr_error_set(err, FAHR_EINVAL, "expected true or false, got '%s'", value);
    }
    case FAHR_CONFIG_PATH: {
        struct stat st;
        if (value[0] == '\0' || stat(value, &st) != 0)
            return fahr_error_set(err, FAHR_EINVAL, "'%s': %s", value,
                                  value[0] ? strerror(errno) : "empty path");
        char *absolute = realpath(value, NULL);
        if (absolute == NULL)
            return fahr_error_set(err, FAHR_EINVAL, "'%s': %s", value, strerror(errno));
        int rc = copy_out(absolute, out, out_size, err);
        free(absolute);
        return rc;
    }
    case FAHR_CONFIG_IMAGE_REF:
        if (!image_ref_is_valid(value))
            return fahr_error_set(err, FAHR_EINVAL,
                                  "'%s' is not a valid image reference (like "
                                  "registry.example.com/team/python:3.11)",
                                  value);
        return copy_out(value, out, out_size, err);
    case FAHR_CONFIG_S3_URI:
        if (!s3_uri_is_valid(value))
            return fahr_error_set(err, FAHR_EINVAL,
                                  "'%s' is not an S3 location (like s3://bucket/prefix)", value);
        return copy_out(value, out, out_size, err);
    case FAHR_CONFIG_URL:
        return config_check_url(value, out, out_size, err);
    case FAHR_CONFIG_URI:
        return config_check_uri(value, scheme, out, out_size, err);
    }
    return fahr_error_set(err, FAHR_EINVAL, "unknown value type %d", (int)type);
}

int config_check_value(enum fahr_config_type type, const char *value, char *out,
                       size_t out_size, struct fahr_error *err)
{
    return check_value(type, NULL, value, out, out_size, err);
}

int config_check_key_value(const struct fahr_config_key2 *key, const char *value, char *out,
                           size_t out_size, struct fahr_error *err)
{
    return check_value(key->type, key->scheme, value, out, out_size, err);
}

static const struct fahr_config_key2 *find_key(const struct fahr_config_key2 *const *keys,
                                              size_t ntables, const char *name)
{
    for (size_t t = 0; t < ntables; t++)
        for (const struct fahr_config_key2 *k = keys[t]; k && k->name; k++)
            if (strcmp(k->name, name) == 0)
                return k;
    return NULL;
}

static void list_keys(const struct fahr_config_key2 *const *keys, const char *const *owners,
                      size_t ntables, char *out, size_t size)
{
    size_t used = 0;
    out[0] = '\0';
    for (size_t t = 0; t < ntables; t++) {
        for (const struct fahr_config_key2 *k = keys[t]; k && k->name; k++) {
            /* A key two drivers share is listed once. */
            if (find_key(keys, t, k->name) != NULL)
                continue;
            int n = snprintf(out + used, size - used, "%s%s", used ? ", " : "", k->name);
            if (n < 0 || (size_t)n >= size - used)
                return;
            used += (size_t)n;
        }
    }
    if (used == 0) {
        const char *who = ntables > 0 ? owners[0] : "the chosen drivers";
        snprintf(out, size, "none (%s take%s no keys)", ntables > 1 ? "the chosen drivers" : who,
                 ntables > 1 ? "" : "s");
    }
}

/* The declared key nearest to a mistyped one, or NULL. */
static const char *nearest_key(const struct fahr_config_key2 *const *keys, size_t ntables,
                               const char *word)
{
    const char *names[256] = {NULL};
    size_t count = 0;
    for (size_t t = 0; t < ntables; t++)
        for (const struct fahr_config_key2 *k = keys[t]; k && k->name && count < 256; k++)
            names[count++] = k->name;
    return suggest_nearest(word, names, count);
}

/* What an error about a key's value may show: a secret key's is not quoted. */
static const char *shown_error(const struct fahr_config_key2 *key, const struct fahr_error *err)
{
    return (key->flags & FAHR_CONFIG_SECRET) ? "not a valid value (not shown: the key is secret)"
                                             : err->message;
}

/* Fill in an unset key: from its environment variable (checked like a
 * typed value), else its default; or fail if it is required. */
static int apply_default(struct fahr_config *config, const struct fahr_config_key2 *k,
                         const char *owner, bool required, struct fahr_error *err)
{
    const char *env = k->default_env != NULL ? getenv(k->default_env) : NULL;
    char normalised[4096];
    struct fahr_error value_err;
    if (env != NULL && env[0] != '\0') {
        if (config_check_key_value(k, env, normalised, sizeof normalised, &value_err) != FAHR_OK)
            return fahr_error_set(err, FAHR_EINVAL, "$%s (the default of --config.%s): %s",
                                  k->default_env, k->name, shown_error(k, &value_err));
        config_set(config, k->name, normalised);
    } else if (k->default_value != NULL) {
        /* Defaults read like given values ("false" reads "0"). */
        bool ok = config_check_key_value(k, k->default_value, normalised, sizeof normalised,
                                         &value_err) == FAHR_OK;
        config_set(config, k->name, ok ? normalised : k->default_value);
    } else if (required && (k->flags & FAHR_CONFIG_REQUIRED)) {
        if (k->default_env != NULL)
            return fahr_error_set(err, FAHR_EINVAL, "%s needs --config.%s=VALUE or $%s (%s)",
                                  owner, k->name, k->default_env, k->help ? k->help : "");
        return fahr_error_set(err, FAHR_EINVAL, "%s needs --config.%s=VALUE (%s)", owner, k->name,
                              k->help ? k->help : "");
    }
    return FAHR_OK;
}

int config_validate(struct fahr_config *config, const struct fahr_config_key2 *const *keys,
                    const char *const *owners, size_t ntables, unsigned required_tables,
                    struct fahr_error *err)
{
    for (size_t i = 0; i < config->count; i++) {
        struct config_entry *entry = &config->entries[i];
        const struct fahr_config_key2 *key = find_key(keys, ntables, entry->key);
        if (key == NULL) {
            const char *near = nearest_key(keys, ntables, entry->key);
            char accepted[900];
            list_keys(keys, owners, ntables, accepted, sizeof accepted);
            if (near != NULL)
                return fahr_error_set(err, FAHR_EINVAL,
                                      "unknown config key '%s' (did you mean --config.%s?); "
                                      "accepted: %s",
                                      entry->key, near, accepted);
            return fahr_error_set(err, FAHR_EINVAL, "unknown config key '%s'; accepted: %s",
                                  entry->key, accepted);
        }
        char normalised[4096];
        struct fahr_error value_err;
        if (config_check_key_value(key, entry->value, normalised, sizeof normalised,
                                   &value_err) != FAHR_OK)
            return fahr_error_set(err, FAHR_EINVAL, "--config.%s: %s", entry->key,
                                  shown_error(key, &value_err));
        free(entry->value);
        entry->value = xstrdup(normalised);
    }
    for (size_t t = 0; t < ntables; t++)
        for (const struct fahr_config_key2 *k = keys[t]; k && k->name; k++)
            if (find_entry(config, k->name) == NULL &&
                apply_default(config, k, owners[t], (required_tables & (1u << t)) != 0, err) !=
                    FAHR_OK)
                return FAHR_EINVAL;
    return FAHR_OK;
}
