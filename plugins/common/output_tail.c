/* plugins/common/output_tail.c: see output_tail.h. */
#include "output_tail.h"

#include <stdio.h>
#include <string.h>

void output_tail_init(struct output_tail *tail, const char *const *skip)
{
    memset(tail, 0, sizeof *tail);
    tail->skip = skip;
}

void output_tail_reset(struct output_tail *tail)
{
    output_tail_init(tail, tail->skip);
}

/* The line without its surrounding spaces, or NULL when it is blank or
 * one to skip. */
static const char *worth_keeping(const struct output_tail *tail, const char *line,
                                 size_t length, size_t *kept_length)
{
    for (const char *const *prefix = tail->skip; prefix && *prefix; prefix++)
        if (length >= strlen(*prefix) && strncmp(line, *prefix, strlen(*prefix)) == 0)
            return NULL;
    while (length > 0 && line[0] == ' ')
        line++, length--;
    while (length > 0 && line[length - 1] == ' ')
        length--;
    *kept_length = length;
    return length > 0 ? line : NULL;
}

static void end_line(struct output_tail *tail)
{
    size_t length;
    const char *line = worth_keeping(tail, tail->partial, tail->partial_length, &length);
    tail->partial_length = 0;
    if (line == NULL)
        return;
    tail->newest = tail->count == 0 ? 0 : (tail->newest + 1) % OUTPUT_TAIL_LINES;
    if (tail->count < OUTPUT_TAIL_LINES)
        tail->count++;
    memcpy(tail->lines[tail->newest], line, length);
    tail->lines[tail->newest][length] = '\0';
}

void output_tail_feed(struct output_tail *tail, const char *text, size_t length)
{
    for (size_t i = 0; i < length; i++) {
        unsigned char c = (unsigned char)text[i];
        if (tail->in_escape) { /* ESC [ parameters, then a final byte */
            if ((c >= 0x40 && c <= 0x7e && c != '[') || c == '\n')
                tail->in_escape = false;
            if (c != '\n')
                continue;
        }
        if (c == '\033') {
            tail->in_escape = true;
        } else if (c == '\n') {
            end_line(tail);
        } else if (c == '\r') {
            tail->partial_length = 0;
        } else if ((c >= 0x20 && c != 0x7f) || c == '\t') {
            if (tail->partial_length + 1 < sizeof tail->partial)
                tail->partial[tail->partial_length++] = c == '\t' ? ' ' : (char)c;
        }
    }
}

size_t output_tail_join(const struct output_tail *tail, char *out, size_t size)
{
    const char *lines[OUTPUT_TAIL_LINES + 1];
    size_t lengths[OUTPUT_TAIL_LINES + 1], count = 0;
    for (size_t i = 0; i < tail->count; i++) {
        size_t at = (tail->newest + OUTPUT_TAIL_LINES + 1 + i - tail->count) % OUTPUT_TAIL_LINES;
        lines[count] = tail->lines[at];
        lengths[count++] = strlen(tail->lines[at]);
    }
    const char *partial = worth_keeping(tail, tail->partial, tail->partial_length,
                                        &lengths[count]);
    if (partial != NULL)
        lines[count++] = partial;
    size_t first = count > OUTPUT_TAIL_LINES ? count - OUTPUT_TAIL_LINES : 0, total = 0;
    for (size_t i = first; i < count; i++)
        total += lengths[i] + (i > first ? 3 : 0);
    while (first + 1 < count && total + 1 > size) /* the oldest go first */
        total -= lengths[first++] + 3;
    size_t used = 0;
    if (size == 0)
        return 0;
    out[0] = '\0';
    for (size_t i = first; i < count; i++) {
        int n = snprintf(out + used, size - used, "%s%.*s", i > first ? " | " : "",
                         (int)lengths[i], lines[i]);
        if (n < 0 || (size_t)n >= size - used)
            return strlen(out);
        used += (size_t)n;
    }
    return used;
}
