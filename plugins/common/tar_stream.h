/* plugins/common/tar_stream.h: a directory as a tar stream, read piece by
 * piece so no file is ever held whole in memory. What it leaves out is the
 * caller's choice: a Docker build context honours .dockerignore
 * (dockerignore_filter), a model is copied whole (no filter).
 *
 * Names go into the tar as the bytes the file system holds (pax headers,
 * hdrcharset=BINARY), whatever their length or characters: the Docker engine
 * and libarchive read them back unchanged. */
#ifndef FAHR_TAR_STREAM_H
#define FAHR_TAR_STREAM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "fahr/plugin.h"

struct tar_stream;

/* What a filter says of one entry (RELATIVE: '/'-separated, no leading
 * "./"). A left-out directory is walked still when some of its entries may
 * come back (TAR_LEAVE_OUT_LOOK_INSIDE). */
enum tar_verdict { TAR_KEEP, TAR_LEAVE_OUT, TAR_LEAVE_OUT_LOOK_INSIDE };
typedef enum tar_verdict (*tar_filter_fn)(const void *data, const char *relative,
                                          bool directory);

/* List the files of DIR that FILTER keeps (NULL keeps all); their contents
 * are read later, as the stream is read. */
int tar_stream_open(const char *dir, tar_filter_fn filter, const void *filter_data,
                    struct tar_stream **out, struct fahr_error *err);
/* The number of entries and the bytes of file content the stream carries. */
size_t tar_stream_entries(const struct tar_stream *stream);
uint64_t tar_stream_content_bytes(const struct tar_stream *stream);
/* File content bytes streamed so far. */
uint64_t tar_stream_content_sent(const struct tar_stream *stream);
/* Up to `size` more bytes of the tar stream; 0 at its end, -1 on error
 * ("cannot read DIR/NAME: REASON" for a file that cannot be read). */
ssize_t tar_stream_read(struct tar_stream *stream, char *buffer, size_t size,
                        struct fahr_error *err);
void tar_stream_close(struct tar_stream *stream);

#endif
