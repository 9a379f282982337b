/* core/cmd_config.c: `fahr config get|set|unset|list`, as `git config`:
 * KEY is SECTION.KEY (defaults.train-driver, sagemaker.output_path), in the
 * profile of --profile or $FAHR_PROFILE where one is chosen. set checks the
 * key and value as the command line would (the driver must be installed);
 * the file is written atomically and keeps every line it need not change. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "user_config.h"

struct config_key {
    char section[80];
    char key[80];
};

/* "SECTION.KEY" into its parts; prints the error. */
static int parse_key(const char *text, struct config_key *out)
{
    const char *dot = strchr(text, '.');
    size_t section_len = dot ? (size_t)(dot - text) : 0;
    const char *key = dot ? dot + 1 : "";
    size_t key_len = strlen(key);
    bool key_ok = key_len > 0 && key_len < sizeof out->key && strspn(key,
                  "abcdefghijklmnopqrstuvwxyz0123456789_-") == key_len;
    if (dot == NULL || section_len >= sizeof out->section ||
        !user_config_section_is_valid(text, section_len) || !key_ok) {
        host_error("'%s' is not a key of the config file; keys are SECTION.KEY, like "
                   "defaults.train-driver or sagemaker.output_path (see 'fahr help config')",
                   text);
        return FAHR_EXIT_USAGE;
    }
    snprintf(out->section, sizeof out->section, "%.*s", (int)section_len, text);
    snprintf(out->key, sizeof out->key, "%s", key);
    bool is_defaults = strcmp(out->section, USER_CONFIG_DEFAULTS) == 0;
    if (is_defaults && !user_config_is_defaults_key(out->key)) {
        host_error("[defaults] has no key '%s'; it takes build-driver and train-driver",
                   out->key);
        return FAHR_EXIT_USAGE;
    }
    return FAHR_EXIT_OK;
}

/* defaults.build-driver / train-driver: a driver of that kind. */
static int check_driver_name(struct plugin_set *set, const char *which, const char *value)
{
    enum fahr_driver_kind kind = strcmp(which, "build-driver") == 0 ? FAHR_DRIVER_BUILD
                                                                   : FAHR_DRIVER_TRAIN;
    if (plugins_find_kind(set, kind, value) != NULL)
        return FAHR_EXIT_OK;
    const char *names[64];
    size_t count = 0;
    for (size_t i = 0; i < set->count && count < 64; i++)
        if (set->items[i].desc.kind == kind)
            names[count++] = set->items[i].desc.name;
    const char *near = suggest_nearest(value, names, count);
    host_error("no %s driver named '%s'%s%s%s ('fahr plugins' lists the drivers)",
               driver_kind_name(kind), value, near ? "; did you mean '" : "", near ? near : "",
               near ? "'?" : "");
    return FAHR_EXIT_USAGE;
}

/* A driver's key: declared by a driver of the section's name, not a secret,
 * its value of the key's type; `stored` is what the file keeps (a path
 * made absolute, other values as given). */
static int check_driver_key(struct plugin_set *set, const struct config_key *name,
                            const char *value, char *stored, size_t stored_size)
{
    const struct fahr_config_key2 *key = NULL;
    const char *names[256];
    size_t count = 0;
    bool found_driver = false;
    for (size_t i = 0; i < set->count && key == NULL; i++) {
        if (strcmp(set->items[i].desc.name, name->section) != 0)
            continue;
        found_driver = true;
        for (const struct fahr_config_key2 *k = set->items[i].record.keys; k && k->name; k++) {
            if (strcmp(k->name, name->key) == 0)
                key = k;
            else if (count < 256)
                names[count++] = k->name;
        }
    }
    if (!found_driver) {
        host_error("no driver named '%s' ('fahr plugins' lists the drivers)", name->section);
        return FAHR_EXIT_USAGE;
    }
    if (key == NULL) {
        const char *near = suggest_nearest(name->key, names, count);
        host_error("%s has no key '%s'%s%s%s ('fahr help %s' lists its keys)", name->section,
                   name->key, near ? " (did you mean " : "", near ? near : "", near ? "?)" : "",
                   name->section);
        return FAHR_EXIT_USAGE;
    }
    if (key->flags & FAHR_CONFIG_SECRET) {
        host_error("%s.%s is a secret; fahr keeps no secret in its config file: keep it in the "
                   "service's own credential store%s%s",
                   name->section, name->key, key->default_env ? " or in $" : "",
                   key->default_env ? key->default_env : "");
        return FAHR_EXIT_USAGE;
    }
    struct fahr_error err = {{0}};
    if (config_check_key_value(key, value, stored, stored_size, &err) != FAHR_OK) {
        host_error("%s.%s: %s", name->section, name->key, err.message);
        return FAHR_EXIT_USAGE;
    }
    if (key->type != FAHR_CONFIG_PATH)
        snprintf(stored, stored_size, "%s", value);
    return FAHR_EXIT_OK;
}

static int check_set(struct cli *cli, const struct config_key *name, const char *value,
                     char *stored, size_t stored_size)
{
    size_t length = strlen(value);
    /* Said before anything echoes the value: it would reach the terminal. */
    const char *control = first_control_character(value, length);
    if (control != NULL) {
        host_error("%s.%s: the value has a control character (0x%02x); refusing it",
                   name->section, name->key, (unsigned char)*control);
        return FAHR_EXIT_USAGE;
    }
    if (length == 0 || value[0] == ' ' || value[0] == '\t' || value[length - 1] == ' ' ||
        value[length - 1] == '\t' || length >= USER_CONFIG_LINE_MAX - 200) {
        host_error("%s.%s: a value of the config file is not empty, starts and ends with no "
                   "blank and is shorter than %d bytes ('fahr config unset' removes a key)",
                   name->section, name->key, USER_CONFIG_LINE_MAX - 200);
        return FAHR_EXIT_USAGE;
    }
    struct plugin_set set;
    memset(&set, 0, sizeof set);
    plugins_search_path(&set, cli->plugin_dirs, cli->plugin_dir_count);
    plugins_load(&set);
    int rc;
    if (strcmp(name->section, USER_CONFIG_DEFAULTS) == 0) {
        rc = check_driver_name(&set, name->key, value);
        snprintf(stored, stored_size, "%s", value);
    } else {
        rc = check_driver_key(&set, name, value, stored, stored_size);
    }
    plugins_unload(&set);
    return rc;
}

static bool seen_by(const struct user_config_entry *entry, const char *profile)
{
    return entry->profile == NULL || (profile != NULL && strcmp(entry->profile, profile) == 0);
}

/* Every key the profile sees (its own lines over the plain sections'),
 * once each, in the order of the file. */
static void list(const struct user_config *file, const char *profile)
{
    size_t count = user_config_count(file);
    for (size_t i = 0; i < count; i++) {
        struct user_config_entry entry = *user_config_entry_at(file, i);
        bool listed = !seen_by(&entry, profile);
        for (size_t j = 0; j < i && !listed; j++) {
            const struct user_config_entry *before = user_config_entry_at(file, j);
            listed = seen_by(before, profile) && strcmp(before->section, entry.section) == 0 &&
                     strcmp(before->key, entry.key) == 0;
        }
        if (listed)
            continue;
        const struct user_config_entry *value =
            user_config_find(file, profile, entry.section, entry.key);
        printf("%s.%s=%s\n", value->section, value->key, value->value);
    }
}

/* set or unset, the file read under its lock (see user_config.h): the
 * edit, then the commit; the lock is given up on any failure. */
static int edit(const struct cli *cli, const char *path, const char *verb,
                const struct config_key *name, const char *stored)
{
    struct fahr_error err = {{0}};
    struct user_config_lock lock;
    struct user_config *file = NULL;
    int rc = FAHR_EXIT_FAILED;
    if (user_config_lock(path, &lock, &err) != FAHR_OK) {
        host_error("%s", err.message);
    } else if (user_config_load(path, &file, &err) != FAHR_OK) {
        host_error("%s", err.message);
        rc = FAHR_EXIT_USAGE;
    } else if (strcmp(verb, "unset") == 0 &&
               !user_config_unset(file, cli->profile, name->section, name->key)) {
        host_error("%s.%s is not set in %s%s%s", name->section, name->key,
                   user_config_shown(file), cli->profile ? " for profile " : "",
                   cli->profile ? cli->profile : "");
    } else {
        if (strcmp(verb, "set") == 0)
            user_config_set(file, cli->profile, name->section, name->key, stored);
        char *text = user_config_text(file);
        if (user_config_commit(&lock, text, &err) != FAHR_OK)
            host_error("%s", err.message);
        else
            rc = FAHR_EXIT_OK;
        free(text);
    }
    user_config_unlock(&lock); /* a no-op after the commit */
    user_config_free(file);
    return rc;
}

/* The verb's arguments: get and unset KEY, set KEY VALUE, list none. */
static int check_arguments(const struct cli *cli, const char *verb)
{
    static const struct {
        const char *verb;
        size_t args;
    } verbs[] = {{"get", 2}, {"set", 3}, {"unset", 2}, {"list", 1}};
    for (size_t i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
        if (strcmp(verbs[i].verb, verb) != 0)
            continue;
        if (cli->arg_count == verbs[i].args)
            return FAHR_EXIT_OK;
        host_error("'fahr config %s' takes %s (see 'fahr help config')", verb,
                   verbs[i].args == 1 ? "no KEY" : verbs[i].args == 2 ? "one KEY" : "KEY VALUE");
        return FAHR_EXIT_USAGE;
    }
    host_error("'%s' is not a verb of 'fahr config': get, set, unset or list", verb);
    return FAHR_EXIT_USAGE;
}

/* --profile, else $FAHR_PROFILE, else none. */
static int choose_profile(struct cli *cli)
{
    if (cli->profile == NULL) {
        const char *env = getenv("FAHR_PROFILE");
        cli->profile = env != NULL && env[0] != '\0' ? env : NULL;
    }
    if (cli->profile != NULL && !user_config_profile_is_valid(cli->profile, strlen(cli->profile))) {
        host_error("'%s' is not a profile name (letters, digits, '-', '_' and '.')", cli->profile);
        return FAHR_EXIT_USAGE;
    }
    return FAHR_EXIT_OK;
}

/* get and list: the file as it is. */
static int read_only(const struct cli *cli, const char *path, const char *verb,
                     const struct config_key *name)
{
    struct fahr_error err = {{0}};
    struct user_config *file = NULL;
    if (user_config_load(path, &file, &err) != FAHR_OK) {
        host_error("%s", err.message);
        return FAHR_EXIT_USAGE;
    }
    int rc = FAHR_EXIT_OK;
    if (cli->profile != NULL && !user_config_has_profile(file, cli->profile)) {
        host_error("'%s' is not a profile of %s", cli->profile, user_config_shown(file));
        rc = FAHR_EXIT_USAGE;
    } else if (strcmp(verb, "list") == 0) {
        list(file, cli->profile);
    } else {
        const struct user_config_entry *entry =
            user_config_find(file, cli->profile, name->section, name->key);
        if (entry != NULL)
            printf("%s\n", entry->value);
        rc = entry != NULL ? FAHR_EXIT_OK : FAHR_EXIT_FAILED; /* as git config: 1, unset */
    }
    user_config_free(file);
    return rc;
}

int cmd_config(struct cli *cli)
{
    const char *verb = cli->args[0];
    int rc = check_arguments(cli, verb);
    struct config_key name;
    if (rc == FAHR_EXIT_OK && cli->arg_count > 1)
        rc = parse_key(cli->args[1], &name);
    if (rc == FAHR_EXIT_OK)
        rc = choose_profile(cli);
    char path[4096];
    if (rc == FAHR_EXIT_OK && !user_config_path(path, sizeof path)) {
        host_error("no config file: neither $XDG_CONFIG_HOME nor $HOME is an absolute path");
        rc = FAHR_EXIT_USAGE;
    }
    if (rc != FAHR_EXIT_OK)
        return rc;
    if (strcmp(verb, "get") == 0 || strcmp(verb, "list") == 0)
        return read_only(cli, path, verb, &name);
    /* Checked before the lock is taken: loading the drivers takes a while. */
    char stored[USER_CONFIG_LINE_MAX] = "";
    if (strcmp(verb, "set") == 0 &&
        (rc = check_set(cli, &name, cli->args[2], stored, sizeof stored)) != FAHR_EXIT_OK)
        return rc;
    return edit(cli, path, verb, &name, stored);
}
