/* libFuzzer target: the AWS shared credentials and config file parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "aws_config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    memcpy(text, data, size);
    text[size] = '\0';
    static struct aws_profile profile;
    memset(&profile, 0, sizeof profile);
    aws_profile_parse(text, "default", false, &profile);
    aws_profile_parse(text, "dev", true, &profile);
    free(text);
    return 0;
}
