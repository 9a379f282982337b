/* core/suggest.c: "did you mean ...?" for mistyped commands, options, config
 * keys and driver names, as git's help.c does for commands.
 *
 * The distance is optimal string alignment (Levenshtein plus swapping two
 * neighbours, the commonest typo). A candidate is suggested only when it is
 * clearly the nearest: within a third of the word's length (at least 1, at
 * most 3 edits), and not tied with another candidate, so that a wild guess
 * gets no suggestion rather than a misleading one; nor does a word shorter
 * than three characters. */
#include <stdlib.h>
#include <string.h>

#include "fahr.h"

enum { SUGGEST_MAX_WORD = 64 };

static size_t min3(size_t a, size_t b, size_t c)
{
    size_t m = a < b ? a : b;
    return m < c ? m : c;
}

/* Optimal string alignment distance; words longer than SUGGEST_MAX_WORD are
 * never near anything. */
size_t suggest_distance(const char *a, const char *b)
{
    size_t n = strlen(a), m = strlen(b);
    if (n > SUGGEST_MAX_WORD || m > SUGGEST_MAX_WORD)
        return (size_t)-1;
    size_t d[SUGGEST_MAX_WORD + 1][SUGGEST_MAX_WORD + 1];
    for (size_t i = 0; i <= n; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= m; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= n; i++) {
        for (size_t j = 1; j <= m; j++) {
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            d[i][j] = min3(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < d[i][j])
                d[i][j] = d[i - 2][j - 2] + 1;
        }
    }
    return d[n][m];
}

const char *suggest_nearest(const char *word, const char *const *candidates, size_t count)
{
    size_t limit = strlen(word) / 3;
    if (strlen(word) < 3) /* "-x" is no typo of "-f" */
        return NULL;
    if (limit < 1)
        limit = 1;
    if (limit > 3)
        limit = 3;
    const char *best = NULL;
    size_t best_distance = (size_t)-1;
    bool tied = false;
    for (size_t i = 0; i < count; i++) {
        if (candidates[i] == NULL || strcmp(candidates[i], word) == 0)
            continue;
        size_t distance = suggest_distance(word, candidates[i]);
        if (distance < best_distance) {
            best = candidates[i];
            best_distance = distance;
            tied = false;
        } else if (best != NULL && distance == best_distance &&
                   strcmp(best, candidates[i]) != 0) {
            tied = true;
        }
    }
    return best != NULL && best_distance <= limit && !tied ? best : NULL;
}
