/* core/artifact.c: the training artifact a command is given: a .py script
 * or an .ipynb notebook (the extension in any case), checked before any
 * driver runs, so that a broken notebook is refused before a build. */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "cli.h"

static bool artifact_is_notebook(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL && strcasecmp(dot, ".ipynb") == 0;
}

static bool artifact_is_script(const char *path)
{
    const char *dot = strrchr(path, '.');
    return dot != NULL && strcasecmp(dot, ".py") == 0;
}

/* A notebook is JSON with a list of cells (nbformat 4, what nbconvert
 * runs). Prints why not and returns false. */
static bool notebook_is_valid(const char *path)
{
    json_error_t error;
    json_t *notebook = json_load_file(path, JSON_REJECT_DUPLICATES, &error);
    if (notebook == NULL) {
        host_error("'%s' is not a valid notebook: %s (line %d, column %d)", path, error.text,
                   error.line, error.column);
        return false;
    }
    json_t *cells = json_object_get(notebook, "cells");
    json_t *format = json_object_get(notebook, "nbformat");
    bool valid = json_is_array(cells) && json_is_integer(format) &&
                 json_integer_value(format) >= 4;
    if (!valid)
        host_error("'%s' is not a valid notebook: %s", path,
                   !json_is_array(cells) ? "it has no list of cells"
                                         : "it is not in nbformat 4 or later");
    json_decref(notebook);
    return valid;
}

int artifact_resolve(const char *path, struct artifact *artifact)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        host_error("'%s': %s", path, strerror(errno));
        return FAHR_EXIT_USAGE;
    }
    if (!S_ISREG(st.st_mode)) {
        host_error("'%s' is not a file; give the .py or .ipynb to train", path);
        return FAHR_EXIT_USAGE;
    }
    if (!artifact_is_script(path) && !artifact_is_notebook(path)) {
        host_error("'%s' is neither a .py script nor an .ipynb notebook", path);
        return FAHR_EXIT_USAGE;
    }
    if (artifact_is_notebook(path) && !notebook_is_valid(path))
        return FAHR_EXIT_USAGE;
    char *absolute = realpath(path, NULL);
    if (absolute == NULL || strlen(absolute) >= sizeof artifact->path) {
        host_error("'%s': %s", path, absolute ? "path too long" : strerror(errno));
        free(absolute);
        return FAHR_EXIT_USAGE;
    }
    strcpy(artifact->path, absolute);
    free(absolute);
    strcpy(artifact->dir, artifact->path);
    *strrchr(artifact->dir, '/') = '\0';
    if (artifact->dir[0] == '\0')
        strcpy(artifact->dir, "/");
    if (image_name_from_path(artifact->path, artifact->image_name, sizeof artifact->image_name) !=
        FAHR_OK) {
        host_error("'%s': cannot derive an image name from this file name", path);
        return FAHR_EXIT_USAGE;
    }
    return FAHR_EXIT_OK;
}
