/* google_auth.c: Application Default Credentials, found in Google's order
 * ($GOOGLE_APPLICATION_CREDENTIALS, gcloud's application default file, the
 * metadata server) and read without touching the network. The secrets in
 * them stay in memory, wiped when done, and never reach a message. */
#include "google_auth.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define DEFAULT_TOKEN_URI "https://oauth2.googleapis.com/token"

static void warn_if_readable(const char *path, const struct stat *st)
{
    if (st->st_mode & (S_IRGRP | S_IROTH))
        vertex_host->log(FAHR_LOG_WARN,
                         "%s is readable by other users of this machine; run chmod 600 %s",
                         path, path);
}

static char *take_string(json_t *file, const char *key)
{
    const char *value = json_string_value(json_object_get(file, key));
    return value && value[0] ? strdup(value) : NULL;
}

static void copy_text(char *out, size_t size, const char *value)
{
    snprintf(out, size, "%s", value ? value : "");
}

static int read_service_account(struct vertex_auth *auth, json_t *file, struct fahr_error *err)
{
    auth->kind = CREDENTIAL_SERVICE_ACCOUNT;
    auth->client_email = take_string(file, "client_email");
    auth->private_key = take_string(file, "private_key");
    auth->private_key_id = take_string(file, "private_key_id");
    const char *uri = json_string_value(json_object_get(file, "token_uri"));
    copy_text(auth->token_uri, sizeof auth->token_uri, uri && uri[0] ? uri : DEFAULT_TOKEN_URI);
    if (auth->client_email == NULL || auth->private_key == NULL)
        return fahr_error_set(err, FAHR_EINVAL,
                              "the service account key %s lacks client_email or private_key",
                              auth->source);
    return FAHR_OK;
}

static int read_authorized_user(struct vertex_auth *auth, json_t *file, struct fahr_error *err)
{
    auth->kind = CREDENTIAL_AUTHORIZED_USER;
    auth->client_id = take_string(file, "client_id");
    auth->client_secret = take_string(file, "client_secret");
    auth->refresh_token = take_string(file, "refresh_token");
    /* gcloud's override of the token host, else the file's, else Google's */
    const char *uri = getenv("CLOUDSDK_AUTH_TOKEN_HOST");
    if (uri == NULL || uri[0] == '\0')
        uri = json_string_value(json_object_get(file, "token_uri"));
    copy_text(auth->token_uri, sizeof auth->token_uri, uri && uri[0] ? uri : DEFAULT_TOKEN_URI);
    if (auth->client_id == NULL || auth->client_secret == NULL || auth->refresh_token == NULL)
        return fahr_error_set(err, FAHR_EINVAL, "the credential %s lacks client_id, "
                              "client_secret or refresh_token", auth->source);
    return FAHR_OK;
}

/* The parsed file's copies of the secrets, wiped before jansson frees them. */
static void wipe_secrets(json_t *file)
{
    const char *keys[] = {"private_key", "client_secret", "refresh_token"};
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        json_t *value = json_object_get(file, keys[i]);
        if (json_is_string(value))
            OPENSSL_cleanse((char *)json_string_value(value), json_string_length(value));
    }
}

/* The file's JSON; NULL with err set. */
static json_t *load_file(const char *path, const char *label, struct fahr_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        int saved = fd < 0 ? errno : EISDIR;
        if (fd >= 0)
            close(fd);
        fahr_error_set(err, FAHR_EINVAL, "cannot read the Google credential %s: %s", label,
                       strerror(saved));
        return NULL;
    }
    warn_if_readable(path, &st);
    json_error_t parse;
    json_t *file = json_loadfd(fd, 0, &parse);
    close(fd);
    if (!json_is_object(file)) {
        json_decref(file);
        fahr_error_set(err, FAHR_EINVAL, "the Google credential %s is not a JSON object",
                       label);
    }
    return file;
}

/* gcloud's configuration directory: $CLOUDSDK_CONFIG, else ~/.config/gcloud;
 * "" if neither can be said. */
static void gcloud_dir(char *out, size_t size)
{
    const char *config = getenv("CLOUDSDK_CONFIG"), *home = getenv("HOME");
    int n = 0;
    if (config != NULL && config[0] != '\0')
        n = snprintf(out, size, "%s", config);
    else if (home != NULL && home[0] != '\0')
        n = snprintf(out, size, "%s/.config/gcloud", home);
    if (n <= 0 || (size_t)n >= size)
        out[0] = '\0';
}

static char *trimmed(char *text)
{
    while (*text == ' ' || *text == '\t')
        text++;
    size_t n = strlen(text);
    while (n > 0 && strchr(" \t\r\n", text[n - 1]) != NULL)
        text[--n] = '\0';
    return text;
}

/* The project of gcloud's active configuration (what `gcloud config get
 * project` says without $CLOUDSDK_CORE_PROJECT): [core] project in
 * configurations/config_NAME, NAME from $CLOUDSDK_ACTIVE_CONFIG_NAME, else
 * the file active_config, else "default". Left as it is if none. */
static void gcloud_project(char *project, size_t size)
{
    char dir[FAHR_URI_MAX - 200], path[FAHR_URI_MAX], name[64] = "default", line[512];
    gcloud_dir(dir, sizeof dir);
    const char *active = getenv("CLOUDSDK_ACTIVE_CONFIG_NAME");
    snprintf(path, sizeof path, "%s/active_config", dir);
    FILE *file = active && active[0] ? NULL : fopen(path, "r");
    if (active && active[0])
        snprintf(name, sizeof name, "%s", active);
    else if (file != NULL && fgets(line, sizeof line, file) != NULL && trimmed(line)[0])
        snprintf(name, sizeof name, "%s", trimmed(line));
    if (file != NULL)
        fclose(file);
    if (dir[0] == '\0' || strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789-_") != strlen(name))
        return;
    snprintf(path, sizeof path, "%s/configurations/config_%s", dir, name);
    if ((file = fopen(path, "r")) == NULL)
        return;
    int in_core = 0;
    while (fgets(line, sizeof line, file) != NULL) {
        char *text = trimmed(line), *equals = strchr(text, '=');
        if (text[0] == '[')
            in_core = strcmp(text, "[core]") == 0;
        else if (in_core && equals != NULL) {
            *equals = '\0';
            if (strcmp(trimmed(text), "project") == 0 && trimmed(equals + 1)[0])
                copy_text(project, size, trimmed(equals + 1));
        }
    }
    fclose(file);
}

static int read_file(struct vertex_auth *auth, const char *path, char *project,
                     size_t project_size, struct fahr_error *err)
{
    json_t *file = load_file(path, auth->source, err);
    if (file == NULL)
        return FAHR_EINVAL;
    const char *type = json_string_value(json_object_get(file, "type"));
    /* A key's project_id; for a user's login, gcloud's project, as
     * google-auth asks gcloud, else the quota project the file names. */
    const char *named = json_string_value(json_object_get(file, "project_id"));
    if (named == NULL)
        named = json_string_value(json_object_get(file, "quota_project_id"));
    copy_text(project, project_size, named);
    if (type != NULL && strcmp(type, "authorized_user") == 0)
        gcloud_project(project, project_size);
    char shown[64];
    int rc;
    if (type != NULL && strcmp(type, "service_account") == 0) {
        rc = read_service_account(auth, file, err);
    } else if (type != NULL && strcmp(type, "authorized_user") == 0) {
        rc = read_authorized_user(auth, file, err);
    } else {
        vertex_text(type ? type : "(none)", shown, sizeof shown);
        rc = fahr_error_set(err, FAHR_ENOTSUP, "%s: credentials of type %s are not supported "
                            "yet (use a service account key or gcloud auth application-default "
                            "login)", auth->source, shown);
    }
    wipe_secrets(file);
    json_decref(file);
    return rc;
}

static int host_port_only(const char *host)
{
    return strpbrk(host, "/@?# \t\r\n") == NULL && strlen(host) < VERTEX_NAME_MAX;
}

/* The metadata server, as google-auth finds it: GCE_METADATA_HOST (or the
 * older GCE_METADATA_ROOT), HOST[:PORT], else metadata.google.internal;
 * probed first at GCE_METADATA_IP, else at the host the user named, else at
 * 169.254.169.254 (google-auth probes that address whatever the host). */
static int use_metadata(struct vertex_auth *auth, struct fahr_error *err)
{
    const char *host = getenv("GCE_METADATA_HOST"), *probe = getenv("GCE_METADATA_IP");
    if (host == NULL || host[0] == '\0')
        host = getenv("GCE_METADATA_ROOT");
    int named = host != NULL && host[0] != '\0';
    if (!named)
        host = "metadata.google.internal";
    if (probe == NULL || probe[0] == '\0')
        probe = named ? host : "169.254.169.254";
    if (!host_port_only(host))
        return fahr_error_set(err, FAHR_EINVAL, "GCE_METADATA_HOST must be HOST[:PORT]");
    if (!host_port_only(probe))
        return fahr_error_set(err, FAHR_EINVAL, "GCE_METADATA_IP must be IP[:PORT]");
    auth->kind = CREDENTIAL_METADATA;
    snprintf(auth->metadata_host, sizeof auth->metadata_host, "%s", host);
    snprintf(auth->probe_url, sizeof auth->probe_url, "http://%s/", probe);
    snprintf(auth->token_uri, sizeof auth->token_uri,
             "http://%s/computeMetadata/v1/instance/service-accounts/default/token", host);
    snprintf(auth->source, sizeof auth->source, "the metadata server at %s", host);
    return FAHR_OK;
}

/* ADC's order: the variable (which must then name a readable file), gcloud's
 * file where it exists, else the metadata server. */
static int find_credential(struct vertex_auth *auth, char *project, size_t project_size,
                           struct fahr_error *err)
{
    char dir[FAHR_URI_MAX - 64], path[FAHR_URI_MAX];
    const char *named = getenv("GOOGLE_APPLICATION_CREDENTIALS");
    if (named != NULL && named[0] != '\0') {
        snprintf(auth->source, sizeof auth->source, "GOOGLE_APPLICATION_CREDENTIALS (%s)",
                 named);
        return read_file(auth, named, project, project_size, err);
    }
    gcloud_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/application_default_credentials.json", dir);
    if (dir[0] != '\0' && access(path, F_OK) == 0) {
        snprintf(auth->source, sizeof auth->source, "%s", path);
        return read_file(auth, path, project, project_size, err);
    }
    copy_text(project, project_size, NULL);
    return use_metadata(auth, err);
}

int vertex_auth_open(struct vertex_auth **out, char *project, size_t project_size,
                     struct fahr_error *err)
{
    struct vertex_auth *auth = calloc(1, sizeof *auth);
    if (auth == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    pthread_mutex_init(&auth->lock, NULL);
    int rc = find_credential(auth, project, project_size, err);
    if (rc != FAHR_OK) {
        vertex_auth_close(auth);
        return rc;
    }
    *out = auth;
    return FAHR_OK;
}

const char *vertex_auth_source(const struct vertex_auth *auth)
{
    return auth ? auth->source : "no credential";
}

static void wipe(char *secret)
{
    if (secret != NULL)
        OPENSSL_cleanse(secret, strlen(secret));
    free(secret);
}

void vertex_auth_close(struct vertex_auth *auth)
{
    if (auth == NULL)
        return;
    wipe(auth->private_key);
    wipe(auth->client_secret);
    wipe(auth->refresh_token);
    free(auth->client_email);
    free(auth->private_key_id);
    free(auth->client_id);
    if (auth->http != NULL)
        vertex_host->http_close(auth->http);
    OPENSSL_cleanse(auth->token, sizeof auth->token);
    pthread_mutex_destroy(&auth->lock);
    free(auth);
}
