/* endpoints.c: where each Google API is, read as gcloud reads it
 * (CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>), so one setting points fahr and
 * gcloud at the same place (a test bench, a private endpoint). */
#include "vertex.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *variable;
    const char *fallback; /* %s: the region */
} apis[] = {
    [VERTEX_AIPLATFORM] = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM",
                           "https://%s-aiplatform.googleapis.com/"},
    [VERTEX_STORAGE] = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE",
                        "https://storage.googleapis.com/"},
    [VERTEX_LOGGING] = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_LOGGING",
                        "https://logging.googleapis.com/"},
    [VERTEX_ARTIFACTREGISTRY] = {"CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY",
                                 "https://artifactregistry.googleapis.com/"},
};

/* The authority of an http(s) URL: [start, end) after "scheme://". */
static int authority(const char *url, const char **start, const char **end)
{
    const char *rest;
    if (strncasecmp(url, "https://", 8) == 0)
        rest = url + 8;
    else if (strncasecmp(url, "http://", 7) == 0)
        rest = url + 7;
    else
        return -1;
    *start = rest;
    *end = rest + strcspn(rest, "/?#");
    return *end > *start ? 0 : -1;
}

int vertex_same_origin(const char *url, const char *root)
{
    const char *a, *a_end, *b, *b_end;
    if (authority(url, &a, &a_end) != 0 || authority(root, &b, &b_end) != 0)
        return 0;
    return a - url == b - root && strncasecmp(url, root, (size_t)(a - url)) == 0 &&
           a_end - a == b_end - b && strncasecmp(a, b, (size_t)(a_end - a)) == 0;
}

static int checked_override(const char *variable, const char *value, char *out, size_t size,
                            struct fahr_error *err)
{
    const char *host, *host_end;
    if (authority(value, &host, &host_end) != 0)
        return fahr_error_set(err, FAHR_EINVAL, "%s must be an http:// or https:// URL",
                              variable);
    if (memchr(host, '@', (size_t)(host_end - host)) != NULL)
        return fahr_error_set(err, FAHR_EINVAL, "%s must not hold a user name or password",
                              variable);
    for (const char *p = value; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return fahr_error_set(err, FAHR_EINVAL, "%s holds a space or control character",
                                  variable);
    size_t length = strlen(value);
    if (length + 2 > size)
        return fahr_error_set(err, FAHR_EINVAL, "%s is too long", variable);
    memcpy(out, value, length + 1);
    if (out[length - 1] != '/')
        strcpy(out + length, "/");
    return FAHR_OK;
}

int vertex_endpoint(enum vertex_api api, const char *region, char *out, size_t size,
                    struct fahr_error *err)
{
    if ((unsigned)api >= sizeof apis / sizeof apis[0])
        return fahr_error_set(err, FAHR_EFAIL, "no such Google API");
    const char *value = getenv(apis[api].variable);
    if (value == NULL || value[0] == '\0') {
        const char *place = region && region[0] ? region : "us-central1";
        int n = snprintf(out, size, apis[api].fallback, place);
        return n < 0 || (size_t)n >= size
                   ? fahr_error_set(err, FAHR_EINVAL, "the region is too long")
                   : FAHR_OK;
    }
    int rc = checked_override(apis[api].variable, value, out, size, err);
    /* gcloud's storage value carries the JSON API's path, which the media
     * and upload URLs do not share: the root is what is before it. */
    size_t length = strlen(out);
    if (rc == FAHR_OK && api == VERTEX_STORAGE && length > 11 &&
        strcmp(out + length - 11, "storage/v1/") == 0)
        out[length - 11] = '\0';
    return rc;
}
