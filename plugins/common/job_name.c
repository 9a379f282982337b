/* plugins/common/job_name.c: see job_name.h. */
#include "job_name.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
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
