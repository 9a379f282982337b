/* core/user_defaults.c: the user's config file as the defaults of the
 * command line. What wins, first to last: the command line, the
 * environment (a key's own variable, as its driver declares it; the job
 * index's record of a job), the chosen profile's sections, the plain
 * sections, a key's declared default. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "user_config.h"

int user_defaults_load(struct cli *cli)
{
    char path[4096];
    struct fahr_error err = {{0}};
    if (!user_config_path(path, sizeof path))
        return FAHR_EXIT_OK; /* no HOME: nothing to read */
    if (user_config_load(path, &cli->user_config, &err) != FAHR_OK) {
        host_error("%s", err.message);
        return FAHR_EXIT_USAGE;
    }
    bool from_env = cli->profile == NULL;
    if (from_env) {
        const char *env = getenv("FAHR_PROFILE");
        cli->profile = env != NULL && env[0] != '\0' ? env : NULL;
    }
    if (cli->profile == NULL || user_config_has_profile(cli->user_config, cli->profile))
        return FAHR_EXIT_OK;
    char profiles[512];
    user_config_profiles(cli->user_config, profiles, sizeof profiles);
    host_error("%s'%s' is not a profile of %s (%s%s)", from_env ? "$FAHR_PROFILE: " : "",
               cli->profile, user_config_shown(cli->user_config),
               profiles[0] ? "it has: " : "it has none", profiles);
    return FAHR_EXIT_USAGE;
}

const char *user_defaults_driver(struct cli *cli, const char *which)
{
    if (cli->user_config == NULL)
        return NULL;
    const struct user_config_entry *entry =
        user_config_find(cli->user_config, cli->profile, USER_CONFIG_DEFAULTS, which);
    if (entry == NULL)
        return NULL;
    char origin[4300];
    snprintf(origin, sizeof origin, "%s:%u: %s", user_config_shown(cli->user_config),
             entry->line, which);
    char **slot = strcmp(which, "build-driver") == 0 ? &cli->build_driver_origin
                                                     : &cli->train_driver_origin;
    free(*slot);
    *slot = xstrdup(origin);
    /* The entry's strings live as long as the file's lines: to the end. */
    return entry->value;
}

static const struct fahr_config_key2 *key_of(const struct fahr_config_key2 *table,
                                             const char *name)
{
    for (const struct fahr_config_key2 *k = table; k && k->name; k++)
        if (strcmp(k->name, name) == 0)
            return k;
    return NULL;
}

/* The key `name` of the driver `section` (a build and a train driver may
 * share a name, and with it the section), or NULL with the nearest name. */
static const struct fahr_config_key2 *
section_key(const struct fahr_config_key2 *const *tables, const char *const *owners,
            size_t ntables, const char *section, const char *name, const char **near)
{
    const char *names[256];
    size_t count = 0;
    for (size_t t = 0; t < ntables; t++) {
        if (strcmp(owners[t], section) != 0)
            continue;
        const struct fahr_config_key2 *key = key_of(tables[t], name);
        if (key != NULL)
            return key;
        for (const struct fahr_config_key2 *k = tables[t]; k && k->name && count < 256; k++)
            names[count++] = k->name;
    }
    *near = suggest_nearest(name, names, count);
    return NULL;
}

/* One line of a chosen driver's section: a declared key, not a secret,
 * with a value of its type. */
static int check_entry(const struct user_config *file, const struct user_config_entry *entry,
                       const struct fahr_config_key2 *const *tables, const char *const *owners,
                       size_t ntables)
{
    const char *where = user_config_shown(file);
    const char *near = NULL;
    const struct fahr_config_key2 *key =
        section_key(tables, owners, ntables, entry->section, entry->key, &near);
    if (key == NULL) {
        host_error("%s:%u: %s has no key '%s'%s%s%s ('fahr help %s' lists its keys)", where,
                   entry->line, entry->section, entry->key, near ? " (did you mean " : "",
                   near ? near : "", near ? "?)" : "", entry->section);
        return FAHR_EXIT_USAGE;
    }
    if (key->flags & FAHR_CONFIG_SECRET) {
        host_error("%s:%u: %s.%s is a secret and fahr reads no secret from its config file: "
                   "keep it in the service's own credential store%s%s%s",
                   where, entry->line, entry->section, entry->key,
                   key->default_env ? " or in $" : "", key->default_env ? key->default_env : "",
                   key->default_env ? ", and remove the line" : ", and remove the line");
        return FAHR_EXIT_USAGE;
    }
    char normalised[4096];
    struct fahr_error err = {{0}};
    if (config_check_key_value(key, entry->value, normalised, sizeof normalised, &err) != FAHR_OK) {
        host_error("%s:%u: %s.%s: %s", where, entry->line, entry->section, entry->key,
                   err.message);
        return FAHR_EXIT_USAGE;
    }
    return FAHR_EXIT_OK;
}

static bool is_chosen(const char *section, const char *const *owners, size_t ntables)
{
    for (size_t t = 0; t < ntables; t++)
        if (strcmp(owners[t], section) == 0)
            return true;
    return false;
}

int user_defaults_fill_keys(struct cli *cli, const struct fahr_config_key2 *const *tables,
                            const char *const *owners, size_t ntables)
{
    const struct user_config *file = cli->user_config;
    if (file == NULL)
        return FAHR_EXIT_OK;
    /* Every line of the chosen drivers' sections, also those the command
     * line overrides: a typo shows the first time, not when it matters.
     * Sections of other drivers wait for their driver (it may not be
     * installed here). */
    for (size_t i = 0; i < user_config_count(file); i++) {
        const struct user_config_entry *entry = user_config_entry_at(file, i);
        bool ours = entry->profile == NULL || (cli->profile != NULL &&
                                               strcmp(entry->profile, cli->profile) == 0);
        if (ours && is_chosen(entry->section, owners, ntables)) {
            int rc = check_entry(file, entry, tables, owners, ntables);
            if (rc != FAHR_EXIT_OK)
                return rc;
        }
    }
    for (size_t t = 0; t < ntables; t++)
        for (const struct fahr_config_key2 *k = tables[t]; k && k->name; k++) {
            const char *env = k->default_env ? getenv(k->default_env) : NULL;
            if (config_get(cli->config, k->name) != NULL || (env != NULL && env[0] != '\0'))
                continue;
            const struct user_config_entry *entry =
                user_config_find(file, cli->profile, owners[t], k->name);
            if (entry != NULL)
                config_set(cli->config, k->name, entry->value);
        }
    return FAHR_EXIT_OK;
}
