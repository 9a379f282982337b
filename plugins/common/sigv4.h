/* plugins/common/sigv4.h: AWS Signature Version 4 (header signing).
 *
 * The caller describes the request decoded (the path and query as the
 * service should see them); the signer returns the encoded path and query to
 * put in the URL together with the signature over them, so what is sent and
 * what is signed can never disagree. */
#ifndef FAHR_SIGV4_H
#define FAHR_SIGV4_H

#include <stdbool.h>
#include <stddef.h>

struct sigv4_pair {
    const char *name;
    const char *value;
};

struct sigv4_request {
    const char *method;
    const char *path;                  /* decoded, starting with '/' */
    const struct sigv4_pair *query;    /* decoded names and values */
    size_t query_count;
    const struct sigv4_pair *headers;  /* every header to sign; must include host */
    size_t header_count;
    const char *payload_hash;          /* lower-case hex SHA-256 of the body */
};

struct sigv4_credentials {
    const char *access_key_id;
    const char *secret_access_key;
    const char *session_token; /* NULL without one */
};

struct sigv4_options {
    const char *region;
    const char *service;
    const char *amz_date;       /* "YYYYMMDDTHHMMSSZ" */
    /* Every service but S3 normalises the path ("/a/./b/../c" is "/a/c")
     * and signs it encoded twice (the URL's encoding, encoded again); S3
     * signs the URL's path as it is. */
    bool normalize_path;
    bool double_encode_path;
    bool sign_payload_header;   /* add and sign x-amz-content-sha256 (S3) */
    bool token_after_signing;   /* STS's legacy form: the token is sent but not signed */
};

/* Everything a signed request needs; free with sigv4_result_free(). */
struct sigv4_result {
    char *encoded_path;        /* for the URL */
    char *encoded_query;       /* for the URL, without '?'; "" if none */
    char *canonical_request;
    char *string_to_sign;
    char signature[65];
    char *authorization;       /* the Authorization header's value */
    /* Headers the signer adds (X-Amz-Date, X-Amz-Security-Token,
     * X-Amz-Content-Sha256), "Name: value" each, NULL-ended. */
    char *added_headers[4];
    /* For a streaming payload's chunk signatures (sigv4_chain_start). */
    unsigned char signing_key[32];
    char scope[160];
    char amz_date[17];
};

/* Returns 0, or -1 when out of memory. */
int sigv4_sign(const struct sigv4_request *request, const struct sigv4_credentials *credentials,
               const struct sigv4_options *options, struct sigv4_result *result);
void sigv4_result_free(struct sigv4_result *result);

/* A streaming (aws-chunked) payload's signatures, as S3 takes them with
 * x-amz-content-sha256 STREAMING-AWS4-HMAC-SHA256-PAYLOAD[-TRAILER]: each
 * chunk's signature covers its SHA-256 and the signature before it, the
 * first one the request's own (the seed), so no chunk can be changed,
 * dropped or moved. The trailer's covers its lines ("name:value\n" each). */
struct sigv4_chain {
    unsigned char key[32];
    char amz_date[17];
    char scope[160];
    char previous[65];
};
void sigv4_chain_start(struct sigv4_chain *chain, const struct sigv4_result *seed);
/* The next chunk's signature (its data's lower-case hex SHA-256 given). */
void sigv4_chain_chunk(struct sigv4_chain *chain, const char data_sha256[65], char signature[65]);
void sigv4_chain_trailer(struct sigv4_chain *chain, const char *lines, size_t length,
                         char signature[65]);
/* Forget the key. */
void sigv4_chain_end(struct sigv4_chain *chain);

/* `length` bytes as lower-case hex into `hex` (2 x length + 1 bytes). */
void sigv4_hex(const unsigned char *bytes, size_t length, char *hex);
/* Lower-case hex SHA-256 of `length` bytes into `hex` (65 bytes). */
void sigv4_sha256_hex(const void *data, size_t length, char hex[65]);
/* RFC 3986 encoding as SigV4 wants it: everything but A-Z a-z 0-9 - _ . ~
 * is %XX (upper case); '/' too unless keep_slash. Caller frees. */
char *sigv4_uri_encode(const char *text, size_t length, bool keep_slash);
/* "YYYYMMDDTHHMMSSZ" for a time_t, in UTC. */
void sigv4_amz_date(long long unix_time, char out[17]);

#endif
