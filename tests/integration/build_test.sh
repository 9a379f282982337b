#!/usr/bin/env bash
# fahr build against the bench's real Docker engine: the image runs the
# artifact under the train contract and writes the model to /opt/ml/model.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench

# Run IMAGE with ARGS, /opt/ml/model bound to MODEL_DIR.
run_image() { # IMAGE MODEL_DIR ARGS...
    local image=$1 model_dir=$2
    shift 2
    mkdir -p "$model_dir"
    docker run --rm -v "$model_dir:/opt/ml/model" "$image" "$@"
}

script_image_trains() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr build "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "foo/model:latest" "stdout is the image reference"
    local logs
    logs=$(run_image foo/model:latest "$TEST_TMP/model-script" train)
    expect_contains "$logs" "fitted a=3.000 b=2.000" "training output"
    expect_eq "$(cat "$TEST_TMP/model-script/model.json")" '{"a": 3.0, "b": 2.0}' "model.json"
    [ -s "$TEST_TMP/model-script/model.pkl" ] || fail "model.pkl missing"
    # The image starts as `IMAGE train` by default too (CMD ["train"]).
    run_image foo/model:latest "$TEST_TMP/model-default" >/dev/null
    [ -s "$TEST_TMP/model-default/model.json" ] || fail "no model without an explicit train"
}

notebook_image_executes_the_notebook() {
    local dir
    dir=$(fixture_copy tests/fixtures/notebook)
    run_fahr build "$dir/train.ipynb" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "notebook/train:latest" "stdout"
    run_image notebook/train:latest "$TEST_TMP/model-nb" train >/dev/null 2>&1
    expect_eq "$(cat "$TEST_TMP/model-nb/model.json")" '{"total": 30}' "model.json"
    # The executed notebook comes back with its outputs kept.
    python3 - "$TEST_TMP/model-nb/train.ipynb" <<'PY' || fail "executed notebook lacks outputs"
import json, sys
nb = json.load(open(sys.argv[1]))
texts = ["".join(o.get("text", "")) for c in nb["cells"] if c["cell_type"] == "code" for o in c["outputs"]]
assert any("sum of squares 30" in t for t in texts), texts
PY
}

failing_script_reports_through_the_contract() {
    local dir
    dir=$(fixture_copy examples/foo)
    printf 'import sys\nprint("about to fail")\nsys.exit(4)\n' >"$dir/model.py"
    run_fahr build "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code"
    mkdir -p "$TEST_TMP/out-fail"
    local rc=0
    docker run --rm -v "$TEST_TMP/out-fail:/opt/ml/output" foo/model:latest train >/dev/null 2>&1 || rc=$?
    expect_eq "$rc" 4 "container exit code"
    expect_eq "$(cat "$TEST_TMP/out-fail/failure")" "model.py exited with status 4" "failure file"
}

failed_step_fails_with_its_message() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    # The user edits the Dockerfile; fahr keeps it, and the step fails.
    sed -i 's|^WORKDIR /opt/program$|WORKDIR /opt/program\nRUN echo broken-step \&\& exit 7|' "$dir/Dockerfile"
    run_fahr build "$dir/model.py" --build-driver=local
    expect_eq "$RC" 1 "exit code"
    expect_eq "$OUT" "" "stdout"
    expect_contains "$ERR" "fahr: local: build failed at Step" "stderr"
    expect_contains "$ERR" "RUN echo broken-step && exit 7: The command '/bin/sh -c echo broken-step && exit 7' returned a non-zero code: 7" "stderr"
}

dockerignore_keeps_files_out_of_the_image() {
    local dir
    dir=$(fixture_copy examples/foo)
    echo "token" >"$dir/secret.txt"
    mkdir "$dir/data"
    echo "1,2" >"$dir/data/train.csv"
    printf 'secret.txt\n' >"$dir/.dockerignore"
    run_fahr build "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    docker run --rm foo/model:latest test -e /opt/program/data/train.csv ||
        fail "data/train.csv should be in the image"
    if docker run --rm foo/model:latest test -e /opt/program/secret.txt; then
        fail "secret.txt is in the image despite .dockerignore"
    fi
}

build_output_streams_only_when_asked() {
    local dir
    dir=$(fixture_copy examples/foo)
    # stderr is not a terminal here: no build output, only fahr's own lines.
    run_fahr build "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code"
    expect_lacks "$ERR" "Step 1/" "stderr when not a terminal"
    run_fahr --verbose build "$dir/model.py" --build-driver=local
    expect_contains "$ERR" "Step 1/" "stderr with --verbose"
    expect_contains "$ERR" "Successfully tagged foo/model:latest" "stderr with --verbose"
    run_fahr --quiet build "$dir/model.py" --build-driver=local
    expect_eq "$ERR" "" "stderr with --quiet"
    expect_eq "$OUT" "foo/model:latest" "stdout with --quiet"
}

gpu_variant_builds_with_the_nvidia_environment() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr build "$dir/model.py" --build-driver=local-gpu --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local env
    env=$(docker image inspect --format '{{json .Config.Env}}' foo/model:latest)
    expect_contains "$env" "NVIDIA_VISIBLE_DEVICES=all" "image environment"
    expect_contains "$env" "NVIDIA_DRIVER_CAPABILITIES=compute,utility" "image environment"
    run_image foo/model:latest "$TEST_TMP/model-gpu" train >/dev/null
    [ -s "$TEST_TMP/model-gpu/model.json" ] || fail "the GPU image did not train"
}

unreachable_engine_is_a_clear_error() {
    local dir
    dir=$(fixture_copy examples/foo)
    RC=0
    ERR=$(DOCKER_HOST=unix:///nonexistent/docker.sock "$FAHR" -q build "$dir/model.py" \
        --build-driver=local --config.base_image="$BENCH_IMAGE" 2>&1 >/dev/null) || RC=$?
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "fahr: local: cannot reach the Docker engine at unix:///nonexistent/docker.sock:" "stderr"
    expect_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "error lines"
    ERR=$(DOCKER_HOST=ssh://somewhere "$FAHR" -q build "$dir/model.py" --build-driver=local 2>&1) || RC=$?
    expect_contains "$ERR" "fahr speaks to unix:// and tcp:// engines" "stderr"
}

# A copy of examples/foo named NAME, so that its image (NAME/model) is this
# test's own; prints its path.
foo_copy_named() { # NAME
    local dest
    dest=$(mktemp -d "$TEST_TMP/named.XXXXXX")/$1
    cp -R "$FAHR_SOURCE_ROOT/examples/foo" "$dest"
    rm -rf "$dest/Dockerfile" "$dest/run.sh" "$dest/model-output"
    echo "$dest"
}

names_reach_the_image_as_they_are() {
    # UTF-8, Latin-1 bytes, spaces, a name over 100 bytes and a path over
    # 255: the engine must get each name as it is on disk.
    local dir long deep
    dir=$(foo_copy_named names)
    mv "$dir/model.py" "$dir/mödel.py"
    echo x >"$dir/données.csv"
    echo y >"$dir/with space.txt"
    echo z >"$dir/latin1-$(printf '\351').txt"
    long=$(printf 'n%.0s' $(seq 1 150))
    deep="d-$long/é-$long"
    mkdir -p "$dir/$deep"
    echo deep >"$dir/$deep/$long.csv"
    [ "${#deep}" -gt 255 ] || fail "the deep path is too short to test"
    run_fahr build "$dir/mödel.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "names/model:latest" "stdout"
    expect_eq "$(docker run --rm --entrypoint find names/model:latest . -type f | LC_ALL=C sort)" \
        "$(cd "$dir" && find . -type f | LC_ALL=C sort)" "the files in the image"
    expect_eq "$(docker run --rm --entrypoint cat names/model:latest "$deep/$long.csv")" "deep" \
        "the deep file's content"
    local logs
    logs=$(run_image names/model:latest "$TEST_TMP/model-names" train)
    expect_contains "$logs" "fitted a=3.000 b=2.000" "training output"
}

an_unreadable_file_is_named_in_the_error() {
    # root reads every file, so fahr runs as nobody here, in the group of
    # the engine's socket.
    local dir group_args=()
    dir=$(foo_copy_named unreadable)
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    chmod o+x "$TEST_TMP" "$(dirname "$dir")"
    chmod -R o+rX "$dir"
    echo "s3cr3t" >"$dir/secret.csv"
    chmod 000 "$dir/secret.csv"
    case "$DOCKER_HOST" in
    unix://*) group_args=(--groups "$(stat -c %g "${DOCKER_HOST#unix://}")") ;;
    esac
    local as_nobody=() binary=$FAHR plugins=$FAHR_PLUGIN_PATH
    if [ "$(id -u)" -eq 0 ]; then
        as_nobody=(setpriv --reuid=65534 --regid=65534 "${group_args[@]}")
        # The build tree may lie where nobody cannot go (a checkout under a
        # 0700 directory): fahr and its drivers run from a copy beside the
        # context, root's and read-only to others, as an install would be.
        local copy="$TEST_TMP/as-nobody"
        mkdir -p "$copy/plugins"
        cp "$FAHR" "$copy/fahr"
        cp "$(dirname "$FAHR")/libfahr-services.so" "$copy/"
        cp "$FAHR_PLUGIN_PATH"/*.so "$copy/plugins/"
        chmod -R u=rwX,go=rX "$copy"
        binary="$copy/fahr" plugins="$copy/plugins"
    fi
    RC=0
    ERR=$("${as_nobody[@]}" env HOME=/nonexistent FAHR_PLUGIN_PATH="$plugins" FAHR_PLUGIN_CACHE= \
        "$binary" -q build "$dir/model.py" --build-driver=local 2>&1 >/dev/null) || RC=$?
    expect_eq "$RC" 1 "exit code"
    expect_eq "$ERR" "fahr: local: cannot read $dir/secret.csv: Permission denied" "stderr"
}

dockerignore_cannot_leave_out_the_build_files() {
    local dir
    dir=$(foo_copy_named ignoreall)
    printf '*\n!model.py\n' >"$dir/.dockerignore"
    echo "not sent" >"$dir/notes.txt"
    run_fahr build "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    # The engine itself leaves out the Dockerfile and .dockerignore that
    # .dockerignore names, once it has read them; run.sh stays.
    expect_eq "$(docker run --rm --entrypoint ls ignoreall/model:latest -A /opt/program | tr '\n' ' ')" \
        "model.py run.sh " "the files in the image"
    run_image ignoreall/model:latest "$TEST_TMP/model-ignoreall" train >/dev/null
    [ -s "$TEST_TMP/model-ignoreall/model.json" ] || fail "the image did not train"
}

a_failed_step_shows_its_last_output() {
    local dir
    dir=$(foo_copy_named laststep)
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image="$BENCH_IMAGE"
    # As pip fails in an image without it: the reason is in the step's output.
    # Both lines on stderr: the engine may reorder lines of two streams.
    sed -i 's|^WORKDIR /opt/program$|WORKDIR /opt/program\nRUN echo collecting >\&2 \&\& python3 -m nosuchmodule install numpy|' \
        "$dir/Dockerfile"
    run_fahr -q build "$dir/model.py" --build-driver=local
    expect_eq "$RC" 1 "exit code"
    expect_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "error lines"
    expect_contains "$ERR" "fahr: local: build failed at Step" "stderr"
    expect_contains "$ERR" "returned a non-zero code: 1; last output: collecting | /usr/bin/python3: No module named nosuchmodule" "stderr"
}

context_progress_ends_before_the_build_output() {
    command -v tmux >/dev/null || fail "tmux is not installed"
    local dir
    dir=$(fixture_copy examples/foo)
    head -c 4000000 /dev/urandom >"$dir/data.bin"
    in_tmux 100 env TERM=screen DOCKER_HOST="$DOCKER_HOST" FAHR_PLUGIN_PATH="$FAHR_PLUGIN_PATH" \
        FAHR_PLUGIN_SYSTEM_PATH= "$FAHR" build "$dir/model.py" --build-driver=local \
        --config.base_image="$BENCH_IMAGE"
    expect_contains "$PANE" "EXIT=0" "fahr's exit: $PANE"
    local sent step
    sent=$(printf '%s\n' "$PANE" | grep -n 'sending build context' | head -n 1 | cut -d: -f1)
    step=$(printf '%s\n' "$PANE" | grep -n '^Step 1/' | head -n 1 | cut -d: -f1)
    if [ -z "$sent" ] || [ -z "$step" ]; then
        fail "no progress or no build output: $PANE"
    fi
    [ "$sent" -lt "$step" ] || fail "the context's progress came after the build's output: $PANE"
}

run_test script_image_trains
run_test notebook_image_executes_the_notebook
run_test failing_script_reports_through_the_contract
run_test failed_step_fails_with_its_message
run_test dockerignore_keeps_files_out_of_the_image
run_test build_output_streams_only_when_asked
run_test gpu_variant_builds_with_the_nvidia_environment
run_test unreachable_engine_is_a_clear_error
run_test names_reach_the_image_as_they_are
run_test an_unreadable_file_is_named_in_the_error
run_test dockerignore_cannot_leave_out_the_build_files
run_test a_failed_step_shows_its_last_output
run_test context_progress_ends_before_the_build_output
finish
