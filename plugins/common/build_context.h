/* plugins/common/build_context.h: a directory as a tar stream for the
 * Docker engine, read piece by piece so no file is ever held whole in
 * memory. Honours .dockerignore. */
#ifndef FAHR_BUILD_CONTEXT_H
#define FAHR_BUILD_CONTEXT_H

#include <stdint.h>
#include <sys/types.h>

#include "fahr/plugin.h"

struct build_context;

/* List the files of DIR that .dockerignore keeps (their contents are read
 * later, as the stream is read). */
int build_context_open(const char *dir, struct build_context **out, struct fahr_error *err);
/* The number of entries and the bytes of file content the stream carries. */
size_t build_context_entries(const struct build_context *context);
uint64_t build_context_content_bytes(const struct build_context *context);
/* File content bytes streamed so far. */
uint64_t build_context_content_sent(const struct build_context *context);
/* Up to `size` more bytes of the tar stream; 0 at its end, -1 on error. */
ssize_t build_context_read(struct build_context *context, char *buffer, size_t size,
                           struct fahr_error *err);
void build_context_close(struct build_context *context);

#endif
