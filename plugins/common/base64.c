/* plugins/common/base64.c: see base64.h. */
#include "base64.h"

#include <stdint.h>
#include <string.h>

static const char standard[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
static const char url_safe_alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

size_t base64_encode(const void *data, size_t length, bool url_safe, char *out)
{
    const unsigned char *bytes = data;
    const char *alphabet = url_safe ? url_safe_alphabet : standard;
    size_t used = 0;
    for (size_t i = 0; i < length; i += 3) {
        uint32_t chunk = (uint32_t)bytes[i] << 16;
        if (i + 1 < length)
            chunk |= (uint32_t)bytes[i + 1] << 8;
        if (i + 2 < length)
            chunk |= (uint32_t)bytes[i + 2];
        out[used++] = alphabet[(chunk >> 18) & 63];
        out[used++] = alphabet[(chunk >> 12) & 63];
        out[used++] = i + 1 < length ? alphabet[(chunk >> 6) & 63] : '=';
        out[used++] = i + 2 < length ? alphabet[chunk & 63] : '=';
    }
    out[used] = '\0';
    return used;
}

static int value_of(char c)
{
    const char *found = c != '\0' ? strchr(standard, c) : NULL;
    return found ? (int)(found - standard) : -1;
}

long base64_decode(const char *text, void *out, size_t capacity)
{
    size_t size = strlen(text);
    if (size % 4 != 0)
        return -1;
    size_t padding = size > 0 && text[size - 1] == '=' ? (text[size - 2] == '=' ? 2 : 1) : 0;
    if (size / 4 * 3 - padding > capacity)
        return -1;
    unsigned char *bytes = out;
    size_t used = 0;
    for (size_t i = 0; i < size; i += 4) {
        uint32_t chunk = 0;
        for (size_t j = 0; j < 4; j++) {
            bool pad = i + j >= size - padding;
            int value = pad ? 0 : value_of(text[i + j]);
            if (value < 0 || (pad && text[i + j] != '='))
                return -1;
            chunk = chunk << 6 | (uint32_t)value;
        }
        size_t take = i + 4 == size ? 3 - padding : 3;
        for (size_t j = 0; j < take; j++)
            bytes[used++] = (unsigned char)(chunk >> (16 - 8 * j));
    }
    return (long)used;
}
