/* auth_units.c: the credentials: the JWT's shape and RS256 signature
 * (verified with OpenSSL against the public key), ADC's order with files
 * and environment, the grants each kind sends, token reuse, the 401 retry,
 * Google's error line and the endpoints. TAP. */
#define _GNU_SOURCE
#include "fake_host.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static char dir[] = "/tmp/vertex-auth-XXXXXX";
static char key_pem[4096], public_pem[1024];
static int grants, calls;

static void make_key(void)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    BIO *private = BIO_new(BIO_s_mem()), *public = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(private, key, NULL, NULL, 0, NULL, NULL);
    PEM_write_bio_PUBKEY(public, key);
    key_pem[BIO_read(private, key_pem, sizeof key_pem - 1)] = '\0';
    public_pem[BIO_read(public, public_pem, sizeof public_pem - 1)] = '\0';
    BIO_free(private), BIO_free(public), EVP_PKEY_free(key);
}

/* base64url into bytes; the length, or -1. */
static int unbase64url(const char *in, size_t length, unsigned char *out)
{
    char padded[1024];
    if (length + 4 > sizeof padded)
        return -1;
    size_t n = 0;
    for (; n < length; n++)
        padded[n] = in[n] == '-' ? '+' : in[n] == '_' ? '/' : in[n];
    size_t pad = (4 - n % 4) % 4;
    memset(padded + n, '=', pad);
    padded[n + pad] = '\0';
    int got = EVP_DecodeBlock(out, (unsigned char *)padded, (int)(n + pad));
    return got < 0 ? -1 : got - (int)pad;
}

static json_t *part_json(const char *start, size_t length)
{
    unsigned char bytes[1024];
    int got = unbase64url(start, length, bytes);
    return got < 0 ? NULL : json_loadb((char *)bytes, (size_t)got, 0, NULL);
}

static void jwt(void)
{
    char *token = NULL;
    struct fahr_error err = {{0}};
    int rc = vertex_jwt_make("sa@p.iam.gserviceaccount.com", "kid1", key_pem,
                             "http://127.0.0.1:1/token", 1700000000, &token, &err);
    expect(rc == FAHR_OK && token != NULL, "a JWT is made");
    if (token == NULL)
        return;
    char *dot1 = strchr(token, '.'), *dot2 = dot1 ? strchr(dot1 + 1, '.') : NULL;
    expect(dot1 && dot2 && !strchr(dot2 + 1, '.') && !strpbrk(token, "=+/"),
           "three base64url parts without padding");
    json_t *header = part_json(token, (size_t)(dot1 - token));
    json_t *claims = part_json(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    expect(header && !strcmp(json_string_value(json_object_get(header, "alg")), "RS256") &&
               !strcmp(json_string_value(json_object_get(header, "typ")), "JWT") &&
               !strcmp(json_string_value(json_object_get(header, "kid")), "kid1"),
           "header alg RS256, typ JWT, kid");
    expect(claims &&
               !strcmp(json_string_value(json_object_get(claims, "iss")),
                       "sa@p.iam.gserviceaccount.com") &&
               !strcmp(json_string_value(json_object_get(claims, "aud")),
                       "http://127.0.0.1:1/token") &&
               !strcmp(json_string_value(json_object_get(claims, "scope")),
                       "https://www.googleapis.com/auth/cloud-platform") &&
               json_integer_value(json_object_get(claims, "iat")) == 1700000000 &&
               json_integer_value(json_object_get(claims, "exp")) == 1700003600,
           "claims iss, aud, scope, iat, exp = iat + 3600");
    unsigned char signature[512];
    int length = unbase64url(dot2 + 1, strlen(dot2 + 1), signature);
    BIO *bio = BIO_new_mem_buf(public_pem, -1);
    EVP_PKEY *key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    int verified = length == 256 && EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key) == 1 &&
                   EVP_DigestVerify(md, signature, (size_t)length, (unsigned char *)token,
                                    (size_t)(dot2 - token)) == 1;
    expect(verified, "the RS256 signature verifies with the public key");
    signature[10] ^= 1;
    EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key);
    expect(EVP_DigestVerify(md, signature, (size_t)length, (unsigned char *)token,
                            (size_t)(dot2 - token)) != 1, "a changed signature does not");
    EVP_MD_CTX_free(md), EVP_PKEY_free(key), BIO_free(bio);
    json_decref(header), json_decref(claims), free(token);
    token = NULL;
    rc = vertex_jwt_make("sa@p", "k", "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE "
                         "KEY-----\n", "aud", 1, &token, &err);
    expect(rc == FAHR_EINVAL && token == NULL && !strchr(err.message, '\n'),
           "a bad key is one line");
}

static void write_file(const char *name, mode_t mode, const char *text, char *path)
{
    sprintf(path, "%s/%s", dir, name);
    FILE *file = fopen(path, "w");
    fputs(text, file);
    fclose(file);
    chmod(path, mode);
}

static char sa_path[512], user_path[512], token_uri[] = "http://127.0.0.1:9/token";

static void write_credentials(void)
{
    json_t *sa = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "type", "service_account",
                           "project_id", "sa-project", "private_key_id", "kid1",
                           "private_key", key_pem, "client_email", "sa@sa-project.iam",
                           "token_uri", token_uri);
    char *text = json_dumps(sa, 0);
    write_file("sa.json", 0600, text, sa_path);
    free(text), json_decref(sa);
    char path[512];
    mkdir(strcat(strcpy(path, dir), "/gcloud"), 0700);
    write_file("gcloud/application_default_credentials.json", 0644,
               "{\"type\":\"authorized_user\",\"client_id\":\"cid\",\"client_secret\":\"s&cret\","
               "\"refresh_token\":\"1//refresh\",\"quota_project_id\":\"user-project\"}",
               user_path);
}

static const char *open_source(char *project, struct fahr_error *err, int *rc)
{
    static char source[FAHR_URI_MAX];
    struct vertex_auth *auth = NULL;
    *rc = vertex_auth_open(&auth, project, 64, err);
    snprintf(source, sizeof source, "%s", *rc == FAHR_OK ? vertex_auth_source(auth) : "");
    vertex_auth_close(auth);
    return source;
}

static void adc_order(void)
{
    char project[64], path[600], expected[700];
    struct fahr_error err = {{0}};
    int rc;
    setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_path, 1);
    snprintf(path, sizeof path, "%s/gcloud", dir);
    setenv("CLOUDSDK_CONFIG", path, 1);
    setenv("GCE_METADATA_HOST", "127.0.0.1:7", 1);
    fake_reset();
    snprintf(expected, sizeof expected, "GOOGLE_APPLICATION_CREDENTIALS (%s)", sa_path);
    expect(!strcmp(open_source(project, &err, &rc), expected) &&
               !strcmp(project, "sa-project"), "GOOGLE_APPLICATION_CREDENTIALS first");
    expect(strstr(fake_log, "readable") == NULL, "a 0600 key gets no warning");
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    fake_reset();
    expect(!strcmp(open_source(project, &err, &rc), user_path) &&
               !strcmp(project, "user-project"), "then CLOUDSDK_CONFIG's application default");
    snprintf(expected, sizeof expected, "%s is readable by other users", user_path);
    expect(strstr(fake_log, expected) != NULL, "a file readable by others is warned about");
    char ignored[600];
    mkdir(strcat(strcpy(path, dir), "/gcloud/configurations"), 0700);
    write_file("gcloud/active_config", 0600, "work\n", ignored);
    write_file("gcloud/configurations/config_work", 0600,
               "[compute]\nproject = not-this\n[core]\naccount = me@example.com\n"
               "project = gcloud-project\n", ignored);
    write_file("gcloud/configurations/config_other", 0600, "[core]\nproject=other-project\n",
               ignored);
    open_source(project, &err, &rc);
    expect(rc == FAHR_OK && !strcmp(project, "gcloud-project"),
           "a user's login: the project of gcloud's active configuration");
    setenv("CLOUDSDK_ACTIVE_CONFIG_NAME", "other", 1);
    open_source(project, &err, &rc);
    expect(rc == FAHR_OK && !strcmp(project, "other-project"),
           "the configuration $CLOUDSDK_ACTIVE_CONFIG_NAME names");
    unsetenv("CLOUDSDK_ACTIVE_CONFIG_NAME");
    setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_path, 1);
    open_source(project, &err, &rc);
    expect(rc == FAHR_OK && !strcmp(project, "sa-project"), "a key's project_id before gcloud's");
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    unsetenv("CLOUDSDK_CONFIG");
    setenv("HOME", dir, 1); /* no .config/gcloud there */
    expect(!strcmp(open_source(project, &err, &rc), "the metadata server at 127.0.0.1:7") &&
               project[0] == '\0', "then the metadata server at GCE_METADATA_HOST");
    snprintf(path, sizeof path, "%s/missing.json", dir);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    open_source(project, &err, &rc);
    expect(rc == FAHR_EINVAL && strstr(err.message, "missing.json"),
           "a GOOGLE_APPLICATION_CREDENTIALS that names no file is an error, not skipped");
    write_file("external.json", 0600, "{\"type\":\"external_account\",\"audience\":\"x\"}", path);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    open_source(project, &err, &rc);
    expect(rc == FAHR_ENOTSUP &&
               strstr(err.message, "credentials of type external_account are not supported yet"),
           "external_account: not supported yet");
    write_file("broken.json", 0600, "{\"type\":\"service_account\"", path);
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    open_source(project, &err, &rc);
    expect(rc == FAHR_EINVAL && strstr(err.message, "not a JSON object"), "broken JSON");
}

/* The token endpoint and a service: grants counted, 401 once per token. */
static char last_grant[8192], last_token_header[256];
static const char *refused_token;

static void token_server(const struct fake_request *request, struct fake_answer *answer)
{
    if (fake_metadata_answer(request, answer))
        return;
    if (strstr(request->url, "/token") != NULL) {
        grants++;
        snprintf(last_grant, sizeof last_grant, "%s %s %.*s|%s", request->method,
                 request->url, (int)request->body_length, request->body ? request->body : "",
                 fake_header(request, "Metadata-Flavor") ? "flavor" : "");
        answer->status = 200;
        snprintf(answer->body, sizeof answer->body,
                 "{\"access_token\":\"tok%d\",\"expires_in\":%d,\"token_type\":\"Bearer\"}",
                 grants, strstr(request->url, "short") ? 30 : 3599);
        return;
    }
    calls++;
    snprintf(last_token_header, sizeof last_token_header, "%s",
             request->authorization ? request->authorization : "");
    if (refused_token && request->authorization &&
        (!strcmp(refused_token, "*") || !strcmp(request->authorization + 7, refused_token))) {
        answer->status = 401;
        strcpy(answer->body, "{\"error\":{\"code\":401,\"message\":\"expired\","
                             "\"status\":\"UNAUTHENTICATED\"}}");
    } else if (strstr(request->url, "denied")) {
        answer->status = 403;
        strcpy(answer->body, "{\"error\":{\"code\":403,\"message\":\"no\\nway\","
                             "\"status\":\"PERMISSION_DENIED\"}}");
    } else {
        answer->status = 200;
        strcpy(answer->body, "{\"ok\":true}");
    }
}

static struct vertex_auth *open_with(const char *path)
{
    struct vertex_auth *auth = NULL;
    char project[64];
    struct fahr_error err = {{0}};
    setenv("GOOGLE_APPLICATION_CREDENTIALS", path, 1);
    if (vertex_auth_open(&auth, project, sizeof project, &err) != FAHR_OK)
        printf("# %s\n", err.message);
    return auth;
}

static void tokens(void)
{
    fake_server = token_server;
    struct fahr_error err = {{0}};
    const char *token;
    struct vertex_auth *auth = open_with(sa_path);
    grants = 0;
    int rc = vertex_auth_token(auth, 0, &token, &err);
    expect(rc == FAHR_OK && !strcmp(token, "tok1") &&
               !strncmp(last_grant, "POST http://127.0.0.1:9/token grant_type=urn%3Aietf%3A"
                        "params%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=ey", 98),
           "a service account: the jwt-bearer grant to its token_uri");
    rc = vertex_auth_token(auth, 0, &token, &err);
    expect(rc == FAHR_OK && grants == 1 && !strcmp(token, "tok1"), "the token is reused");
    rc = vertex_auth_token(auth, 1, &token, &err);
    expect(grants == 2 && !strcmp(token, "tok2"), "forced: a fresh one");
    vertex_auth_close(auth);

    char short_path[512];
    json_t *sa = json_load_file(sa_path, 0, NULL);
    json_object_set_new(sa, "token_uri", json_string("http://127.0.0.1:9/short/token"));
    char *text = json_dumps(sa, 0);
    write_file("short.json", 0600, text, short_path);
    free(text), json_decref(sa);
    auth = open_with(short_path);
    grants = 0;
    vertex_auth_token(auth, 0, &token, &err);
    vertex_auth_token(auth, 0, &token, &err);
    expect(grants == 2, "a token within 60 s of its expiry is not used");
    vertex_auth_close(auth);

    setenv("CLOUDSDK_AUTH_TOKEN_HOST", "http://127.0.0.1:9/user/token", 1);
    auth = open_with(user_path);
    rc = vertex_auth_token(auth, 0, &token, &err);
    expect(rc == FAHR_OK && !strcmp(last_grant, "POST http://127.0.0.1:9/user/token "
                                    "grant_type=refresh_token&client_id=cid&client_secret="
                                    "s%26cret&refresh_token=1%2F%2Frefresh|"),
           "an authorized user: the refresh grant at CLOUDSDK_AUTH_TOKEN_HOST, escaped");
    vertex_auth_close(auth);
    unsetenv("CLOUDSDK_AUTH_TOKEN_HOST");

    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    char project[64];
    vertex_auth_open(&auth, project, sizeof project, &err);
    rc = vertex_auth_token(auth, 0, &token, &err);
    expect(rc == FAHR_OK && !strcmp(last_grant, "GET http://127.0.0.1:7/computeMetadata/v1/"
                                    "instance/service-accounts/default/token |flavor"),
           "the metadata server: GET with Metadata-Flavor: Google");
    vertex_auth_close(auth);
}

/* ---- no credential anywhere: the metadata server probed once, briefly ---- */
static int probe_requests, not_google;
static struct fake_request probe;
static char probe_url[256];

static void absent_metadata(const struct fake_request *request, struct fake_answer *answer)
{
    probe_requests++;
    probe = *request;
    snprintf(probe_url, sizeof probe_url, "%s", request->url);
    answer->broken = !not_google;
    answer->status = 200;
    strcpy(answer->body, "ok"); /* a web server, not Google's metadata server */
}

static int open_and_token(char *project, struct fahr_error *err)
{
    struct vertex_auth *auth = NULL;
    const char *token;
    int rc = vertex_auth_open(&auth, project, 64, err);
    if (rc == FAHR_OK)
        rc = vertex_auth_token(auth, 0, &token, err);
    vertex_auth_close(auth);
    return rc;
}

static void metadata_probe(void)
{
    char project[64];
    struct fahr_error err = {{0}};
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    fake_server = absent_metadata;
    probe_requests = 0;
    int rc = open_and_token(project, &err);
    expect(rc == FAHR_EINVAL && probe_requests == 1 && !strcmp(probe_url, FAKE_METADATA) &&
               probe.max_attempts == 1 && probe.timeout_ms > 0 && probe.timeout_ms <= 3000 &&
               fake_header(&probe, "Metadata-Flavor") != NULL,
           "no metadata server: one probe of GET /, one attempt, a short timeout");
    expect(strstr(err.message, "no Google credentials: set GOOGLE_APPLICATION_CREDENTIALS") &&
               strstr(err.message, "(no metadata server answered at 127.0.0.1:7: ") &&
               !strchr(err.message, '\n'), "and the no-credentials line at once, naming it");
    not_google = 1, probe_requests = 0;
    rc = open_and_token(project, &err);
    expect(rc == FAHR_EINVAL && probe_requests == 1 && strstr(err.message, "no Google credentials"),
           "an answer without Metadata-Flavor: Google is no metadata server");
    setenv("GCE_METADATA_IP", "127.0.0.1:8", 1);
    open_and_token(project, &err);
    expect(!strcmp(probe_url, "http://127.0.0.1:8/"), "GCE_METADATA_IP names where it is probed");
    unsetenv("GCE_METADATA_IP");
    not_google = 0;

    struct vertex_auth *auth = NULL;
    fake_server = token_server;
    fake_probes = grants = 0;
    project[0] = '\0';
    const char *token;
    rc = vertex_auth_open(&auth, project, sizeof project, &err);
    if (rc == FAHR_OK)
        rc = vertex_auth_project(auth, project, sizeof project, &err);
    expect(rc == FAHR_OK && !strcmp(project, FAKE_METADATA_PROJECT) && fake_probes == 1,
           "a metadata credential's project: the server's project-id, after its probe");
    rc = vertex_auth_token(auth, 0, &token, &err);
    expect(rc == FAHR_OK && grants == 1 && fake_probes == 1, "probed once, then its token");
    vertex_auth_close(auth);
}

static void calls_and_errors(void)
{
    struct vertex vertex = {0};
    struct fahr_error err = {{0}};
    json_t *answer = NULL;
    setenv("GOOGLE_APPLICATION_CREDENTIALS", sa_path, 1);
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM", "http://127.0.0.1:5", 1);
    fake_server = token_server;
    grants = calls = 0;
    refused_token = "tok1";
    int rc = vertex_call(&vertex, VERTEX_AIPLATFORM, "r", "GET", "v1/x", NULL, &answer, &err);
    expect(rc == FAHR_OK && json_is_true(json_object_get(answer, "ok")) && calls == 2 &&
               grants == 2 && !strcmp(last_token_header, "Bearer tok2"),
           "a 401 gets one fresh token and one retry");
    json_decref(answer);
    refused_token = "*";
    rc = vertex_call(&vertex, VERTEX_AIPLATFORM, "r", "GET", "v1/x", NULL, NULL, &err);
    expect(rc != FAHR_OK && calls == 4 && grants == 3 && strstr(err.message, "UNAUTHENTICATED"),
           "a second 401 is an error, no loop");
    refused_token = NULL;
    rc = vertex_call(&vertex, VERTEX_AIPLATFORM, "r", "GET", "v1/denied?x=secret", NULL, NULL,
                     &err);
    expect(rc == FAHR_EFAIL &&
               !strcmp(err.message, "Vertex AI GET v1/denied: no way (PERMISSION_DENIED)"),
           "Google's error shape is one line, the query left out");
    vertex_auth_close(vertex.auth);
    unsetenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_AIPLATFORM");
}

static void endpoints(void)
{
    char root[256];
    struct fahr_error err = {{0}};
    expect(vertex_endpoint(VERTEX_AIPLATFORM, "europe-west4", root, sizeof root, &err) == 0 &&
               !strcmp(root, "https://europe-west4-aiplatform.googleapis.com/"),
           "aiplatform's default names the region");
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", "http://127.0.0.1:4/storage/v1/", 1);
    expect(vertex_endpoint(VERTEX_STORAGE, NULL, root, sizeof root, &err) == 0 &&
               !strcmp(root, "http://127.0.0.1:4/"), "storage's storage/v1/ is taken off");
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", "http://127.0.0.1:4/base", 1);
    expect(vertex_endpoint(VERTEX_STORAGE, NULL, root, sizeof root, &err) == 0 &&
               !strcmp(root, "http://127.0.0.1:4/base/"), "a missing / is added");
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", "http://u:p@127.0.0.1:4/", 1);
    expect(vertex_endpoint(VERTEX_STORAGE, NULL, root, sizeof root, &err) == FAHR_EINVAL,
           "user:password@ refused");
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", "ftp://127.0.0.1/", 1);
    expect(vertex_endpoint(VERTEX_STORAGE, NULL, root, sizeof root, &err) == FAHR_EINVAL,
           "only http and https");
    unsetenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE");
    expect(vertex_same_origin("http://127.0.0.1:4/upload?x", "http://127.0.0.1:4/") &&
               !vertex_same_origin("http://127.0.0.1:44/", "http://127.0.0.1:4/") &&
               !vertex_same_origin("https://127.0.0.1:4/", "http://127.0.0.1:4/") &&
               !vertex_same_origin("http://127.0.0.1:4@evil/", "http://127.0.0.1:4/"),
           "same origin: scheme, host and port");
}

int main(void)
{
    if (mkdtemp(dir) == NULL)
        return 1;
    make_key();
    jwt();
    write_credentials();
    adc_order();
    tokens();
    metadata_probe();
    calls_and_errors();
    endpoints();
    char command[600];
    snprintf(command, sizeof command, "rm -rf %s", dir);
    if (system(command) != 0)
        printf("# cannot remove %s\n", dir);
    return expect_done();
}
