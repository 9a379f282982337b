/* plugins/common/dockerignore.c: .dockerignore as the Docker CLI reads it.
 *
 * One pattern a line; '#' starts a comment; '!' re-includes; a leading '/'
 * and "./" are dropped; '*' and '?' never cross '/', "**" crosses any number
 * of directories; the last pattern that matches a path, or any directory
 * above it, decides. */
#include "dockerignore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct dockerignore_rule {
    char *pattern;
    bool negated;
};

struct dockerignore {
    struct dockerignore_rule *rules;
    size_t count;
    bool has_negation;
};

static bool match_class(const char **pattern, char c)
{
    const char *p = *pattern + 1;
    bool negate = (*p == '^' || *p == '!');
    if (negate)
        p++;
    bool matched = false;
    bool first = true;
    while (*p && (*p != ']' || first)) {
        char lo = *p, hi = *p;
        if (*p == '\\' && p[1])
            lo = hi = *++p;
        if (p[1] == '-' && p[2] && p[2] != ']') {
            hi = p[2];
            if (hi == '\\' && p[3])
                hi = p[3], p++;
            p += 2;
        }
        if (c >= lo && c <= hi)
            matched = true;
        p++;
        first = false;
    }
    *pattern = *p ? p + 1 : p;
    return matched != negate;
}

bool dockerignore_glob(const char *p, const char *s)
{
    while (*p) {
        if (p[0] == '*' && p[1] == '*') {
            p += 2;
            if (*p == '/') {
                p++;
                for (const char *t = s;;) { /* "**" + "/": zero or more dirs */
                    if (dockerignore_glob(p, t))
                        return true;
                    t = strchr(t, '/');
                    if (t == NULL)
                        return false;
                    t++;
                }
            }
            for (const char *t = s;; t++) {
                if (dockerignore_glob(p, t))
                    return true;
                if (*t == '\0')
                    return false;
            }
        }
        if (*p == '*') {
            p++;
            for (const char *t = s;; t++) {
                if (dockerignore_glob(p, t))
                    return true;
                if (*t == '\0' || *t == '/')
                    return false;
            }
        }
        if (*s == '\0')
            return false;
        if (*p == '?') {
            if (*s == '/')
                return false;
        } else if (*p == '[') {
            if (*s == '/' || !match_class(&p, *s))
                return false;
            s++;
            continue;
        } else {
            if (*p == '\\' && p[1])
                p++;
            if (*p != *s)
                return false;
        }
        p++;
        s++;
    }
    return *s == '\0';
}

/* Clean a pattern as filepath.Clean does for the cases that matter here:
 * drop "./" and leading '/', collapse "//", drop a trailing '/'. */
static void clean_pattern(char *pattern)
{
    char *out = pattern;
    const char *in = pattern;
    while (*in == '/')
        in++;
    while (*in) {
        if (in[0] == '.' && in[1] == '/' && (out == pattern || out[-1] == '/')) {
            in += 2;
            continue;
        }
        if (in[0] == '/' && (in[1] == '/' || in[1] == '\0')) {
            in++;
            continue;
        }
        *out++ = *in++;
    }
    *out = '\0';
}

struct dockerignore *dockerignore_parse(const char *text, size_t len)
{
    struct dockerignore *ignore = calloc(1, sizeof *ignore);
    if (ignore == NULL)
        return NULL;
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && text[end] != '\n')
            end++;
        size_t a = start, b = end;
        while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r'))
            a++;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r'))
            b--;
        start = end + 1;
        if (a == b || text[a] == '#')
            continue;
        bool negated = text[a] == '!';
        if (negated)
            a++;
        while (a < b && text[a] == ' ')
            a++;
        char *pattern = strndup(text + a, b - a);
        if (pattern == NULL)
            continue;
        clean_pattern(pattern);
        if (pattern[0] == '\0' || strcmp(pattern, ".") == 0) {
            free(pattern);
            continue;
        }
        struct dockerignore_rule *grown =
            realloc(ignore->rules, (ignore->count + 1) * sizeof *grown);
        if (grown == NULL) {
            free(pattern);
            break;
        }
        ignore->rules = grown;
        ignore->rules[ignore->count].pattern = pattern;
        ignore->rules[ignore->count].negated = negated;
        ignore->count++;
        ignore->has_negation |= negated;
    }
    return ignore;
}

struct dockerignore *dockerignore_load(const char *context_dir)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/.dockerignore", context_dir);
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return dockerignore_parse("", 0);
    char *text = NULL;
    size_t len = 0, cap = 0;
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, file)) > 0) {
        if (len + n > cap) {
            cap = (len + n) * 2;
            char *grown = realloc(text, cap);
            if (grown == NULL)
                break;
            text = grown;
        }
        memcpy(text + len, chunk, n);
        len += n;
    }
    fclose(file);
    struct dockerignore *ignore = dockerignore_parse(text ? text : "", len);
    free(text);
    return ignore;
}

static bool rule_matches(const struct dockerignore_rule *rule, const char *path)
{
    if (dockerignore_glob(rule->pattern, path))
        return true;
    /* A pattern that matches a directory above the path matches the path. */
    char prefix[4096];
    size_t len = strlen(path);
    if (len >= sizeof prefix)
        return false;
    memcpy(prefix, path, len + 1);
    for (size_t i = len; i > 0; i--) {
        if (prefix[i - 1] != '/')
            continue;
        prefix[i - 1] = '\0';
        if (dockerignore_glob(rule->pattern, prefix))
            return true;
    }
    return false;
}

bool dockerignore_excludes(const struct dockerignore *ignore, const char *path)
{
    bool excluded = false;
    for (size_t i = 0; i < ignore->count; i++)
        if (rule_matches(&ignore->rules[i], path))
            excluded = !ignore->rules[i].negated;
    return excluded;
}

bool dockerignore_may_reinclude(const struct dockerignore *ignore)
{
    return ignore->has_negation;
}

enum tar_verdict dockerignore_filter(const void *data, const char *relative, bool directory)
{
    static const char *const always_sent[] = {"Dockerfile", ".dockerignore", "run.sh"};
    const struct dockerignore *ignore = data;
    for (size_t i = 0; i < sizeof always_sent / sizeof always_sent[0]; i++)
        if (strcmp(relative, always_sent[i]) == 0)
            return TAR_KEEP;
    if (!dockerignore_excludes(ignore, relative))
        return TAR_KEEP;
    return directory && dockerignore_may_reinclude(ignore) ? TAR_LEAVE_OUT_LOOK_INSIDE
                                                            : TAR_LEAVE_OUT;
}

void dockerignore_free(struct dockerignore *ignore)
{
    if (ignore == NULL)
        return;
    for (size_t i = 0; i < ignore->count; i++)
        free(ignore->rules[i].pattern);
    free(ignore->rules);
    free(ignore);
}
