/* source.c: what Kaggle runs. Kaggle runs the script or notebook itself,
 * with no image and no /opt/ml; the same training script must run there
 * unchanged, so the driver puts a short prelude before it (a first cell of
 * a notebook) that recreates SageMaker's container contract:
 *   /opt/ml/model              -> /kaggle/working/model (Kaggle keeps
 *                                 /kaggle/working as the session's output)
 *   /opt/ml/input/config/hyperparameters.json   the --hp values (and
 *                              inputdataconfig.json, resourceconfig.json and
 *                              TRAINING_JOB_NAME, the kernel, as SageMaker)
 *   /opt/ml/input/data/NAME    -> where Kaggle mounted the input's source
 *   requirements.txt beside the artifact, pip-installed (internet on only)
 * Its settings travel as one JSON string, so nothing the user typed is
 * ever read as Python. */
#define _GNU_SOURCE /* asprintf */
#include "kaggle.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SOURCE_MAX (16u << 20)

static const char prelude_code[] =
    "# Added by fahr's kaggle driver: SageMaker's container contract on Kaggle.\n"
    "def _fahr_contract(config):\n"
    "    import atexit, json, os, subprocess, sys\n"
    "    def report_failure():  # the contract's reason, into Kaggle's failure message\n"
    "        try:\n"
    "            with open('/opt/ml/output/failure') as f:\n"
    "                sys.stderr.write(f.read(1024).strip() + '\\n')\n"
    "        except OSError:\n"
    "            pass\n"
    "    atexit.register(report_failure)\n"
    "    os.makedirs('/kaggle/working/model', exist_ok=True)\n"
    "    for d in ('/opt/ml/input/config', '/opt/ml/input/data', '/opt/ml/output'):\n"
    "        os.makedirs(d, exist_ok=True)\n"
    "    if not os.path.lexists('/opt/ml/model'):\n"
    "        os.symlink('/kaggle/working/model', '/opt/ml/model')\n"
    "    with open('/opt/ml/input/config/hyperparameters.json', 'w') as f:\n"
    "        json.dump(config['hyperparameters'], f)\n"
    "    with open('/opt/ml/input/config/inputdataconfig.json', 'w') as f:\n"
    "        json.dump({name: {'TrainingInputMode': 'File', 'RecordWrapperType': 'None',\n"
    "                          'S3DistributionType': 'FullyReplicated'}\n"
    "                   for name in config['channels']}, f)\n"
    "    with open('/opt/ml/input/config/resourceconfig.json', 'w') as f:\n"
    "        json.dump({'current_host': 'algo-1', 'hosts': ['algo-1'],\n"
    "                   'network_interface_name': 'eth0'}, f)\n"
    "    os.environ.setdefault('TRAINING_JOB_NAME', config['job'])\n"
    "    for name, places in config['channels'].items():\n"
    "        found = [p for p in places if os.path.exists(p)]\n"
    "        if not found:\n"
    "            sys.exit('fahr: input %s: Kaggle mounted none of %s' % (name, ', '.join(places)))\n"
    "        if not os.path.lexists('/opt/ml/input/data/' + name):\n"
    "            os.symlink(found[0], '/opt/ml/input/data/' + name)\n"
    "    if config['requirements'] is not None:\n"
    "        with open('/tmp/fahr-requirements.txt', 'w') as f:\n"
    "            f.write(config['requirements'])\n"
    "        subprocess.check_call([sys.executable, '-m', 'pip', 'install', '--quiet',\n"
    "                               '-r', '/tmp/fahr-requirements.txt'])\n"
    "_fahr_contract(__import__('json').loads(";
/* ...the settings' string literal, then: */
static const char prelude_end[] =
    "))\n"
    "del _fahr_contract\n"
    "# End of fahr's prelude.\n";

/* A whole file as text (NUL-terminated); NULL and *missing if absent. */
static char *read_text(const char *path, size_t *length, int *missing, struct fahr_error *err)
{
    FILE *file = fopen(path, "rb");
    *missing = file == NULL && errno == ENOENT;
    if (file == NULL)
        return fahr_error_set(err, FAHR_EFAIL, "cannot read %s: %s", path, strerror(errno)),
               NULL;
    char *text = malloc(SOURCE_MAX + 1);
    *length = text ? fread(text, 1, SOURCE_MAX + 1, file) : 0;
    int bad = text == NULL || ferror(file) || *length > SOURCE_MAX;
    fclose(file);
    if (bad) {
        free(text);
        return fahr_error_set(err, FAHR_EINVAL, "cannot read %s (or it is over 16 MiB)", path),
               NULL;
    }
    text[*length] = '\0';
    return text;
}

/* Where Kaggle mounts each kind of source: /kaggle/input/<slug> as it
 * always did, or the newer /kaggle/input/<kind>/<owner>/<slug>. */
static json_t *places_of(const char *given)
{
    struct kaggle_source source = {.path = ""};
    kaggle_source_parse(given, &source); /* checked: it is one */
    const char *path = source.path, *slash = strchr(path, '/');
    json_t *places = json_array();
    if (source.kind == KAGGLE_COMPETITION) {
        json_array_append_new(places, json_sprintf("/kaggle/input/%s", path));
        json_array_append_new(places, json_sprintf("/kaggle/input/competitions/%s", path));
    } else if (source.kind == KAGGLE_MODEL) {
        json_array_append_new(places, json_sprintf("/kaggle/input/%s", slash + 1));
        json_array_append_new(places, json_sprintf("/kaggle/input/models/%s", path));
    } else {
        const char *kind = source.kind == KAGGLE_KERNEL ? "notebooks" : "datasets";
        json_array_append_new(places, json_sprintf("/kaggle/input/%s", slash + 1));
        json_array_append_new(places, json_sprintf("/kaggle/input/%s/%s", kind, path));
    }
    return places;
}

/* The prelude's settings: {hyperparameters, channels, requirements}. */
static json_t *prelude_config(const struct fahr_train_request *request, const char *job,
                              int internet, struct fahr_error *err)
{
    json_t *hp = json_object(), *channels = json_object();
    for (size_t i = 0; i < request->hyperparameter_count; i++)
        json_object_set_new(hp, request->hyperparameters[i].key,
                            json_string(request->hyperparameters[i].value));
    for (size_t i = 0; i < request->channel_count; i++)
        json_object_set_new(channels, request->channels[i].name,
                            places_of(request->channels[i].source));
    char path[4096];
    size_t length = 0;
    int missing = 0;
    snprintf(path, sizeof path, "%s/requirements.txt", request->context_dir);
    struct fahr_error why;
    char *requirements = read_text(path, &length, &missing, &why);
    json_t *wanted = json_null();
    if (requirements == NULL && !missing) {
        *err = why;
        wanted = NULL;
    } else if (requirements != NULL && !internet) {
        kaggle_host->log(FAHR_LOG_WARN, "requirements.txt is not installed: the kernel has no "
                         "internet (set --config.internet=true)");
    } else if (requirements != NULL && (wanted = json_stringn(requirements, length)) == NULL) {
        fahr_error_set(err, FAHR_EINVAL, "%s is not UTF-8 text", path);
    }
    free(requirements);
    if (wanted == NULL) {
        json_decref(hp);
        json_decref(channels);
        return NULL;
    }
    return json_pack("{s:o, s:o, s:o, s:s}", "hyperparameters", hp, "channels", channels,
                     "requirements", wanted, "job", job);
}

/* The prelude with its settings in a Python string literal (JSON's string
 * escapes are Python's too). */
static char *prelude(const struct fahr_train_request *request, const char *job, int internet,
                     struct fahr_error *err)
{
    json_t *config = prelude_config(request, job, internet, err);
    char *text = config ? json_dumps(config, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_t *literal = text ? json_string(text) : NULL;
    char *quoted = literal ? json_dumps(literal, JSON_ENCODE_ANY | JSON_ENSURE_ASCII) : NULL;
    char *code = NULL;
    if (quoted != NULL && asprintf(&code, "%s%s%s", prelude_code, quoted, prelude_end) < 0)
        code = NULL;
    if (config != NULL && code == NULL)
        fahr_error_set(err, FAHR_EFAIL, "out of memory");
    json_decref(config);
    json_decref(literal);
    free(text);
    free(quoted);
    return code;
}

/* A cell's source as one string, as Kaggle takes it. */
static json_t *joined(const json_t *source)
{
    if (json_is_string(source))
        return json_copy((json_t *)source);
    size_t i, length = 0;
    json_t *piece;
    json_array_foreach(source, i, piece) length += json_string_length(piece);
    char *text = calloc(1, length + 1);
    if (text == NULL)
        return NULL;
    length = 0;
    json_array_foreach(source, i, piece) {
        memcpy(text + length, json_string_value(piece), json_string_length(piece));
        length += json_string_length(piece);
    }
    json_t *result = json_stringn(text, length);
    free(text);
    return result;
}

/* The notebook with its outputs cleared, its sources joined, and the
 * prelude as its first cell. */
static char *notebook_text(const char *path, const char *code, struct fahr_error *err)
{
    json_error_t why;
    json_t *notebook = json_load_file(path, 0, &why), *cell;
    json_t *cells = json_object_get(notebook, "cells");
    if (!json_is_array(cells)) {
        json_decref(notebook);
        return fahr_error_set(err, FAHR_EINVAL, "%s is not a Jupyter notebook (line %d: %s)",
                              path, why.line, json_is_object(notebook) ? "no cells" : why.text),
               NULL;
    }
    size_t i;
    json_array_foreach(cells, i, cell) {
        json_object_set_new(cell, "source", joined(json_object_get(cell, "source")));
        if (json_object_get(cell, "outputs") != NULL)
            json_object_set_new(cell, "outputs", json_array());
        if (json_object_get(cell, "execution_count") != NULL)
            json_object_set_new(cell, "execution_count", json_null());
    }
    json_t *prelude_cell = json_pack("{s:s, s:n, s:{}, s:[], s:s}", "cell_type", "code",
                                     "execution_count", "metadata", "outputs", "source", code);
    /* nbformat 4.5 gives every cell an id (and 4.4 takes none). */
    if (json_integer_value(json_object_get(notebook, "nbformat_minor")) >= 5)
        json_object_set_new(prelude_cell, "id", json_string("fahr-prelude"));
    json_array_insert_new(cells, 0, prelude_cell);
    char *text = json_dumps(notebook, JSON_COMPACT);
    json_decref(notebook);
    return text;
}

/* The script with the prelude after its docstring and future imports
 * (future.c), on lines of its own. */
static char *script_with_prelude(const char *script, size_t size, const char *code,
                                 struct fahr_error *err)
{
    size_t head = kaggle_prelude_offset(script, size);
    const char *newline = head > 0 && script[head - 1] != '\n' ? "\n" : "";
    char *text = NULL;
    if (asprintf(&text, "%.*s%s%s\n%s", (int)head, script, newline, code, script + head) < 0) {
        fahr_error_set(err, FAHR_EFAIL, "out of memory");
        return NULL;
    }
    return text;
}

char *kaggle_kernel_text(const struct fahr_train_request *request, const char *job,
                         int internet, int *notebook, struct fahr_error *err)
{
    size_t length = strlen(request->artifact_path), size = 0;
    *notebook = length > 6 && strcmp(request->artifact_path + length - 6, ".ipynb") == 0;
    char *code = prelude(request, job, internet, err), *text = NULL, *script = NULL;
    int missing;
    if (code != NULL && *notebook)
        text = notebook_text(request->artifact_path, code, err);
    else if (code != NULL && (script = read_text(request->artifact_path, &size, &missing, err)))
        text = script_with_prelude(script, size, code, err);
    free(code);
    free(script);
    return text;
}
