/* Reading GetProducts answers of the AWS Price List API
 * (plugins/common/aws_pricing.c), hostile ones included. */
#define _GNU_SOURCE
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_pricing.h"

static const struct aws_price_filter filters[] = {{"regionCode", "us-east-1"},
                                                  {"instanceName", "ml.m5.large"}};
static const struct aws_price_query query = {"AmazonSageMaker", filters, 2, "usagetype",
                                             "Train:ml.m5.large"};

/* One PriceList item, as a JSON string, of a product with this usage type
 * and an OnDemand dimension of this unit and USD price (already JSON: a
 * quoted string, or anything hostile). */
static char *item(const char *usagetype, const char *unit, const char *usd_json)
{
    char *document = NULL, *quoted = NULL;
    if (asprintf(&document,
                 "{\"product\":{\"productFamily\":\"ML Instance\",\"attributes\":"
                 "{\"usagetype\":\"%s\",\"instanceName\":\"ml.m5.large\"},\"sku\":\"S\"},"
                 "\"serviceCode\":\"AmazonSageMaker\",\"terms\":{\"OnDemand\":{\"S.T\":"
                 "{\"priceDimensions\":{\"S.T.R\":{\"unit\":\"%s\",\"pricePerUnit\":"
                 "{\"USD\":%s}}},\"sku\":\"S\",\"offerTermCode\":\"T\"}}},"
                 "\"version\":\"1\"}",
                 usagetype, unit, usd_json) < 0)
        abort();
    json_t *string = json_string(document);
    quoted = json_dumps(string, JSON_ENCODE_ANY);
    json_decref(string);
    free(document);
    return quoted;
}

/* An answer of these items (JSON texts) and a NextToken or none. */
static char *answer_of(const char *items, const char *next_token)
{
    char *answer = NULL;
    if (asprintf(&answer, "{\"FormatVersion\":\"aws_v1\",\"PriceList\":[%s]%s%s%s}", items,
                 next_token ? ",\"NextToken\":\"" : "", next_token ? next_token : "",
                 next_token ? "\"" : "") < 0)
        abort();
    return answer;
}

/* Read `answer`: the status, *price, *found. */
static int read_answer(const char *answer, double *price, bool *found, struct fahr_error *err)
{
    char *next = NULL;
    int rc = aws_price_list_read(answer, strlen(answer), &query, price, found, &next, err);
    free(next);
    return rc;
}

START_TEST(training_price_among_the_instance_s_products)
{
    char *train = item("USE1-Train:ml.m5.large", "Hrs", "\"0.1150000000\"");
    char *host = item("USE1-Host:ml.m5.large", "Hrs", "\"0.2000000000\"");
    char *storage = item("USE1-Train:ml.m5.large", "GB-Mo", "\"0.1400000000\"");
    char *items = NULL;
    ck_assert_int_ge(asprintf(&items, "%s,%s,%s", host, storage, train), 0);
    char *answer = answer_of(items, NULL);
    double price = -1;
    bool found = false;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(read_answer(answer, &price, &found, &err), FAHR_OK);
    ck_assert(found);
    ck_assert_double_eq_tol(price, 0.115, 1e-12);
    free(answer);
    free(items);
    free(train);
    free(host);
    free(storage);
}
END_TEST

START_TEST(usage_types_match_whole)
{
    /* Another instance whose name ends the same, a usage type without the
     * region's "-", another use: none is ml.m5.large's training. */
    const char *others[] = {"USE1-Train:ml.m5.xlarge", "USE1-XTrain:ml.m5.large",
                            "USE1-Train:ml.m5.large-Spot", "USE1-Host:ml.m5.large", ""};
    for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
        char *one = item(others[i], "Hrs", "\"1.0\"");
        char *answer = answer_of(one, NULL);
        double price = -1;
        bool found = false;
        struct fahr_error err = {{0}};
        ck_assert_int_eq(read_answer(answer, &price, &found, &err), FAHR_OK);
        ck_assert_msg(!found, "%s matched", others[i]);
        free(answer);
        free(one);
    }
    /* us-east-1's usage types may have no prefix at all. */
    char *bare = item("Train:ml.m5.large", "Hrs", "\"0.5\"");
    char *answer = answer_of(bare, NULL);
    double price = -1;
    bool found = false;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(read_answer(answer, &price, &found, &err), FAHR_OK);
    ck_assert(found);
    ck_assert_double_eq_tol(price, 0.5, 1e-12);
    free(answer);
    free(bare);
}
END_TEST

START_TEST(pages_carry_over_and_next_token_is_given)
{
    char *train = item("EU-Train:ml.m5.large", "Hrs", "\"0.128\"");
    char *first = answer_of("", "page-2");
    char *second = answer_of(train, NULL);
    double price = -1;
    bool found = false;
    char *next = NULL;
    struct fahr_error err = {{0}};
    ck_assert_int_eq(aws_price_list_read(first, strlen(first), &query, &price, &found, &next, &err),
                     FAHR_OK);
    ck_assert(!found);
    ck_assert_str_eq(next, "page-2");
    free(next);
    ck_assert_int_eq(
        aws_price_list_read(second, strlen(second), &query, &price, &found, &next, &err), FAHR_OK);
    ck_assert(found);
    ck_assert_ptr_null(next);
    ck_assert_double_eq_tol(price, 0.128, 1e-12);
    /* The same product again on a later page, at another price: refused. */
    char *other = item("EU-Train:ml.m5.large", "Hrs", "\"0.2\"");
    char *third = answer_of(other, NULL);
    ck_assert_int_eq(read_answer(third, &price, &found, &err), FAHR_EFAIL);
    ck_assert_msg(strstr(err.message, "several prices") != NULL, "%s", err.message);
    free(third);
    free(other);
    free(first);
    free(second);
    free(train);
}
END_TEST

START_TEST(hostile_answers_are_refused)
{
    /* Not GetProducts' answer at all. */
    const char *answers[] = {"", "not json", "[]", "{}", "{\"PriceList\":{}}",
                             "{\"PriceList\":[1]}", "{\"PriceList\":[\"not json\"]}",
                             "{\"PriceList\":[null]}"};
    for (size_t i = 0; i < sizeof answers / sizeof answers[0]; i++) {
        double price = -1;
        bool found = false;
        struct fahr_error err = {{0}};
        ck_assert_int_eq(read_answer(answers[i], &price, &found, &err), FAHR_EFAIL);
        ck_assert_msg(strncmp(err.message, "GetProducts: ", 13) == 0, "%s", err.message);
        ck_assert(!found);
    }
    /* Prices that are no plain decimal number of dollars. */
    const char *prices[] = {"\"\"",      "\"-0.1\"",  "\"1e3\"",   "\"NaN\"",  "\"inf\"",
                            "\" 0.1\"",  "\"0.1 \"", "\"1.2.3\"", "\"0x10\"", "\".5\"",
                            "\"5.\"",    "0.115",    "null",      "{}",       "\"1234567890123\""};
    for (size_t i = 0; i < sizeof prices / sizeof prices[0]; i++) {
        char *one = item("USE1-Train:ml.m5.large", "Hrs", prices[i]);
        char *answer = answer_of(one, NULL);
        double price = -1;
        bool found = false;
        struct fahr_error err = {{0}};
        ck_assert_int_eq(read_answer(answer, &price, &found, &err), FAHR_EFAIL);
        ck_assert_msg(strstr(err.message, "no decimal number") != NULL, "%s: %s", prices[i],
                      err.message);
        free(answer);
        free(one);
    }
}
END_TEST

START_TEST(products_without_terms_are_not_prices)
{
    /* A matching product with no OnDemand term, or terms of another shape:
     * no price, and no crash. */
    const char *documents[] = {
        "{\"product\":{\"attributes\":{\"usagetype\":\"USE1-Train:ml.m5.large\"}}}",
        "{\"product\":{\"attributes\":{\"usagetype\":\"USE1-Train:ml.m5.large\"}},"
        "\"terms\":{\"OnDemand\":[1,2]}}",
        "{\"product\":{\"attributes\":{\"usagetype\":\"USE1-Train:ml.m5.large\"}},"
        "\"terms\":{\"OnDemand\":{\"x\":{\"priceDimensions\":\"none\"}}}}",
        "{\"product\":{\"attributes\":{\"usagetype\":7}}}",
        "{\"product\":[]}",
        "[]",
    };
    for (size_t i = 0; i < sizeof documents / sizeof documents[0]; i++) {
        json_t *string = json_string(documents[i]);
        char *one = json_dumps(string, JSON_ENCODE_ANY);
        json_decref(string);
        char *answer = answer_of(one, NULL);
        double price = -1;
        bool found = false;
        struct fahr_error err = {{0}};
        ck_assert_int_eq(read_answer(answer, &price, &found, &err), FAHR_OK);
        ck_assert_msg(!found, "%s", documents[i]);
        free(answer);
        free(one);
    }
}
END_TEST

TCase *pricing_tcase(void)
{
    TCase *pricing = tcase_create("price list");
    tcase_add_test(pricing, training_price_among_the_instance_s_products);
    tcase_add_test(pricing, usage_types_match_whole);
    tcase_add_test(pricing, pages_carry_over_and_next_token_is_given);
    tcase_add_test(pricing, hostile_answers_are_refused);
    tcase_add_test(pricing, products_without_terms_are_not_prices);
    return pricing;
}
