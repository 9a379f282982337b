/* units.c: the driver's own checks of what the bench cannot vary: every
 * spelling of Kaggle's status enum, job ids, the accelerator shapes, and
 * where the prelude goes in a script.
 * Run by `meson test -C BUILD` of this project (TAP). */
#include "../kaggle.h"

#include <string.h>

static int failed, count;

static void expect(int ok, const char *what)
{
    count++;
    printf("%s %d - %s\n", ok ? "ok" : "not ok", count, what);
    failed |= !ok;
}

static void statuses(void)
{
    static const struct { const char *given; enum fahr_job_state state; } cases[] = {
        {"COMPLETE", FAHR_JOB_COMPLETED},
        {"complete", FAHR_JOB_COMPLETED},
        {"KERNEL_WORKER_STATUS_COMPLETE", FAHR_JOB_COMPLETED},
        {"kernel_worker_status_running", FAHR_JOB_RUNNING},
        {"cancelAcknowledged", FAHR_JOB_STOPPED},
        {"CANCEL_ACKNOWLEDGED", FAHR_JOB_STOPPED},
        {"cancelRequested", FAHR_JOB_RUNNING},
        {"QUEUED", FAHR_JOB_PENDING},
        {"newScript", FAHR_JOB_PENDING},
        {"error", FAHR_JOB_FAILED},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum fahr_job_state state = 0;
        char what[96];
        snprintf(what, sizeof what, "status %s", cases[i].given);
        expect(kaggle_state_of(cases[i].given, &state) && state == cases[i].state, what);
    }
    enum fahr_job_state state = 0;
    expect(!kaggle_state_of("FINISHED", &state), "an unknown status is not guessed");
    expect(!kaggle_state_of(NULL, &state), "no status");
}

static void job_ids(void)
{
    struct kaggle_job job;
    struct fahr_error err = {{0}};
    expect(kaggle_job_parse("alice/foo-model/12", &job, &err) == FAHR_OK &&
               strcmp(job.owner, "alice") == 0 && strcmp(job.slug, "foo-model") == 0 &&
               job.version == 12 && job.session == 0, "OWNER/SLUG/VERSION");
    expect(kaggle_job_parse("alice/foo-model/12/4021", &job, &err) == FAHR_OK &&
               strcmp(job.owner, "alice") == 0 && strcmp(job.slug, "foo-model") == 0 &&
               job.version == 12 && job.session == 4021, "OWNER/SLUG/VERSION/SESSION");
    const char *bad[] = {"alice/foo-model", "alice/foo-model/0", "alice/foo-model/1x",
                         "alice//1", "/foo-model/1", "Alice/foo-model/1", "a/b/c/1",
                         "alice/foo model/1", "alice/foo-model/-1", "",
                         "alice/foo-model/12/", "alice/foo-model/12/0", "alice/foo-model/12/x",
                         "alice/foo-model/12/1/2", "alice/foo-model/12/1234567890123456789"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "job id '%s' refused", bad[i]);
        expect(kaggle_job_parse(bad[i], &job, &err) == FAHR_EINVAL, what);
    }
}

static void sources(void)
{
    static const struct {
        const char *given, *path;
        enum kaggle_source_kind kind;
    } good[] = {
        {"kaggle:alice/numbers", "alice/numbers", KAGGLE_DATASET},
        {"kaggle://alice/numbers", "alice/numbers", KAGGLE_DATASET},
        {"kaggle-competition:titanic", "titanic", KAGGLE_COMPETITION},
        {"kaggle-competition://titanic", "titanic", KAGGLE_COMPETITION},
        {"kaggle-kernel:alice/prep-data", "alice/prep-data", KAGGLE_KERNEL},
        {"kaggle-model:google/gemma/PyTorch/2b", "google/gemma/PyTorch/2b", KAGGLE_MODEL},
        {"kaggle-model://google/gemma/PyTorch/2b/3", "google/gemma/PyTorch/2b/3", KAGGLE_MODEL},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct kaggle_source source = {.path = NULL};
        char what[96];
        snprintf(what, sizeof what, "source %s", good[i].given);
        expect(kaggle_source_parse(good[i].given, &source) && source.kind == good[i].kind &&
                   strcmp(source.path, good[i].path) == 0, what);
    }
    const char *bad[] = {"kaggle:alice", "kaggle:/alice/numbers", "kaggle:alice/numbers/",
                         "kaggle:Alice/numbers", "kaggle:alice//numbers", "kaggle-x:alice/n",
                         "kaggles:alice/numbers", "s3://alice/numbers", "kaggle-competition:a/b",
                         "kaggle-model:google/gemma/PyTorch", "kaggle:", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct kaggle_source source;
        char what[96];
        snprintf(what, sizeof what, "source '%s' refused", bad[i]);
        expect(!kaggle_source_parse(bad[i], &source), what);
    }
}

static void accelerators(void)
{
    struct fahr_error err = {{0}};
    int gpu, tpu;
    expect(kaggle_accelerator("none", &gpu, &tpu, &err) == FAHR_OK && !gpu && !tpu, "none");
    expect(kaggle_accelerator("NvidiaTeslaT4", &gpu, &tpu, &err) == FAHR_OK && gpu && !tpu,
           "a GPU shape");
    expect(kaggle_accelerator("TpuV5E8", &gpu, &tpu, &err) == FAHR_OK && !gpu && tpu,
           "a TPU shape");
    expect(kaggle_accelerator("nvidiateslat4", &gpu, &tpu, &err) == FAHR_EINVAL,
           "shapes are Kaggle's spelling");
}

/* Where the prelude goes: each script has a '@' where it must (removed
 * before the scan). */
static void prelude_offsets(void)
{
    static const char *const cases[] = {
        "@print(1)\n",
        "@# a comment\n\nimport os\n",
        "\"\"\"The model.\n\nfrom __future__ import x (in the text)\n\"\"\"\n@import os\n",
        "#!/usr/bin/env python3\n\"\"\"Doc.\"\"\"\n# c\n\nfrom __future__ import annotations\n"
        "@import os\n",
        "'''doc'''  # c\nfrom __future__ import annotations\nfrom __future__ import division\n"
        "@x = 1\nfrom __future__ import late\n",
        "from __future__ import (\n    annotations,  # why)\n    division,\n)\n@x = ('(')\n",
        "from __future__ import annotations, \\\n    division\n@x = 1\n",
        "from \\\n  __future__ import annotations\r\n@x = 1\r\n",
        "r'do\\'c'\nfrom __future__ import annotations@",
        "u\"doc\" \"more\"\nfrom __future__ import annotations; import os\n@x = 1\n",
        "\"\"\"doc\"\"\"\n@\"\"\"not a docstring\"\"\"\nfrom __future__ import x\n",
        "@f'doc'\nfrom __future__ import annotations\n",
        "@b'doc'\nfrom __future__ import annotations\n",
        "@'doc'.strip()\nfrom __future__ import annotations\n",
        "@from __futures__ import annotations\n",
        "@from __future__ import (annotations\n",
        "@'''unterminated\nfrom __future__ import annotations\n",
        "\xef\xbb\xbf@print(1)\n",
        "\xef\xbb\xbf'doc'\n@print(1)\n",
        "@",
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[512], what[96];
        const char *marker = strchr(cases[i], '@');
        size_t at = (size_t)(marker - cases[i]);
        snprintf(text, sizeof text, "%.*s%s", (int)at, cases[i], marker + 1);
        size_t found = kaggle_prelude_offset(text, strlen(text));
        snprintf(what, sizeof what, "prelude offset %zu (want %zu) in case %zu", found, at, i);
        expect(found == at, what);
    }
}

int main(void)
{
    statuses();
    job_ids();
    sources();
    accelerators();
    prelude_offsets();
    printf("1..%d\n", count);
    return failed;
}
