/* core/gunzip.c: see gunzip.h. */
#include "gunzip.h"

#include <errno.h>
#include <isa-l/igzip_lib.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { GUNZIP_IN = 256 * 1024, GUNZIP_OUT = 1024 * 1024 };

struct gunzip {
    int fd;
    bool probed, gzip, input_done, finished;
    char error[128];
    struct inflate_state state;
    uint8_t *in;
    uint8_t *out;
};

struct gunzip *gunzip_new(int fd)
{
    struct gunzip *g = calloc(1, sizeof *g);
    if (g == NULL)
        return NULL;
    g->fd = fd;
    g->in = malloc(GUNZIP_IN);
    g->out = malloc(GUNZIP_OUT);
    if (g->in == NULL || g->out == NULL) {
        free(g->in);
        free(g->out);
        free(g);
        return NULL;
    }
    isal_inflate_init(&g->state);
    g->state.crc_flag = ISAL_GZIP;
    return g;
}

void gunzip_free(struct gunzip *g)
{
    if (g == NULL)
        return;
    free(g->in);
    free(g->out);
    free(g);
}

/* Top up the input buffer; false at the end of the input. */
static bool gunzip_fill(struct gunzip *g)
{
    if (g->input_done)
        return false;
    if (g->state.avail_in > 0 && g->state.next_in != g->in)
        memmove(g->in, g->state.next_in, g->state.avail_in);
    g->state.next_in = g->in;
    ssize_t n;
    do
        n = read(g->fd, g->in + g->state.avail_in, GUNZIP_IN - g->state.avail_in);
    while (n < 0 && errno == EINTR);
    if (n <= 0) {
        g->input_done = true;
        return false;
    }
    g->state.avail_in += (uint32_t)n;
    return true;
}

/* The next piece of plain tar into g->out: its length, 0 at the end, -1 on
 * bad data (g->error says why). */
static ssize_t gunzip_next(struct gunzip *g)
{
    if (!g->probed) {
        g->probed = true;
        while (g->state.avail_in < 2 && gunzip_fill(g))
            ;
        g->gzip = g->state.avail_in >= 2 && g->in[0] == 0x1f && g->in[1] == 0x8b;
    }
    if (!g->gzip) { /* plain tar: hand on what was read, then the rest */
        if (g->state.avail_in > 0) {
            memcpy(g->out, g->state.next_in, g->state.avail_in);
            ssize_t n = (ssize_t)g->state.avail_in;
            g->state.avail_in = 0;
            return n;
        }
        ssize_t n;
        do
            n = read(g->fd, g->out, GUNZIP_OUT);
        while (n < 0 && errno == EINTR);
        return n;
    }
    for (;;) {
        if (g->finished)
            return 0;
        if (g->state.avail_in == 0 && !gunzip_fill(g)) {
            if (g->state.block_state == ISAL_BLOCK_FINISH) {
                g->finished = true;
                return 0;
            }
            snprintf(g->error, sizeof g->error, "gzip data ends early (truncated)");
            return -1;
        }
        if (g->state.block_state == ISAL_BLOCK_FINISH) {
            /* Another gzip member follows, or padding: zeros are allowed. */
            while (g->state.avail_in > 0 && g->state.next_in[0] == 0) {
                g->state.next_in++;
                g->state.avail_in--;
            }
            if (g->state.avail_in == 0)
                continue;
            if (g->state.next_in[0] != 0x1f) {
                snprintf(g->error, sizeof g->error, "garbage after the gzip data");
                return -1;
            }
            uint8_t *next = g->state.next_in;
            uint32_t avail = g->state.avail_in;
            isal_inflate_reset(&g->state);
            g->state.crc_flag = ISAL_GZIP;
            g->state.next_in = next;
            g->state.avail_in = avail;
        }
        g->state.next_out = g->out;
        g->state.avail_out = GUNZIP_OUT;
        int result = isal_inflate(&g->state);
        if (result < 0) {
            snprintf(g->error, sizeof g->error, "gzip data is corrupt (%s)",
                     result == ISAL_INCORRECT_CHECKSUM ? "CRC mismatch" : "invalid deflate data");
            return -1;
        }
        ssize_t produced = (ssize_t)(GUNZIP_OUT - g->state.avail_out);
        if (produced > 0)
            return produced;
    }
}

/* libarchive's read callback: the next piece of plain tar. */
la_ssize_t gunzip_read(struct archive *archive, void *data, const void **buffer)
{
    struct gunzip *g = data;
    *buffer = g->out;
    ssize_t n = gunzip_next(g);
    if (n < 0)
        archive_set_error(archive, EILSEQ, "%s", g->error[0] ? g->error : strerror(errno));
    return n;
}
