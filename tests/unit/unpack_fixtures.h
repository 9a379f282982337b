/* tests/unit/unpack_fixtures.h: crafted archives and scratch directories
 * for the unpacking tests (test_unpack.c, test_unpack_staging.c). */
#ifndef FAHR_UNPACK_FIXTURES_H
#define FAHR_UNPACK_FIXTURES_H

#include <check.h>
#include <stdbool.h>
#include <stddef.h>

#include "fahr/plugin.h"

/* Made by make_dirs() for each test: where the model goes, and a
 * directory beside it that must stay empty. */
extern char dest[64];
extern char outside[64];
void make_dirs(void);
void remove_dirs(void);

struct crafted {
    const char *path;
    int type; /* AE_IFREG, AE_IFDIR, AE_IFLNK, AE_IFIFO, AE_IFCHR */
    const char *content_or_target;
    bool hardlink;
};

int craft_with_modes(const struct crafted *entries, const int *modes, size_t count);
int craft(const struct crafted *entries, size_t count);

/* A host that logs nothing and is never interrupted. */
extern const struct fahr_host host;
size_t count_entries(const char *dir);
/* place_archive_fd refuses the archive with `reason` in its message, and
 * nothing appears in dest or outside. */
void assert_refused(const struct crafted *entries, size_t count, const char *reason);

/* test_unpack_staging.c: staging directories and write failures. */
TCase *staging_tcase(void);
/* test_place_files.c: loose files through host->place_file. */
TCase *place_files_tcase(void);

#endif
