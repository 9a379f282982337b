/* core/services_module.c: the entry of libfahr-services.so (services.h).
 * The services' sources call host_services(), host_interrupted() and a few
 * helpers of the binary by name, as they do where the unit tests link them
 * directly; here those names forward to what the binary lent at init. The
 * module is linked with a version script: these stay its own. */
#include "fahr.h"
#include "http.h"
#include "services.h"
#include "version.h"

static struct fahr_services_imports lent;

static void services_init(const struct fahr_services_imports *imports)
{
    lent = *imports;
}

const struct fahr_host *host_services(void)
{
    return lent.host;
}

int host_interrupted(void)
{
    return lent.host->interrupted();
}

int open_beneath(int dir_fd, const char *path, int flags, unsigned mode, uint64_t resolve)
{
    return lent.open_beneath(dir_fd, path, flags, mode, resolve);
}

bool write_all(int fd, const void *data, size_t length)
{
    return lent.write_all(fd, data, length);
}

bool tree_remove_at(int parent_fd, const char *name)
{
    return lent.tree_remove_at(parent_fd, name);
}

bool tree_empty(int dir_fd)
{
    return lent.tree_empty(dir_fd);
}

const char *first_control_character(const char *text, size_t length)
{
    return lent.first_control_character(text, length);
}

__attribute__((visibility("default"))) const struct fahr_services_module fahr_services_module = {
    .size = sizeof(struct fahr_services_module),
    .version = FAHR_VERSION,
    .init = services_init,
    .http_open = http_open,
    .http_send = http_send,
    .http_release = http_release,
    .http_close = http_close,
    .place_open = host_place_open,
    .place_archive = host_place_archive,
    .place_file = host_place_file,
    .place_write = host_place_write,
    .place_commit = host_place_commit,
    .place_abort = host_place_abort,
};
