/* core/naming.c: the image name of an artifact, as the original fahr made it:
 * ".../foo/model.py" gives "foo/model". Registries accept only
 * [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* per path component, so the two parts are
 * lower-cased and every other run of characters becomes one '-'. */
#include <ctype.h>
#include <string.h>

#include "fahr.h"

static bool is_alnum_lower(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

/* Sanitise [s, s+len) into out; returns the length written (0: nothing
 * usable). */
static size_t sanitise_component(const char *s, size_t len, char *out, size_t cap)
{
    size_t used = 0;
    bool pending_separator = false;
    for (size_t i = 0; i < len && used + 2 < cap; i++) {
        char c = (char)tolower((unsigned char)s[i]);
        if (is_alnum_lower(c)) {
            if (pending_separator && used > 0)
                out[used++] = '-';
            pending_separator = false;
            out[used++] = c;
        } else {
            pending_separator = true;
        }
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
