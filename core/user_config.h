/* core/user_config.h: the user's config file, $XDG_CONFIG_HOME/fahr/config,
 * an INI file in the style of git's and the AWS CLI's:
 *
 *     [defaults]                 build-driver, train-driver
 *     [sagemaker]                a driver's keys (any driver's name)
 *     [profile NAME]             a profile's build-driver, train-driver
 *     [profile NAME sagemaker]   a profile's keys of a driver
 *
 * Lines are `key = value` (spaces around '=' optional, a value as it is up
 * to its end: no quoting, no inline comment), comments start with '#' or
 * ';' on a line of their own. The file is kept as its lines, so that an
 * edit changes the lines it must and keeps every other line, comments and
 * order included. Knows nothing of drivers: checking keys against their
 * declarations is user_defaults.c's and cmd_config.c's. */
#ifndef FAHR_USER_CONFIG_H
#define FAHR_USER_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "fahr.h"

#define USER_CONFIG_DEFAULTS "defaults"
#define USER_CONFIG_LINE_MAX 4096
#define USER_CONFIG_SIZE_MAX (1024 * 1024)

/* One `key = value` line and where it is. */
struct user_config_entry {
    const char *profile; /* NULL outside [profile ...] sections */
    const char *section; /* "defaults" or a driver's name */
    const char *key;
    const char *value;
    unsigned line;       /* 1-based */
};

struct user_config;

/* Where the file is: $XDG_CONFIG_HOME/fahr/config, else
 * ~/.config/fahr/config. False where neither is absolute. */
bool user_config_path(char *out, size_t size);
/* The path as messages show it: "~/..." under $HOME. */
const char *user_config_shown(const struct user_config *config);

/* Parse `length` bytes of text read from `path` (named in errors as
 * "PATH:LINE: ..."). Hostile text (NUL bytes, control characters, overlong
 * lines, a section or key of the wrong form) is refused with one line. */
int user_config_parse(const char *path, const char *text, size_t length,
                      struct user_config **out, struct fahr_error *err);
/* Read and parse the file at `path`: a missing file reads as an empty one;
 * a file that is not the user's own, or that others could write (it or a
 * directory above it, as OpenSSH's StrictModes), is refused. */
int user_config_load(const char *path, struct user_config **out, struct fahr_error *err);
void user_config_free(struct user_config *config);

/* The entries, in file order; the pointer is valid until the next edit. */
size_t user_config_count(const struct user_config *config);
const struct user_config_entry *user_config_entry_at(const struct user_config *config, size_t i);
/* The value of `key` in `section`: the profile's (if `profile`) where it
 * has one, else the plain section's; the last of repeated lines wins. */
const struct user_config_entry *user_config_find(const struct user_config *config,
                                                 const char *profile, const char *section,
                                                 const char *key);
bool user_config_has_profile(const struct user_config *config, const char *profile);
/* "a, b" of the profiles in the file, for an error message. */
void user_config_profiles(const struct user_config *config, char *out, size_t size);

/* Edits in memory. set replaces the section's last line of the key
 * (removing earlier repeats), else adds a line after the section's last
 * one, else adds the section at the end; unset removes the key's lines and
 * says whether there were any. Neither checks the key against a driver. */
void user_config_set(struct user_config *config, const char *profile, const char *section,
                     const char *key, const char *value);
bool user_config_unset(struct user_config *config, const char *profile, const char *section,
                       const char *key);
/* The file's text as it would be written; caller frees. */
char *user_config_text(const struct user_config *config);
/* Writing, as git writes its config: lock makes PATH.lock exclusively
 * (mode 0600; the directory made 0700 if missing), before the file is read
 * for an edit, so that two writers do not lose each other's changes;
 * another writer's lock is refused, not waited for. commit writes the text
 * into it, fsyncs it and renames it over PATH (where a symlink points, so a
 * linked dotfile stays linked), then fsyncs the directory; unlock gives the
 * lock up unused. save is lock and commit of the config's text. */
struct user_config_lock {
    char target[4096];
    char lock[4200];
    char shown[4096];
    int fd;
};
int user_config_lock(const char *path, struct user_config_lock *lock, struct fahr_error *err);
int user_config_commit(struct user_config_lock *lock, const char *text, struct fahr_error *err);
void user_config_unlock(struct user_config_lock *lock);
int user_config_save(const struct user_config *config, struct fahr_error *err);
/* The path as messages show it: "~/..." under $HOME. */
void user_config_show_path(const char *path, char *out, size_t size);

/* Which keys of a section: those of [defaults] and [profile NAME]. */
bool user_config_is_defaults_key(const char *key);
/* A section's name: "defaults" or a driver's ([a-z0-9-], up to 64). */
bool user_config_section_is_valid(const char *name, size_t len);
/* A profile's name: letters, digits, '-', '_' and '.', up to 64. */
bool user_config_profile_is_valid(const char *name, size_t len);

#endif
