/* core/output_json.c: --output json, the form for scripts: one JSON object
 * a line on stdout (JSON Lines), each with "schema": "fahr/1" and a "type"
 * (the README's "Output for scripts" lists them). fit's events (built,
 * pushed, submitted, a state change, a log line, done) pass through here in
 * either form, so that text and JSON are two renderings of the same events.
 *
 * Strings come from services and files: a control character is escaped by
 * jansson, and what is not UTF-8 is replaced with U+FFFD first (jansson
 * refuses it), so every line is valid JSON whatever a service answered. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static enum output_form form = OUTPUT_TEXT;

void output_set_form(enum output_form chosen)
{
    form = chosen;
}

bool output_is_json(void)
{
    return form == OUTPUT_JSON;
}

/* The length of the valid UTF-8 sequence at `s` (of `left` bytes), or 0:
 * no overlong form, no surrogate, nothing above U+10FFFF (RFC 3629). */
static size_t utf8_sequence(const unsigned char *s, size_t left)
{
    if (s[0] < 0x80)
        return 1;
    size_t length = s[0] >= 0xc2 && s[0] <= 0xdf   ? 2
                    : s[0] >= 0xe0 && s[0] <= 0xef ? 3
                    : s[0] >= 0xf0 && s[0] <= 0xf4 ? 4
                                                   : 0;
    if (length == 0 || length > left)
        return 0;
    for (size_t i = 1; i < length; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] > 0x9f) ||
        (s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] > 0x8f))
        return 0;
    return length;
}

/* `text` as a JSON string, each byte that starts no valid UTF-8 sequence
 * replaced with U+FFFD; NULL gives null. */
json_t *output_string(const char *text, size_t length)
{
    if (text == NULL)
        return json_null();
    char *clean = malloc(3 * length + 1);
    if (clean == NULL)
        abort(); /* as memory.c does */
    size_t used = 0;
    const unsigned char *s = (const unsigned char *)text;
    for (size_t i = 0; i < length;) {
        size_t n = utf8_sequence(s + i, length - i);
        if (n == 0) {
            memcpy(clean + used, "\xef\xbf\xbd", 3);
            used += 3;
            i++;
        } else {
            memcpy(clean + used, s + i, n);
            used += n;
            i += n;
        }
    }
    json_t *value = json_stringn(clean, used);
    free(clean);
    return value != NULL ? value : json_null();
}

json_t *output_object(const char *type)
{
    json_t *object = json_object();
    json_object_set_new(object, "schema", json_string(OUTPUT_SCHEMA));
    json_object_set_new(object, "type", json_string(type));
    return object;
}

void output_set_string(json_t *object, const char *key, const char *value)
{
    json_object_set_new(object, key, output_string(value, value ? strlen(value) : 0));
}

/* "" is no value: null. */
void output_set_text(json_t *object, const char *key, const char *value)
{
    output_set_string(object, key, value && value[0] ? value : NULL);
}

void output_set_int(json_t *object, const char *key, long long value)
{
    json_object_set_new(object, key, json_integer(value));
}

int output_write(json_t *object)
{
    char *line = json_dumps(object, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(object);
    if (line == NULL)
        return -1;
    int rc = puts(line) < 0 || fflush(stdout) != 0 ? -1 : 0;
    free(line);
    return rc;
}

/* ---- fit's events ------------------------------------------------------- */

/* What the events of this run said, for done. */
static struct {
    char job_id[FAHR_JOB_ID_MAX];
    char state[32];
    char model[FAHR_URI_MAX];
    char reason[1024];
} seen;

void event_built(const char *image, const char *driver)
{
    if (!output_is_json())
        return; /* the build driver's own lines said it */
    json_t *object = output_object("built");
    output_set_string(object, "image", image);
    output_set_string(object, "driver", driver);
    output_write(object);
}

void event_pushed(const char *image, const char *driver)
{
    if (!output_is_json())
        return;
    json_t *object = output_object("pushed");
    output_set_string(object, "image", image);
    output_set_string(object, "driver", driver);
    output_write(object);
}

void event_submitted(const char *job_id, const char *driver)
{
    snprintf(seen.job_id, sizeof seen.job_id, "%s", job_id);
    if (!output_is_json()) {
        printf("%s\n", job_id);
        fflush(stdout);
        return;
    }
    json_t *object = output_object("submitted");
    output_set_string(object, "job", job_id);
    output_set_string(object, "driver", driver);
    output_write(object);
}

void event_job_state(const char *job_id, const char *state, const char *detail,
                     const char *reason)
{
    snprintf(seen.state, sizeof seen.state, "%s", state);
    snprintf(seen.reason, sizeof seen.reason, "%s", reason);
    if (!output_is_json()) {
        host_info("job %s: %s%s%s", job_id, state, detail[0] ? ": " : "", detail);
        return;
    }
    json_t *object = output_object("status");
    output_set_string(object, "job", job_id);
    output_set_string(object, "state", state);
    output_set_text(object, "detail", detail);
    output_set_text(object, "reason", reason);
    output_write(object);
}

int event_log_line(FILE *text_out, const char *job_id, const char *line, size_t length)
{
    if (!output_is_json())
        return fprintf(text_out, "%.*s\n", (int)length, line) < 0 || ferror(text_out) ? -1 : 0;
    json_t *object = output_object("log");
    output_set_string(object, "job", job_id);
    json_object_set_new(object, "line", output_string(line, length));
    return output_write(object);
}

void event_model(const char *model)
{
    snprintf(seen.model, sizeof seen.model, "%s", model);
    if (!output_is_json())
        host_info("model: %s", model);
}

void event_done(int exit_code, const char *model_dir)
{
    if (!output_is_json()) {
        if (model_dir != NULL)
            printf("%s\n", model_dir);
        return;
    }
    json_t *object = output_object("done");
    output_set_text(object, "job", seen.job_id);
    output_set_text(object, "state", seen.state);
    output_set_int(object, "exit_code", exit_code);
    output_set_text(object, "reason", seen.reason);
    output_set_text(object, "model", seen.model);
    output_set_string(object, "model_dir", model_dir);
    output_write(object);
}
