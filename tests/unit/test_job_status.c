/* What the sagemaker driver shows of a job beyond its state (job_status.c):
 * the secondary status with its message, hostile answers, and the job's
 * console and CloudWatch Logs addresses. */
#define _GNU_SOURCE
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sagemaker.h"

static char detail[256];

static const char *detail_of(const char *json)
{
    json_error_t error;
    json_t *job = json_loads(json, 0, &error);
    ck_assert_msg(job != NULL, "%s", error.text);
    sagemaker_status_detail(job, detail, sizeof detail);
    json_decref(job);
    return detail;
}

START_TEST(status_with_its_message)
{
    ck_assert_str_eq(detail_of("{\"SecondaryStatus\": \"Training\", \"SecondaryStatusTransitions\": ["
                               "{\"Status\": \"Starting\", \"StatusMessage\": \"Preparing\"},"
                               "{\"Status\": \"Training\", \"StatusMessage\": "
                               "\"Downloading the training image\"}]}"),
                     "Training: Downloading the training image");
    /* No transitions, no message, or a last transition of another status
     * (an answer that lags): the status alone. */
    ck_assert_str_eq(detail_of("{\"SecondaryStatus\": \"Starting\"}"), "Starting");
    ck_assert_str_eq(detail_of("{\"SecondaryStatus\": \"Training\", \"SecondaryStatusTransitions\": "
                               "[{\"Status\": \"Starting\", \"StatusMessage\": \"Preparing\"}]}"),
                     "Training");
    ck_assert_str_eq(detail_of("{\"SecondaryStatus\": \"Training\", \"SecondaryStatusTransitions\": "
                               "[{\"Status\": \"Training\", \"StatusMessage\": \"\"}]}"),
                     "Training");
    ck_assert_str_eq(detail_of("{}"), "");
}
END_TEST

START_TEST(hostile_statuses)
{
    /* Control characters never reach the terminal; junk is ignored; a
     * long message is cut to fit. */
    const char *shown = detail_of("{\"SecondaryStatus\": \"Training\", \"SecondaryStatusTransitions\": "
                                  "[{\"Status\": \"Training\", \"StatusMessage\": "
                                  "\"red \\u001b[31m\\nline\"}]}");
    for (const char *c = shown; *c; c++)
        ck_assert_msg((unsigned char)*c >= 0x20 && *c != 0x7f, "control character in '%s'", shown);
    ck_assert_ptr_nonnull(strstr(shown, "Training: red "));
    ck_assert_str_eq(detail_of("{\"SecondaryStatus\": 3, \"SecondaryStatusTransitions\": 7}"), "");
    ck_assert_str_eq(detail_of("{\"SecondaryStatus\": \"Training\", \"SecondaryStatusTransitions\": "
                               "[1, {\"Status\": 2}]}"),
                     "Training");
    char json[4096];
    char message[2000];
    memset(message, 'm', sizeof message - 1);
    message[sizeof message - 1] = '\0';
    snprintf(json, sizeof json, "{\"SecondaryStatus\": \"Training\", \"SecondaryStatusTransitions\": "
                                "[{\"Status\": \"Training\", \"StatusMessage\": \"%s\"}]}",
             message);
    ck_assert_uint_lt(strlen(detail_of(json)), sizeof detail);
}
END_TEST

static char logged[4][1024];
static int logged_count;

static void capture(enum fahr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void capture(enum fahr_log_level level, const char *fmt, ...)
{
    ck_assert_int_eq(level, FAHR_LOG_INFO);
    va_list args;
    va_start(args, fmt);
    if (logged_count < 4)
        vsnprintf(logged[logged_count++], sizeof logged[0], fmt, args);
    va_end(args);
}

static void urls_for(const char *region)
{
    static struct fahr_host host;
    host.size = sizeof host;
    host.log = capture;
    struct sagemaker sm;
    memset(&sm, 0, sizeof sm);
    sm.host = &host;
    snprintf(sm.client.region, sizeof sm.client.region, "%s", region);
    logged_count = 0;
    sagemaker_log_urls(&sm, "foo-model-20261128-134839-597e");
    ck_assert_int_eq(logged_count, 2);
}

START_TEST(console_and_log_addresses)
{
    urls_for("eu-west-1");
    ck_assert_str_eq(logged[0], "console: https://eu-west-1.console.aws.amazon.com/sagemaker/home"
                                "?region=eu-west-1#/jobs/foo-model-20261128-134839-597e");
    ck_assert_str_eq(logged[1], "logs: https://eu-west-1.console.aws.amazon.com/cloudwatch/home"
                                "?region=eu-west-1#logStream:group=/aws/sagemaker/TrainingJobs;"
                                "prefix=foo-model-20261128-134839-597e;"
                                "streamFilter=typeLogStreamPrefix");
    /* The other partitions' consoles. */
    urls_for("cn-north-1");
    ck_assert_ptr_nonnull(strstr(logged[0], "https://cn-north-1.console.amazonaws.cn/sagemaker/"));
    urls_for("us-gov-west-1");
    ck_assert_ptr_nonnull(
        strstr(logged[1], "https://us-gov-west-1.console.amazonaws-us-gov.com/cloudwatch/"));
}
END_TEST

Suite *job_status_suite(void);
Suite *job_status_suite(void)
{
    Suite *s = suite_create("job_status");
    TCase *tc = tcase_create("job_status");
    tcase_add_test(tc, status_with_its_message);
    tcase_add_test(tc, hostile_statuses);
    tcase_add_test(tc, console_and_log_addresses);
    suite_add_tcase(s, tc);
    return s;
}
