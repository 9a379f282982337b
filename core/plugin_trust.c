/* core/plugin_trust.c: whether anyone but root and the invoking user could
 * have written a plugin, as OpenSSH's StrictModes (secure_filename,
 * safe_path) and sudo's plugin checks decide it.
 *
 * A plugin is loaded only if its file, after resolving symlinks, and every
 * directory from it up to / are owned by root or the invoking user and
 * writable by no one else; group-writable counts (mode & 020), whoever is in
 * the group. The one exception is a directory like /tmp: a root-owned
 * directory with the sticky bit set lets others create entries but not
 * rename or remove anyone else's, so it is safe as long as the component
 * below it is owned by root or the user, which the walk checks in its turn.
 * These checks are a few lstat()s and run on every command; they are never
 * cached. */
#define _GNU_SOURCE
#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "plugin_load.h"

static bool owner_is_trusted(uid_t uid)
{
    return uid == 0 || uid == geteuid();
}

static void owner_name(uid_t uid, char *out, size_t size)
{
    const struct passwd *pw = getpwuid(uid);
    if (pw != NULL)
        snprintf(out, size, "%s (uid %u)", pw->pw_name, (unsigned)uid);
    else
        snprintf(out, size, "uid %u", (unsigned)uid);
}

static void group_name(gid_t gid, char *out, size_t size)
{
    const struct group *gr = getgrgid(gid);
    if (gr != NULL)
        snprintf(out, size, "%s", gr->gr_name);
    else
        snprintf(out, size, "%u", (unsigned)gid);
}

/* A root-owned sticky directory (/tmp): see the top of this file. */
static bool is_root_sticky_dir(const struct stat *st)
{
    return S_ISDIR(st->st_mode) && (st->st_mode & S_ISVTX) && st->st_uid == 0;
}

enum flaw { FLAW_NONE, FLAW_OWNER, FLAW_WORLD_WRITABLE, FLAW_GROUP_WRITABLE };

static enum flaw flaw_of(const struct stat *st)
{
    if (!owner_is_trusted(st->st_uid))
        return FLAW_OWNER;
    if ((st->st_mode & (S_IWOTH | S_IWGRP)) == 0 || is_root_sticky_dir(st))
        return FLAW_NONE;
    return (st->st_mode & S_IWOTH) ? FLAW_WORLD_WRITABLE : FLAW_GROUP_WRITABLE;
}

const char *trust_check(const struct stat *st, enum trust_what what, char *why, size_t why_size)
{
    const char *noun = what == TRUST_DIR ? "directory is " : "";
    const char *threat = what == TRUST_DIR ? "plant a plugin in it" : "replace it";
    char name[160];
    switch (flaw_of(st)) {
    case FLAW_NONE:
        return NULL;
    case FLAW_OWNER:
        owner_name(st->st_uid, name, sizeof name);
        snprintf(why, why_size, "%sowned by %s, neither root nor you", noun, name);
        break;
    case FLAW_WORLD_WRITABLE:
        snprintf(why, why_size, "%sworld-writable, anyone could %s", noun, threat);
        break;
    case FLAW_GROUP_WRITABLE:
        group_name(st->st_gid, name, sizeof name);
        snprintf(why, why_size, "%sgroup-writable, members of group %s could %s", noun, name,
                 threat);
        break;
    }
    return why;
}

/* The reason the directory `dir` above a plugin makes it unsafe, or NULL. */
static const char *check_ancestor(const char *dir, char *why, size_t why_size)
{
    struct stat st;
    if (lstat(dir, &st) != 0) {
        snprintf(why, why_size, "cannot check %s: %s", dir, strerror(errno));
        return why;
    }
    if (!S_ISDIR(st.st_mode)) { /* realpath() gave it: it changed meanwhile */
        snprintf(why, why_size, "%s changed while it was being checked", dir);
        return why;
    }
    char name[160];
    switch (flaw_of(&st)) {
    case FLAW_NONE:
        return NULL;
    case FLAW_OWNER:
        owner_name(st.st_uid, name, sizeof name);
        snprintf(why, why_size, "%s above it is owned by %s, neither root nor you", dir, name);
        break;
    case FLAW_WORLD_WRITABLE:
        snprintf(why, why_size,
                 "%s above it is world-writable without the sticky bit, "
                 "anyone could swap what it holds", dir);
        break;
    case FLAW_GROUP_WRITABLE:
        group_name(st.st_gid, name, sizeof name);
        snprintf(why, why_size,
                 "%s above it is group-writable, members of group %s could swap what it holds",
                 dir, name);
        break;
    }
    return why;
}

const char *trust_check_ancestors(const char *resolved, char *why, size_t why_size)
{
    char dir[4096];
    if (resolved[0] != '/' || strlen(resolved) >= sizeof dir) {
        snprintf(why, why_size, "cannot check %s: not an absolute path", resolved);
        return why;
    }
    strcpy(dir, resolved);
    for (;;) {
        char *slash = strrchr(dir, '/');
        if (slash == dir) { /* reached the root */
            strcpy(dir, "/");
            return check_ancestor(dir, why, why_size);
        }
        *slash = '\0';
        if (check_ancestor(dir, why, why_size) != NULL)
            return why;
    }
}

const char *trust_check_path(const char *path, const char *resolved, const struct stat *st,
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

const char *trust_own_file(int fd, struct stat *st)
{
    if (fstat(fd, st) != 0)
        return strerror(errno);
    if (!S_ISREG(st->st_mode) || st->st_uid != geteuid() || (st->st_mode & 022) != 0)
        return "not a file of yours that only you can write";
    return NULL;
}
