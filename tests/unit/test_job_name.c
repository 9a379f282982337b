/* Job names by image (plugins/common/job_name.c): which names have the
 * form of an image's jobs, and image names as typed. Run in test_aws. */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "job_name.h"

TCase *job_name_tcase(void);

START_TEST(derived_names_of_one_image)
{
    char derived[64];
    job_name_derive("smx/model", derived, sizeof derived);
    ck_assert_msg(job_name_is_derived_from(derived, "smx/model"), "%s", derived);
    ck_assert(job_name_is_derived_from("smx-model-20261126-131554-49ea", "smx/model"));
    /* Another image's names that begin the same. */
    static const char *const others[] = {
        "smx-model-v2-20261126-131554-49ea", "smx-model-20261126-131554-49ea-x",
        "smx-model-20261126-131554-49EA",    "smx-model-2026112-131554-49ea",
        "smx-model-20261126-131554",         "smx-model-20261126_131554-49ea",
        "smx-model-",                        "xsmx-model-20261126-131554-49ea",
    };
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++)
        ck_assert_msg(!job_name_is_derived_from(others[i], "smx/model"), "%s", others[i]);
    /* Names alone cannot tell these apart: the job's tag must. */
    ck_assert(job_name_is_derived_from("smx-model-20261126-131554-49ea", "smx-model"));
    /* A long image name: its jobs keep the first 38 letters and digits. */
    const char *long_image = "a123456789/b123456789/c123456789/d123456789/e";
    job_name_derive(long_image, derived, sizeof derived);
    ck_assert_msg(job_name_is_valid(derived), "%s", derived);
    ck_assert_msg(job_name_is_derived_from(derived, long_image), "%s", derived);
}
END_TEST

START_TEST(image_names_as_typed)
{
    static const char *const cases[][2] = {
        {"foo/model", "foo/model"},
        {"foo/model:latest", "foo/model"},
        {"foo/model@sha256:0123abcd", "foo/model"},
        {"foo/model:v1@sha256:0123abcd", "foo/model"},
        {"127.0.0.1:5000/foo/model", "127.0.0.1:5000/foo/model"},
        {"127.0.0.1:5000/foo/model:20261126-131554", "127.0.0.1:5000/foo/model"},
        {"model:", "model"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char image[128];
        job_name_image_of(cases[i][0], image, sizeof image);
        ck_assert_str_eq(image, cases[i][1]);
    }
}
END_TEST

TCase *job_name_tcase(void)
{
    TCase *tcase = tcase_create("job names by image");
    tcase_add_test(tcase, derived_names_of_one_image);
    tcase_add_test(tcase, image_names_as_typed);
    return tcase;
}
