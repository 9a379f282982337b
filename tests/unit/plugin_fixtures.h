/* Helpers of test_plugins.c that the other plugin tests share. */
#ifndef FAHR_TEST_PLUGIN_FIXTURES_H
#define FAHR_TEST_PLUGIN_FIXTURES_H

#include <check.h>
#include <sys/types.h>

#include "fahr.h"

/* A fresh scratch directory with its own plugin cache and XDG_DATA_HOME. */
void make_scratch(void);
void remove_scratch(void);
/* A directory under the scratch directory; returns its path (static). */
const char *subdir(const char *name);
/* Copy a built fixture plugin into `dir` as `name`. */
void copy_fixture(const char *fixture, const char *dir, const char *name, mode_t mode);
void load_dirs(struct plugin_set *set, const char *first, const char *second);
/* The fixture is skipped with a reason holding `expected_reason`, and a
 * good driver beside it still loads. */
void assert_skipped(const char *fixture, const char *expected_reason);

/* test_plugin_keys2.c: config_keys2 and train flags in records. */
TCase *keys2_tcase(void);

#endif
