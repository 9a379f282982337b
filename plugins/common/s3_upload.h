/* plugins/common/s3_upload.h: put a local file or directory on S3 for a
 * job to read, under a prefix named by its content: the same data uploaded
 * again lands under the same prefix, where every object already there with
 * the same size and SHA-256 (kept in its metadata, x-amz-meta-fahr-sha256)
 * is skipped, and changed data gets a prefix of its own, so no job ever
 * reads stale files. A file is read once for its digest (none where the
 * digest cache, digest_cache.h, knows it) and once as it is sent. */
#ifndef FAHR_S3_UPLOAD_H
#define FAHR_S3_UPLOAD_H

#include "aws_http.h"

/* Upload `local_path` (a file: as <prefix>/<its name>; a directory: its
 * files by their paths inside it) under `s3_base`/<content digest>, and
 * write that prefix ("s3://bucket/base/0123abcd...") into `uri`. */
int s3_upload_path(struct aws_client *client, const char *local_path, const char *s3_base,
                   char *uri, size_t uri_size, struct fahr_error *err);

#endif
