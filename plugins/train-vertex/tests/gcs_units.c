/* gcs_units.c: the Cloud Storage client against a scripted server: gs://
 * names, CRC32C as Cloud Storage writes it, paged listing, the resumable
 * upload resumed from the status query after a chunk broke, and the
 * parallel fetch that places nothing when one object arrives damaged. TAP. */
#define _GNU_SOURCE
#include "fake_host.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define ROOT "http://127.0.0.1:4/"
#define OBJECTS 30

static void names(void)
{
    char bucket[64], object[64];
    struct fahr_error err = {{0}};
    expect(vertex_gcs_parse("gs://my-bucket/a/b c", bucket, sizeof bucket, object,
                            sizeof object, &err) == FAHR_OK &&
               !strcmp(bucket, "my-bucket") && !strcmp(object, "a/b c"), "gs://B/P");
    expect(vertex_gcs_parse("gs://my-bucket", bucket, sizeof bucket, object, sizeof object,
                            &err) == FAHR_OK && object[0] == '\0', "gs://B");
    const char *bad[] = {"s3://b/x", "gs://", "gs://UPPER/x", "gs://ab/x", "gs://b\x01x/y",
                         "gs://bucket/a\nb", "gs://bucket/a/../b", "gs://bucket/./x",
                         "gs://bucket/x/.."};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        expect(vertex_gcs_parse(bad[i], bucket, sizeof bucket, object, sizeof object, &err) ==
                   FAHR_EINVAL, "a bad gs:// location refused");
    expect(vertex_gcs_parse("gs://bucket/a..b/.c/", bucket, sizeof bucket, object,
                            sizeof object, &err) == FAHR_OK, "dots inside a name are taken");
    char text[16];
    vertex_crc32c_base64(vertex_crc32c(0, "123456789", 9), text);
    expect(vertex_crc32c(0, "123456789", 9) == 0xE3069283u && !strcmp(text, "4waSgw=="),
           "CRC32C's check value, base64 of its big-endian bytes");
    expect(vertex_crc32c(vertex_crc32c(0, "1234", 4), "56789", 5) == 0xE3069283u,
           "CRC32C continued over pieces");
}

/* ---- the fetch's server: OBJECTS objects under model/, pages of 7 ---- */
static char contents[OBJECTS][64];
static int corrupt = -1, media_requests, foreign_requests, unsigned_requests;

/* The metadata server's token, for every test here. */
static int token_requests;

static int token_answer(const struct fake_request *request, struct fake_answer *answer)
{
    if (fake_metadata_answer(request, answer))
        return 1;
    if (strstr(request->url, "/computeMetadata/") == NULL)
        return 0;
    token_requests++;
    answer->status = 200;
    strcpy(answer->body, "{\"access_token\":\"tok\",\"expires_in\":3599}");
    return 1;
}

static void storage_server(const struct fake_request *request, struct fake_answer *answer)
{
    if (token_answer(request, answer))
        return;
    if (strncmp(request->url, ROOT, strlen(ROOT)) != 0)
        foreign_requests++;
    if (request->authorization == NULL || strcmp(request->authorization, "Bearer tok"))
        unsigned_requests++;
    const char *list = ROOT "storage/v1/b/bkt/o?prefix=run%2Fmodel%2F";
    if (strncmp(request->url, list, strlen(list)) == 0) {
        const char *token = strstr(request->url, "&pageToken=");
        int from = token ? atoi(token + 11) : 0, to = from + 7 < OBJECTS ? from + 7 : OBJECTS;
        json_t *items = json_array();
        if (from == 0) /* a folder placeholder, as Cloud Storage FUSE's mkdir leaves */
            json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "name", "run/model/sub/",
                                                   "size", "0", "crc32c", "AAAAAA=="));
        for (int i = from; i < to; i++) {
            char name[64], size[24], crc[16];
            snprintf(name, sizeof name, "run/model/%s%d.bin", i % 2 ? "sub/" : "", i);
            snprintf(size, sizeof size, "%zu", strlen(contents[i]));
            vertex_crc32c_base64(vertex_crc32c(0, contents[i], strlen(contents[i])), crc);
            json_array_append_new(items, json_pack("{s:s, s:s, s:s}", "name", name, "size",
                                                   size, "crc32c", crc));
        }
        json_t *page = json_pack("{s:o}", "items", items);
        if (to < OBJECTS)
            json_object_set_new(page, "nextPageToken", json_sprintf("%d", to));
        char *text = json_dumps(page, 0);
        snprintf(answer->body, sizeof answer->body, "%s", text);
        free(text), json_decref(page);
        answer->status = 200;
        return;
    }
    const char *media = ROOT "download/storage/v1/b/bkt/o/run%2Fmodel%2F";
    if (strncmp(request->url, media, strlen(media)) == 0 && strstr(request->url, "?alt=media")) {
        const char *name = request->url + strlen(media);
        if (strncmp(name, "sub%2F", 6) == 0)
            name += 6;
        int i = atoi(name);
        media_requests++;
        answer->status = 200;
        strcpy(answer->body, contents[i]);
        if (i == corrupt)
            answer->body[3] ^= 0x20;
        return;
    }
    answer->status = 404;
    strcpy(answer->body, "{\"error\":{\"code\":404,\"message\":\"No such object\","
                         "\"status\":\"NOT_FOUND\"}}");
}

static void fetch(struct vertex *vertex)
{
    struct fahr_error err = {{0}};
    for (int i = 0; i < OBJECTS; i++)
        snprintf(contents[i], sizeof contents[i], "object %d of the model, %d", i, i * 7919);
    fake_server = storage_server;
    fake_reset();
    corrupt = 17;
    int rc = vertex_gcs_fetch(vertex, "gs://bkt/run/model/", NULL, &err);
    expect(rc == FAHR_EFAIL && strstr(err.message, "gs://bkt/run/model/sub/17.bin came damaged"),
           "one damaged object fails the fetch, naming it");
    expect(fake_placed_files == 0, "and nothing is placed");
    fake_reset();
    corrupt = -1;
    media_requests = foreign_requests = unsigned_requests = 0;
    rc = vertex_gcs_fetch(vertex, "gs://bkt/run/model/", NULL, &err);
    expect(rc == FAHR_OK && fake_placed_files == OBJECTS && media_requests == OBJECTS,
           "every object of every page fetched and placed");
    if (rc != FAHR_OK)
        printf("# %s\n", err.message);
    expect(strstr(fake_placed_names, "sub/17.bin\n") && !strncmp(fake_placed_names, "0.bin\n", 6) &&
               !strstr(fake_placed_names, "run/"), "placed under names below the prefix");
    expect(foreign_requests == 0 && unsigned_requests == 0,
           "every request went to the storage root, with the token");
}

/* ---- the upload's server: a session that breaks the first chunk ---- */
#define FILE_SIZE ((9u << 20) + 100)
static unsigned char *stored, *local;
static uint64_t persisted_bytes;
static int breaks_left, bad_chunks, chunk_retries, sessions, expire_once;
static char ranges[1024], session_location[256];

static void upload_server(const struct fake_request *request, struct fake_answer *answer)
{
    if (token_answer(request, answer))
        return;
    if (!strcmp(request->method, "POST")) {
        sessions++;
        if (request->body == NULL || !strstr(request->body, "\"name\""))
            bad_chunks++; /* no Content-Length: Google answers 411 */
        answer->status = 200;
        answer->header[0][0] = "Location", answer->header[0][1] = session_location;
        return;
    }
    const char *range = fake_header(request, "Content-Range");
    unsigned long long first, last, total;
    strncat(ranges, range ? range : "-", sizeof ranges - strlen(ranges) - 2);
    strcat(ranges, ";");
    if (range && !strncmp(range, "bytes */", 8) && request->body == NULL)
        bad_chunks++; /* the status query needs its Content-Length: 0 */
    if (range && sscanf(range, "bytes %llu-%llu/%llu", &first, &last, &total) == 3) {
        if (expire_once && first > 0) {
            expire_once = 0;
            answer->status = 401;
            strcpy(answer->body, "{\"error\":{\"code\":401,\"message\":\"expired\"}}");
            return;
        }
        if (request->max_attempts != 1)
            chunk_retries++;
        if (last + 1 < total && (last + 1 - first) % (256 * 1024) != 0)
            bad_chunks++;
        if (first > persisted_bytes || request->body_length != last + 1 - first)
            bad_chunks++;
        if (breaks_left > 0) { /* a megabyte arrives, then the line drops */
            breaks_left--;
            memcpy(stored + first, request->body, 1 << 20);
            persisted_bytes = first + (1 << 20);
            answer->broken = 1;
            return;
        }
        memcpy(stored + first, request->body, request->body_length);
        persisted_bytes = last + 1;
    }
    if (persisted_bytes < FILE_SIZE) {
        answer->status = 308;
        static char persisted[64];
        snprintf(persisted, sizeof persisted, "bytes=0-%llu",
                 (unsigned long long)persisted_bytes - 1);
        answer->header[0][0] = "Range", answer->header[0][1] = persisted;
        return;
    }
    char crc[16];
    vertex_crc32c_base64(vertex_crc32c(0, stored, FILE_SIZE), crc);
    answer->status = 200;
    snprintf(answer->body, sizeof answer->body, "{\"name\":\"in/data.bin\",\"size\":\"%u\","
             "\"crc32c\":\"%s\"}", FILE_SIZE, crc);
}

static void upload(struct vertex *vertex, const char *dir)
{
    char path[512];
    struct fahr_error err = {{0}};
    snprintf(path, sizeof path, "%s/data.bin", dir);
    local = malloc(FILE_SIZE), stored = calloc(1, FILE_SIZE);
    for (uint32_t i = 0; i < FILE_SIZE; i++)
        local[i] = (unsigned char)(i * 2654435761u >> 13);
    FILE *file = fopen(path, "wb");
    fwrite(local, 1, FILE_SIZE, file);
    fclose(file);
    fake_server = upload_server;
    strcpy(session_location, ROOT "upload/storage/v1/b/bkt/o?uploadType=resumable&upload_id=u1");
    breaks_left = 1;
    int rc = vertex_gcs_upload(vertex, path, "gs://bkt/in/data.bin", &err);
    if (rc != FAHR_OK)
        printf("# %s\n", err.message);
    expect(rc == FAHR_OK && memcmp(stored, local, FILE_SIZE) == 0 && sessions == 1,
           "an upload broken in a chunk completes in one session, every byte in place");
    expect(!strcmp(ranges, "bytes 0-8388607/9437284;bytes */9437284;"
                           "bytes 1048576-9437183/9437284;bytes 9437184-9437283/9437284;"),
           "resumed from the status query's Range, chunks of 8 MiB");
    printf("# %s\n", ranges);
    expect(bad_chunks == 0 && chunk_retries == 0,
           "chunks are multiples of 256 KiB, not retried blindly by the host; a body for "
           "each Content-Length");
    memset(stored, 0, FILE_SIZE);
    persisted_bytes = 0, ranges[0] = '\0', expire_once = 1, token_requests = 0;
    rc = vertex_gcs_upload(vertex, path, "gs://bkt/in/data.bin", &err);
    expect(rc == FAHR_OK && memcmp(stored, local, FILE_SIZE) == 0 && token_requests == 1 &&
               !strcmp(ranges, "bytes 0-8388607/9437284;bytes 8388608-9437283/9437284;"
                               "bytes */9437284;bytes 8388608-9437283/9437284;"),
           "a token that expires mid-upload: a fresh one, the status query, then on");
    printf("# %s\n", ranges);
    strcpy(session_location, "http://elsewhere.example:4/upload?upload_id=u2");
    persisted_bytes = 0, ranges[0] = '\0';
    rc = vertex_gcs_upload(vertex, path, "gs://bkt/in/data.bin", &err);
    expect(rc == FAHR_EFAIL && ranges[0] == '\0' && strstr(err.message, "Location"),
           "a session at another host is refused before any byte or token goes there");
    free(local), free(stored);
}

int main(void)
{
    char dir[] = "/tmp/vertex-gcs-XXXXXX", command[600];
    if (mkdtemp(dir) == NULL)
        return 1;
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    setenv("CLOUDSDK_CONFIG", dir, 1);
    setenv("GCE_METADATA_HOST", "127.0.0.1:7", 1);
    setenv("CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE", ROOT "storage/v1/", 1);
    struct vertex vertex = {0};
    names();
    fetch(&vertex);
    upload(&vertex, dir);
    vertex_auth_close(vertex.auth);
    snprintf(command, sizeof command, "rm -rf %s %s", dir, fake_scratch);
    if (system(command) != 0)
        printf("# cannot remove %s\n", dir);
    return expect_done();
}
