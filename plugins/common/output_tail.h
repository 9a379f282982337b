/* plugins/common/output_tail.h: the last lines of a command's output, kept
 * to explain its failure in a one-line error (a failed build step's "No
 * module named pip"). Terminal escapes and control characters are dropped:
 * the lines are printed, and they come from the command. */
#ifndef FAHR_OUTPUT_TAIL_H
#define FAHR_OUTPUT_TAIL_H

#include <stdbool.h>
#include <stddef.h>

enum { OUTPUT_TAIL_LINES = 3, OUTPUT_TAIL_LINE_MAX = 160 };

struct output_tail {
    const char *const *skip; /* NULL-ended prefixes of lines not to keep */
    char lines[OUTPUT_TAIL_LINES][OUTPUT_TAIL_LINE_MAX]; /* a ring of the last lines */
    size_t count, newest;
    char partial[OUTPUT_TAIL_LINE_MAX]; /* the line still arriving */
    size_t partial_length;
    bool in_escape; /* inside an ESC [ ... sequence split across pieces */
};

/* Start empty; lines starting with one of the NULL-ended `skip` prefixes
 * (may be NULL) are never kept, nor blank lines. */
void output_tail_init(struct output_tail *tail, const char *const *skip);
/* Forget the lines kept so far (a new build step starts). */
void output_tail_reset(struct output_tail *tail);
/* Take the next piece of output; lines may be split across pieces, and a
 * carriage return starts its line over (progress bars). A line longer than
 * OUTPUT_TAIL_LINE_MAX keeps its start. */
void output_tail_feed(struct output_tail *tail, const char *text, size_t length);
/* The kept lines and the one still arriving, oldest first, joined with
 * " | " into `out`; the oldest are left out where they do not fit in size - 1
 * bytes. "" when none. Returns the length written. */
size_t output_tail_join(const struct output_tail *tail, char *out, size_t size);

#endif
