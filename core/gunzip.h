/* core/gunzip.h: a gzip (or plain) stream inflated with ISA-L's
 * igzip, for libarchive to read as plain tar.
 *
 * Inflating is the bottleneck of a fetch: zlib (inside libarchive) inflates
 * at a few hundred MB/s, ISA-L's igzip several times faster; measured by
 * tests/perf/fetch_bench.sh, which also showed that inflating in the thread
 * that unpacks beats inflating in the download's thread. A gzip stream is
 * inflated with every member's CRC checked; anything else passes through
 * unchanged. */
#ifndef FAHR_GUNZIP_H
#define FAHR_GUNZIP_H

#include <archive.h>

struct gunzip;

/* Read from `fd` (not closed by gunzip_free). NULL when out of memory. */
struct gunzip *gunzip_new(int fd);
void gunzip_free(struct gunzip *g);

/* libarchive's read callback (archive_read_open's `data` is the gunzip):
 * the next piece of plain tar. */
la_ssize_t gunzip_read(struct archive *archive, void *data, const void **buffer);

#endif
