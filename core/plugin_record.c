/* core/plugin_record.c: what a scan learns of a plugin, and the text form
 * it travels in: from the scanning child through a pipe, and into the cache
 * file. Both are read as untrusted bytes: every string is length-prefixed
 * and bounded, and anything malformed is rejected whole.
 *
 * A record is one of
 *   skip REASON\n
 *   driver KIND ABI NAME VERSION DESCRIPTION INPUT TRAIN_FLAGS KEYS\n
 *   key NAME TYPE FLAGS DEFAULT HELP DEFAULT_ENV SCHEME\n    (KEYS times)
 * where a string is LENGTH:BYTES, or - for NULL. */
#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "plugin_load.h"

static char *copy_or_null(const char *s)
{
    return s == NULL ? NULL : xstrdup(s);
}

static bool same_string(const char *a, const char *b)
{
    return (a == NULL || b == NULL) ? a == b : strcmp(a, b) == 0;
}

void copy_versioned(void *ours, size_t our_size, const void *theirs, uint32_t their_size)
{
    memset(ours, 0, our_size);
    if (theirs != NULL)
        memcpy(ours, theirs, their_size < our_size ? their_size : our_size);
}

void file_id_of(const struct stat *st, struct plugin_file_id *id)
{
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime_sec = (int64_t)st->st_mtim.tv_sec;
    id->mtime_nsec = (int64_t)st->st_mtim.tv_nsec;
}

bool file_id_equal(const struct plugin_file_id *a, const struct plugin_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime_sec == b->mtime_sec && a->mtime_nsec == b->mtime_nsec;
}

void record_free(struct plugin_record *record)
{
    free(record->skip_reason);
    free(record->name);
    free(record->version);
    free(record->description);
    for (size_t i = 0; i < record->key_count; i++) {
        free((char *)record->keys[i].name);
        free((char *)record->keys[i].default_value);
        free((char *)record->keys[i].help);
        free((char *)record->keys[i].default_env);
        free((char *)record->keys[i].scheme);
    }
    free(record->keys);
    memset(record, 0, sizeof *record);
}

/* Room for `count` keys and the NULL-named end, zeroed. */
static struct fahr_config_key2 *new_keys(size_t count)
{
    struct fahr_config_key2 *keys = calloc(count + 1, sizeof *keys);
    if (keys == NULL)
        abort();
    for (size_t i = 0; i <= count; i++)
        keys[i].size = sizeof *keys;
    return keys;
}

void record_copy(struct plugin_record *to, const struct plugin_record *from)
{
    memset(to, 0, sizeof *to);
    to->skip_reason = copy_or_null(from->skip_reason);
    to->kind = from->kind;
    to->abi_version = from->abi_version;
    to->name = copy_or_null(from->name);
    to->version = copy_or_null(from->version);
    to->description = copy_or_null(from->description);
    to->train_input = from->train_input;
    to->train_flags = from->train_flags;
    if (from->skip_reason != NULL)
        return;
    to->keys = new_keys(from->key_count);
    to->key_count = from->key_count;
    for (size_t i = 0; i < from->key_count; i++) {
        to->keys[i] = from->keys[i];
        to->keys[i].name = copy_or_null(from->keys[i].name);
        to->keys[i].default_value = copy_or_null(from->keys[i].default_value);
        to->keys[i].help = copy_or_null(from->keys[i].help);
        to->keys[i].default_env = copy_or_null(from->keys[i].default_env);
        to->keys[i].scheme = copy_or_null(from->keys[i].scheme);
    }
}

bool record_equal(const struct plugin_record *a, const struct plugin_record *b)
{
    if (!same_string(a->skip_reason, b->skip_reason) || a->kind != b->kind ||
        a->abi_version != b->abi_version || !same_string(a->name, b->name) ||
        !same_string(a->version, b->version) || !same_string(a->description, b->description) ||
        a->key_count != b->key_count || a->train_input != b->train_input ||
        a->train_flags != b->train_flags)
        return false;
    for (size_t i = 0; i < a->key_count; i++) {
        const struct fahr_config_key2 *x = &a->keys[i], *y = &b->keys[i];
        if (!same_string(x->name, y->name) || x->type != y->type || x->flags != y->flags ||
            !same_string(x->default_value, y->default_value) || !same_string(x->help, y->help) ||
            !same_string(x->default_env, y->default_env) || !same_string(x->scheme, y->scheme))
            return false;
    }
    return true;
}

void record_skip(struct plugin_record *record, const char *fmt, ...)
{
    char reason[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason, sizeof reason, fmt, ap);
    va_end(ap);
    record_free(record);
    record->skip_reason = copy_or_null(reason);
}

/* A copy of a descriptor's string of at most `max` bytes into *out; false
 * if it is longer. Reading an unterminated string stops at max + 1. */
static bool bounded_copy(const char *s, size_t max, char **out)
{
    *out = NULL;
    if (s == NULL)
        return true;
    if (strnlen(s, max + 1) > max)
        return false;
    *out = copy_or_null(s);
    return true;
}

/* Where a descriptor's keys are: config_keys2 (preferred, each entry
 * sized) or config_keys. */
struct key_source {
    const struct fahr_config_key2 *const *keys2;
    const struct fahr_config_key *keys;
};

/* How many keys there are; RECORD_KEYS_MAX + 1 means too many, or a table
 * without its end. */
static size_t count_keys(const struct key_source *from)
{
    size_t count = 0;
    if (from->keys2 != NULL)
        while (count <= RECORD_KEYS_MAX && from->keys2[count] != NULL)
            count++;
    else
        while (from->keys != NULL && count <= RECORD_KEYS_MAX && from->keys[count].name != NULL)
            count++;
    return count;
}

/* Key i as a key2 holding only the members its driver compiled; false if a
 * key2 is too short to hold even the members of a 1.0 key. */
static bool read_key(const struct key_source *from, size_t i, struct fahr_config_key2 *key)
{
    if (from->keys2 == NULL) {
        const struct fahr_config_key *k = &from->keys[i];
        *key = (struct fahr_config_key2){.size = sizeof *key, .name = k->name, .type = k->type,
                                         .default_value = k->default_value, .help = k->help,
                                         .flags = k->flags};
        return true;
    }
    const struct fahr_config_key2 *k = from->keys2[i];
    if (k->size < offsetof(struct fahr_config_key2, flags) + sizeof k->flags)
        return false;
    copy_versioned(key, sizeof *key, k, k->size);
    key->size = sizeof *key;
    return true;
}

static bool copy_key(const struct fahr_config_key2 *in, struct fahr_config_key2 *out)
{
    out->type = in->type;
    out->flags = in->flags;
    return bounded_copy(in->name, RECORD_TEXT_MAX, (char **)&out->name) &&
           bounded_copy(in->default_value, RECORD_TEXT_MAX, (char **)&out->default_value) &&
           bounded_copy(in->help, RECORD_TEXT_MAX, (char **)&out->help) &&
           bounded_copy(in->default_env, RECORD_TEXT_MAX, (char **)&out->default_env) &&
           bounded_copy(in->scheme, RECORD_TEXT_MAX, (char **)&out->scheme);
}

/* A non-empty word of at most `max` bytes: its first byte from `first`, the
 * rest from `rest`. */
static bool is_word(const char *s, const char *first, const char *rest, size_t max)
{
    size_t len = strlen(s);
    return len > 0 && len <= max && strchr(first, s[0]) != NULL && strspn(s, rest) == len;
}

#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define DIGITS "0123456789"

/* What is wrong with a copied key's 1.1 members, or NULL. */
static const char *key_problem(const struct fahr_config_key2 *key, char *why, size_t why_size)
{
    const char *name = key->name ? key->name : "(unnamed)";
    if (key->name == NULL)
        snprintf(why, why_size, "a config key has no name");
    else if (key->default_env != NULL &&
             !is_word(key->default_env, UPPER LOWER "_", UPPER LOWER DIGITS "_", 128))
        snprintf(why, why_size, "config key '%s': default_env is no environment variable name",
                 name);
    else if (key->type == FAHR_CONFIG_URI &&
             (key->scheme == NULL || !is_word(key->scheme, LOWER, LOWER DIGITS "+.-", 32)))
        snprintf(why, why_size, "config key '%s' is a URI without a scheme like \"gs\"", name);
    else
        return NULL;
    return why;
}

/* What a train driver runs and takes, from its operations. */
static void read_train_ops(const struct fahr_plugin *desc, struct plugin_record *record)
{
    if (desc->kind != FAHR_DRIVER_TRAIN || !FAHR_HAS(desc, train) ||
        desc->train->size < sizeof(uint32_t))
        return;
    struct fahr_train_ops ops;
    copy_versioned(&ops, sizeof ops, desc->train, desc->train->size);
    record->train_input = ops.input;
    record->train_flags = ops.flags;
}

static const char *read_keys(const struct fahr_plugin *desc, struct plugin_record *record,
                             char *why, size_t why_size)
{
    struct key_source from = {FAHR_HAS(desc, config_keys2) ? desc->config_keys2 : NULL,
                              FAHR_HAS(desc, config_keys) ? desc->config_keys : NULL};
    size_t count = count_keys(&from);
    if (count > RECORD_KEYS_MAX) {
        snprintf(why, why_size, "more than %d config keys, or a key table without its end",
                 RECORD_KEYS_MAX);
        return why;
    }
    record->keys = new_keys(count);
    record->key_count = count;
    for (size_t i = 0; i < count; i++) {
        struct fahr_config_key2 key;
        if (!read_key(&from, i, &key)) {
            snprintf(why, why_size, "config key %zu is %u bytes, too short", i + 1,
                     from.keys2[i]->size);
            return why;
        }
        if (!copy_key(&key, &record->keys[i])) {
            snprintf(why, why_size, "a string of its descriptor is longer than %d bytes",
                     RECORD_TEXT_MAX);
            return why;
        }
        if (key_problem(&record->keys[i], why, why_size) != NULL)
            return why;
    }
    return NULL;
}

const char *record_from_descriptor(const struct fahr_plugin *desc, struct plugin_record *record,
                                   char *why, size_t why_size)
{
    memset(record, 0, sizeof *record);
    record->kind = desc->kind;
    record->abi_version = desc->abi_version;
    read_train_ops(desc, record);
    const char *problem = read_keys(desc, record, why, why_size);
    if (problem == NULL && !(bounded_copy(desc->name, RECORD_TEXT_MAX, &record->name) &&
                             bounded_copy(desc->version, RECORD_TEXT_MAX, &record->version) &&
                             bounded_copy(desc->description, RECORD_TEXT_MAX,
                                          &record->description))) {
        snprintf(why, why_size, "a string of its descriptor is longer than %d bytes",
                 RECORD_TEXT_MAX);
        problem = why;
    }
    if (problem != NULL)
        record_free(record);
    return problem;
}

/* ---- the text form -------------------------------------------------------- */

void text_append(struct text *text, const void *bytes, size_t len)
{
    if (text->len + len + 1 > text->cap) {
        size_t cap = text->cap ? text->cap : 256;
        while (cap < text->len + len + 1)
            cap *= 2;
        char *grown = realloc(text->data, cap);
        if (grown == NULL)
            abort();
        text->data = grown;
        text->cap = cap;
    }
    memcpy(text->data + text->len, bytes, len);
    text->len += len;
    text->data[text->len] = '\0';
}

void text_printf(struct text *text, const char *fmt, ...)
{
    char line[256];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= sizeof line)
        abort(); /* only short lines of numbers are printed this way */
    text_append(text, line, (size_t)n);
}

void text_free(struct text *text)
{
    free(text->data);
    memset(text, 0, sizeof *text);
}

void text_string(struct text *text, const char *s)
{
    if (s == NULL) {
        text_append(text, "-", 1);
        return;
    }
    text_printf(text, "%zu:", strlen(s));
    text_append(text, s, strlen(s));
}

uint64_t read_number(struct reader *r)
{
    uint64_t value = 0;
    const char *start = r->at;
    while (!r->bad && r->at < r->end && *r->at >= '0' && *r->at <= '9') {
        unsigned digit = (unsigned)(*r->at++ - '0');
        if (value > (UINT64_MAX - digit) / 10)
            r->bad = true;
        value = value * 10 + digit;
    }
    if (r->at == start)
        r->bad = true;
    return r->bad ? 0 : value;
}

int64_t read_signed(struct reader *r)
{
    bool negative = r->at < r->end && *r->at == '-';
    if (negative)
        r->at++;
    uint64_t magnitude = read_number(r);
    if (magnitude > INT64_MAX)
        r->bad = true;
    return r->bad ? 0 : negative ? -(int64_t)magnitude : (int64_t)magnitude;
}

void read_literal(struct reader *r, const char *literal)
{
    size_t len = strlen(literal);
    if (r->bad || (size_t)(r->end - r->at) < len || memcmp(r->at, literal, len) != 0)
        r->bad = true;
    else
        r->at += len;
}

char *read_string(struct reader *r, size_t max)
{
    if (!r->bad && r->at < r->end && *r->at == '-') {
        r->at++;
        return NULL;
    }
    uint64_t len = read_number(r);
    read_literal(r, ":");
    if (r->bad || len > max || len > (uint64_t)(r->end - r->at) || memchr(r->at, '\0', len)) {
        r->bad = true;
        return NULL;
    }
    char *s = strndup(r->at, (size_t)len);
    if (s == NULL)
        abort();
    r->at += len;
    return s;
}

void record_encode(struct text *out, const struct plugin_record *record)
{
    if (record->skip_reason != NULL) {
        text_append(out, "skip ", 5);
        text_string(out, record->skip_reason);
        text_append(out, "\n", 1);
        return;
    }
    text_printf(out, "driver %d %u ", (int)record->kind, record->abi_version);
    text_string(out, record->name);
    text_append(out, " ", 1);
    text_string(out, record->version);
    text_append(out, " ", 1);
    text_string(out, record->description);
    text_printf(out, " %d %u %zu\n", (int)record->train_input, record->train_flags,
                record->key_count);
    for (size_t i = 0; i < record->key_count; i++) {
        const struct fahr_config_key2 *key = &record->keys[i];
        text_append(out, "key ", 4);
        text_string(out, key->name);
        text_printf(out, " %d %u ", (int)key->type, key->flags);
        text_string(out, key->default_value);
        text_append(out, " ", 1);
        text_string(out, key->help);
        text_append(out, " ", 1);
        text_string(out, key->default_env);
        text_append(out, " ", 1);
        text_string(out, key->scheme);
        text_append(out, "\n", 1);
    }
}

static void decode_key(struct reader *in, struct fahr_config_key2 *key)
{
    read_literal(in, "key ");
    key->name = read_string(in, RECORD_TEXT_MAX);
    read_literal(in, " ");
    int64_t type = read_signed(in); /* as the plugin declared it, checked on use */
    read_literal(in, " ");
    uint64_t flags = read_number(in);
    read_literal(in, " ");
    key->default_value = read_string(in, RECORD_TEXT_MAX);
    read_literal(in, " ");
    key->help = read_string(in, RECORD_TEXT_MAX);
    read_literal(in, " ");
    key->default_env = read_string(in, RECORD_TEXT_MAX);
    read_literal(in, " ");
    key->scheme = read_string(in, RECORD_TEXT_MAX);
    read_literal(in, "\n");
    if (key->name == NULL || type < INT32_MIN || type > INT32_MAX || flags > UINT32_MAX)
        in->bad = true;
    key->type = in->bad ? 0 : (enum fahr_config_type)type;
    key->flags = in->bad ? 0 : (uint32_t)flags;
}

bool record_decode(struct reader *in, struct plugin_record *record)
{
    memset(record, 0, sizeof *record);
    if (!in->bad && in->end - in->at > 5 && memcmp(in->at, "skip ", 5) == 0) {
        in->at += 5;
        record->skip_reason = read_string(in, RECORD_TEXT_MAX);
        read_literal(in, "\n");
        if (record->skip_reason == NULL)
            in->bad = true;
    } else {
        read_literal(in, "driver ");
        uint64_t kind = read_number(in);
        read_literal(in, " ");
        uint64_t abi = read_number(in);
        read_literal(in, " ");
        record->name = read_string(in, RECORD_TEXT_MAX);
        read_literal(in, " ");
        record->version = read_string(in, RECORD_TEXT_MAX);
        read_literal(in, " ");
        record->description = read_string(in, RECORD_TEXT_MAX);
        read_literal(in, " ");
        int64_t input = read_signed(in); /* as the plugin declared it */
        read_literal(in, " ");
        uint64_t train_flags = read_number(in);
        read_literal(in, " ");
        uint64_t count = read_number(in);
        read_literal(in, "\n");
        if (record->name == NULL || (kind != FAHR_DRIVER_BUILD && kind != FAHR_DRIVER_TRAIN) ||
            abi > UINT32_MAX || count > RECORD_KEYS_MAX || input < INT32_MIN ||
            input > INT32_MAX || train_flags > UINT32_MAX)
            in->bad = true;
        record->train_input = in->bad ? 0 : (enum fahr_train_input)input;
        record->train_flags = in->bad ? 0 : (uint32_t)train_flags;
        record->kind = (enum fahr_driver_kind)kind;
        record->abi_version = (uint32_t)abi;
        record->keys = new_keys(in->bad ? 0 : (size_t)count);
        for (size_t i = 0; !in->bad && i < count; i++) {
            record->key_count = i + 1; /* so record_free frees a half-read key */
            decode_key(in, &record->keys[i]);
        }
    }
    if (in->bad)
        record_free(record);
    return !in->bad;
}
