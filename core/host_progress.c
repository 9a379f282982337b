/* core/host_progress.c: host->progress_files (ABI 1.1), progress over
 * several files at once on the one progress line of host.c:
 *   "what: 3/10 files, 1.2 GiB of 4.0 GiB, 85.0 MiB/s, 0:33 left"
 * cut to the terminal's width, and nothing where stderr is no terminal. */
#include <stdio.h>

#include "fahr.h"

/* "0:33", "12:05", "1:02:03" */
static void format_duration(double seconds, char *out, size_t size)
{
    unsigned long total = seconds > 0 ? (unsigned long)(seconds + 0.5) : 0;
    unsigned long hours = total / 3600, minutes = total / 60 % 60, rest = total % 60;
    if (hours > 0)
        snprintf(out, size, "%lu:%02lu:%02lu", hours, minutes, rest);
    else
        snprintf(out, size, "%lu:%02lu", minutes, rest);
}

void host_progress_files(const char *what, uint64_t done, uint64_t total, uint32_t files_done,
                         uint32_t files_total)
{
    bool last = files_done >= files_total && done >= total;
    double elapsed;
    if (!host_progress_begin(what, last, &elapsed))
        return;
    char done_s[32], total_s[32], bytes[80], rate_part[48] = "", left_part[48] = "";
    host_format_bytes((double)done, done_s, sizeof done_s);
    host_format_bytes((double)total, total_s, sizeof total_s);
    if (total > 0)
        snprintf(bytes, sizeof bytes, "%s of %s", done_s, total_s);
    else
        snprintf(bytes, sizeof bytes, "%s", done_s);
    /* The rate once it means something; the time left from it. */
    double rate = elapsed > 0.5 ? (double)done / elapsed : 0;
    if (rate > 0) {
        char rate_s[32], left_s[32];
        host_format_bytes(rate, rate_s, sizeof rate_s);
        snprintf(rate_part, sizeof rate_part, ", %s/s", rate_s);
        if (total > done && !last) {
            format_duration((double)(total - done) / rate, left_s, sizeof left_s);
            snprintf(left_part, sizeof left_part, ", %s left", left_s);
        }
    }
    char line[512];
    snprintf(line, sizeof line, "%s: %u/%u files, %s%s%s", what, files_done, files_total, bytes,
             rate_part, left_part);
    host_progress_show(line, last);
}
