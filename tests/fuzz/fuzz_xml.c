/* libFuzzer target: AWS's XML answers as fahr reads them. */
#include <stdint.h>

#include "aws_http.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct xml_node *root = xml_parse((const char *)data, size);
    xml_text(root, "GetRoleResult/Role/Arn");
    xml_text(root, "AssumeRoleResult/Credentials/SessionToken");
    xml_find(root, "UploadId");
    xml_free(root);
    return 0;
}
