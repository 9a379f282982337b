/* plugins/common/model_fetch.h: bring a model archive home and unpack it,
 * for every train driver whose models are tar(.gz) archives.
 *
 * The archive is untrusted input. Nothing is ever written outside the
 * destination: entries with absolute paths, "..", control characters, links
 * that lead outside, device nodes or FIFOs refuse the whole archive. The
 * archive is unpacked into a staging directory inside the destination first,
 * then moved into place, so on any failure the destination is as it was;
 * existing files are replaced only when asked. */
#ifndef FAHR_MODEL_FETCH_H
#define FAHR_MODEL_FETCH_H

#include <stdbool.h>
#include <stdint.h>

#include "aws_http.h"
#include "fahr/plugin.h"

/* Unpack the tar or tar.gz read from `fd` into `dest_dir`. */
int model_unpack_fd(const struct fahr_host *host, int fd, const char *dest_dir, bool overwrite,
                    struct fahr_error *err);

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
