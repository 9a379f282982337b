/* core/http_libs.c: see http_libs.h. */
#include "http_libs.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

struct http_libs http_libs;

static pthread_once_t loaded_once = PTHREAD_ONCE_INIT;
static char load_error[256];

/* The first of `names` that loads. */
static void *open_first(const char *const *names)
{
    for (size_t i = 0; names[i] != NULL; i++) {
        void *handle = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (handle != NULL)
            return handle;
    }
    snprintf(load_error, sizeof load_error, "cannot load %s: %s", names[0], dlerror());
    return NULL;
}

/* Resolve `name` into `*slot`; false (with the reason kept) if missing. */
static int resolve(void *handle, const char *name, void *slot)
{
    void *symbol = dlsym(handle, name);
    if (symbol == NULL) {
        snprintf(load_error, sizeof load_error, "%s has no %s", "a library", name);
        return 0;
    }
    *(void **)slot = symbol;
    return 1;
}

static void load(void)
{
    static const char *const curl_names[] = {"libcurl.so.4", "libcurl-gnutls.so.4", NULL};
    static const char *const crypto_names[] = {"libcrypto.so.3", "libcrypto.so.1.1", NULL};
    void *curl = open_first(curl_names);
    void *crypto = curl ? open_first(crypto_names) : NULL;
    struct http_libs l;
    int ok = crypto != NULL && resolve(curl, "curl_global_init", &l.global_init) &&
             resolve(curl, "curl_easy_init", &l.easy_init) &&
             resolve(curl, "curl_easy_cleanup", &l.easy_cleanup) &&
             resolve(curl, "curl_easy_reset", &l.easy_reset) &&
             resolve(curl, "curl_easy_setopt", &l.easy_setopt) &&
             resolve(curl, "curl_easy_perform", &l.easy_perform) &&
             resolve(curl, "curl_easy_getinfo", &l.easy_getinfo) &&
             resolve(curl, "curl_easy_strerror", &l.easy_strerror) &&
             resolve(curl, "curl_slist_append", &l.slist_append) &&
             resolve(curl, "curl_slist_free_all", &l.slist_free_all) &&
             resolve(crypto, "EVP_MD_CTX_new", &l.md_ctx_new) &&
             resolve(crypto, "EVP_MD_CTX_free", &l.md_ctx_free) &&
             resolve(crypto, "EVP_sha256", &l.sha256) &&
             resolve(crypto, "EVP_DigestInit_ex", &l.digest_init) &&
             resolve(crypto, "EVP_DigestUpdate", &l.digest_update) &&
             resolve(crypto, "EVP_DigestFinal_ex", &l.digest_final);
    if (!ok)
        return; /* load_error says why; the handles stay: nothing else uses them */
    /* curl_global_init is not thread-safe; this runs once. */
    if (l.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        snprintf(load_error, sizeof load_error, "cannot start libcurl");
        return;
    }
    http_libs = l;
}

int http_libs_load(struct fahr_error *err)
{
    pthread_once(&loaded_once, load);
    if (http_libs.easy_init == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "no HTTP client: %s", load_error);
    return FAHR_OK;
}
