/* libFuzzer target: a model archive, whatever it holds, unpacked into a
 * fresh directory: nothing may appear or change outside it, and nothing in
 * it may lead outside (a symbolic link the kernel resolves out, a hard
 * link to a file outside).
 *
 * The input is a tar stream where it starts as one (ustar magic at 257);
 * otherwise each line describes one entry, so that mutations explore
 * entries rather than tar's checksums: a type letter (f file, d
 * directory, l symbolic link, h hard link, p FIFO; anything else a file),
 * the path, and after a tab the content or the link's target. */
#define _GNU_SOURCE
#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/openat2.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fahr.h"

static int never_interrupted(void)
{
    return 0;
}
static void quiet_log(enum fahr_log_level level, const char *fmt, ...)
{
    (void)level, (void)fmt;
}
static const struct fahr_host host = {.size = sizeof host, .log = quiet_log,
                                      .interrupted = never_interrupted};

/* root/canary and root/box/dest: the model goes into dest; root and box
 * must hold exactly what they held. */
static char root[64], box[96], dest[128], canary[96];

static void add_entry(struct archive *tar, const char *data, size_t length)
{
    if (length < 2)
        return;
    /* One NUL-terminated copy, cut at the tab: the path, then the value. */
    char *line = malloc(length + 1);
    memcpy(line, data, length);
    line[length] = '\0';
    char *tab = memchr(line, '\t', length);
    if (tab != NULL)
        *tab = '\0';
    const char *path = line + 1, *value = tab ? tab + 1 : "";
    struct archive_entry *entry = archive_entry_new();
    archive_entry_set_pathname(entry, path);
    archive_entry_set_perm(entry, 0755);
    switch (line[0]) {
    case 'd': archive_entry_set_filetype(entry, AE_IFDIR); break;
    case 'l':
        archive_entry_set_filetype(entry, AE_IFLNK);
        archive_entry_set_symlink(entry, value);
        break;
    case 'h':
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_hardlink(entry, value);
        break;
    case 'p': archive_entry_set_filetype(entry, AE_IFIFO); break;
    default:
        archive_entry_set_filetype(entry, AE_IFREG);
        archive_entry_set_size(entry, (la_int64_t)strlen(value));
    }
    if (archive_write_header(tar, entry) == ARCHIVE_OK && line[0] != 'h' && line[0] != 'l')
        archive_write_data(tar, value, strlen(value));
    archive_entry_free(entry);
    free(line);
}

/* The input as a tar stream in a file of its own, at its start. */
static int archive_of(const uint8_t *data, size_t size)
{
    int fd = memfd_create("archive", MFD_CLOEXEC);
    if (size > 262 && memcmp(data + 257, "ustar", 5) == 0) {
        if (write(fd, data, size) != (ssize_t)size)
            abort();
    } else {
        struct archive *tar = archive_write_new();
        archive_write_set_format_pax_restricted(tar);
        archive_write_open_fd(tar, fd);
        for (size_t start = 0; start < size;) {
            const uint8_t *end = memchr(data + start, '\n', size - start);
            size_t length = end ? (size_t)(end - data) - start : size - start;
            add_entry(tar, (const char *)data + start, length);
            start += length + 1;
        }
        archive_write_close(tar);
        archive_write_free(tar);
    }
    lseek(fd, 0, SEEK_SET);
    return fd;
}

static size_t entries_in(const char *dir)
{
    DIR *d = opendir(dir);
    size_t n = 0;
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static int dest_fd = -1;
static ino_t linked_inodes[4096];
static nlink_t links_inside[4096], links_total[4096];
static size_t linked_count;

/* Each thing unpacked: a link must resolve, beneath dest (a dangling one
 * is refused); a file's every name must be inside. */
static int check_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)type, (void)ftw;
    const char *relative = path + strlen(dest) + 1;
    if (S_ISLNK(st->st_mode) && strcmp(relative, "up") != 0) { /* "up": the user's */
        struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                               .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS};
        long fd = syscall(SYS_openat2, dest_fd, relative, &how, sizeof how);
        if (fd < 0)
            abort(); /* a link that leads out, or nowhere, was let through */
        close((int)fd);
    } else if (S_ISREG(st->st_mode) && st->st_nlink > 1) {
        size_t i = 0;
        while (i < linked_count && linked_inodes[i] != st->st_ino)
            i++;
        if (i == linked_count && linked_count < 4096) {
            linked_inodes[linked_count] = st->st_ino;
            links_total[linked_count++] = st->st_nlink;
        }
        links_inside[i]++;
    }
    return 0;
}

static int remove_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
    (void)type, (void)ftw;
    if (S_ISDIR(st->st_mode))
        chmod(path, 0700);
    return remove(path);
}

static void remove_root(void)
{
    nftw(root, remove_one, 32, FTW_PHYS | FTW_DEPTH);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (root[0] == '\0') {
        snprintf(root, sizeof root, "/tmp/fahr-fuzz-unpack.XXXXXX");
        if (mkdtemp(root) == NULL)
            abort();
        atexit(remove_root);
        /* As fahr's main(): an unpacker that refuses stops reading its pipe. */
        signal(SIGPIPE, SIG_IGN);
        snprintf(box, sizeof box, "%s/box", root);
        snprintf(canary, sizeof canary, "%s/canary", root);
        FILE *file = fopen(canary, "w");
        fputs("canary", file);
        fclose(file);
    }
    mkdir(box, 0755);
    snprintf(dest, sizeof dest, "%s/dest", box);
    mkdir(dest, 0755);
    char user_link[160];
    snprintf(user_link, sizeof user_link, "%s/up", dest);
    if (symlink("..", user_link) != 0)
        abort(); /* the user's own link out: the archive must not use it */

    int fd = archive_of(data, size);
    struct fahr_error err;
    place_archive_fd(&host, fd, dest, size % 2 == 0, &err);
    close(fd);

    if (entries_in(root) != 2 || entries_in(box) != 1)
        abort(); /* something appeared beside dest */
    struct stat st;
    if (stat(canary, &st) != 0 || st.st_size != 6 || st.st_nlink != 1)
        abort();
    dest_fd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    linked_count = 0;
    memset(links_inside, 0, sizeof links_inside);
    nftw(dest, check_one, 32, FTW_PHYS);
    for (size_t i = 0; i < linked_count; i++)
        if (links_inside[i] != links_total[i])
            abort(); /* a hard link to a file outside */
    DIR *d = fdopendir(dest_fd);
    for (struct dirent *e; d && (e = readdir(d)) != NULL;)
        if (strncmp(e->d_name, ".fahr-fetch-", 12) == 0 && strlen(e->d_name) == 18)
            abort(); /* a staging directory left behind (the archive may not use the name) */
    if (d)
        closedir(d);
    /* Paths past PATH_MAX, which nftw cannot remove: rm can. */
    if (nftw(dest, remove_one, 32, FTW_PHYS | FTW_DEPTH) != 0) {
        char command[256];
        snprintf(command, sizeof command, "rm -rf '%s'", dest);
        if (system(command) != 0)
            abort();
    }
    return 0;
}
