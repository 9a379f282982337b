/* What the files of the build-files unit test share: a scratch
 * directory under /tmp (one at a time), and the context test case. */
#ifndef FAHR_BUILD_FILES_TESTS_H
#define FAHR_BUILD_FILES_TESTS_H

#include <check.h>
#include <stdio.h>
#include <stdlib.h>

static char scratch[256];

static inline void write_file(const char *relative, const char *content)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", scratch, relative);
    FILE *file = fopen(path, "w");
    ck_assert_ptr_nonnull(file);
    fputs(content, file);
    fclose(file);
}

static inline void make_scratch(void)
{
    snprintf(scratch, sizeof scratch, "/tmp/fahr-test-build.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(scratch));
}

static inline void remove_scratch(void)
{
    char command[512];
    snprintf(command, sizeof command, "rm -rf '%s'", scratch);
    ck_assert_int_eq(system(command), 0);
}

/* The context test case (test_build_context.c). */
TCase *build_context_tcase(void);
/* run.sh's container contract for train drivers (test_run_sh_contract.c). */
TCase *run_sh_contract_tcase(void);

#endif
