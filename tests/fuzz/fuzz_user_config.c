/* libFuzzer target: the user's config file (core/user_config.c), which
 * anyone who can make the user run fahr in a crafted XDG_CONFIG_HOME
 * writes. A text the parser takes must come back from user_config_text
 * as a text it takes again, unchanged, and an edit of it must read back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fahr.h"
#include "user_config.h"

static struct user_config *parse_or_null(const char *text, size_t length)
{
    struct user_config *config = NULL;
    struct fahr_error err;
    if (user_config_parse("/fuzz/config", text, length, &config, &err) != FAHR_OK)
        return NULL;
    return config;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct user_config *config = parse_or_null((const char *)data, size);
    if (config == NULL)
        return 0;
    char *text = user_config_text(config);
    struct user_config *again = parse_or_null(text, strlen(text));
    if (again == NULL)
        abort(); /* what fahr writes, fahr must read */
    char *text_again = user_config_text(again);
    if (strcmp(text, text_again) != 0)
        abort(); /* a read and a write change nothing */
    user_config_set(again, NULL, "sagemaker", "role_name", "fuzz-role");
    char *edited = user_config_text(again);
    struct user_config *reread = parse_or_null(edited, strlen(edited));
    if (reread == NULL)
        abort();
    const struct user_config_entry *entry =
        user_config_find(reread, NULL, "sagemaker", "role_name");
    if (entry == NULL || strcmp(entry->value, "fuzz-role") != 0)
        abort(); /* the edit reads back */
    user_config_free(reread);
    free(edited);
    free(text_again);
    user_config_free(again);
    free(text);
    user_config_free(config);
    return 0;
}
