/* inputs.c: the one reading of a Kaggle input's source, for check.c (is it
 * one), submit.c (which of SaveKernel's *DataSources lists) and source.c
 * (where Kaggle mounts it). Each kind has its scheme, in the opaque
 * form (RFC 3986: "kaggle:OWNER/DATASET") or the hierarchical one
 * ("kaggle://OWNER/DATASET"); both name the same source. */
#include "kaggle.h"

#include <string.h>

static const struct {
    const char *scheme;
    int parts_min, parts_max;
} kinds[] = {
    [KAGGLE_DATASET] = {"kaggle", 2, 2},
    [KAGGLE_COMPETITION] = {"kaggle-competition", 1, 1},
    [KAGGLE_KERNEL] = {"kaggle-kernel", 2, 2},
    [KAGGLE_MODEL] = {"kaggle-model", 4, 5},
};

/* The kind whose scheme `source` begins with (then ':'); -1 if none. */
static int kind_of(const char *source, const char **after_colon)
{
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        size_t length = strlen(kinds[k].scheme);
        if (strncmp(source, kinds[k].scheme, length) == 0 && source[length] == ':') {
            *after_colon = source + length + 1;
            return (int)k;
        }
    }
    return -1;
}

int kaggle_source_parse(const char *source, struct kaggle_source *out)
{
    const char *path = NULL;
    int kind = kind_of(source, &path);
    if (kind < 0)
        return 0;
    if (strncmp(path, "//", 2) == 0)
        path += 2;
    int parts = 0, good = 1;
    for (const char *p = path; good && *p; parts++) {
        size_t part = strcspn(p, "/");
        /* A model's framework and variation are Kaggle's own words. */
        good = part > 0 && part < KAGGLE_NAME_MAX &&
               (kaggle_is_slug(p, part) || (kind == KAGGLE_MODEL && parts > 1));
        p += part;
        if (good && *p == '/')
            good = *++p != '\0'; /* no trailing '/' */
    }
    if (!good || parts < kinds[kind].parts_min || parts > kinds[kind].parts_max)
        return 0;
    out->kind = (enum kaggle_source_kind)kind;
    out->path = path;
    return 1;
}
