/* google_auth.h: the credential's insides, shared by google_auth.c (which
 * finds and reads it) and google_token.c (which turns it into tokens). */
#ifndef VERTEX_GOOGLE_AUTH_H
#define VERTEX_GOOGLE_AUTH_H

#include "vertex.h"

#include <pthread.h>

#define VERTEX_TOKEN_MAX 4096

enum vertex_credential_kind { CREDENTIAL_SERVICE_ACCOUNT, CREDENTIAL_AUTHORIZED_USER,
                              CREDENTIAL_METADATA };

struct vertex_auth {
    enum vertex_credential_kind kind;
    char source[FAHR_URI_MAX];        /* for messages: where it came from */
    char token_uri[FAHR_URI_MAX];     /* the grant's endpoint, or the metadata URL */
    /* service account */
    char *client_email, *private_key, *private_key_id;
    /* authorized user */
    char *client_id, *client_secret, *refresh_token;
    /* metadata server: where it is asked, and where it is first probed
     * (GCE_METADATA_IP, else the same host), as google-auth does */
    char metadata_host[VERTEX_NAME_MAX];
    char probe_url[FAHR_URI_MAX];

    pthread_mutex_t lock;             /* guards what follows: fetch runs threads */
    struct fahr_http *http;           /* its own session: a sign hook runs inside
                                       * another session's request */
    char token[VERTEX_TOKEN_MAX];     /* "" until fetched */
    double expires_at;                /* CLOCK_MONOTONIC seconds */
    int metadata_answered;            /* the probe found the server */
};

/* Fetch a fresh token into auth->token (lock held). */
int vertex_auth_fetch(struct vertex_auth *auth, struct fahr_error *err);

/* google_metadata.c (lock held): the metadata server probed once, with one
 * short attempt; "no Google credentials" at once where it does not answer
 * as Google's. */
int vertex_metadata_probe(struct vertex_auth *auth, struct fahr_error *err);

#endif
