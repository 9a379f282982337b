/* plugins/common/run_sh.c: run.sh, the image's entrypoint (see
 * build_driver.h), and the container contract it keeps. */
#include "build_driver.h"

#include <stdio.h>

/* The artifact name as one single-quoted shell word. */
static void emit_shell_quoted(struct build_text *text, const char *word)
{
    build_text_emit(text, "'");
    for (const char *p = word; *p; p++) {
        if (*p == '\'')
            build_text_emit(text, "'\\''");
        else
            build_text_emit(text, "%c", *p);
    }
    build_text_emit(text, "'");
}

/* How run.sh passes SIGTERM on to the training code, and why: the comment
 * it carries says. */
static const char run_sh_signals[] =
    "# SIGTERM (fahr stop, docker stop, SageMaker's StopTrainingJob and spot\n"
    "# interruptions) must reach the training code, which may save a checkpoint.\n"
    "# This shell is PID 1 in the container, which gets no default action for a\n"
    "# signal: it passes SIGTERM on to every other process of the container (the\n"
    "# script, a notebook's kernel, their workers), or to the script alone when\n"
    "# it is not PID 1. The script runs as its child rather than by exec, so that\n"
    "# the failure file is written however the script ends (in the background,\n"
    "# with stdin from /dev/null, as training services give none).\n"
    "script=\n"
    "signalled=no\n"
    "stopping=no\n"
    "pass_on_sigterm() {\n"
    "    signalled=yes\n"
    "    stopping=yes\n"
    "    if [ \"$$\" -eq 1 ]; then\n"
    "        kill -TERM -1 2>/dev/null || true\n"
    "    elif [ -n \"$script\" ]; then\n"
    "        kill -TERM \"$script\" 2>/dev/null || true\n"
    "    fi\n"
    "}\n\n"
    "# The exit status of the script started in the background as $1. A signal\n"
    "# ends `wait` early: wait again for the script's own status (127: the shell\n"
    "# had it already).\n"
    "wait_for_script() {\n"
    "    script=$1\n"
    "    status=0\n"
    "    wait \"$script\" || status=$?\n"
    "    while [ \"$signalled\" = yes ]; do\n"
    "        signalled=no\n"
    "        again=0\n"
    "        wait \"$script\" || again=$?\n"
    "        [ \"$again\" -eq 127 ] || status=$again\n"
    "    done\n"
    "    # PID 1's end ends the container: when stopping, let the processes the\n"
    "    # signal reached (a notebook's kernel saving a checkpoint) end first.\n"
    "    if [ \"$stopping\" = yes ] && [ \"$$\" -eq 1 ]; then\n"
    "        while kill -0 -1 2>/dev/null; do sleep 1 || break; done\n"
    "    fi\n"
    "    return \"$status\"\n"
    "}\n\n";

/* How run.sh runs a notebook: with nbconvert's executor, from Python rather
 * than nbconvert's command line, so that the executed notebook (outputs and
 * all) is kept beside the model also when a cell fails, the failing cell's
 * error becomes the failure reason, and the warnings that every run would
 * print (nbformat's about cells without ids, the kernel's debugger's about
 * frozen modules) are not. The kernel's output goes into the notebook, not
 * to the container's stdout: what the cells print is echoed there as it
 * arrives (stdout to stdout, stderr and a failing cell's traceback, without
 * its colours, to stderr), so that the job's log holds it as it holds a
 * script's, on every service. Single quotes never appear in it: it is one
 * single-quoted shell word. */
static const char run_sh_notebook_runner[] =
    "RUN_NOTEBOOK='\n"
    "import os, re, sys, warnings\n"
    "warnings.filterwarnings(\"ignore\", module=\"nbformat\")\n"
    "os.environ.setdefault(\"PYDEVD_DISABLE_FILE_VALIDATION\", \"1\")\n"
    "import nbformat\n"
    "from nbconvert.preprocessors import ExecutePreprocessor\n"
    "COLOURS = re.compile(r\"\\x1b\\[[0-9;]*[A-Za-z]\")\n"
    "class EchoingPreprocessor(ExecutePreprocessor):\n"
    "    def process_message(self, msg, cell, cell_index):\n"
    "        content = msg.get(\"content\", {})\n"
    "        text, out = None, sys.stdout\n"
    "        if msg.get(\"msg_type\") == \"stream\":\n"
    "            text = content.get(\"text\", \"\")\n"
    "            out = sys.stderr if content.get(\"name\") == \"stderr\" else sys.stdout\n"
    "        elif msg.get(\"msg_type\") == \"error\":\n"
    "            text = COLOURS.sub(\"\", \"\\n\".join(content.get(\"traceback\", []))) + \"\\n\"\n"
    "            out = sys.stderr\n"
    "        if text:\n"
    "            out.write(text)\n"
    "            out.flush()\n"
    "        return super().process_message(msg, cell, cell_index)\n"
    "name = sys.argv[1]\n"
    "notebook = nbformat.read(name, as_version=4)\n"
    "failure = None\n"
    "try:\n"
    "    EchoingPreprocessor(timeout=-1).preprocess(notebook, {\"metadata\": {\"path\": os.getcwd()}})\n"
    "except BaseException as error:\n"
    "    failure = error\n"
    "finally:\n"
    "    nbformat.write(notebook, os.path.join(\"/opt/ml/model\", os.path.basename(name)))\n"
    "if failure is not None:\n"
    "    cells = [n for n, cell in enumerate(notebook.cells, 1)\n"
    "             if any(o.get(\"output_type\") == \"error\" for o in cell.get(\"outputs\", []))]\n"
    "    reason = \"%s: %s\" % (getattr(failure, \"ename\", type(failure).__name__),\n"
    "                         getattr(failure, \"evalue\", str(failure)))\n"
    "    if cells:\n"
    "        reason = \"cell %d: %s\" % (cells[0], reason)\n"
    "    print(name + \": \" + reason, file=sys.stderr)\n"
    "    with open(\"/opt/ml/output/failure\", \"w\") as out:\n"
    "        out.write(reason)\n"
    "    sys.exit(1)\n"
    "'\n\n";

/* The train driver's part of the container contract (plugin.h): the
 * environment that a driver for a service without SageMaker's layout sets
 * (FAHR_HYPERPARAMETERS, FAHR_CHANNELS, FAHR_MODEL_URI, FAHR_MODEL_DIR_URI),
 * made into that layout before the script starts and the model handed on
 * after it succeeded. POSIX sh only (the image may have dash or busybox and
 * no Python). A failure's reason goes where every other one does. */
static const char run_sh_contract[] =
    "# The train driver's part of the container contract (plugin.h), for services\n"
    "# that do not give the SageMaker layout themselves (Vertex AI). Locations are\n"
    "# gs://BUCKET/PATH, read and written through the Cloud Storage FUSE mount\n"
    "# /gcs/BUCKET/PATH, or absolute paths. A failure's reason goes where every\n"
    "# other one does, and ends the job with status 1.\n"
    "job_failure() {\n"
    "    printf '%s\\n' \"$*\" >&2\n"
    "    printf '%s\\n' \"$*\" >/opt/ml/output/failure\n"
    "    exit 1\n"
    "}\n"
    "\n"
    "# The local path of the location $2 (named $1 in messages), into $target.\n"
    "local_path() {\n"
    "    case \"$2\" in\n"
    "    gs://[!/]*) target=/gcs/${2#gs://} ;;\n"
    "    /*) target=$2 ;;\n"
    "    *) job_failure \"$1 must be gs://BUCKET/PATH or an absolute path, not $2\" ;;\n"
    "    esac\n"
    "    case \"$target/\" in\n"
    "    */../* | */./*) job_failure \"$1 must not hold . or .. segments: $2\" ;;\n"
    "    esac\n"
    "}\n"
    "\n"
    "# FAHR_HYPERPARAMETERS, a JSON object, becomes the hyperparameters file\n"
    "# before the script starts. Unset, the file stays as the service made it\n"
    "# (SageMaker writes its own).\n"
    "write_hyperparameters() {\n"
    "    case \"$1\" in\n"
    "    '{'*'}') ;;\n"
    "    *) job_failure \"FAHR_HYPERPARAMETERS must be a JSON object\" ;;\n"
    "    esac\n"
    "    config=/opt/ml/input/config\n"
    "    partial=$config/.hyperparameters.json.partial\n"
    "    if mkdir -p \"$config\" && printf '%s' \"$1\" >\"$partial\" &&\n"
    "        mv -f \"$partial\" \"$config/hyperparameters.json\"; then\n"
    "        return 0\n"
    "    fi\n"
    "    rm -f \"$partial\" 2>/dev/null || true\n"
    "    job_failure \"cannot write $config/hyperparameters.json\"\n"
    "}\n"
    "\n"
    "# FAHR_CHANNELS, lines NAME=LOCATION: each /opt/ml/input/data/NAME becomes a\n"
    "# link to its location, where the script reads the channel.\n"
    "link_channels() {\n"
    "    data=/opt/ml/input/data\n"
    "    while IFS= read -r line; do\n"
    "        [ -n \"$line\" ] || continue\n"
    "        case \"$line\" in\n"
    "        *=*) ;;\n"
    "        *) job_failure \"FAHR_CHANNELS lines must be NAME=LOCATION, not $line\" ;;\n"
    "        esac\n"
    "        name=${line%%=*}\n"
    "        case \"$name\" in\n"
    "        '' | . | .. | */*)\n"
    "            job_failure \"FAHR_CHANNELS: the channel name '$name' is empty, . or ..\" \\\n"
    "                \"or holds /\" ;;\n"
    "        esac\n"
    "        local_path \"the location of channel $name in FAHR_CHANNELS\" \"${line#*=}\"\n"
    "        link_channel \"$name\" \"${line#*=}\"\n"
    "    done <<EOF\n"
    "$1\n"
    "EOF\n"
    "}\n"
    "\n"
    "# /opt/ml/input/data/$1 made a link to $target ($2 as given, for messages).\n"
    "# A file (an object rather than a prefix) gets a directory that holds a link\n"
    "# to it under its own name, as SageMaker and the local driver give a file.\n"
    "# Only a link already there is replaced.\n"
    "link_channel() {\n"
    "    if [ -L \"$data/$1\" ]; then\n"
    "        rm -f \"$data/$1\" 2>/dev/null || true\n"
    "    fi\n"
    "    directory=$data\n"
    "    link=$data/$1\n"
    "    if [ -f \"$target\" ]; then\n"
    "        directory=$data/$1\n"
    "        link=$data/$1/${target##*/}\n"
    "    fi\n"
    "    if [ -e \"$data/$1\" ] || ! mkdir -p \"$directory\" ||\n"
    "        ! ln -s \"$target\" \"$link\"; then\n"
    "        job_failure \"cannot link $link to $2\"\n"
    "    fi\n"
    "}\n"
    "\n"
    "# FAHR_MODEL_URI names a directory that the model goes into as model.tar.gz,\n"
    "# whole or not at all.\n"
    "write_model() {\n"
    "    local_path FAHR_MODEL_URI \"$1\"\n"
    "    partial=$target/.model.tar.gz.partial\n"
    "    if mkdir -p \"$target\" && tar -czf \"$partial\" -C /opt/ml/model . &&\n"
    "        mv -f \"$partial\" \"$target/model.tar.gz\"; then\n"
    "        return 0\n"
    "    fi\n"
    "    rm -f \"$partial\" 2>/dev/null || true\n"
    "    job_failure \"cannot write the model to $1/model.tar.gz\"\n"
    "}\n"
    "\n"
    "# FAHR_MODEL_DIR_URI names a directory that the model's files are copied\n"
    "# into as they are in /opt/ml/model, nested directories too (the layout\n"
    "# Vertex AI's users expect in AIP_MODEL_DIR). Each file goes to a temporary\n"
    "# name first, so that no reader sees one in part.\n"
    "copy_model() {\n"
    "    local_path FAHR_MODEL_DIR_URI \"$1\"\n"
    "    case \"$target/\" in\n"
    "    /opt/ml/model/*) job_failure \"FAHR_MODEL_DIR_URI must be outside /opt/ml/model: $1\" ;;\n"
    "    esac\n"
    "    model_dir_uri=$1\n"
    "    copy_model_dir /opt/ml/model \"$target\" \"\" || exit 1\n"
    "}\n"
    "\n"
    "# Copy the directory $1 into $2; $3 is its path below the model (\"\" or\n"
    "# ending in /), for messages. A subshell: each level keeps its variables.\n"
    "copy_model_dir() (\n"
    "    mkdir -p \"$2\" || job_failure \"cannot copy the model to $model_dir_uri${3:+/${3%/}}\"\n"
    "    for entry in \"$1\"/* \"$1\"/.[!.]* \"$1\"/..?*; do\n"
    "        [ -e \"$entry\" ] || [ -L \"$entry\" ] || continue\n"
    "        name=${entry##*/}\n"
    "        if [ -d \"$entry\" ] && [ ! -L \"$entry\" ]; then\n"
    "            copy_model_dir \"$entry\" \"$2/$name\" \"$3$name/\" || exit 1\n"
    "        elif [ -f \"$entry\" ]; then\n"
    "            partial=$2/.fahr-partial.$$\n"
    "            if [ -d \"$2/$name\" ] || ! cp \"$entry\" \"$partial\" ||\n"
    "                ! mv -f \"$partial\" \"$2/$name\"; then\n"
    "                rm -f \"$partial\" 2>/dev/null || true\n"
    "                job_failure \"cannot copy the model's $3$name to $model_dir_uri/$3$name\"\n"
    "            fi\n"
    "        else\n"
    "            job_failure \"cannot copy the model's $3$name: not a file or a directory\"\n"
    "        fi\n"
    "    done\n"
    ")\n"
    "\n";

int build_render_run_sh(const struct build_inputs *inputs, char *out, size_t size)
{
    struct build_text text = {out, size, 0, false};
    build_text_emit(
        &text,
        "#!/bin/sh\n"
        "# Generated by fahr for %s: the image's entrypoint. Training services start\n"
        "# the container as `IMAGE train` (SageMaker's contract); the model goes to\n"
        "# /opt/ml/model. Edit freely: fahr keeps this file unless run with --overwrite.\n"
        "set -eu\n"
        "cd /opt/program\n"
        "# Found here, needed by `train` only: any other command runs as given,\n"
        "# also in an image without Python.\n"
        "PYTHON=$(command -v python3 || command -v python || true)\n\n"
        "%s%s%s"
        "train() {\n"
        "    trap pass_on_sigterm TERM\n"
        "    { exec \\\n",
        inputs->artifact_name, run_sh_signals, run_sh_contract,
        inputs->notebook ? run_sh_notebook_runner : "");
    if (inputs->notebook) {
        build_text_emit(&text, "    \"$PYTHON\" -c \"$RUN_NOTEBOOK\" ");
        emit_shell_quoted(&text, inputs->artifact_name);
        build_text_emit(&text, "\n");
    } else {
        build_text_emit(&text, "    \"$PYTHON\" ");
        emit_shell_quoted(&text, inputs->artifact_name);
        build_text_emit(&text, "\n");
    }
    build_text_emit(&text,
                    "    } &\n"
                    "    wait_for_script \"$!\"\n"
                    "}\n\n"
                    "case \"${1:-train}\" in\n"
                    "train)\n"
                    "    mkdir -p /opt/ml/model /opt/ml/output\n"
                    "    if [ -n \"${FAHR_HYPERPARAMETERS:-}\" ]; then\n"
                    "        write_hyperparameters \"$FAHR_HYPERPARAMETERS\"\n"
                    "    fi\n"
                    "    if [ -n \"${FAHR_CHANNELS:-}\" ]; then\n"
                    "        link_channels \"$FAHR_CHANNELS\"\n"
                    "    fi\n"
                    "    status=0\n"
                    "    train || status=$?\n"
                    "    if [ \"$status\" -ne 0 ]; then\n"
                    "        # The training service reports this file as the failure reason.\n"
                    "        [ -s /opt/ml/output/failure ] ||\n"
                    "            echo \"");
    /* Inside double quotes: keep the name literal. */
    for (const char *p = inputs->artifact_name; *p; p++)
        build_text_emit(&text, (*p == '"' || *p == '\\' || *p == '$' || *p == '`') ? "\\%c" : "%c",
                        *p);
    build_text_emit(&text, " exited with status $status\" >/opt/ml/output/failure\n"
                           "        exit \"$status\"\n"
                           "    fi\n"
                           "    if [ -n \"${FAHR_MODEL_URI:-}\" ]; then\n"
                           "        write_model \"$FAHR_MODEL_URI\"\n"
                           "    fi\n"
                           "    if [ -n \"${FAHR_MODEL_DIR_URI:-}\" ]; then\n"
                           "        copy_model \"$FAHR_MODEL_DIR_URI\"\n"
                           "    fi\n"
                           "    ;;\n"
                           "*)\n"
                           "    exec \"$@\"\n"
                           "    ;;\n"
                           "esac\n");
    return text.overflow ? FAHR_EFAIL : FAHR_OK;
}
