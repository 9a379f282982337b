/* core/plugin_scan.c: a plugin's code runs in a child process first, as
 * GStreamer's gst-plugin-scanner runs it.
 *
 * A constructor that crashes, never returns or writes to stdout, and a
 * descriptor whose pointers lead nowhere, would take fahr down with it (or
 * corrupt its result on stdout) if fahr dlopened the plugin itself. So the
 * child dlopens it, checks its descriptor and sends back a record
 * (plugin_record.c) through a pipe; the parent waits a bounded time, and a
 * child that crashed, hung or wrote to stdout makes the plugin skipped with
 * that reason. The child is a plain fork() without exec: scanning happens
 * while fahr is single-threaded (before any driver is opened), so the child
 * may call dlopen() and malloc() safely, and it leaves with _exit() so no
 * stdio buffer or exit handler of fahr's runs twice. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "plugin_load.h"

#define SCAN_TIMEOUT_DEFAULT_S 5.0
#define SCAN_RESULT_MAX (4u << 20) /* far more than RECORD_KEYS_MAX keys need */

/* The child writes this byte once dlopen() has returned, so a crash after it
 * is told apart from a crash in a constructor. */
#define LOADED_MARK 'L'

static bool name_is_valid(const char *name)
{
    if (name == NULL || name[0] == '\0' || strnlen(name, 65) > 64)
        return false;
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '-'))
            return false;
    return true;
}

static const char *accept_ops(struct plugin *plugin, char *why, size_t why_size)
{
    const char *name = plugin->desc.name;
    if (plugin->desc.kind == FAHR_DRIVER_BUILD) {
        const struct fahr_build_ops *ops = FAHR_HAS(&plugin->desc, build) ? plugin->desc.build : NULL;
        if (ops == NULL || ops->size < sizeof(uint32_t)) {
            snprintf(why, why_size, "build driver '%s' has no build operations", name);
            return why;
        }
        copy_versioned(&plugin->build, sizeof plugin->build, ops, ops->size);
        if (!FAHR_HAS(&plugin->build, init) || !FAHR_HAS(&plugin->build, build)) {
            snprintf(why, why_size, "build driver '%s' lacks init or build", name);
            return why;
        }
        return NULL;
    }
    const struct fahr_train_ops *ops = FAHR_HAS(&plugin->desc, train) ? plugin->desc.train : NULL;
    if (ops == NULL || ops->size < sizeof(uint32_t)) {
        snprintf(why, why_size, "train driver '%s' has no train operations", name);
        return why;
    }
    copy_versioned(&plugin->train, sizeof plugin->train, ops, ops->size);
    if (!FAHR_HAS(&plugin->train, submit) || !FAHR_HAS(&plugin->train, poll)) {
        snprintf(why, why_size, "train driver '%s' lacks submit or poll", name);
        return why;
    }
    if (plugin->train.input != FAHR_TRAIN_IMAGE && plugin->train.input != FAHR_TRAIN_SOURCE) {
        snprintf(why, why_size, "train driver '%s' declares no input kind", name);
        return why;
    }
    return NULL;
}

const char *descriptor_accept(const struct fahr_plugin *desc, struct plugin *plugin, char *why,
                              size_t why_size)
{
    uint32_t major = FAHR_ABI_VERSION_MAJOR(desc->abi_version);
    uint32_t minor = FAHR_ABI_VERSION_MINOR(desc->abi_version);
    if (major != FAHR_ABI_MAJOR) {
        snprintf(why, why_size, "built for plugin ABI %u.%u; this fahr speaks %u.%u", major, minor,
                 FAHR_ABI_MAJOR, FAHR_ABI_MINOR);
        return why;
    }
    if (minor > FAHR_ABI_MINOR) {
        snprintf(why, why_size, "built for plugin ABI %u.%u, newer than this fahr's %u.%u", major,
                 minor, FAHR_ABI_MAJOR, FAHR_ABI_MINOR);
        return why;
    }
    size_t need = offsetof(struct fahr_plugin, config_keys);
    if (desc->size < need) {
        snprintf(why, why_size, "descriptor is %u bytes, too short for ABI %u.%u", desc->size,
                 major, minor);
        return why;
    }
    copy_versioned(&plugin->desc, sizeof plugin->desc, desc, desc->size);
    if (!name_is_valid(plugin->desc.name)) {
        snprintf(why, why_size, "driver name is missing or not [a-z0-9-]+");
        return why;
    }
    if (plugin->desc.kind != FAHR_DRIVER_BUILD && plugin->desc.kind != FAHR_DRIVER_TRAIN) {
        snprintf(why, why_size, "unknown driver kind %d", (int)plugin->desc.kind);
        return why;
    }
    return accept_ops(plugin, why, why_size);
}

/* ---- the child ------------------------------------------------------------ */

/* All of it to the parent, or the child ends (write_all only calls
 * write(2), safe here). */
static void write_or_exit(int fd, const char *data, size_t len)
{
    if (!write_all(fd, data, len))
        _exit(120);
}

/* What the loaded plugin's descriptor says, as a record. */
static void describe(void *handle, struct plugin_record *record)
{
    const struct fahr_plugin *desc = dlsym(handle, FAHR_PLUGIN_SYMBOL);
    if (desc == NULL) {
        record_skip(record, "no '%s' symbol, not a fahr plugin", FAHR_PLUGIN_SYMBOL);
        return;
    }
    struct plugin plugin;
    memset(&plugin, 0, sizeof plugin);
    char why[512];
    if (descriptor_accept(desc, &plugin, why, sizeof why) != NULL ||
        record_from_descriptor(&plugin.desc, record, why, sizeof why) != NULL)
        record_skip(record, "%s", why);
}

static void scan_child(const char *resolved, int result_fd, int stdout_fd)
    __attribute__((noreturn));

static void scan_child(const char *resolved, int result_fd, int stdout_fd)
{
    /* Die of a fault rather than run fahr's (or a sanitizer's) handlers, and
     * leave Ctrl-C to kill the child too. */
    static const int defaults[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT,
                                   SIGINT,  SIGTERM, SIGPIPE, SIGSYS};
    for (size_t i = 0; i < sizeof defaults / sizeof defaults[0]; i++)
        signal(defaults[i], SIG_DFL);
    /* Where fahr was started with stdout or stderr closed, a pipe may have
     * got descriptor 1 or 2: move both out of the way first. */
    result_fd = fcntl(result_fd, F_DUPFD, 3);
    stdout_fd = fcntl(stdout_fd, F_DUPFD, 3);
    int devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (result_fd < 0 || stdout_fd < 0 || devnull < 0 || dup2(stdout_fd, STDOUT_FILENO) < 0 ||
        dup2(devnull, STDERR_FILENO) < 0)
        _exit(121);
    struct plugin_record record;
    memset(&record, 0, sizeof record);
    void *handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    fflush(stdout); /* what a constructor printf()ed must reach the pipe */
    if (handle == NULL) {
        record_skip(&record, "cannot load: %s", dlerror());
    } else {
        write_or_exit(result_fd, (char[]){LOADED_MARK}, 1);
        describe(handle, &record);
        fflush(stdout);
    }
    struct text out = {0};
    record_encode(&out, &record);
    write_or_exit(result_fd, out.data, out.len);
    _exit(0);
}

/* ---- the parent ----------------------------------------------------------- */

static double scan_timeout_s(void)
{
    const char *text = getenv("FAHR_PLUGIN_SCAN_TIMEOUT");
    char *end = NULL;
    double seconds = text != NULL ? strtod(text, &end) : 0;
    if (text == NULL || end == text || *end != '\0' || !(seconds > 0 && seconds <= 3600))
        return SCAN_TIMEOUT_DEFAULT_S;
    return seconds;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct scan_io {
    struct text result;   /* what the child sent */
    size_t stdout_bytes;  /* what its plugin wrote to stdout */
    bool timed_out;
    bool interrupted;     /* fahr itself was asked to stop */
};

/* Drain one readable pipe; false at its end. */
static bool drain(int fd, struct scan_io *io, bool is_result)
{
    char buffer[4096];
    ssize_t n = read(fd, buffer, sizeof buffer);
    if (n < 0)
        return errno == EINTR || errno == EAGAIN;
    if (n == 0)
        return false;
    if (!is_result)
        io->stdout_bytes += (size_t)n;
    else if (io->result.len + (size_t)n <= SCAN_RESULT_MAX)
        text_append(&io->result, buffer, (size_t)n);
    return true;
}

/* Read both pipes until the child closes them or time runs out. */
static void collect(int result_fd, int stdout_fd, double timeout_s, struct scan_io *io)
{
    struct pollfd fds[2] = {{result_fd, POLLIN, 0}, {stdout_fd, POLLIN, 0}};
    double deadline = now_s() + timeout_s;
    while (fds[0].fd >= 0 || fds[1].fd >= 0) {
        double left = deadline - now_s();
        if (left <= 0) {
            io->timed_out = true;
            return;
        }
        int ready = poll(fds, 2, (int)(left * 1000) + 1);
        if (ready < 0 && errno == EINTR && host_interrupted()) {
            io->interrupted = true;
            return;
        }
        for (int i = 0; ready > 0 && i < 2; i++)
            if (fds[i].fd >= 0 && fds[i].revents != 0 && !drain(fds[i].fd, io, i == 0))
                fds[i].fd = -1;
    }
}

/* Turn the child's end and what it sent into a record. */
static void judge(int status, struct scan_io *io, double timeout_s, struct plugin_record *record)
{
    bool loaded = io->result.len > 0 && io->result.data[0] == LOADED_MARK;
    if (io->timed_out) {
        record_skip(record, "did not finish loading within %g s", timeout_s);
    } else if (WIFSIGNALED(status)) {
        record_skip(record, "crashed while %s: %s",
                    loaded ? "reading its descriptor" : "loading", strsignal(WTERMSIG(status)));
    } else if (io->stdout_bytes > 0) {
        record_skip(record, "writes to standard output while loading");
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        record_skip(record, "exited with status %d while loading", WEXITSTATUS(status));
    } else {
        struct reader in = {io->result.data + loaded, io->result.data + io->result.len, false};
        if (io->result.len == 0 || !record_decode(&in, record) || in.at != in.end) {
            record_free(record);
            record_skip(record, "ended the process while loading");
        }
    }
}

void plugin_scan(const char *resolved, struct plugin_record *record, bool *cacheable)
{
    memset(record, 0, sizeof *record);
    *cacheable = false;
    int result_pipe[2], stdout_pipe[2];
    if (pipe2(result_pipe, O_CLOEXEC) != 0) {
        record_skip(record, "cannot scan: %s", strerror(errno));
        return;
    }
    if (pipe2(stdout_pipe, O_CLOEXEC) != 0) {
        record_skip(record, "cannot scan: %s", strerror(errno));
        close(result_pipe[0]), close(result_pipe[1]);
        return;
    }
    fflush(NULL); /* or the child's stdio would write fahr's pending output again */
    /* An inherited SIG_IGN would reap the child before waitpid() saw its end. */
    signal(SIGCHLD, SIG_DFL);
    pid_t pid = fork();
    if (pid == 0) {
        close(result_pipe[0]), close(stdout_pipe[0]);
        scan_child(resolved, result_pipe[1], stdout_pipe[1]);
    }
    close(result_pipe[1]), close(stdout_pipe[1]);
    struct scan_io io = {0};
    double timeout_s = scan_timeout_s();
    if (pid > 0)
        collect(result_pipe[0], stdout_pipe[0], timeout_s, &io);
    close(result_pipe[0]), close(stdout_pipe[0]);
    if (pid < 0) {
        record_skip(record, "cannot scan: %s", strerror(errno));
        return;
    }
    if (io.timed_out || io.interrupted)
        kill(pid, SIGKILL);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    judge(status, &io, timeout_s, record);
    *cacheable = !io.interrupted && !host_interrupted();
    text_free(&io.result);
}

void *plugin_dlopen_quietly(const char *resolved, char *why, size_t why_size)
{
    fflush(stdout);
    int saved = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 3);
    bool redirected = saved >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) >= 0;
    void *handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
    if (handle == NULL)
        snprintf(why, why_size, "cannot load: %s", dlerror());
    fflush(stdout); /* a constructor's printf() goes to stderr too */
    if (redirected)
        dup2(saved, STDOUT_FILENO);
    if (saved >= 0)
        close(saved);
    return handle;
}
