/* libFuzzer target: --config values of every type, image references and
 * image names from artifact paths. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fahr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char *text = malloc(size);
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    enum fahr_config_type type = (enum fahr_config_type)(data[0] % 6 + 1);
    if (type == FAHR_CONFIG_PATH)
        type = FAHR_CONFIG_STRING; /* no file system walks from fuzz input */
    char out[4096];
    struct fahr_error err;
    config_check_value(type, text, out, sizeof out, &err);
    image_ref_is_valid(text);
    char name[256];
    if (image_name_from_path(text, name, sizeof name) == FAHR_OK && name[0] != '\0') {
        char ref[300];
        snprintf(ref, sizeof ref, "%s:latest", name);
        if (!image_ref_is_valid(ref))
            abort(); /* every derived name must be a valid reference */
    }
    free(text);
    return 0;
}
