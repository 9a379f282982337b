/* plugins/common/aws_config.c: see aws_config.h. */
#include "aws_config.h"

#include <ctype.h>
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "aws_http.h"
#include "aws_metadata.h"

bool aws_has_control_characters(const char *value)
{
    for (const unsigned char *p = (const unsigned char *)value; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

const char *aws_printable(const char *value, char *out, size_t size)
{
    size_t used = 0;
    for (const unsigned char *p = (const unsigned char *)value; *p && used + 5 < size; p++) {
        if (*p < 0x20 || *p == 0x7f)
            used += (size_t)snprintf(out + used, size - used, "\\x%02x", *p);
        else
            out[used++] = (char)*p;
    }
    out[used] = '\0';
    return out;
}

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
        FIELD("ca_bundle", ca_bundle),
#undef FIELD
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        if (strcmp(fields[i].key, key) != 0)
            continue;
        char *field = (char *)out + fields[i].offset;
        /* Refused when used, with the key named: never stored. */
        if (aws_has_control_characters(value)) {
            if (out->bad_key[0] == '\0')
                snprintf(out->bad_key, sizeof out->bad_key, "%s", key);
            return;
        }
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

/* The profile, refused whole where a value fahr reads has a control
 * character. */
static int profile_load_checked(const char *name, struct aws_profile *out,
                                struct fahr_error *err)
{
    aws_profile_load(name, out);
    char shown[160];
    if (out->bad_key[0] != '\0')
        return fahr_error_set(err, FAHR_EINVAL,
                              "profile '%s': %s has a control character; refusing it",
                              aws_printable(name, shown, sizeof shown), out->bad_key);
    return FAHR_OK;
}

bool aws_region_is_valid(const char *region)
{
    size_t length = strlen(region);
    if (length == 0 || length > 63 || region[0] == '-' || region[length - 1] == '-')
        return false;
    bool all_digits = true;
    for (const char *p = region; *p; p++) {
        bool digit = *p >= '0' && *p <= '9';
        if (!digit && !(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') && *p != '-')
            return false;
        all_digits = all_digits && digit;
    }
    return !all_digits;
}

static int take_region(const char *source, const char *value, char *out, size_t size,
                       struct fahr_error *err)
{
    char shown[160];
    if (!aws_region_is_valid(value) || strlen(value) >= size)
        return fahr_error_set(err, FAHR_EINVAL,
                              "%s: region '%s' doesn't match a supported format (like us-east-1)",
                              source, aws_printable(value, shown, sizeof shown));
    snprintf(out, size, "%s", value);
    return FAHR_OK;
}

int aws_region(const char *override, char *out, size_t size, struct fahr_error *err)
{
    const char *sources[] = {"--config.region", "AWS_REGION", "AWS_DEFAULT_REGION"};
    const char *candidates[] = {override, getenv("AWS_REGION"), getenv("AWS_DEFAULT_REGION")};
    for (size_t i = 0; i < 3; i++)
        if (candidates[i] != NULL && candidates[i][0] != '\0')
            return take_region(sources[i], candidates[i], out, size, err);
    struct aws_profile profile;
    int rc = profile_load_checked(aws_profile_name(), &profile, err);
    if (rc != FAHR_OK)
        return rc;
    if (profile.region[0] != '\0') {
        char source[160];
        snprintf(source, sizeof source, "region in profile '%.128s'", profile.name);
        return take_region(source, profile.region, out, size, err);
    }
    return fahr_error_set(err, FAHR_EINVAL,
                          "no AWS region: set --config.region, AWS_REGION, or region in "
                          "profile '%s'",
                          aws_profile_name());
}

bool aws_url_parse(const char *url, struct aws_url *out)
{
    memset(out, 0, sizeof *out);
    for (const char *p = url; *p; p++)
        if ((unsigned char)*p <= ' ' || *p == 0x7f)
            return false;
    CURLU *parsed = curl_url();
    char *scheme = NULL, *host = NULL, *part = NULL;
    bool ok = parsed != NULL && curl_url_set(parsed, CURLUPART_URL, url, 0) == CURLUE_OK &&
              curl_url_get(parsed, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
              curl_url_get(parsed, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
              (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0);
    if (ok) {
        /* libcurl gives an IPv6 address in brackets. */
        size_t length = strlen(host);
        bool bracketed = length >= 2 && host[0] == '[' && host[length - 1] == ']';
        ok = length > (bracketed ? 2u : 0u) && length - (bracketed ? 2 : 0) < sizeof out->host;
        snprintf(out->scheme, sizeof out->scheme, "%s", scheme);
        snprintf(out->host, sizeof out->host, "%.*s", (int)(length - (bracketed ? 2 : 0)),
                 host + (bracketed ? 1 : 0));
        out->has_user = curl_url_get(parsed, CURLUPART_USER, &part, 0) == CURLUE_OK;
        curl_free(part);
        part = NULL;
        out->has_query = curl_url_get(parsed, CURLUPART_QUERY, &part, 0) == CURLUE_OK;
        curl_free(part);
        part = NULL;
        out->has_fragment = curl_url_get(parsed, CURLUPART_FRAGMENT, &part, 0) == CURLUE_OK;
        curl_free(part);
    }
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(parsed);
    return ok;
}

static int check_endpoint(const char *url, const char *source, struct fahr_error *err)
{
    struct aws_url parsed;
    char shown[300];
    if (!aws_url_parse(url, &parsed) || parsed.has_user || parsed.has_query ||
        parsed.has_fragment)
        return fahr_error_set(err, FAHR_EINVAL,
                              "%s: '%s' is not an endpoint URL (like https://s3.example.com:9000)",
                              source, aws_printable(url, shown, sizeof shown));
    return FAHR_OK;
}

int aws_endpoint(const char *id, const char *default_host, const char *region, char *out,
                 size_t size, struct fahr_error *err)
{
    char source[160];
    snprintf(source, sizeof source, "AWS_ENDPOINT_URL_%s", id);
    const char *url = getenv(source);
    if (url == NULL || url[0] == '\0') {
        url = getenv("AWS_ENDPOINT_URL");
        snprintf(source, sizeof source, "AWS_ENDPOINT_URL");
    }
    struct aws_profile profile;
    if (url == NULL || url[0] == '\0') {
        int rc = profile_load_checked(aws_profile_name(), &profile, err);
        if (rc != FAHR_OK)
            return rc;
        url = profile.endpoint_url[0] ? profile.endpoint_url : NULL;
        snprintf(source, sizeof source, "endpoint_url in profile '%.128s'", profile.name);
    }
    int length;
    if (url != NULL) {
        length = snprintf(out, size, "%s", url);
    } else {
        /* "{region}" in the host is the region. */
        snprintf(source, sizeof source, "the %s endpoint for region %.64s", id, region);
        const char *mark = strstr(default_host, "{region}");
        if (mark != NULL)
            length = snprintf(out, size, "https://%.*s%s%s", (int)(mark - default_host),
                              default_host, region, mark + 8);
        else
            length = snprintf(out, size, "https://%s", default_host);
    }
    if (length < 0 || (size_t)length >= size)
        return fahr_error_set(err, FAHR_EINVAL, "%s: the URL is too long", source);
    while (length > 0 && out[length - 1] == '/')
        out[--length] = '\0';
    return check_endpoint(out, source, err);
}

int aws_ca_bundle(char *out, size_t size, struct fahr_error *err)
{
    char source[160] = "AWS_CA_BUNDLE";
    const char *path = getenv("AWS_CA_BUNDLE");
    struct aws_profile profile;
    if (path == NULL || path[0] == '\0') {
        int rc = profile_load_checked(aws_profile_name(), &profile, err);
        if (rc != FAHR_OK)
            return rc;
        path = profile.ca_bundle;
        snprintf(source, sizeof source, "ca_bundle in profile '%.128s'", profile.name);
    }
    if ((size_t)snprintf(out, size, "%s", path) >= size)
        return fahr_error_set(err, FAHR_EINVAL, "%s: the path is too long", source);
    if (out[0] == '\0')
        return FAHR_OK;
    int fd = open(out, O_RDONLY | O_CLOEXEC);
    struct stat st;
    int problem = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : S_ISREG(st.st_mode) ? 0 : EISDIR;
    if (fd >= 0)
        close(fd);
    char shown[300];
    if (problem != 0)
        return fahr_error_set(err, FAHR_EINVAL, "%s names %s, which cannot be read: %s", source,
                              aws_printable(out, shown, sizeof shown), strerror(problem));
    return FAHR_OK;
}

int aws_credentials_set(struct aws_credentials *out, const char *id, const char *secret,
                        const char *token, const char *source, struct fahr_error *err)
{
    if (id == NULL || secret == NULL || id[0] == '\0' || secret[0] == '\0')
        return FAHR_ENOTFOUND;
    /* The key id and the token are sent in header lines. */
    if (aws_has_control_characters(id) || aws_has_control_characters(secret) ||
        (token != NULL && aws_has_control_characters(token)))
        return fahr_error_set(err, FAHR_EINVAL,
                              "the credentials from %s have a control character; refusing them",
                              source);
    snprintf(out->access_key_id, sizeof out->access_key_id, "%s", id);
    snprintf(out->secret_access_key, sizeof out->secret_access_key, "%s", secret);
    snprintf(out->session_token, sizeof out->session_token, "%s", token ? token : "");
    snprintf(out->source, sizeof out->source, "%.100s", source);
    return FAHR_OK;
}

/* Credentials from a JSON document as the container and instance metadata
 * endpoints serve them; FAHR_ENOTFOUND where it holds none. */
static int credentials_from_json(const char *body, struct aws_credentials *out,
                                 const char *source, struct fahr_error *err)
{
    json_t *doc = json_loads(body, 0, NULL);
    if (doc == NULL)
        return FAHR_ENOTFOUND;
    int rc = aws_credentials_set(out, json_string_value(json_object_get(doc, "AccessKeyId")),
                                 json_string_value(json_object_get(doc, "SecretAccessKey")),
                                 json_string_value(json_object_get(doc, "Token")), source, err);
    json_decref(doc);
    return rc;
}

static int profile_credentials(const struct fahr_host *host, const char *region,
                               const char *name, int depth, struct aws_credentials *out,
                               struct fahr_error *err)
{
    struct aws_profile profile;
    int rc = profile_load_checked(name, &profile, err);
    if (rc != FAHR_OK)
        return rc;
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
        rc = profile_credentials(host, region, profile.source_profile, depth + 1, &base, err);
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
        OPENSSL_cleanse(&base, sizeof base);
        if (rc == FAHR_OK)
            snprintf(out->source, sizeof out->source, "role %.100s", profile.role_arn);
        return rc;
    }
    memset(out, 0, sizeof *out);
    rc = aws_credentials_set(out, profile.access_key_id, profile.secret_access_key,
                             profile.session_token, source, err);
    OPENSSL_cleanse(&profile, sizeof profile);
    return rc == FAHR_ENOTFOUND ? FAHR_OK : rc;
}

int aws_credentials_resolve(const struct fahr_host *host, const char *region,
                            struct aws_credentials *out, struct fahr_error *err)
{
    memset(out, 0, sizeof *out);
    int rc = aws_credentials_set(out, getenv("AWS_ACCESS_KEY_ID"), getenv("AWS_SECRET_ACCESS_KEY"),
                                 getenv("AWS_SESSION_TOKEN"), "the environment", err);
    if (rc != FAHR_ENOTFOUND)
        return rc;

    const char *name = aws_profile_name();
    struct aws_profile profile;
    aws_profile_load(name, &profile);
    if (profile.found) {
        rc = profile_credentials(host, region, name, 0, out, err);
        if (rc != FAHR_OK || out->access_key_id[0] != '\0')
            return rc;
    }

    char body[8192];
    rc = aws_container_credentials(host, body, sizeof body, err);
    if (rc == FAHR_OK)
        rc = credentials_from_json(body, out, "container credentials", err);
    if (rc == FAHR_ENOTFOUND) {
        rc = aws_instance_credentials(host, body, sizeof body, err);
        if (rc == FAHR_OK)
            rc = credentials_from_json(body, out, "instance metadata", err);
    }
    OPENSSL_cleanse(body, sizeof body);
    if (rc != FAHR_ENOTFOUND)
        return rc;
    return fahr_error_set(err, FAHR_EFAIL,
                          "no AWS credentials found (tried the environment, profile '%s', "
                          "container credentials and instance metadata)",
                          name);
}
