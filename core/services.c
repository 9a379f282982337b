/* core/services.c: the host services of libfahr-services.so (services.h),
 * loaded on the first call of one of them: the host table's http_* and
 * place_* entries are these trampolines. The module is looked for next to
 * the executable (the build tree), then where an installed fahr keeps it:
 * FAHR_SERVICES_FROM_BINDIR, relative to the executable's directory unless
 * absolute (meson's, so a moved prefix or a --destdir install finds it).
 * It passes the plugins' trust rule (plugin_trust.c) before it is loaded. */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fahr.h"
#include "http.h"
#include "plugin_load.h"
#include "services.h"
#include "version.h"

static pthread_once_t loaded_once = PTHREAD_ONCE_INIT;
static const struct fahr_services_module *module;
static char load_error[2 * PATH_MAX + 1100];

/* The directory of the running executable, without a trailing slash. */
static bool exe_dir(char *out, size_t size)
{
    ssize_t n = readlink("/proc/self/exe", out, size);
    if (n <= 0 || (size_t)n >= size)
        return false;
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        return false;
    *slash = '\0';
    return true;
}

/* The file `path` resolves to, if it passes the trust checks (a heap
 * string); NULL with the reason in `why` where it does not. */
static char *trusted(const char *path, char *why, size_t why_size)
{
    char *resolved = realpath(path, NULL);
    struct stat st;
    if (resolved == NULL || lstat(resolved, &st) != 0) {
        snprintf(why, why_size, "cannot resolve: %s", strerror(errno));
        free(resolved);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        if (strcmp(path, resolved) != 0)
            snprintf(why, why_size, "resolves to %s: not a regular file", resolved);
        else
            snprintf(why, why_size, "not a regular file");
    } else if (trust_check_path(path, resolved, &st, TRUST_FILE, why, why_size) == NULL) {
        return resolved;
    }
    free(resolved);
    return NULL;
}

/* Whether the module `found` is of this very build. */
static bool same_build(const struct fahr_services_module *found, char *why, size_t why_size)
{
    if (found->size == sizeof *found && found->version != NULL &&
        strcmp(found->version, FAHR_VERSION) == 0)
        return true;
    snprintf(why, why_size, "it is of another build of fahr (%s), not of %s",
             found->size == sizeof *found && found->version ? found->version : "unknown",
             FAHR_VERSION);
    return false;
}

/* Load the module at `path` into `module`; false with load_error set. The
 * file loaded is the one checked: its resolved path. */
static bool load_from(const char *path)
{
    char why[1024];
    char *resolved = trusted(path, why, sizeof why);
    if (resolved != NULL) {
        void *handle = dlopen(resolved, RTLD_NOW | RTLD_LOCAL);
        const struct fahr_services_module *found =
            handle ? dlsym(handle, FAHR_SERVICES_SYMBOL) : NULL;
        if (handle == NULL)
            snprintf(why, sizeof why, "%s", dlerror());
        else if (found == NULL)
            snprintf(why, sizeof why, "it has no %s", FAHR_SERVICES_SYMBOL);
        else if (same_build(found, why, sizeof why))
            module = found;
        if (handle != NULL && module == NULL)
            dlclose(handle);
        free(resolved);
    }
    if (module == NULL)
        snprintf(load_error, sizeof load_error, "cannot load fahr's services (%s): %s", path, why);
    return module != NULL;
}

static void load(void)
{
    char dir[PATH_MAX], path[PATH_MAX + 64], installed[2 * PATH_MAX];
    if (!exe_dir(dir, sizeof dir)) {
        snprintf(load_error, sizeof load_error,
                 "cannot load fahr's services: where fahr runs from is unknown");
        return;
    }
    const char *from_bindir = FAHR_SERVICES_FROM_BINDIR;
    snprintf(path, sizeof path, "%s/%s", dir, FAHR_SERVICES_FILE);
    snprintf(installed, sizeof installed, "%s%s%s/%s", from_bindir[0] == '/' ? "" : dir,
             from_bindir[0] == '/' ? "" : "/", from_bindir, FAHR_SERVICES_FILE);
    /* The first that is there is the one: a refused module is never
     * passed over for another. */
    struct stat st;
    if (!load_from(lstat(path, &st) == 0 ? path : installed))
        return;
    struct fahr_services_imports imports = {
        .size = sizeof imports,
        .host = host_services(),
        .open_beneath = open_beneath,
        .write_all = write_all,
        .tree_remove_at = tree_remove_at,
        .tree_empty = tree_empty,
        .first_control_character = first_control_character,
    };
    module->init(&imports);
}

/* The module, loaded on the first call; NULL with err set where it cannot
 * be. */
static const struct fahr_services_module *services(struct fahr_error *err)
{
    pthread_once(&loaded_once, load);
    if (module == NULL && err != NULL)
        fahr_error_set(err, FAHR_EFAIL, "%s", load_error);
    return module;
}

int http_open(struct fahr_http **http, struct fahr_error *err)
{
    *http = NULL;
    return services(err) ? module->http_open(http, err) : FAHR_EFAIL;
}

int http_send(struct fahr_http *http, const struct fahr_http_request *request,
              struct fahr_http_response *response, struct fahr_error *err)
{
    return services(err) ? module->http_send(http, request, response, err) : FAHR_EFAIL;
}

/* A response or session exists only where the module was loaded. */
void http_release(struct fahr_http_response *response)
{
    if (services(NULL))
        module->http_release(response);
}

void http_close(struct fahr_http *http)
{
    if (services(NULL))
        module->http_close(http);
}

int host_place_open(const char *dest_dir, int overwrite, struct fahr_place **place,
                    struct fahr_error *err)
{
    *place = NULL;
    return services(err) ? module->place_open(dest_dir, overwrite, place, err) : FAHR_EFAIL;
}

int host_place_archive(struct fahr_place *place, const void *data, size_t length,
                       struct fahr_error *err)
{
    return services(err) ? module->place_archive(place, data, length, err) : FAHR_EFAIL;
}

int host_place_file(struct fahr_place *place, const char *relative_path, uint32_t mode,
                    struct fahr_error *err)
{
    return services(err) ? module->place_file(place, relative_path, mode, err) : FAHR_EFAIL;
}

int host_place_write(struct fahr_place *place, const void *data, size_t length,
                     struct fahr_error *err)
{
    return services(err) ? module->place_write(place, data, length, err) : FAHR_EFAIL;
}

int host_place_commit(struct fahr_place *place, struct fahr_error *err)
{
    return services(err) ? module->place_commit(place, err) : FAHR_EFAIL;
}

void host_place_abort(struct fahr_place *place)
{
    if (services(NULL))
        module->place_abort(place);
}
