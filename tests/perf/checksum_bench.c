/* tests/perf/checksum_bench.c: what each check of a download costs, on this
 * machine in this run: the checksums S3 keeps for an object, computed over
 * the same 256 MiB in memory the way fetch computes them (in 1 MiB pieces,
 * as the bytes arrive), beside MD5 of the ETag, the check fetch made
 * before S3's checksums. Prints each one's speed and its time against
 * MD5's. Built with the tests: build-test/tests/checksum_bench [MiB]. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "s3_checksum.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* HeadObject's answer: the one header in `context`. */
static const char *offered(void *context, const char *name)
{
    const char *const *header = context;
    return strcasecmp(header[0], name) == 0 ? header[1] : NULL;
}

int main(int argc, char **argv)
{
    size_t mib = argc > 1 ? (size_t)atoi(argv[1]) : 256;
    size_t size = mib << 20, piece = 1 << 20;
    unsigned char *data = malloc(size);
    if (mib == 0 || data == NULL) {
        fprintf(stderr, "usage: checksum_bench [MiB > 0]\n");
        return 2;
    }
    unsigned seed = 1;
    for (size_t i = 0; i < size; i++)
        data[i] = (unsigned char)(rand_r(&seed) >> 7);
    /* Each one, offered alone as HeadObject would offer it; the value is
     * wrong on purpose (all "A"s): only the time counts here. */
    static const char *offers[][2] = {
        {"ETag", "\"00000000000000000000000000000000\""},
        {"x-amz-checksum-crc32c", "AAAAAA=="},
        {"x-amz-checksum-crc32", "AAAAAA=="},
        {"x-amz-checksum-crc64nvme", "AAAAAAAAAAA="},
        {"x-amz-checksum-sha1", "AAAAAAAAAAAAAAAAAAAAAAAAAAA="},
        {"x-amz-checksum-sha256", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="},
    };
    double baseline = 0;
    printf("checksums over %zu MiB in 1 MiB pieces, best of 3\n", mib);
    printf("%-12s %9s %9s %12s\n", "", "seconds", "MiB/s", "vs MD5");
    for (size_t i = 0; i < sizeof offers / sizeof offers[0]; i++) {
        double best = 0;
        const char *name = NULL;
        for (int run = 0; run < 3; run++) {
            struct s3_checksum checksum;
            s3_checksum_choose(&checksum, offered, (void *)offers[i]);
            name = checksum.name;
            double start = now();
            for (size_t at = 0; at < size; at += piece)
                s3_checksum_update(&checksum, data + at, piece);
            char got[72];
            s3_checksum_finish(&checksum, got, sizeof got);
            double took = now() - start;
            if (run == 0 || took < best)
                best = took;
        }
        if (i == 0)
            baseline = best;
        printf("%-12s %9.3f %9.0f %11.2fx\n", name, best, (double)mib / best, best / baseline);
    }
    free(data);
    return 0;
}
