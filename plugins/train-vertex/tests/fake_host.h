/* fake_host.h: a host table for the driver's unit tests, whose HTTP
 * service is a scripted server: each test sets `fake_server`, which sees
 * every attempt as it would be sent (its sign hook already run) and writes
 * the answer. */
#ifndef VERTEX_FAKE_HOST_H
#define VERTEX_FAKE_HOST_H

#include "../vertex.h"

#include <stdio.h>

struct fake_request {
    const char *method, *url;
    const char *authorization;       /* what the sign hook added, or NULL */
    const char *header[8][2];        /* the request's own headers */
    size_t header_count;
    const char *body;                /* from memory or its body_path range */
    size_t body_length;
    uint32_t max_attempts, timeout_ms;
};

struct fake_answer {
    long status;
    const char *header[4][2];
    char body[1 << 16];
    size_t body_length;              /* 0: strlen(body) */
    int broken;                      /* a transport failure instead */
};

/* Called under a lock (fetch threads call at once). */
extern void (*fake_server)(const struct fake_request *request, struct fake_answer *answer);
extern const struct fahr_host fake_host;
extern char fake_log[1 << 14];       /* every log line, one per line */
extern int fake_placed_files;        /* place_file calls */
extern char fake_placed_names[1 << 14]; /* their names, one a line */
extern char fake_scratch[256];

/* The metadata server at GCE_METADATA_HOST=127.0.0.1:7, answering its
 * probe (GET /, counted in fake_probes) as Google's and the project id
 * (FAKE_METADATA_PROJECT); 1 if `request` was one of these. */
#define FAKE_METADATA "http://127.0.0.1:7/"
#define FAKE_METADATA_PROJECT "meta-project"
extern int fake_probes;
int fake_metadata_answer(const struct fake_request *request, struct fake_answer *answer);

const char *fake_header(const struct fake_request *request, const char *name);
void fake_reset(void);
/* The TAP line. */
void expect(int ok, const char *what);
int expect_done(void);

#endif
