/* How long the host waits between polls (core/job_log.c): the driver's
 * next_poll_ms, kept between 100 ms and 5 minutes, over its
 * poll_interval_ms, and FAHR_POLL_INTERVAL_MS over both. */
#include <check.h>
#include <stdlib.h>

#include "fahr.h"

START_TEST(next_poll_ms_is_kept_in_bounds)
{
    unsetenv("FAHR_POLL_INTERVAL_MS");
    ck_assert_int_eq(job_next_poll_ms(250, 10), 250);
    ck_assert_int_eq(job_next_poll_ms(1, 10), 100);
    ck_assert_int_eq(job_next_poll_ms(99, 0), 100);
    ck_assert_int_eq(job_next_poll_ms(300000, 0), 300000);
    ck_assert_int_eq(job_next_poll_ms(300001, 0), 300000);
    ck_assert_int_eq(job_next_poll_ms(UINT32_MAX, 0), 300000);
}
END_TEST

START_TEST(without_next_poll_ms_the_drivers_interval_or_5_s)
{
    unsetenv("FAHR_POLL_INTERVAL_MS");
    ck_assert_int_eq(job_next_poll_ms(0, 10), 10);
    ck_assert_int_eq(job_next_poll_ms(0, 0), 5000);
}
END_TEST

START_TEST(the_environment_wins)
{
    setenv("FAHR_POLL_INTERVAL_MS", "50", 1);
    ck_assert_int_eq(job_next_poll_ms(60000, 10), 50);
    setenv("FAHR_POLL_INTERVAL_MS", "nonsense", 1);
    ck_assert_int_eq(job_next_poll_ms(60000, 10), 60000);
    unsetenv("FAHR_POLL_INTERVAL_MS");
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("job_log");
    TCase *poll = tcase_create("poll");
    tcase_add_test(poll, next_poll_ms_is_kept_in_bounds);
    tcase_add_test(poll, without_next_poll_ms_the_drivers_interval_or_5_s);
    tcase_add_test(poll, the_environment_wins);
    suite_add_tcase(suite, poll);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
