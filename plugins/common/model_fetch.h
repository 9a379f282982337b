/* plugins/common/model_fetch.h: bring a model archive home from S3 and
 * unpack it as it arrives, through the host's placement (host->place_*;
 * struct fahr_place in plugin.h says what is refused). */
#ifndef FAHR_MODEL_FETCH_H
#define FAHR_MODEL_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "aws_http.h"
#include "fahr/plugin.h"

/* How a large object is downloaded: `concurrency` ranged GETs of
 * `part_size` bytes at once (1: one stream). */
struct s3_download_options {
    unsigned concurrency;
    uint64_t part_size;
};

/* Download s3://bucket/key and unpack it into `dest_dir`, streaming: the
 * archive is unpacked as it arrives, never stored whole. `options` may be
 * NULL (one stream). */
int model_fetch_s3(struct aws_client *client, const char *s3_uri, const char *dest_dir,
                   bool overwrite, const struct s3_download_options *options,
                   struct fahr_error *err);

/* Split "s3://bucket/key" into its parts; FAHR_EINVAL if it is not one. */
int s3_uri_split(const char *uri, char *bucket, size_t bucket_size, char *key, size_t key_size);

#endif
