/* core/host.c: what the host offers drivers (struct fahr_host) and its own
 * output. stdout carries only a command's result; everything else goes to
 * stderr, and progress only when stderr is a terminal. */
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "fahr.h"
#include "job_name.h"
#include "http.h"
#include "version.h"

static enum verbosity host_verbosity = VERBOSITY_NORMAL;
/* Drivers may call the services from threads of their own (plugin.h): one
 * line at a time reaches stderr. */
static pthread_mutex_t output_lock = PTHREAD_MUTEX_INITIALIZER;
static bool stderr_is_terminal;
/* TERM=dumb: a terminal that takes no escape sequences, so a progress line
 * is cleared by writing spaces over it. */
static bool terminal_is_dumb;
/* Escape sequences in live output (the engine's colours, a job's) are
 * passed on only to a terminal that takes them and only without NO_COLOR
 * (https://no-color.org); elsewhere they are taken out. */
static bool strip_escapes;
static volatile sig_atomic_t interrupted_flag;

/* Progress line state: a line is open while progress is drawn on it. */
static struct {
    bool line_open;
    size_t drawn_width; /* columns the open line takes */
    struct timespec started, drawn;
    char what[128];
} progress_state;

static void clear_line(void)
{
    if (!terminal_is_dumb) {
        fputs("\r\033[K", stderr);
        return;
    }
    fputc('\r', stderr);
    for (size_t i = 0; i < progress_state.drawn_width; i++)
        fputc(' ', stderr);
    fputc('\r', stderr);
}

static void end_progress_line(void)
{
    if (progress_state.line_open) {
        clear_line();
        progress_state.line_open = false;
    }
}

static void vprint_line(const char *prefix, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static void vprint_line(const char *prefix, const char *fmt, va_list ap)
{
    pthread_mutex_lock(&output_lock);
    end_progress_line();
    fputs("fahr: ", stderr);
    fputs(prefix, stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    pthread_mutex_unlock(&output_lock);
}

void host_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_line("", fmt, ap);
    va_end(ap);
}

void host_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vprint_line("warning: ", fmt, ap);
    va_end(ap);
}

void host_info(const char *fmt, ...)
{
    if (host_verbosity == VERBOSITY_QUIET)
        return;
    va_list ap;
    va_start(ap, fmt);
    vprint_line("", fmt, ap);
    va_end(ap);
}

void host_vlog(const char *driver, enum fahr_log_level level, const char *fmt, va_list ap)
{
    static const char *const levels[] = {"", "warning: ", "", "debug: "};
    if (level == FAHR_LOG_INFO && host_verbosity == VERBOSITY_QUIET)
        return;
    if (level == FAHR_LOG_DEBUG && host_verbosity != VERBOSITY_VERBOSE)
        return;
    if ((unsigned)level > FAHR_LOG_DEBUG)
        level = FAHR_LOG_DEBUG;
    char prefix[128];
    snprintf(prefix, sizeof prefix, "%s%s%s", driver ? driver : "", driver ? ": " : "",
             levels[level]);
    vprint_line(prefix, fmt, ap);
}

static void service_log(enum fahr_log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void service_log(enum fahr_log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    host_vlog(NULL, level, fmt, ap);
    va_end(ap);
}

static bool live_output_shown(void)
{
    return host_verbosity == VERBOSITY_VERBOSE ||
           (host_verbosity == VERBOSITY_NORMAL && stderr_is_terminal);
}

/* Live output without its escape sequences (CSI "ESC [ ... final", OSC
 * "ESC ] ... BEL or ESC \\", and two-byte ones). A sequence may be split
 * across calls, so where it stands is kept between them. */
static void write_without_escapes(const char *text, size_t len)
{
    static enum { PLAIN, ESCAPE, CSI, OSC, OSC_ESCAPE } state = PLAIN;
    size_t start = 0;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)text[i];
        switch (state) {
        case PLAIN:
            if (c == 0x1b) {
                fwrite(text + start, 1, i - start, stderr);
                state = ESCAPE;
            }
            continue;
        case ESCAPE:
            state = c == '[' ? CSI : c == ']' ? OSC : PLAIN;
            break;
        case CSI:
            if (c >= 0x40 && c <= 0x7e)
                state = PLAIN;
            break;
        case OSC:
            if (c == 0x07)
                state = PLAIN;
            else if (c == 0x1b)
                state = OSC_ESCAPE;
            break;
        case OSC_ESCAPE:
            state = c == '\\' ? PLAIN : OSC;
            break;
        }
        start = i + 1;
    }
    if (state == PLAIN)
        fwrite(text + start, 1, len - start, stderr);
}

static void service_stream(const char *text, size_t len)
{
    if (!live_output_shown() || len == 0)
        return;
    pthread_mutex_lock(&output_lock);
    end_progress_line();
    if (strip_escapes)
        write_without_escapes(text, len);
    else
        fwrite(text, 1, len, stderr);
    fflush(stderr);
    pthread_mutex_unlock(&output_lock);
}

void host_format_bytes(double bytes, char *out, size_t size)
{
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    size_t unit = 0;
    while (bytes >= 1024 && unit + 1 < sizeof units / sizeof units[0]) {
        bytes /= 1024;
        unit++;
    }
    snprintf(out, size, unit == 0 ? "%.0f %s" : "%.1f %s", bytes, units[unit]);
}

/* Cut a line to one column less than the terminal is wide, so that it never
 * wraps (a wrapped line is not redrawn in place: every redraw would leave a
 * line behind). UTF-8 sequences are kept whole; each counts as a column.
 * Returns the columns the line now takes. */
static size_t fit_to_terminal(char *line)
{
    struct winsize size;
    size_t limit = (size_t)-1, columns = 0;
    if (ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0)
        limit = size.ws_col - 1u;
    for (char *p = line; *p; p++) {
        if (((unsigned char)*p & 0xc0) == 0x80)
            continue; /* a continuation byte: the same column */
        if (columns == limit) {
            *p = '\0';
            break;
        }
        columns++;
    }
    return columns;
}

bool host_progress_begin(const char *what, bool last, double *elapsed)
{
    if (!stderr_is_terminal || host_verbosity == VERBOSITY_QUIET)
        return false;
    pthread_mutex_lock(&output_lock);
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (!progress_state.line_open || strcmp(progress_state.what, what) != 0) {
        end_progress_line();
        snprintf(progress_state.what, sizeof progress_state.what, "%s", what);
        progress_state.started = now;
    }
    *elapsed = (double)(now.tv_sec - progress_state.started.tv_sec) +
               (double)(now.tv_nsec - progress_state.started.tv_nsec) / 1e9;
    /* Redrawn ten times a second at most, and once at the end. */
    double since_drawn = (double)(now.tv_sec - progress_state.drawn.tv_sec) +
                         (double)(now.tv_nsec - progress_state.drawn.tv_nsec) / 1e9;
    if (progress_state.line_open && !last && since_drawn < 0.1) {
        pthread_mutex_unlock(&output_lock);
        return false;
    }
    progress_state.drawn = now;
    return true;
}

void host_progress_show(char *line, bool last)
{
    size_t width = fit_to_terminal(line);
    clear_line();
    fputs(line, stderr);
    progress_state.drawn_width = width;
    progress_state.line_open = true;
    if (last) {
        fputc('\n', stderr);
        progress_state.line_open = false;
    }
    fflush(stderr);
    pthread_mutex_unlock(&output_lock);
}

static void service_progress(const char *what, uint64_t done, uint64_t total, const char *unit)
{
    bool last = total > 0 && done >= total;
    double elapsed;
    if (!host_progress_begin(what, last, &elapsed))
        return;
    char line[256];
    if (unit != NULL && strcmp(unit, "B") == 0) {
        char done_s[32], total_s[32], rate_s[32] = "";
        host_format_bytes((double)done, done_s, sizeof done_s);
        host_format_bytes((double)total, total_s, sizeof total_s);
        /* The rate once it means something; time left from it. */
        double rate = elapsed > 0.5 ? (double)done / elapsed : 0;
        char rate_part[64] = "", left_part[32] = "";
        if (rate > 0) {
            host_format_bytes(rate, rate_s, sizeof rate_s);
            snprintf(rate_part, sizeof rate_part, ", %s/s", rate_s);
            if (total > 0 && !last)
                snprintf(left_part, sizeof left_part, ", %.0f s left",
                         (double)(total - (done < total ? done : total)) / rate);
        }
        if (total > 0)
            snprintf(line, sizeof line, "%s: %s of %s (%3.0f%%)%s%s", what, done_s, total_s,
                     100.0 * (double)done / (double)total, rate_part, left_part);
        else
            snprintf(line, sizeof line, "%s: %s%s", what, done_s, rate_part);
    } else if (total > 0) {
        snprintf(line, sizeof line, "%s: %llu of %llu %s", what, (unsigned long long)done,
                 (unsigned long long)total, unit ? unit : "");
    } else {
        snprintf(line, sizeof line, "%s: %llu %s", what, (unsigned long long)done,
                 unit ? unit : "");
    }
    host_progress_show(line, last);
}

int host_interrupted(void)
{
    return interrupted_flag != 0;
}

static const char *service_config_get(const struct fahr_config *config, const char *key)
{
    return config_get(config, key);
}

static const struct fahr_host host_table = {
    .size = sizeof(struct fahr_host),
    .abi_version = FAHR_ABI_VERSION,
    .version = FAHR_VERSION,
    .log = service_log,
    .stream = service_stream,
    .progress = service_progress,
    .interrupted = host_interrupted,
    .config_get = service_config_get,
    .job_name = job_name_make,
    .progress_files = host_progress_files,
    .place_open = host_place_open,
    .place_archive = host_place_archive,
    .place_file = host_place_file,
    .place_write = host_place_write,
    .place_commit = host_place_commit,
    .place_abort = host_place_abort,
    .scratch_dir = host_scratch_dir,
    .data_dir = host_data_dir,
    .push_image = host_push_image,
    .http_open = http_open,
    .http_send = http_send,
    .http_release = http_release,
    .http_close = http_close,
};

const struct fahr_host *host_services(void)
{
    return &host_table;
}

void host_init(enum verbosity verbosity)
{
    host_verbosity = verbosity;
    stderr_is_terminal = isatty(STDERR_FILENO) != 0;
    const char *term = getenv("TERM"), *no_color = getenv("NO_COLOR");
    terminal_is_dumb = term == NULL || term[0] == '\0' || strcmp(term, "dumb") == 0;
    strip_escapes = !stderr_is_terminal || terminal_is_dumb || (no_color && no_color[0]);
}

static void on_signal(int signo)
{
    (void)signo;
    interrupted_flag = 1;
}

void host_catch_signals(void)
{
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = on_signal;
    sigemptyset(&action.sa_mask);
    /* No SA_RESTART: a blocking call returns EINTR so loops notice at once. */
    sigaction(SIGINT, &action, NULL);
    sigaction(SIGTERM, &action, NULL);
}
