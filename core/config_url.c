/* core/config_url.c: the values of FAHR_CONFIG_URL and FAHR_CONFIG_URI
 * keys (ABI 1.1). The host checks the form every service shares; whether a
 * bucket or an endpoint exists is the driver's to check.
 *
 * A value that holds user:password@ is refused without being quoted: the
 * password would reach the terminal, and from there a log. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fahr.h"

/* Where the authority of `value` starts (after "://", else at 0) and how
 * long it is (up to the first '/', '?' or '#'). */
static const char *authority_of(const char *value, size_t *length)
{
    const char *separator = strstr(value, "://");
    const char *start = separator != NULL ? separator + 3 : value;
    *length = strcspn(start, "/?#");
    return start;
}

/* Refuse what no URL or URI of a config key may hold. */
static int check_common(const char *value, const char *authority, size_t length,
                        struct fahr_error *err)
{
    if (memchr(authority, '@', length) != NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "the value holds a user name or password (user:password@), "
                              "which would leak; give credentials another way");
    const char *space = strpbrk(value, " \t");
    if (space != NULL)
        return fahr_error_set(err, FAHR_EINVAL, "'%s' has a space; write it as %%20", value);
    return FAHR_OK;
}

static bool host_is_valid(const char *host, size_t length)
{
    if (length == 0)
        return false;
    if (host[0] == '[') { /* an IPv6 literal */
        if (length < 3 || host[length - 1] != ']')
            return false;
        for (size_t i = 1; i + 1 < length; i++)
            if (!isxdigit((unsigned char)host[i]) && host[i] != ':' && host[i] != '.')
                return false;
        return true;
    }
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)host[i];
        if (!isalnum(c) && c != '.' && c != '-' && c != '_')
            return false;
    }
    return host[0] != '.' && host[0] != '-';
}

/* ":PORT" (1 to 65535), or nothing. */
static bool port_is_valid(const char *port, size_t length)
{
    if (length == 0)
        return true;
    if (port[0] != ':' || length < 2 || length > 6)
        return false;
    long number = 0;
    for (size_t i = 1; i < length; i++) {
        if (!isdigit((unsigned char)port[i]))
            return false;
        number = number * 10 + (port[i] - '0');
    }
    return number >= 1 && number <= 65535;
}

int config_check_url(const char *value, char *out, size_t out_size, struct fahr_error *err)
{
    size_t length;
    const char *authority = authority_of(value, &length);
    int rc = check_common(value, authority, length, err);
    if (rc != FAHR_OK)
        return rc;
    bool http = strncmp(value, "http://", 7) == 0 || strncmp(value, "https://", 8) == 0;
    /* The port follows the host's last ':' (after an IPv6 literal's ']'). */
    const char *bracket = memchr(authority, ']', length);
    const char *from = bracket != NULL ? bracket : authority;
    const char *colon = memchr(from, ':', length - (size_t)(from - authority));
    size_t host_length = colon != NULL ? (size_t)(colon - authority) : length;
    if (!http || !host_is_valid(authority, host_length) ||
        !port_is_valid(authority + host_length, length - host_length) ||
        (authority[length] != '\0' && authority[length] != '/'))
        return fahr_error_set(err, FAHR_EINVAL,
                              "'%s' is not an http:// or https:// URL (like "
                              "https://host:port/path)",
                              value);
    if (strlen(value) >= out_size)
        return fahr_error_set(err, FAHR_EINVAL, "value is too long");
    memcpy(out, value, strlen(value) + 1);
    return FAHR_OK;
}

int config_check_uri(const char *value, const char *scheme, char *out, size_t out_size,
                     struct fahr_error *err)
{
    if (scheme == NULL || scheme[0] == '\0')
        return fahr_error_set(err, FAHR_EINVAL, "the key declares no URI scheme");
    size_t length;
    const char *authority = authority_of(value, &length);
    int rc = check_common(value, authority, length, err);
    if (rc != FAHR_OK)
        return rc;
    size_t scheme_length = strlen(scheme);
    if (strncasecmp(value, scheme, scheme_length) != 0 ||
        strncmp(value + scheme_length, "://", 3) != 0 || length == 0 ||
        (authority[length] != '\0' && authority[length] != '/'))
        return fahr_error_set(err, FAHR_EINVAL, "'%s' is not a %s:// location (like %s://name/path)",
                              value, scheme, scheme);
    size_t end = strlen(value);
    while (end > (size_t)(authority - value) + length && value[end - 1] == '/')
        end--; /* "gs://bucket/path/" names what "gs://bucket/path" does */
    if (end >= out_size)
        return fahr_error_set(err, FAHR_EINVAL, "value is too long");
    memcpy(out, value, end);
    out[end] = '\0';
    for (size_t i = 0; i < scheme_length; i++)
        out[i] = (char)tolower((unsigned char)out[i]);
    return FAHR_OK;
}
