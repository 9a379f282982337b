/* core/job_name.c: see job_name.h. */
#include "job_name.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

bool job_name_is_valid(const char *name)
{
    size_t length = 0;
    for (const char *p = name; *p; p++, length++) {
        bool alnum = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                     (*p >= '0' && *p <= '9');
        /* '-' only between letters and digits. */
        if (!alnum && (*p != '-' || p == name || p[1] == '\0'))
            return false;
    }
    return length > 0 && length <= 63;
}

void job_name_prefix(const char *image_name, char *out, size_t size)
{
    char base[64];
    size_t used = 0;
    bool dash = false;
    for (const char *p = image_name; *p && used < 38; p++) {
        if (isalnum((unsigned char)*p)) {
            if (dash && used > 0)
                base[used++] = '-';
            dash = false;
            base[used++] = *p;
        } else {
            dash = true;
        }
    }
    base[used] = '\0';
    snprintf(out, size, "%s-", used ? base : "fahr");
}

/* `text` begins with `count` characters of `set`. */
static bool run_of(const char *text, size_t count, const char *set)
{
    for (size_t i = 0; i < count; i++)
        if (text[i] == '\0' || strchr(set, text[i]) == NULL)
            return false;
    return true;
}

bool job_name_is_derived_from(const char *name, const char *image_name)
{
    char prefix[64];
    job_name_prefix(image_name, prefix, sizeof prefix);
    size_t length = strlen(prefix);
    if (strncmp(name, prefix, length) != 0)
        return false;
    const char *rest = name + length; /* "20261126-131554-49ea" */
    const char *digits = "0123456789";
    return strlen(rest) == 20 && run_of(rest, 8, digits) && rest[8] == '-' &&
           run_of(rest + 9, 6, digits) && rest[15] == '-' &&
           run_of(rest + 16, 4, "0123456789abcdef");
}

void job_name_image_of(const char *reference, char *out, size_t size)
{
    size_t end = strcspn(reference, "@");
    /* A tag is a ':' after the last '/'; one before it is a registry's port. */
    const char *last_slash = NULL;
    for (const char *p = reference; p < reference + end; p++)
        if (*p == '/')
            last_slash = p;
    const char *colon = memchr(last_slash ? last_slash : reference, ':',
                               end - (size_t)((last_slash ? last_slash : reference) - reference));
    if (colon != NULL)
        end = (size_t)(colon - reference);
    snprintf(out, size, "%.*s", (int)end, reference);
}

void job_name_stamp(char out[16])
{
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(out, 16, "%Y%m%d-%H%M%S", &tm);
}

void job_name_derive(const char *image_name, char *out, size_t size)
{
    char prefix[64], stamp[16];
    job_name_prefix(image_name, prefix, sizeof prefix);
    job_name_stamp(stamp);
    unsigned short salt = (unsigned short)(time(NULL) ^ clock());
    FILE *random = fopen("/dev/urandom", "rb");
    if (random != NULL) {
        if (fread(&salt, sizeof salt, 1, random) != 1)
            salt ^= 0x5a5a;
        fclose(random);
    }
    snprintf(out, size, "%s%s-%04x", prefix, stamp, salt);
}

int job_name_make(const char *image_name, size_t max_length, char *out, size_t out_size,
                  struct fahr_error *err)
{
    enum { SUFFIX = 20 }; /* "YYYYMMDD-HHMMSS-xxxx" */
    if (max_length < SUFFIX + 2)
        return fahr_error_set(err, FAHR_EINVAL,
                              "a job name of at most %zu characters has no room for the time "
                              "and the random part; %d at least",
                              max_length, SUFFIX + 2);
    char name[128];
    job_name_derive(image_name, name, sizeof name);
    size_t length = strlen(name);
    if (length > max_length) {
        size_t stem = length - SUFFIX - 1, keep = max_length - SUFFIX - 1;
        while (keep > 1 && name[keep - 1] == '-')
            keep--; /* '-' only between letters and digits */
        memmove(name + keep, name + stem, SUFFIX + 2);
    }
    if (strlen(name) >= out_size)
        return fahr_error_set(err, FAHR_EINVAL, "no room for a job name in %zu bytes", out_size);
    memcpy(out, name, strlen(name) + 1);
    return FAHR_OK;
}
