/* credentials.c: the Kaggle credential, looked for in the Kaggle CLI's
 * order (its kaggle_api_extended.authenticate):
 *   1. a bearer token: KAGGLE_API_TOKEN (the token, or a path to a file
 *      holding it), then ~/.kaggle/access_token (or access_token.txt);
 *   2. a user name and key for HTTP Basic: KAGGLE_USERNAME and KAGGLE_KEY,
 *      then kaggle.json in KAGGLE_CONFIG_DIR, ~/.kaggle, or
 *      $XDG_CONFIG_HOME/kaggle when ~/.kaggle is missing.
 * The credential is secret: it goes into the Authorization header of
 * Kaggle's API calls only (never to the pre-signed download URLs), and no
 * message quotes it. */
#include "kaggle.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define TOKEN_FILE_MAX 4096

/* A credential goes into a header: printable ASCII without spaces only,
 * so that nothing in it can end the header and start another. */
static int is_header_safe(const char *text)
{
    for (const unsigned char *p = (const unsigned char *)text; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return 0;
    return *text != '\0';
}

/* The whole of a small file into `out`, its ends trimmed. 0 if missing. */
static int read_secret_file(const char *path, char *out, size_t size, struct fahr_error *err)
{
    FILE *file = fopen(path, "rb");
    if (file == NULL && errno == ENOENT)
        return 0;
    if (file == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", path, strerror(errno));
    size_t length = fread(out, 1, size - 1, file);
    int bad = ferror(file) || !feof(file);
    fclose(file);
    if (bad)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s (or it is over %zu bytes)",
                              path, size - 1);
    out[length] = '\0';
    while (length > 0 && strchr(" \t\r\n", out[length - 1]))
        out[--length] = '\0';
    size_t lead = strspn(out, " \t\r\n");
    memmove(out, out + lead, length - lead + 1);
    return 1;
}

/* Like the CLI: a warning, not a refusal, for a file others can read. */
static void warn_if_readable(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && (st.st_mode & (S_IRGRP | S_IROTH)))
        kaggle_host->log(FAHR_LOG_WARN,
                         "%s is readable by other users of this machine; run chmod 600 %s",
                         path, path);
}

static int use_token(struct kaggle *kaggle, const char *token, const char *source,
                     struct fahr_error *err)
{
    if (!is_header_safe(token))
        return fahr_error_set(err, FAHR_EINVAL, "the Kaggle token from %s has spaces or "
                              "characters a token does not have", source);
    if ((size_t)snprintf(kaggle->authorization, sizeof kaggle->authorization, "Bearer %s",
                         token) >= sizeof kaggle->authorization)
        return fahr_error_set(err, FAHR_EINVAL, "the Kaggle token from %s is too long", source);
    kaggle->credential_source = source;
    /* The token does not name its user; KAGGLE_USERNAME may, else Kaggle
     * says whose it is (kaggle_user). */
    const char *user = getenv("KAGGLE_USERNAME");
    snprintf(kaggle->username, sizeof kaggle->username, "%s", user ? user : "");
    return 1;
}

static int use_key(struct kaggle *kaggle, const char *user, const char *key, const char *source,
                   struct fahr_error *err)
{
    char pair[1024];
    unsigned char encoded[sizeof pair * 4 / 3 + 8];
    if (!is_header_safe(user) || !is_header_safe(key) || strchr(user, ':') != NULL)
        return fahr_error_set(err, FAHR_EINVAL, "the Kaggle user name or key from %s has "
                              "spaces or characters they do not have", source);
    if ((size_t)snprintf(pair, sizeof pair, "%s:%s", user, key) >= sizeof pair ||
        strlen(user) >= sizeof kaggle->username)
        return fahr_error_set(err, FAHR_EINVAL, "the Kaggle user name or key from %s is too "
                              "long", source);
    EVP_EncodeBlock(encoded, (const unsigned char *)pair, (int)strlen(pair));
    snprintf(kaggle->authorization, sizeof kaggle->authorization, "Basic %s", encoded);
    snprintf(kaggle->username, sizeof kaggle->username, "%s", user);
    kaggle->credential_source = source;
    explicit_bzero(pair, sizeof pair);
    return 1;
}

/* KAGGLE_API_TOKEN: a path to a file if one is there, else the token. */
static int token_from_environment(struct kaggle *kaggle, char *buffer, size_t size,
                                  struct fahr_error *err)
{
    const char *value = getenv("KAGGLE_API_TOKEN");
    struct stat st;
    if (value == NULL || *value == '\0')
        return 0;
    if (stat(value, &st) == 0 && S_ISREG(st.st_mode)) {
        int rc = read_secret_file(value, buffer, size, err);
        if (rc <= 0)
            return rc < 0 ? rc : fahr_error_set(err, FAHR_EFAIL, "cannot read %s", value);
        snprintf(kaggle->credential_path, sizeof kaggle->credential_path, "%s", value);
        return use_token(kaggle, buffer, "the file KAGGLE_API_TOKEN names", err);
    }
    return use_token(kaggle, value, "KAGGLE_API_TOKEN", err);
}

/* The directory kaggle.json and access_token are in. */
static void config_dir(char *dir, size_t size)
{
    const char *set = getenv("KAGGLE_CONFIG_DIR"), *home = getenv("HOME");
    const char *xdg = getenv("XDG_CONFIG_HOME");
    struct stat st;
    if (set != NULL && *set != '\0') {
        snprintf(dir, size, "%s", set);
        return;
    }
    snprintf(dir, size, "%s/.kaggle", home ? home : "");
    if (stat(dir, &st) != 0 && xdg != NULL && *xdg != '\0')
        snprintf(dir, size, "%s/kaggle", xdg);
    else if (stat(dir, &st) != 0)
        snprintf(dir, size, "%s/.config/kaggle", home ? home : "");
}

static int token_from_file(struct kaggle *kaggle, char *buffer, size_t size,
                           struct fahr_error *err)
{
    const char *home = getenv("HOME");
    const char *names[] = {"access_token", "access_token.txt"};
    for (size_t i = 0; home != NULL && i < 2; i++) {
        snprintf(kaggle->credential_path, sizeof kaggle->credential_path, "%s/.kaggle/%s",
                 home, names[i]);
        int rc = read_secret_file(kaggle->credential_path, buffer, size, err);
        if (rc != 0) {
            if (rc > 0)
                warn_if_readable(kaggle->credential_path);
            return rc < 0 ? rc : use_token(kaggle, buffer, kaggle->credential_path, err);
        }
    }
    kaggle->credential_path[0] = '\0';
    return 0;
}

static int key_from_file(struct kaggle *kaggle, struct fahr_error *err)
{
    char dir[1000];
    config_dir(dir, sizeof dir);
    snprintf(kaggle->credential_path, sizeof kaggle->credential_path, "%s/kaggle.json", dir);
    json_error_t why;
    json_t *file = json_load_file(kaggle->credential_path, 0, &why);
    if (file == NULL && access(kaggle->credential_path, F_OK) != 0) {
        kaggle->credential_path[0] = '\0';
        return 0;
    }
    const char *user = json_string_value(json_object_get(file, "username"));
    const char *key = json_string_value(json_object_get(file, "key"));
    int rc;
    if (user == NULL || key == NULL)
        rc = fahr_error_set(err, FAHR_EINVAL, "%s holds no \"username\" and \"key\"",
                            kaggle->credential_path);
    else {
        warn_if_readable(kaggle->credential_path);
        rc = use_key(kaggle, user, key, kaggle->credential_path, err);
    }
    json_decref(file);
    return rc;
}

int kaggle_credential(struct kaggle *kaggle, struct fahr_error *err)
{
    if (kaggle->have_credential)
        return FAHR_OK;
    char *buffer = malloc(TOKEN_FILE_MAX);
    if (buffer == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "out of memory");
    const char *user = getenv("KAGGLE_USERNAME"), *key = getenv("KAGGLE_KEY");
    int rc = token_from_environment(kaggle, buffer, TOKEN_FILE_MAX, err);
    if (rc == 0)
        rc = token_from_file(kaggle, buffer, TOKEN_FILE_MAX, err);
    if (rc == 0 && user != NULL && *user != '\0' && key != NULL && *key != '\0')
        rc = use_key(kaggle, user, key, "KAGGLE_USERNAME and KAGGLE_KEY", err);
    if (rc == 0)
        rc = key_from_file(kaggle, err);
    explicit_bzero(buffer, TOKEN_FILE_MAX);
    free(buffer);
    if (rc == 0)
        return fahr_error_set(err, FAHR_EFAIL, "no Kaggle credential: set KAGGLE_API_TOKEN, "
                              "or KAGGLE_USERNAME and KAGGLE_KEY, or put kaggle.json in "
                              "~/.kaggle (kaggle.com, Settings, API)");
    if (rc < 0)
        return rc;
    kaggle->have_credential = 1;
    return FAHR_OK;
}

/* Whose the token is, as the Kaggle CLI asks it: an inactive (revoked or
 * expired) token is refused here, before anything is pushed. */
static int introspect(struct kaggle *kaggle, const struct fahr_config *config,
                      struct fahr_error *err)
{
    const char *token = kaggle->authorization + strlen("Bearer ");
    json_t *answer = NULL;
    int rc = kaggle_call(kaggle, config, KAGGLE_INTROSPECT, json_pack("{s:s}", "token", token),
                         &answer, err);
    const char *user = json_string_value(json_object_get(answer, "username"));
    if (rc == FAHR_OK && !json_is_true(json_object_get(answer, "active")))
        rc = fahr_error_set(err, FAHR_EFAIL, "Kaggle says the token from %s is not active "
                            "(revoked or expired)", kaggle->credential_source);
    else if (rc == FAHR_OK && (user == NULL || strlen(user) >= sizeof kaggle->username ||
                               !kaggle_is_slug(user, strlen(user))))
        rc = fahr_error_set(err, FAHR_EFAIL, "Kaggle did not say whose the token from %s is",
                            kaggle->credential_source);
    else if (rc == FAHR_OK)
        snprintf(kaggle->username, sizeof kaggle->username, "%s", user);
    json_decref(answer);
    return rc;
}

int kaggle_user(struct kaggle *kaggle, const struct fahr_config *config,
                struct fahr_error *err)
{
    int rc = kaggle_credential(kaggle, err);
    /* Only a token comes without its user (a key always names it). */
    if (rc == FAHR_OK && kaggle->username[0] == '\0' &&
        strncmp(kaggle->authorization, "Bearer ", strlen("Bearer ")) == 0)
        rc = introspect(kaggle, config, err);
    return rc;
}
