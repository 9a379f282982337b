/* plugins/common/aws_config.c: see aws_config.h. */
#include "aws_config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_http.h"

const char *aws_profile_name(void)
{
    const char *name = getenv("AWS_PROFILE");
    return name != NULL && name[0] != '\0' ? name : "default";
}

static void trim(char **start, char **end)
{
    while (*start < *end && isspace((unsigned char)**start))
        (*start)++;
    while (*end > *start && isspace((unsigned char)(*end)[-1]))
        (*end)--;
}

static void set_field(struct aws_profile *out, const char *key, const char *value)
{
    static const struct {
        const char *key;
        size_t offset, size;
    } fields[] = {
#define FIELD(k, m) {k, offsetof(struct aws_profile, m), sizeof(((struct aws_profile *)0)->m)}
        FIELD("region", region),
        FIELD("aws_access_key_id", access_key_id),
        FIELD("aws_secret_access_key", secret_access_key),
        FIELD("aws_session_token", session_token),
        FIELD("role_arn", role_arn),
        FIELD("source_profile", source_profile),
        FIELD("role_session_name", role_session_name),
        FIELD("external_id", external_id),
        FIELD("endpoint_url", endpoint_url),
#undef FIELD
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(fields[i].key, key) != 0)
            continue;
        char *field = (char *)out + fields[i].offset;
        /* The first file read wins: credentials before config. */
        if (field[0] == '\0')
            snprintf(field, fields[i].size, "%s", value);
        return;
    }
}

void aws_profile_parse(const char *text, const char *profile, bool config_file,
                       struct aws_profile *out)
{
    bool in_profile = false;
    const char *line = text;
    while (line != NULL && *line) {
        const char *next = strchr(line, '\n');
        size_t length = next ? (size_t)(next - line) : strlen(line);
        char buffer[8192];
        snprintf(buffer, sizeof buffer, "%.*s", (int)(length < sizeof buffer ? length : sizeof buffer - 1), line);
        line = next ? next + 1 : NULL;
        /* Indented lines belong to a nested section (s3 = ...): skipped. */
        if (buffer[0] == ' ' || buffer[0] == '\t')
            continue;
        char *start = buffer, *end = buffer + strlen(buffer);
        trim(&start, &end);
        *end = '\0';
        if (*start == '\0' || *start == '#' || *start == ';')
            continue;
        if (*start == '[') {
            char *close = strchr(start, ']');
            if (close == NULL) {
                in_profile = false;
                continue;
            }
            char *name = start + 1, *name_end = close;
            trim(&name, &name_end);
            *name_end = '\0';
            if (config_file && strncmp(name, "profile", 7) == 0 && isspace((unsigned char)name[7])) {
                name += 8;
                while (isspace((unsigned char)*name))
                    name++;
            } else if (config_file && strcmp(name, "default") != 0) {
                in_profile = false; /* [sso-session x], [services x] */
                continue;
            }
            in_profile = strcmp(name, profile) == 0;
            if (in_profile) {
                out->found = true;
                snprintf(out->name, sizeof out->name, "%s", profile);
            }
            continue;
        }
        if (!in_profile)
            continue;
        char *eq = strchr(start, '=');
        if (eq == NULL)
            continue;
        char *key = start, *key_end = eq, *value = eq + 1, *value_end = end;
        trim(&key, &key_end);
        trim(&value, &value_end);
        *key_end = '\0';
        *value_end = '\0';
        for (char *p = key; *p; p++)
            *p = (char)tolower((unsigned char)*p);
        set_field(out, key, value);
    }
}

static char *read_whole_file(const char *path)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL)
        return NULL;
    size_t capacity = 4096, length = 0;
    char *text = malloc(capacity);
    size_t n;
    while (text != NULL && (n = fread(text + length, 1, capacity - length - 1, file)) > 0) {
        length += n;
        if (length + 1 == capacity) {
            char *grown = realloc(text, capacity * 2);
            if (grown == NULL) {
                free(text);
                text = NULL;
                break;
            }
            text = grown;
            capacity *= 2;
        }
    }
    fclose(file);
    if (text != NULL)
        text[length] = '\0';
    return text;
}

static void shared_file_path(const char *env, const char *name, char *out, size_t size)
{
    const char *path = getenv(env);
    if (path != NULL && path[0] != '\0') {
        if (path[0] == '~' && getenv("HOME") != NULL)
            snprintf(out, size, "%s%s", getenv("HOME"), path + 1);
        else
            snprintf(out, size, "%s", path);
        return;
    }
    const char *home = getenv("HOME");
    snprintf(out, size, "%s/.aws/%s", home ? home : "", name);
}

void aws_profile_load(const char *profile, struct aws_profile *out)
{
    memset(out, 0, sizeof *out);
    char path[4096];
    shared_file_path("AWS_SHARED_CREDENTIALS_FILE", "credentials", path, sizeof path);
    char *text = read_whole_file(path);
    if (text != NULL)
        aws_profile_parse(text, profile, false, out);
    free(text);
    shared_file_path("AWS_CONFIG_FILE", "config", path, sizeof path);
    text = read_whole_file(path);
    if (text != NULL)
        aws_profile_parse(text, profile, true, out);
    free(text);
}

int aws_region(const char *override, char *out, size_t size, struct fahr_error *err)
{
    const char *candidates[] = {override, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")};
    for (size_t i = 0; i < 3; i++) {
        if (candidates[i] != NULL && candidates[i][0] != '\0') {
            snprintf(out, size, "%s", candidates[i]);
            return FAHR_OK;
        }
    }
    struct aws_profile profile;
    aws_profile_load(aws_profile_name(), &profile);
    if (profile.region[0] != '\0') {
        snprintf(out, size, "%s", profile.region);
        return FAHR_OK;
    }
    return fahr_error_set(err, FAHR_EINVAL,
                          "no AWS region: set --config.region, AWS_REGION, or region in "
                          "profile '%s'",
                          aws_profile_name());
}

void aws_endpoint(const char *id, const char *default_host, const char *region, char *out,
                  size_t size)
{
    char name[128];
    snprintf(name, sizeof name, "AWS_ENDPOINT_URL_%s", id);
    const char *url = getenv(name);
    if (url == NULL || url[0] == '\0')
        url = getenv("AWS_ENDPOINT_URL");
    struct aws_profile profile;
    if (url == NULL || url[0] == '\0') {
        aws_profile_load(aws_profile_name(), &profile);
        url = profile.endpoint_url[0] ? profile.endpoint_url : NULL;
    }
    if (url != NULL) {
        snprintf(out, size, "%s", url);
    } else {
        /* "{region}" in the host is the region. */
        const char *mark = strstr(default_host, "{region}");
        if (mark != NULL)
            snprintf(out, size, "https://%.*s%s%s", (int)(mark - default_host), default_host,
                     region, mark + 8);
        else
            snprintf(out, size, "https://%s", default_host);
    }
    size_t length = strlen(out);
    while (length > 0 && out[length - 1] == '/')
        out[--length] = '\0';
}

static bool copy_keys(struct aws_credentials *out, const char *id, const char *secret,
                      const char *token, const char *source)
{
    if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0')
        return false;
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s", id);
    snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", secret);
    snprintf(out->session_token, sizeof out->session_token, "%s", token ? token : "");
    snprintf(out->source, sizeof out->source, "%.100s", source);
    return true;
}

/* Credentials from a JSON document as the container and instance metadata
 * endpoints serve them. */
static bool credentials_from_json(const char *body, struct aws_credentials *out,
                                  const char *source)
{
    json_t *doc = json_loads(body, 0, NULL);
    if (doc == NULL)
        return false;
    bool ok = copy_keys(out, json_string_value(json_object_get(doc, "AccessKeyId")),
                        json_string_value(json_object_get(doc, "SecretAccessKey")),
                        json_string_value(json_object_get(doc, "Token")), source);
    json_decref(doc);
    return ok;
}

static int profile_credentials(const struct fahr_host *host, const char *region,
                               const char *name, int depth, struct aws_credentials *out,
                               struct fahr_error *err)
{
    struct aws_profile profile;
    aws_profile_load(name, &profile);
    char source[160];
    snprintf(source, sizeof source, "profile %s", name);
    if (profile.role_arn[0] != '\0') {
        if (profile.source_profile[0] == '\0')
            return fahr_error_set(err, FAHR_EINVAL,
                                  "profile '%s' has role_arn but no source_profile", name);
        if (depth > 4)
            return fahr_error_set(err, FAHR_EINVAL,
                                  "profile '%s': source_profile chain is too long or loops", name);
        struct aws_credentials base;
        int rc = profile_credentials(host, region, profile.source_profile, depth + 1, &base, err);
        if (rc != FAHR_OK)
            return rc;
        if (base.access_key_id[0] == '\0')
            return fahr_error_set(err, FAHR_EINVAL,
                                  "profile '%s' (source of '%s') has no credentials",
                                  profile.source_profile, name);
        rc = aws_sts_assume_role(host, region, &base, profile.role_arn,
                                 profile.role_session_name[0] ? profile.role_session_name
                                                              : "fahr",
                                 profile.external_id[0] ? profile.external_id : NULL, out, err);
        if (rc == FAHR_OK)
            snprintf(out->source, sizeof out->source, "role %.100s", profile.role_arn);
        return rc;
    }
    memset(out, 0, sizeof *out);
    copy_keys(out, profile.access_key_id, profile.secret_access_key, profile.session_token,
              source);
    return FAHR_OK;
}

int aws_credentials_resolve(const struct fahr_host *host, const char *region,
                            struct aws_credentials *out, struct fahr_error *err)
{
    memset(out, 0, sizeof *out);
    if (copy_keys(out, getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
                  getenv("AWS_SESSION_TOKEN"), "environment"))
        return FAHR_OK;

    const char *name = aws_profile_name();
    struct aws_profile profile;
    aws_profile_load(name, &profile);
    if (profile.found) {
        int rc = profile_credentials(host, region, name, 0, out, err);
        if (rc != FAHR_OK || out->access_key_id[0] != '\0')
            return rc;
    }

    char body[8192];
    if (aws_container_credentials(host, body, sizeof body) == FAHR_OK &&
        credentials_from_json(body, out, "container credentials"))
        return FAHR_OK;
    if (aws_instance_credentials(host, body, sizeof body) == FAHR_OK &&
        credentials_from_json(body, out, "instance metadata"))
        return FAHR_OK;
    return fahr_error_set(err, FAHR_EFAIL,
                          "no AWS credentials found (tried the environment, profile '%s', "
                          "container credentials and instance metadata)",
                          name);
}
