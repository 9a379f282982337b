/* plugins/common/aws_pricing.c: see aws_pricing.h. */
#define _GNU_SOURCE
#include "aws_pricing.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The Price List API answers in us-east-1 (and two other regions); fahr
 * asks the first, whatever region the job runs in. */
const struct aws_service aws_pricing = {"PRICING", "pricing", "api.pricing.{region}.amazonaws.com",
                                        "AWSPriceListService", NULL};
#define PRICING_REGION "us-east-1"

/* An attempt may take this long: a price must not hold a command up. */
#define PRICING_TIMEOUT_MS 5000

/* "0.1150000000": GetProducts' pricePerUnit, a plain decimal. Anything else
 * (a sign, an exponent, "NaN", spaces) is refused rather than guessed at. */
static bool parse_price(const char *text, double *out)
{
    size_t whole = strspn(text, "0123456789"), fraction = 0;
    if (whole == 0 || whole > 12)
        return false;
    if (text[whole] == '.') {
        fraction = strspn(text + whole + 1, "0123456789");
        if (fraction == 0 || fraction > 12)
            return false;
        fraction++;
    }
    if (text[whole + fraction] != '\0')
        return false;
    *out = strtod(text, NULL);
    return true;
}

/* The product's attribute is the suffix, or ends with "-" and it. */
static bool product_matches(json_t *product, const struct aws_price_query *query)
{
    const char *value = json_string_value(
        json_object_get(json_object_get(product, "attributes"), query->match_attribute));
    if (value == NULL)
        return false;
    size_t length = strlen(value), suffix = strlen(query->match_suffix);
    if (length < suffix || strcmp(value + length - suffix, query->match_suffix) != 0)
        return false;
    return length == suffix || value[length - suffix - 1] == '-';
}

/* The OnDemand prices per hour in USD of one PriceList item, each folded
 * into *price and *found; FAHR_EFAIL where two disagree or one is malformed. */
static int fold_on_demand(json_t *terms, double *price, bool *found, struct fahr_error *err)
{
    const char *term_code, *dimension_code;
    json_t *term, *dimension;
    json_object_foreach(json_object_get(terms, "OnDemand"), term_code, term) {
        json_object_foreach(json_object_get(term, "priceDimensions"), dimension_code, dimension) {
            const char *unit = json_string_value(json_object_get(dimension, "unit"));
            if (unit == NULL || strcmp(unit, "Hrs") != 0)
                continue;
            const char *usd = json_string_value(
                json_object_get(json_object_get(dimension, "pricePerUnit"), "USD"));
            double value;
            if (usd == NULL || !parse_price(usd, &value))
                return fahr_error_set(err, FAHR_EFAIL,
                                      "GetProducts: a price per hour is no decimal number of USD");
            if (*found && value != *price)
                return fahr_error_set(err, FAHR_EFAIL,
                                      "GetProducts: the product has several prices per hour "
                                      "(%.4f and %.4f USD)",
                                      *price, value);
            *price = value;
            *found = true;
        }
    }
    return FAHR_OK;
}

int aws_price_list_read(const char *body, size_t length, const struct aws_price_query *query,
                        double *usd_per_hour, bool *found, char **next_token,
                        struct fahr_error *err)
{
    *next_token = NULL;
    json_t *answer = json_loadb(body, length, 0, NULL);
    json_t *list = json_object_get(answer, "PriceList");
    if (answer == NULL || !json_is_array(list)) {
        json_decref(answer);
        return fahr_error_set(err, FAHR_EFAIL, "GetProducts: the answer has no PriceList");
    }
    int rc = FAHR_OK;
    size_t index;
    json_t *item;
    json_array_foreach(list, index, item) {
        /* Each item is a JSON document inside a string (the model's
         * "jsonvalue" trait). */
        const char *text = json_string_value(item);
        json_t *document = text ? json_loads(text, 0, NULL) : NULL;
        if (document == NULL)
            rc = fahr_error_set(err, FAHR_EFAIL,
                                "GetProducts: PriceList item %zu is not a JSON document in a "
                                "string",
                                index);
        else if (product_matches(json_object_get(document, "product"), query))
            rc = fold_on_demand(json_object_get(document, "terms"), usd_per_hour, found, err);
        json_decref(document);
        if (rc != FAHR_OK)
            break;
    }
    const char *token = json_string_value(json_object_get(answer, "NextToken"));
    if (rc == FAHR_OK && token != NULL && token[0] != '\0')
        *next_token = strdup(token);
    json_decref(answer);
    return rc;
}

/* ---- The cache ------------------------------------------------------------ */

/* $XDG_CACHE_HOME/fahr/aws-prices (else ~/.cache/...), made 0700; false
 * where there is none that only this user can write. */
static bool cache_dir(char *out, size_t size)
{
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    int n = -1;
    if (xdg != NULL && xdg[0] == '/')
        n = snprintf(out, size, "%s/fahr/aws-prices", xdg);
    else if (home != NULL && home[0] == '/')
        n = snprintf(out, size, "%s/.cache/fahr/aws-prices", home);
    if (n < 0 || (size_t)n >= size)
        return false;
    for (char *slash = strchr(out + 1, '/');; slash = strchr(slash + 1, '/')) {
        if (slash != NULL)
            *slash = '\0';
        bool made = mkdir(out, 0700) == 0 || errno == EEXIST;
        if (slash == NULL)
            break;
        *slash = '/';
        if (!made)
            return false;
    }
    struct stat st;
    return lstat(out, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == geteuid() &&
           (st.st_mode & 077) == 0;
}

/* The cache file of a query: its every part and the endpoint asked, hashed,
 * so that a test bench's price never stands for AWS's. */
static bool cache_path(const struct aws_price_query *query, const char *endpoint, char *out,
                       size_t size)
{
    char dir[3072];
    if (!cache_dir(dir, sizeof dir))
        return false;
    char *key = NULL;
    size_t length = 0;
    FILE *text = open_memstream(&key, &length);
    if (text == NULL)
        return false;
    fprintf(text, "%s\n%s\n%s\n%s\n", endpoint, query->service_code, query->match_attribute,
            query->match_suffix);
    for (size_t i = 0; i < query->filter_count; i++)
        fprintf(text, "%s=%s\n", query->filters[i].field, query->filters[i].value);
    fclose(text);
    char hash[65];
    sigv4_sha256_hex(key, length, hash);
    free(key);
    int n = snprintf(out, size, "%s/%s", dir, hash);
    return n > 0 && (size_t)n < size;
}

static bool cache_read(const char *path, double *usd_per_hour)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct stat st;
    char text[64];
    ssize_t got = -1;
    time_t now = time(NULL);
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_uid == geteuid() &&
        st.st_size < (off_t)sizeof text && st.st_mtime <= now + 60 &&
        now - st.st_mtime < AWS_PRICE_CACHE_SECONDS)
        got = read(fd, text, sizeof text - 1);
    close(fd);
    if (got <= 0 || text[got - 1] != '\n')
        return false;
    text[got - 1] = '\0';
    return parse_price(text, usd_per_hour);
}

/* Whole or not at all: a temporary file (0600) renamed over the old. */
static void cache_write(const char *path, double usd_per_hour)
{
    char temporary[4096];
    if (snprintf(temporary, sizeof temporary, "%s.XXXXXX", path) >= (int)sizeof temporary)
        return;
    int fd = mkostemp(temporary, O_CLOEXEC);
    if (fd < 0)
        return;
    char text[64];
    int length = snprintf(text, sizeof text, "%.10f\n", usd_per_hour);
    bool written = length > 0 && write(fd, text, (size_t)length) == length;
    if (close(fd) != 0 || !written || rename(temporary, path) != 0)
        unlink(temporary);
}

/* ---- Asking -------------------------------------------------------------- */

static json_t *products_request(const struct aws_price_query *query, const char *next_token)
{
    json_t *filters = json_array();
    for (size_t i = 0; i < query->filter_count; i++)
        json_array_append_new(filters, json_pack("{s:s, s:s, s:s}", "Type", "TERM_MATCH", "Field",
                                                 query->filters[i].field, "Value",
                                                 query->filters[i].value));
    json_t *input = json_pack("{s:s, s:o, s:s, s:i}", "ServiceCode", query->service_code,
                              "Filters", filters, "FormatVersion", "aws_v1", "MaxResults", 100);
    if (input != NULL && next_token != NULL)
        json_object_set_new(input, "NextToken", json_string(next_token));
    return input;
}

/* One page of GetProducts, read into *price and *found. */
static int products_page(struct aws_client *client, const struct aws_price_query *query,
                         char **next_token, double *price, bool *found, struct fahr_error *err)
{
    json_t *input = products_request(query, *next_token);
    char *body = input ? json_dumps(input, JSON_COMPACT) : NULL;
    json_decref(input);
    free(*next_token);
    *next_token = NULL;
    if (body == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "GetProducts: cannot encode the request");
    struct sigv4_pair headers[] = {
        {"Content-Type", "application/x-amz-json-1.1"},
        {"X-Amz-Target", "AWSPriceListService.GetProducts"},
    };
    struct aws_request request = {.service = &aws_pricing, .operation = "GetProducts",
                                  .method = "POST", .path = "/", .headers = headers,
                                  .header_count = 2, .body = body, .body_length = strlen(body),
                                  .timeout_ms = PRICING_TIMEOUT_MS};
    struct aws_response response;
    int rc = aws_send(client, &request, &response, err);
    free(body);
    if (rc == FAHR_ENOTFOUND) /* a 404 is an endpoint without the API */
        rc = FAHR_EFAIL;
    if (rc == FAHR_OK)
        rc = aws_price_list_read(response.body ? response.body : "", response.length, query,
                                 price, found, next_token, err);
    aws_response_free(&response);
    return rc;
}

int aws_price_hourly(const struct aws_client *client, const struct aws_price_query *query,
                     double *usd_per_hour, struct fahr_error *err)
{
    char endpoint[1024], path[4096];
    int rc = aws_endpoint(aws_pricing.id, aws_pricing.default_host, PRICING_REGION, endpoint,
                          sizeof endpoint, err);
    if (rc != FAHR_OK)
        return rc;
    bool cached = cache_path(query, endpoint, path, sizeof path);
    if (cached && cache_read(path, usd_per_hour)) {
        client->host->log(FAHR_LOG_DEBUG, "price of %s from the cache", query->match_suffix);
        return FAHR_OK;
    }
    /* The same credentials, signed for the API's own region. */
    struct aws_client pricing;
    if ((rc = aws_client_clone(client, &pricing, err)) != FAHR_OK)
        return rc;
    snprintf(pricing.region, sizeof pricing.region, "%s", PRICING_REGION);
    bool found = false;
    char *next_token = NULL;
    for (int page = 0; rc == FAHR_OK && page < AWS_PRICE_PAGES; page++) {
        rc = products_page(&pricing, query, &next_token, usd_per_hour, &found, err);
        if (next_token == NULL)
            break;
    }
    free(next_token);
    aws_client_close(&pricing);
    if (rc != FAHR_OK)
        return rc;
    if (!found)
        return fahr_error_set(err, FAHR_ENOTFOUND, "the AWS Price List has no on-demand price "
                              "per hour for %s", query->match_suffix);
    if (cached)
        cache_write(path, *usd_per_hour);
    return FAHR_OK;
}
