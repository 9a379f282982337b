/* plugins/common/s3_upload.h: put a local file or directory under an S3
 * prefix, skipping objects already there with the same size and MD5 (the
 * ETag of a single-part upload). Files are read as they are sent. */
#ifndef FAHR_S3_UPLOAD_H
#define FAHR_S3_UPLOAD_H

#include "aws_http.h"

/* Upload `local_path` (a file: to PREFIX/<its name>; a directory: its files
 * to PREFIX/<relative path>) under `s3_prefix` ("s3://bucket/prefix"). */
int s3_upload_path(struct aws_client *client, const char *local_path, const char *s3_prefix,
                   struct fahr_error *err);

#endif
