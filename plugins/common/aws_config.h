/* plugins/common/aws_config.h: credentials, region and endpoints, resolved
 * the way the AWS CLI resolves them.
 *
 * Credentials, first that yields:
 *   1. AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 *   2. the profile (AWS_PROFILE, else "default") in the shared credentials
 *      file (AWS_SHARED_CREDENTIALS_FILE, else ~/.aws/credentials) and the
 *      config file (AWS_CONFIG_FILE, else ~/.aws/config, "[profile NAME]");
 *      a profile with role_arn + source_profile assumes the role with STS
 *   3. container credentials (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or
 *      _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE or
 *      AWS_CONTAINER_AUTHORIZATION_TOKEN; see aws_metadata.h)
 *   4. EC2 instance metadata, IMDSv2 (unless AWS_EC2_METADATA_DISABLED)
 * Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
 * Endpoints: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's
 * endpoint_url, else the service's public endpoint.
 * CA bundle: AWS_CA_BUNDLE, the profile's ca_bundle, else the system's.
 *
 * Every value that ends up in a URL or a header line is checked before it
 * is used: a region is a host label (botocore's rule), an endpoint an
 * http(s) URL of a host, and no credential or profile value holds a control
 * character (CR and LF would end a header line and begin another). */
#ifndef FAHR_AWS_CONFIG_H
#define FAHR_AWS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "fahr/plugin.h"

struct aws_credentials {
    char access_key_id[128];
    char secret_access_key[256];
    char session_token[4096];
    char source[128]; /* where they came from, for messages: never a secret */
};

/* One profile's settings from the two shared files. */
struct aws_profile {
    char name[128];
    char region[64];
    char access_key_id[128];
    char secret_access_key[256];
    char session_token[4096];
    char role_arn[256];
    char source_profile[128];
    char role_session_name[128];
    char external_id[256];
    char endpoint_url[512];
    char ca_bundle[4096];
    bool found;       /* the profile exists in either file */
    char bad_key[64]; /* the first key whose value has a control character */
};

/* Read PROFILE from the shared credentials and config files (paths from the
 * environment). A missing file is not an error. */
void aws_profile_load(const char *profile, struct aws_profile *out);
/* Parse one file's text into `out` for PROFILE; `config_file` selects the
 * "[profile NAME]" form. Exposed for tests. */
void aws_profile_parse(const char *text, const char *profile, bool config_file,
                       struct aws_profile *out);

/* The active profile's name: AWS_PROFILE, else "default". */
const char *aws_profile_name(void);

/* Region: `override` (--config.region) if set, else the environment, else
 * the profile. FAHR_EINVAL when none is found or it is no region name. */
int aws_region(const char *override, char *out, size_t size, struct fahr_error *err);
/* botocore's rule: a host label of letters, digits and '-', up to 63, not
 * all digits, neither beginning nor ending with '-'. */
bool aws_region_is_valid(const char *region);

/* The endpoint URL (no trailing '/') for a service: `id` as in
 * AWS_ENDPOINT_URL_<ID> ("S3", "SAGEMAKER", "ECR", "IAM", "STS",
 * "CLOUDWATCH_LOGS"), `default_host` with "{region}" replaced. FAHR_EINVAL
 * when the one configured is no http(s) URL of a host (user names, queries
 * and fragments included), naming where it came from. */
int aws_endpoint(const char *id, const char *default_host, const char *region, char *out,
                 size_t size, struct fahr_error *err);

/* The CA bundle to verify TLS with ("" for the system's): AWS_CA_BUNDLE,
 * else the profile's ca_bundle. FAHR_EINVAL when it names a file that
 * cannot be read. */
int aws_ca_bundle(char *out, size_t size, struct fahr_error *err);

/* Resolve credentials (see above). FAHR_EFAIL with a message naming what was
 * tried when none are found, FAHR_EINVAL when a source holds unusable ones.
 * Never puts a secret in `err`. */
int aws_credentials_resolve(const struct fahr_host *host, const char *region,
                            struct aws_credentials *out, struct fahr_error *err);
/* Fill `out` from one source, named by `source` in messages: FAHR_ENOTFOUND
 * without a key id and secret, FAHR_EINVAL when one of them or the token has
 * a control character. */
int aws_credentials_set(struct aws_credentials *out, const char *id, const char *secret,
                        const char *token, const char *source, struct fahr_error *err);

/* ---- Checking values that reach a URL or a header ---- */

/* True if `value` has a byte below 0x20 or 0x7f. */
bool aws_has_control_characters(const char *value);
/* `value` for a message: control characters written as \xNN, cut to fit
 * `out`. Returns `out`. */
const char *aws_printable(const char *value, char *out, size_t size);

/* An http or https URL as libcurl reads it. */
struct aws_url {
    char scheme[8];
    char host[256]; /* an IPv6 address without its brackets */
    bool has_user, has_query, has_fragment;
};
/* False where `url` has a control character or a space, or is no http(s)
 * URL with a host. */
bool aws_url_parse(const char *url, struct aws_url *out);

#endif
