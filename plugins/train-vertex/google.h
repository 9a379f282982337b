/* google.h: vd1's: Google credentials (ADC), endpoints, JSON calls and the
 * Cloud Storage client, as declared in the design's §5. */
#ifndef VERTEX_GOOGLE_H
#define VERTEX_GOOGLE_H

#include <fahr/plugin.h>
#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct vertex;
struct vertex_auth; /* opaque: the credential found, its token, its expiry */

/* ---- google_auth.c, google_token.c, google_metadata.c ---- */
/* Find the credential in ADC order (no network): $GOOGLE_APPLICATION_CREDENTIALS,
 * gcloud's application_default_credentials.json ($CLOUDSDK_CONFIG, else
 * ~/.config/gcloud), else the metadata server. *project_out gets the
 * project the credential names ("" if none). */
int vertex_auth_open(struct vertex_auth **auth, char *project_out, size_t project_size,
                     struct fahr_error *err);
/* A valid access token: fetched, or refreshed within 60 s of its expiry or
 * when `force`. The string is the calling thread's until its next call.
 * Thread-safe. */
int vertex_auth_token(struct vertex_auth *auth, int force, const char **token,
                      struct fahr_error *err);
/* The host http sign hook (sign_data: the auth): "Authorization: Bearer T". */
int vertex_auth_sign(void *hook_data, const struct fahr_http_sign *request,
                     struct fahr_http_header *extra, size_t capacity, size_t *count,
                     struct fahr_error *err);
void vertex_auth_close(struct vertex_auth *auth);
/* The project of a metadata-server credential, asked of the server (after
 * its probe) into project; other credentials leave project as it is. */
int vertex_auth_project(struct vertex_auth *auth, char *project, size_t size,
                        struct fahr_error *err);
/* Where the credential came from, for messages. */
const char *vertex_auth_source(const struct vertex_auth *auth);

/* A service account's JWT for the jwt-bearer grant, RS256-signed with
 * `key_pem`, into out (malloc'ed). Exposed for the unit tests. */
int vertex_jwt_make(const char *email, const char *key_id, const char *key_pem,
                    const char *audience, long issued_at, char **out, struct fahr_error *err);
/* base64url without padding. */
void vertex_base64url(const unsigned char *in, size_t length, char *out, size_t size);

/* ---- endpoints.c ---- */
enum vertex_api { VERTEX_AIPLATFORM, VERTEX_STORAGE, VERTEX_LOGGING, VERTEX_ARTIFACTREGISTRY };
/* The API's root URL ending in '/': CLOUDSDK_API_ENDPOINT_OVERRIDES_<API>
 * (storage's without its trailing storage/v1/) or Google's; the region
 * names aiplatform's default host. */
int vertex_endpoint(enum vertex_api api, const char *region, char *out, size_t size,
                    struct fahr_error *err);
/* 1 if `url` has the same scheme://host:port as `root`. */
int vertex_same_origin(const char *url, const char *root);

/* ---- google_call.c ---- */
/* One JSON call: METHOD ROOT+path (escaped), body (taken, may be NULL),
 * the answer into *answer (NULL: not wanted). Google's error shape becomes
 * one line; a 401 gets one fresh token and one retry. */
int vertex_call(struct vertex *vertex, enum vertex_api api, const char *region,
                const char *method, const char *path, json_t *body, json_t **answer,
                struct fahr_error *err);
/* Percent-encode a path segment or query value (RFC 3986 unreserved kept). */
void vertex_escape(const char *in, char *out, size_t size);
/* A non-2xx answer as one line: "WHAT: MESSAGE (STATUS)" from Google's
 * {"error":{"code","message","status"}} (or an OAuth {"error",
 * "error_description"}), control characters replaced. */
int vertex_answer_error(const char *what, const struct fahr_http_response *response,
                        struct fahr_error *err);
/* Server text made printable on one line. */
void vertex_text(const char *in, char *out, size_t size);

/* ---- gcs.c, gcs_upload.c, gcs_fetch.c ---- */
int vertex_gcs_parse(const char *uri, char *bucket, size_t bsize, char *object, size_t osize,
                     struct fahr_error *err); /* gs://B[/P] */
/* Upload a local file to the object gs_uri, or a directory to gs_uri/RELATIVE
 * for each of its files, with the resumable protocol (8 MiB chunks; a
 * broken chunk resumed from the status query's Range). */
int vertex_gcs_upload(struct vertex *vertex, const char *local_path, const char *gs_uri,
                      struct fahr_error *err);
/* Every object under gs://B/PREFIX (paged), on_object(full name, size,
 * crc32c base64 or NULL); nonzero from on_object stops the listing. */
int vertex_gcs_list(struct vertex *vertex, const char *gs_prefix,
                    int (*on_object)(void *data, const char *name, uint64_t size,
                                     const char *crc32c), void *data, struct fahr_error *err);
/* Download every object under gs_prefix into `place` (names relative to the
 * prefix), listed once, up to 4 at once, size and CRC32C checked; on failure
 * nothing of it is placed (the caller aborts the placement). No object
 * under it: FAHR_ENOTFOUND, "there is no model under gs://...". */
int vertex_gcs_fetch(struct vertex *vertex, const char *gs_prefix, struct fahr_place *place,
                     struct fahr_error *err);
/* CRC32C (Castagnoli) of more bytes, from crc (0 to start). */
uint32_t vertex_crc32c(uint32_t crc, const void *data, size_t length);
/* As Cloud Storage writes it: base64 of the 4 big-endian bytes. */
void vertex_crc32c_base64(uint32_t crc, char out[16]);

#endif
