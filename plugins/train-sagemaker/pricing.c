/* plugins/train-sagemaker/pricing.c: what a job costs. check() logs the
 * plan line (instance type, count, on-demand or spot, the region's price per
 * hour from the AWS Price List, the ceiling max_runtime sets); poll() adds
 * to a finished job's detail its training and billable seconds, as the
 * SageMaker Python SDK prints them, and their cost. A price that cannot be
 * had is said so, never an error. */
#define _GNU_SOURCE /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_pricing.h"
#include "sagemaker.h"

/* Managed spot training has no list price: SageMaker bills the spot
 * capacity's price, which moves, per second used, and states the saving
 * only as "up to 90%" against on-demand. */
#define SPOT_WORDS "spot up to 90%% less, billed per second used" /* a format */

/* A price per hour as the Price List gives it, to four decimals without
 * trailing zeros (at least two): "$0.115", "$1.515", "$37.688". */
static const char *rate(double value, char *out, size_t size)
{
    int length = snprintf(out, size, "$%.4f", value);
    while (length > 0 && (size_t)length < size && out[length - 1] == '0' &&
           strchr(out, '.') + 3 < out + length)
        out[--length] = '\0';
    return out;
}

/* A sum: "$11.47" once it reaches a dollar, else as a rate ("$0.0003"). */
static const char *usd(double value, char *out, size_t size)
{
    if (value >= 1.0) {
        snprintf(out, size, "$%.2f", value);
        return out;
    }
    if (value > 0 && value < 0.00005) {
        snprintf(out, size, "<$0.0001");
        return out;
    }
    return rate(value, out, size);
}

/* "24 h", "1.5 h", "30 min", "90 s". */
static const char *duration(long long seconds, char *out, size_t size)
{
    if (seconds >= 3600 && seconds % 3600 == 0)
        snprintf(out, size, "%lld h", seconds / 3600);
    else if (seconds >= 3600)
        snprintf(out, size, "%.1f h", (double)seconds / 3600);
    else if (seconds >= 60 && seconds % 60 == 0)
        snprintf(out, size, "%lld min", seconds / 60);
    else
        snprintf(out, size, "%lld s", seconds);
    return out;
}

static long long config_number(struct sagemaker *sm, const struct fahr_config *config,
                               const char *key)
{
    const char *value = sm->host->config_get(config, key);
    return value ? strtoll(value, NULL, 10) : 0;
}

/* The on-demand price per hour of one training instance of `type` in the
 * client's region: FAHR_OK, or why not in `why`. Asked once per command. */
static int hourly_price(struct sagemaker *sm, const char *type, double *price, char *why,
                        size_t why_size)
{
    struct sagemaker_price *memo = &sm->price;
    if (!memo->asked || strcmp(memo->type, type) != 0) {
        char suffix[96];
        snprintf(suffix, sizeof suffix, "Train:%s", type);
        /* regionCode and instanceName narrow the products to the instance's
         * uses (training, hosting, notebooks...); the usage type picks
         * training, "USE1-Train:ml.m5.large" in us-east-1. */
        const struct aws_price_filter filters[] = {
            {"regionCode", sm->client.region},
            {"instanceName", type},
        };
        const struct aws_price_query query = {"AmazonSageMaker", filters, 2, "usagetype", suffix};
        struct fahr_error err = {{0}};
        memo->rc = aws_price_hourly(&sm->client, &query, &memo->usd_per_hour, &err);
        if (memo->rc == FAHR_ENOTFOUND)
            snprintf(memo->why, sizeof memo->why,
                     "the AWS Price List has none for %s training in %s", type,
                     sm->client.region);
        else
            snprintf(memo->why, sizeof memo->why, "%s", err.message);
        snprintf(memo->type, sizeof memo->type, "%s", type);
        memo->asked = true;
    }
    *price = memo->usd_per_hour;
    snprintf(why, why_size, "%s", memo->rc == FAHR_OK ? "" : memo->why);
    return memo->rc;
}

void sagemaker_plan_log(struct sagemaker *sm, const struct fahr_config *config)
{
    const char *type = sm->host->config_get(config, "train_instance_type");
    const char *spot = sm->host->config_get(config, "spot"); /* where the driver has the key */
    bool is_spot = spot != NULL && strcmp(spot, "1") == 0;
    long long count = config_number(sm, config, "train_instance_count");
    long long max_runtime = config_number(sm, config, "max_runtime");
    char time_text[32], price_text[32], total_text[32], ceiling_text[32], why[FAHR_ERROR_MAX];
    duration(max_runtime, time_text, sizeof time_text);
    double price;
    if (type == NULL || sagemaker_client(sm, config, &(struct fahr_error){{0}}) != FAHR_OK)
        return;
    if (hourly_price(sm, type, &price, why, sizeof why) != FAHR_OK) {
        sm->host->log(FAHR_LOG_INFO, "plan: %lld x %s in %s, %s; no price: %s; max_runtime %s",
                      count, type, sm->client.region, is_spot ? "managed spot" : "on-demand", why,
                      time_text);
        return;
    }
    rate(price, price_text, sizeof price_text);
    rate(price * (double)count, total_text, sizeof total_text);
    usd(price * (double)count * (double)max_runtime / 3600.0, ceiling_text, sizeof ceiling_text);
    char each[64] = "";
    if (count > 1)
        snprintf(each, sizeof each, " each (%s/h)", total_text);
    if (is_spot)
        sm->host->log(FAHR_LOG_INFO,
                      "plan: %lld x %s in %s, managed spot (on-demand %s/h%s; " SPOT_WORDS
                      "); at most %s for max_runtime %s",
                      count, type, sm->client.region, price_text, each, ceiling_text, time_text);
    else
        sm->host->log(FAHR_LOG_INFO, "plan: %lld x %s in %s, on-demand at %s/h%s; at most %s for "
                      "max_runtime %s",
                      count, type, sm->client.region, price_text, each, ceiling_text, time_text);
}

/* A count of seconds DescribeTrainingJob gives, or -1. */
static long long seconds_of(json_t *job, const char *key)
{
    json_t *value = json_object_get(job, key);
    if (!json_is_integer(value) || json_integer_value(value) < 0 ||
        json_integer_value(value) > 100LL * 365 * 86400)
        return -1;
    return (long long)json_integer_value(value);
}

void sagemaker_cost_detail(struct sagemaker *sm, json_t *job, char *detail, size_t size)
{
    long long training = seconds_of(job, "TrainingTimeInSeconds");
    long long billable = seconds_of(job, "BillableTimeInSeconds");
    if (training < 0 || billable < 0)
        return;
    char *text = NULL;
    size_t length = 0;
    FILE *out = open_memstream(&text, &length);
    if (out == NULL)
        return;
    fprintf(out, "Training seconds: %lld. Billable seconds: %lld.", training, billable);
    if (json_is_true(json_object_get(job, "EnableManagedSpotTraining")) && training > 0)
        fprintf(out, " Managed Spot Training savings: %.1f%%.",
                (1.0 - (double)billable / (double)training) * 100.0);
    json_t *resources = json_object_get(job, "ResourceConfig");
    const char *type = json_string_value(json_object_get(resources, "InstanceType"));
    json_t *count_value = json_object_get(resources, "InstanceCount");
    json_int_t count = json_is_integer(count_value) ? json_integer_value(count_value) : 0;
    double price;
    char why[FAHR_ERROR_MAX], cost_text[32], price_text[32];
    /* The answer's words reach the terminal and a request: only a type
     * that could be one. */
    if (type == NULL || strlen(type) >= sizeof sm->price.type || aws_has_control_characters(type) ||
        count < 1 || count > 100000)
        fprintf(out, " Cost: unknown (no instance type and count)");
    else if (hourly_price(sm, type, &price, why, sizeof why) != FAHR_OK)
        fprintf(out, " Cost: unknown (%s)", why);
    else
        /* SageMaker bills billable seconds on each instance. */
        fprintf(out, " Cost: %s (%lld s x %" JSON_INTEGER_FORMAT " x %s at %s/h on-demand)",
                usd(price * (double)billable * (double)count / 3600.0, cost_text,
                    sizeof cost_text),
                billable, count, type, rate(price, price_text, sizeof price_text));
    fclose(out);
    size_t used = strlen(detail);
    if (text != NULL && used < size) /* cut at the detail's size */
        snprintf(detail + used, size - used, "%s%s", used ? ". " : "", text);
    free(text);
}
