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
 *      _FULL_URI, with AWS_CONTAINER_AUTHORIZATION_TOKEN)
 *   4. EC2 instance metadata, IMDSv2 (unless AWS_EC2_METADATA_DISABLED)
 * Region: AWS_REGION, AWS_DEFAULT_REGION, the profile's region.
 * Endpoints: AWS_ENDPOINT_URL_<SERVICE>, AWS_ENDPOINT_URL, the profile's
 * endpoint_url, else the service's public endpoint. */
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
    bool found; /* the profile exists in either file */
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

/* Region: `override` (e.g. --config.region) if set, else the environment,
 * else the profile. FAHR_EINVAL when none is found. */
int aws_region(const char *override, char *out, size_t size, struct fahr_error *err);

/* The endpoint URL (no trailing '/') for a service: `id` as in
 * AWS_ENDPOINT_URL_<ID> ("S3", "SAGEMAKER", "ECR", "IAM", "STS",
 * "CLOUDWATCH_LOGS"), `default_host` with "{region}" replaced. */
void aws_endpoint(const char *id, const char *default_host, const char *region, char *out,
                  size_t size);

/* Resolve credentials (see above). FAHR_EFAIL with a message naming what was
 * tried when none are found. Never puts a secret in `err`. */
int aws_credentials_resolve(const struct fahr_host *host, const char *region,
                            struct aws_credentials *out, struct fahr_error *err);

#endif
