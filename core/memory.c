/* core/memory.c: allocation for the host, which has no way on from an
 * exhausted heap: it aborts rather than have every caller check. */
#include <stdlib.h>
#include <string.h>

#include "fahr.h"

char *xstrdup(const char *s)
{
    char *copy = strdup(s);
    if (copy == NULL)
        abort();
    return copy;
}

void *xgrow(void *array, size_t count, size_t item_size)
{
    void *grown = realloc(array, (count + 1) * item_size);
    if (grown == NULL)
        abort();
    return grown;
}
