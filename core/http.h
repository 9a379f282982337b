/* core/http.h: the host's HTTP transport (host->http_open, http_send,
 * http_release, http_close; the rules are in plugin.h, struct
 * fahr_http_request). One libcurl handle per session, reused between
 * requests; the retry, back-off, stall and interrupt rules live here and
 * nowhere else. */
#ifndef FAHR_CORE_HTTP_H
#define FAHR_CORE_HTTP_H

#include <stdbool.h>

#include "fahr/plugin.h"

int http_open(struct fahr_http **http, struct fahr_error *err);
int http_send(struct fahr_http *http, const struct fahr_http_request *request,
              struct fahr_http_response *response, struct fahr_error *err);
void http_release(struct fahr_http_response *response);
void http_close(struct fahr_http *http);

/* Whether a libcurl failure (a CURLcode) is one every attempt may cure, as
 * the AWS SDKs' standard mode has it (botocore retries every
 * ConnectionError and HTTPClientError): a failure to resolve, connect or
 * shake hands, and a connection reset, closed, timed out (stalled) or
 * garbled at any point of the answer. Never retried: an interrupt (the
 * progress callback's abort), a callback refusing bytes (the receiver gone,
 * an answer too large), the request's own body unreadable, a bad URL, and a
 * certificate nobody vouches for, which no attempt changes. */
bool http_transport_retryable(int curl_code);

/* Whether the host's own rule retries an answer of this status: 408, 429,
 * 500, 502, 503, 504. */
bool http_status_retryable(long status);

/* Attempts a request gets when it names none: FAHR_HTTP_ATTEMPTS, else 3. */
unsigned http_default_attempts(void);

#endif
