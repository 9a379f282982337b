/* plugins/common/aws_pricing.h: an on-demand price per hour from the AWS
 * Price List API (GetProducts, JSON 1.1, service "pricing", signed for
 * us-east-1 where its endpoint is; AWS_ENDPOINT_URL_PRICING or
 * AWS_ENDPOINT_URL overrides it as for other services), cached for a day in
 * the user's cache directory.
 *
 * A price is a courtesy: callers show what they found or why there is none
 * and go on; nothing here is a reason to fail a command. */
#ifndef FAHR_AWS_PRICING_H
#define FAHR_AWS_PRICING_H

#include <stdbool.h>
#include <stddef.h>

#include "aws_http.h"

extern const struct aws_service aws_pricing;

/* A TERM_MATCH filter of GetProducts: the product attribute `field` is
 * `value`. */
struct aws_price_filter {
    const char *field;
    const char *value;
};

struct aws_price_query {
    const char *service_code;             /* "AmazonSageMaker" */
    const struct aws_price_filter *filters;
    size_t filter_count;
    /* The filters may leave several products (an instance's training,
     * hosting and notebook use); the one priced is the product whose
     * attribute `match_attribute` is `match_suffix` or ends with "-" and
     * it ("USE1-Train:ml.m5.large" for "Train:ml.m5.large"). */
    const char *match_attribute;
    const char *match_suffix;
};

/* The most pages of GetProducts read for one price. */
#define AWS_PRICE_PAGES 5

/* One GetProducts answer read: each PriceList item (a JSON document in a
 * string) that the query matches gives its OnDemand price per "Hrs" in USD.
 * FAHR_OK with *found set when matches were found and agree (*usd_per_hour),
 * FAHR_OK with *found false when none matched; FAHR_EFAIL with a line in
 * `err` for an answer that is not GetProducts' (not JSON, an item that is
 * no JSON string, a price that is no decimal number) or for matches whose
 * prices disagree. *next_token: the answer's NextToken, malloc'd, or NULL.
 * `*found` and `*usd_per_hour` carry over between the pages of one query
 * (set *found false before the first). */
int aws_price_list_read(const char *body, size_t length, const struct aws_price_query *query,
                        double *usd_per_hour, bool *found, char **next_token,
                        struct fahr_error *err);

/* The on-demand price per hour in USD of the product `query` names, from the
 * user's cache when it is less than a day old, else from GetProducts with
 * `client`'s credentials (and then cached). FAHR_ENOTFOUND where the Price
 * List has no such product; FAHR_EFAIL (or FAHR_EINTERRUPTED) where it could
 * not be asked or answered badly; `err` says why in one line. */
int aws_price_hourly(const struct aws_client *client, const struct aws_price_query *query,
                     double *usd_per_hour, struct fahr_error *err);

/* How long a cached price is used, in seconds. */
#define AWS_PRICE_CACHE_SECONDS 86400

#endif
