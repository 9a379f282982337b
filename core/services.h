/* core/services.h: the private module libfahr-services.so and the binary
 * that loads it (services.c). The module holds the host services that need
 * libcurl, libcrypto, libarchive and ISA-L (the HTTP transport, model
 * placement), so that fahr starts without loading them: a command that
 * makes no request and places no model never maps them. The module is
 * fahr's own, of the same build; it exports FAHR_SERVICES_SYMBOL only. */
#ifndef FAHR_CORE_SERVICES_H
#define FAHR_CORE_SERVICES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fahr/plugin.h"

#define FAHR_SERVICES_FILE "libfahr-services.so"
#define FAHR_SERVICES_SYMBOL "fahr_services_module"

/* What the binary lends the module: its host table (log, progress,
 * interrupted) and the helpers of files.c and config.c the services share
 * with the rest of fahr. */
struct fahr_services_imports {
    uint32_t size;
    const struct fahr_host *host;
    int (*open_beneath)(int dir_fd, const char *path, int flags, unsigned mode, uint64_t resolve);
    bool (*write_all)(int fd, const void *data, size_t length);
    bool (*tree_remove_at)(int parent_fd, const char *name);
    bool (*tree_empty)(int dir_fd);
    const char *(*first_control_character)(const char *text, size_t length);
};

/* The one symbol the module exports. The binary takes it only where size
 * and version are its own (a module of another build is refused), then
 * calls init once before any service. */
struct fahr_services_module {
    uint32_t size;
    const char *version; /* FAHR_VERSION of the module's build */
    void (*init)(const struct fahr_services_imports *imports);
    int (*http_open)(struct fahr_http **http, struct fahr_error *err);
    int (*http_send)(struct fahr_http *http, const struct fahr_http_request *request,
                     struct fahr_http_response *response, struct fahr_error *err);
    void (*http_release)(struct fahr_http_response *response);
    void (*http_close)(struct fahr_http *http);
    int (*place_open)(const char *dest_dir, int overwrite, struct fahr_place **place,
                      struct fahr_error *err);
    int (*place_archive)(struct fahr_place *place, const void *data, size_t length,
                         struct fahr_error *err);
    int (*place_file)(struct fahr_place *place, const char *relative_path, uint32_t mode,
                      struct fahr_error *err);
    int (*place_write)(struct fahr_place *place, const void *data, size_t length,
                       struct fahr_error *err);
    int (*place_commit)(struct fahr_place *place, struct fahr_error *err);
    void (*place_abort)(struct fahr_place *place);
};

#endif
