/* core/naming.c: the image name of an artifact, as the original fahr made it:
 * ".../foo/model.py" gives "foo/model". Registries accept only
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* per path component, so the two parts are
 * lower-cased and every other run of characters becomes one '-'. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "fahr.h"

static bool is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Latin letters with marks, as the plain letters a reader sees in them, so
 * that "mödel" names the image "model", not "m-del", and "ü2" gives "u2".
 * U+00C0 to U+00FF (NULL: a sign, not a letter), then U+0100 to U+017F. */
static const char *const latin1_letters[64] = {
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "ss",
    "a", "a", "a", "a", "a", "a", "ae", "c", "e", "e", "e", "e", "i", "i", "i", "i",
    "d", "n", "o", "o", "o", "o", "o", NULL, "o", "u", "u", "u", "u", "y", "th", "y"};
static const char latin_extended_a[129] =
    "AaAaAaCcCcCcCcDdDdEeEeEeEeEeGgGgGgGgHhHhIiIiIiIiIiIiJjKkkLlLlLlLlLlNnNnNnnNnOoOoOoOo"
    "RrRrRrSsSsSsSsTtTtTtUuUuUuUuUuUuWwYyYZzZzZzs";

/* The ASCII letters for the UTF-8 sequence at s (of at most `left` bytes):
 * how many into *count (0: no Latin letter), the bytes it takes into *used. */
static const char *plain_letters(const unsigned char *s, size_t left, size_t *count,
                                 size_t *used)
{
    *count = 0;
    *used = 1;
    if (s[0] < 0x80) {
        *count = 1;
        return (const char *)s;
    }
    if (left < 2 || (s[0] & 0xe0) != 0xc0 || (s[1] & 0xc0) != 0x80)
        return NULL;
    unsigned code = ((s[0] & 0x1fu) << 6) | (s[1] & 0x3fu);
    if (code < 0xc0 || code > 0x17f)
        return NULL;
    *used = 2;
    const char *letters =
        code < 0x100 ? latin1_letters[code - 0xc0] : &latin_extended_a[code - 0x100];
    *count = letters == NULL ? 0 : code < 0x100 ? strlen(letters) : 1;
    return letters;
}

/* Sanitise [s, s+len) into out; returns the length written (0: nothing
 * usable). */
static size_t sanitise_component(const char *s, size_t len, char *out, size_t cap)
{
    size_t used = 0;
    bool pending_separator = false;
    for (size_t i = 0; i < len && used + 2 < cap;) {
        size_t count, step;
        const char *letters =
            plain_letters((const unsigned char *)s + i, len - i, &count, &step);
        i += step;
        if (count == 0 || !is_alnum_lower((char)tolower((unsigned char)letters[0]))) {
            pending_separator = true;
            continue;
        }
        /* Room for two bytes: a separator never ends a component. */
        if (pending_separator && used > 0)
            out[used++] = '-';
        pending_separator = false;
        out[used++] = (char)tolower((unsigned char)letters[0]);
        for (size_t k = 1; k < count && used + 2 < cap; k++)
            out[used++] = (char)tolower((unsigned char)letters[k]);
    }
    out[used] = '\0';
    return used;
}

int image_name_from_path(const char *artifact_path, char *out, size_t out_size)
{
    size_t len = strlen(artifact_path);
    while (len > 1 && artifact_path[len - 1] == '/')
        len--;
    /* The file's stem: the last component without its extension. */
    size_t base = len;
    while (base > 0 && artifact_path[base - 1] != '/')
        base--;
    size_t stem_end = len;
    for (size_t i = len; i > base + 1; i--) {
        if (artifact_path[i - 1] == '.') {
            stem_end = i - 1;
            break;
        }
    }
    /* The parent directory's name. */
    size_t parent_end = base > 0 ? base - 1 : 0;
    while (parent_end > 0 && artifact_path[parent_end - 1] == '/')
        parent_end--;
    size_t parent = parent_end;
    while (parent > 0 && artifact_path[parent - 1] != '/')
        parent--;

    char stem[128], dir[128];
    if (sanitise_component(artifact_path + base, stem_end - base, stem, sizeof stem) == 0)
        return FAHR_EINVAL;
    size_t dir_len = sanitise_component(artifact_path + parent, parent_end - parent, dir,
                                        sizeof dir);
    size_t need = (dir_len ? dir_len + 1 : 0) + strlen(stem) + 1;
    if (need > out_size)
        return FAHR_EINVAL;
    if (dir_len)
        memcpy(out, dir, dir_len), out[dir_len] = '/';
    memcpy(out + (dir_len ? dir_len + 1 : 0), stem, strlen(stem) + 1);
    return FAHR_OK;
}

void image_name_without_tag(const char *typed, char *out, size_t out_size)
{
    /* Only the last path component's colon starts a tag: the one of
     * "registry:5000/foo/model" names a port. */
    const char *slash = strrchr(typed, '/');
    const char *colon = strchr(slash ? slash + 1 : typed, ':');
    size_t length = colon ? (size_t)(colon - typed) : strlen(typed);
    snprintf(out, out_size, "%.*s", (int)length, typed);
}
