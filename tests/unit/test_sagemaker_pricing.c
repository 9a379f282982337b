/* The sagemaker driver's plan line and end-of-job detail
 * (plugins/train-sagemaker/pricing.c), with the price already known to the
 * driver (its once-per-command memo), so no request is made: on-demand and
 * spot, several instances, no price, and DescribeTrainingJob answers with
 * seconds that are no count. */
#define _GNU_SOURCE
#include <check.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "sagemaker.h"

/* The opaque config of plugin.h, as these tests hold it. */
struct fahr_config {
    const char *const *pairs; /* key, value, ..., NULL */
};

static char logged[4096];

static void capture_log(enum fahr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void capture_log(enum fahr_log_level level, const char *fmt, ...)
{
    (void)level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(logged, sizeof logged, fmt, ap);
    va_end(ap);
}

static const char *config_value(const struct fahr_config *config, const char *key)
{
    for (const char *const *pair = config->pairs; pair[0] != NULL; pair += 2)
        if (strcmp(pair[0], key) == 0)
            return pair[1];
    return NULL;
}

static const struct fahr_host host = {
    .size = sizeof host, .abi_version = FAHR_ABI_VERSION, .log = capture_log,
    .config_get = config_value};

/* The driver's client is open: nothing here asks AWS. */
int sagemaker_client(struct sagemaker *sm, const struct fahr_config *config,
                     struct fahr_error *err)
{
    (void)sm, (void)config, (void)err;
    return FAHR_OK;
}

static void driver_with_price(struct sagemaker *sm, const char *type, int rc, double price)
{
    memset(sm, 0, sizeof *sm);
    sm->host = &host;
    sm->client_open = true;
    snprintf(sm->client.region, sizeof sm->client.region, "us-east-1");
    sm->price.asked = true;
    snprintf(sm->price.type, sizeof sm->price.type, "%s", type);
    sm->price.rc = rc;
    sm->price.usd_per_hour = price;
    snprintf(sm->price.why, sizeof sm->price.why, "GetProducts: AccessDeniedException: no");
    logged[0] = '\0';
}

START_TEST(plan_lines)
{
    struct sagemaker sm;
    driver_with_price(&sm, "ml.m5.large", FAHR_OK, 0.115);
    const char *on_demand[] = {"train_instance_type", "ml.m5.large", "train_instance_count", "2",
                               "max_runtime", "86400", NULL};
    sagemaker_plan_log(&sm, &(struct fahr_config){on_demand});
    ck_assert_str_eq(logged, "plan: 2 x ml.m5.large in us-east-1, on-demand at $0.115/h each "
                             "($0.23/h); at most $5.52 for max_runtime 24 h");

    const char *spot[] = {"train_instance_type", "ml.m5.large", "train_instance_count", "1",
                          "max_runtime", "1800", "spot", "1", NULL};
    sagemaker_plan_log(&sm, &(struct fahr_config){spot});
    ck_assert_str_eq(logged, "plan: 1 x ml.m5.large in us-east-1, managed spot (on-demand "
                             "$0.115/h; spot up to 90% less, billed per second used); at most "
                             "$0.0575 for max_runtime 30 min");

    driver_with_price(&sm, "ml.m5.large", FAHR_EFAIL, 0);
    sagemaker_plan_log(&sm, &(struct fahr_config){spot});
    ck_assert_str_eq(logged, "plan: 1 x ml.m5.large in us-east-1, managed spot; no price: "
                             "GetProducts: AccessDeniedException: no; max_runtime 30 min");
}
END_TEST

/* The detail poll() gives a finished job described by `json`. */
static void detail_of(struct sagemaker *sm, const char *json, char *detail, size_t size)
{
    json_t *job = json_loads(json, 0, NULL);
    ck_assert_ptr_nonnull(job);
    snprintf(detail, size, "Completed");
    sagemaker_cost_detail(sm, job, detail, size);
    json_decref(job);
}

START_TEST(end_of_job_details)
{
    struct sagemaker sm;
    char detail[256];
    driver_with_price(&sm, "ml.p3.2xlarge", FAHR_OK, 3.825);
    /* The SDK's example: 874 training seconds, 262 billed on spot. */
    detail_of(&sm,
              "{\"TrainingTimeInSeconds\":874,\"BillableTimeInSeconds\":262,"
              "\"EnableManagedSpotTraining\":true,\"ResourceConfig\":{\"InstanceType\":"
              "\"ml.p3.2xlarge\",\"InstanceCount\":1}}",
              detail, sizeof detail);
    ck_assert_str_eq(detail, "Completed. Training seconds: 874. Billable seconds: 262. Managed "
                             "Spot Training savings: 70.0%. Cost: $0.2784 (262 s x 1 x "
                             "ml.p3.2xlarge at $3.825/h on-demand)");
    /* No price: the seconds all the same. */
    driver_with_price(&sm, "ml.p3.2xlarge", FAHR_ENOTFOUND, 0);
    detail_of(&sm,
              "{\"TrainingTimeInSeconds\":10,\"BillableTimeInSeconds\":10,"
              "\"ResourceConfig\":{\"InstanceType\":\"ml.p3.2xlarge\",\"InstanceCount\":3}}",
              detail, sizeof detail);
    ck_assert_str_eq(detail, "Completed. Training seconds: 10. Billable seconds: 10. Cost: "
                             "unknown (GetProducts: AccessDeniedException: no)");
}
END_TEST

START_TEST(seconds_that_are_no_count_add_nothing)
{
    const char *jobs[] = {
        "{}",
        "{\"TrainingTimeInSeconds\":10}",
        "{\"TrainingTimeInSeconds\":-1,\"BillableTimeInSeconds\":1}",
        "{\"TrainingTimeInSeconds\":\"10\",\"BillableTimeInSeconds\":10}",
        "{\"TrainingTimeInSeconds\":10.5,\"BillableTimeInSeconds\":10}",
        "{\"TrainingTimeInSeconds\":10,\"BillableTimeInSeconds\":99999999999999}",
    };
    struct sagemaker sm;
    char detail[256];
    for (size_t i = 0; i < sizeof jobs / sizeof jobs[0]; i++) {
        driver_with_price(&sm, "ml.m5.large", FAHR_OK, 0.115);
        detail_of(&sm, jobs[i], detail, sizeof detail);
        ck_assert_msg(strcmp(detail, "Completed") == 0, "%s: %s", jobs[i], detail);
    }
    /* A hostile count or type: the seconds, no cost; a long line is cut,
     * never overrun. */
    driver_with_price(&sm, "ml.m5.large", FAHR_OK, 0.115);
    detail_of(&sm,
              "{\"TrainingTimeInSeconds\":0,\"BillableTimeInSeconds\":0,"
              "\"EnableManagedSpotTraining\":true,\"ResourceConfig\":{\"InstanceCount\":-4}}",
              detail, sizeof detail);
    ck_assert_str_eq(detail, "Completed. Training seconds: 0. Billable seconds: 0. Cost: unknown "
                             "(no instance type and count)");
    const char *types[] = {"\"ml.m5.large\\u001b[31m\"", "7",
                           "\"ml.m5.large.and.a.name.longer.than.any.instance.type.ever.was.or.will.be\""};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++) {
        char json[512];
        snprintf(json, sizeof json,
                 "{\"TrainingTimeInSeconds\":1,\"BillableTimeInSeconds\":1,"
                 "\"ResourceConfig\":{\"InstanceType\":%s,\"InstanceCount\":1}}",
                 types[i]);
        driver_with_price(&sm, "ml.m5.large", FAHR_OK, 0.115);
        detail_of(&sm, json, detail, sizeof detail);
        ck_assert_msg(strstr(detail, "Cost: unknown (no instance type and count)") != NULL,
                      "%s: %s", types[i], detail);
    }
    char small[40];
    driver_with_price(&sm, "ml.m5.large", FAHR_OK, 0.115);
    detail_of(&sm, "{\"TrainingTimeInSeconds\":5,\"BillableTimeInSeconds\":5}", small,
              sizeof small);
    ck_assert_uint_eq(strlen(small), sizeof small - 1);
}
END_TEST

int main(void)
{
    Suite *suite = suite_create("sagemaker pricing");
    TCase *lines = tcase_create("lines");
    tcase_add_test(lines, plan_lines);
    tcase_add_test(lines, end_of_job_details);
    tcase_add_test(lines, seconds_that_are_no_count_add_nothing);
    suite_add_tcase(suite, lines);
    SRunner *runner = srunner_create(suite);
    srunner_run_all(runner, CK_NORMAL);
    int failed = srunner_ntests_failed(runner);
    srunner_free(runner);
    return failed == 0 ? 0 : 1;
}
