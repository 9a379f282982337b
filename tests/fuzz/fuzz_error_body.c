/* libFuzzer target: AWS error answers, JSON or XML, turned into a code and
 * a message. */
#include <stdint.h>
#include <string.h>

#include "aws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char code[128], message[1024];
    aws_error_from_body((const char *)data, size, code, sizeof code, message, sizeof message);
    if (strlen(code) >= sizeof code || strlen(message) >= sizeof message)
        __builtin_trap();
    return 0;
}
