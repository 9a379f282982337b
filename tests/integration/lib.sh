# shellcheck shell=bash
# shellcheck disable=SC2034 # RC, OUT, ERR, PANE and BENCH_IMAGE are for the tests that source this
# A small TAP harness for fahr's integration tests. Each test is a function
# run in its own subshell with `set -e`; its output shows only on failure.
#   run_test NAME        run the function NAME as one test
#   finish               print the plan and exit 0 only if all passed
# Assertions end the test with a message on stderr.

: "${FAHR:?run through meson test (FAHR is the fahr binary)}"
TEST_COUNT=0
TEST_FAILED=0
TEST_TMP=$(mktemp -d "${TMPDIR:-/tmp}/fahr-it.XXXXXX")
trap 'chmod -R u+w,o-w "$TEST_TMP" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
# fahr's job index (core/job_index.c) of these tests', never the user's.
export XDG_STATE_HOME="$TEST_TMP/state"
# Caches (the AWS prices of plugins/common/aws_pricing.c, the input digests
# of plugins/common/digest_cache.h) too.
export XDG_CACHE_HOME="$TEST_TMP/cache"
# The user's config file (core/user_config.c) too: defaults in the
# developer's own would change what every test runs.
export XDG_CONFIG_HOME="$TEST_TMP/xdg-config"
unset FAHR_PROFILE

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

expect_eq() { # ACTUAL EXPECTED WHAT
    [ "$1" = "$2" ] || fail "$3: expected '$2', got '$1'"
}

expect_contains() { # TEXT NEEDLE WHAT
    case "$1" in
    *"$2"*) ;;
    *) fail "$3: '$2' not found in: $1" ;;
    esac
}

expect_lacks() { # TEXT NEEDLE WHAT
    case "$1" in
    *"$2"*) fail "$3: '$2' should not be in: $1" ;;
    *) ;;
    esac
}

# Run fahr; sets OUT, ERR and RC without stopping the test.
run_fahr() {
    local out_file="$TEST_TMP/out.$$" err_file="$TEST_TMP/err.$$"
    RC=0
    "$FAHR" "$@" >"$out_file" 2>"$err_file" </dev/null || RC=$?
    OUT=$(cat "$out_file")
    ERR=$(cat "$err_file")
}

# A plugin directory of the test's own, $PLUGINS (0755, as fahr requires),
# holding these fixture drivers of the build.
fixture_plugins() { # FIXTURE.so...
    PLUGINS="$TEST_TMP/plugins"
    mkdir -p "$PLUGINS"
    chmod 0755 "$PLUGINS"
    local name
    for name in "$@"; do
        cp "$FAHR_FIXTURE_DIR/$name" "$PLUGINS/"
    done
}

# fit with the local build and train drivers on the bench's base image
# (use_docker_bench); extra arguments go after them.
fit_local() { # ARTIFACT ARGS...
    local artifact=$1
    shift
    run_fahr fit "$artifact" --build-driver=local --train-driver=local \
        --config.base_image="$BENCH_IMAGE" "$@"
}

# The bench's Docker engine and base image (tests/bench/docker.sh).
use_docker_bench() {
    eval "$("$FAHR_SOURCE_ROOT/tests/bench/docker.sh" start)"
    "$FAHR_SOURCE_ROOT/tests/bench/docker.sh" image
    BENCH_IMAGE=${FAHR_BENCH_IMAGE:-fahr-bench/python:3}
}

# The AWS bench (tests/bench/aws.sh) for this script, stopped at its end,
# with fast polls and retries and nothing of this machine's own AWS setup.
# The environment's FAHR_BENCH_SPOT_* settings reach the bench.
use_aws_bench() {
    AWS_BENCH="$TEST_TMP/aws"
    mkdir -p "$AWS_BENCH"
    trap '"$FAHR_SOURCE_ROOT/tests/bench/aws.sh" stop "$AWS_BENCH"; chmod -R u+w "$TEST_TMP" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
    "$FAHR_SOURCE_ROOT/tests/bench/aws.sh" start "$AWS_BENCH"
    # shellcheck disable=SC1091 # written by aws.sh start
    . "$AWS_BENCH/env"
    export FAHR_POLL_INTERVAL_MS=200 FAHR_RETRY_SCALE=0.01
    export AWS_CONFIG_FILE="$TEST_TMP/no-config" AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/no-credentials"
    unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION
}

# fit on the AWS bench with its settings; extra arguments go after them.
fit_on_bench() { # DIR/ARTIFACT ARGS...
    local artifact=$1
    shift
    run_fahr fit "$artifact" --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" \
        --config.role_name="$FAHR_BENCH_ROLE" --config.registry="$FAHR_BENCH_REGISTRY" \
        --config.base_image="$BENCH_IMAGE" "$@"
}

# The AWS CLI as an independent second client, straight to moto.
moto_cli() {
    aws --endpoint-url "$FAHR_BENCH_MOTO" --region us-east-1 --output json "$@"
}

# A fresh copy of a directory of the source tree (examples/foo,
# tests/fixtures/notebook); prints its path.
fixture_copy() {
    local dest
    dest=$(mktemp -d "$TEST_TMP/fixture.XXXXXX")
    cp -R "$FAHR_SOURCE_ROOT/$1" "$dest/"
    # Not what an earlier `fahr build` (scripts/setup.sh) left in the tree.
    rm -rf "$dest/$(basename "$1")/Dockerfile" "$dest/$(basename "$1")/run.sh" \
        "$dest/$(basename "$1")/model-output"
    echo "$dest/$(basename "$1")"
}

# What a person sees: tmux runs a command in a terminal COLUMNS wide, and
# the pane is read back into PANE when it is done.
in_tmux() { # COLUMNS COMMAND...
    local columns=$1 socket="$TEST_TMP/tmux.sock" command
    shift
    printf -v command '%q ' "$@"
    rm -f "$TEST_TMP/tmux.done"
    tmux -S "$socket" new-session -d -x "$columns" -y 20 \
        "$command 2>&1; echo EXIT=\$?; touch '$TEST_TMP/tmux.done'; sleep 60"
    for _ in $(seq 1 600); do
        [ -e "$TEST_TMP/tmux.done" ] && break
        sleep 0.1
    done
    PANE=$(tmux -S "$socket" capture-pane -p -S -)
    tmux -S "$socket" kill-server
}

run_test() {
    local name=$1 log rc
    TEST_COUNT=$((TEST_COUNT + 1))
    log="$TEST_TMP/log.$TEST_COUNT"
    set +e
    (
        set -euo pipefail
        "$name"
    ) >"$log" 2>&1
    rc=$?
    set -e
    if [ "$rc" -eq 0 ]; then
        echo "ok $TEST_COUNT - $name"
    else
        TEST_FAILED=$((TEST_FAILED + 1))
        echo "not ok $TEST_COUNT - $name"
        sed 's/^/# /' "$log"
    fi
}

finish() {
    echo "1..$TEST_COUNT"
    [ "$TEST_FAILED" -eq 0 ]
}

# A separately shipped driver (plugins/DIR, a meson project of its own),
# installed as a user would: fahr into the scratch prefix $TEST_TMP/stage,
# then the driver set up against that prefix's fahr-plugin.pc only, built
# (no warnings), its own tests run, and installed into the plugindir the pc
# file names, which goes on FAHR_PLUGIN_PATH (PLUGIN_DIR). Done once per
# test script; later tests find it there.
install_separate_driver() { # DIR SO_NAME
    local dir=$1 so=$2 stage="$TEST_TMP/stage"
    if [ -s "$TEST_TMP/plugin-dir" ]; then
        PLUGIN_DIR=$(cat "$TEST_TMP/plugin-dir")
        export FAHR_PLUGIN_PATH="$PLUGIN_DIR:$FAHR_PLUGIN_PATH"
        return
    fi
    meson install -C "$FAHR_BUILD_ROOT" --no-rebuild --quiet --destdir "$stage" >/dev/null
    local pc build="$TEST_TMP/build-$dir" log sanitize
    pc=$(find "$stage" -name fahr-plugin.pc | head -n 1)
    [ -n "$pc" ] || fail "fahr-plugin.pc was not installed"
    # A copy outside the repository, so nothing of it is in reach.
    cp -R "$FAHR_SOURCE_ROOT/plugins/$dir" "$TEST_TMP/$dir"
    # Built with fahr's sanitizers, if any, so that they watch the driver too.
    sanitize=$(meson introspect "$FAHR_BUILD_ROOT" --buildoptions |
        python3 -c 'import json, sys; print(*[o["value"] for o in json.load(sys.stdin) if o["name"] == "b_sanitize"])')
    PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage" \
        meson setup "$build" "$TEST_TMP/$dir" -Db_sanitize="$sanitize" -Db_lundef=false \
        >"$TEST_TMP/setup.log" 2>&1 ||
        fail "meson setup of $dir: $(cat "$TEST_TMP/setup.log")"
    log=$(meson compile -C "$build" 2>&1) || fail "$dir does not compile: $log"
    expect_lacks "$log" "warning" "compiling $dir"
    expect_lacks "$(cat "$build/compile_commands.json")" "$FAHR_SOURCE_ROOT" "the flags of $dir"
    log=$(meson test -C "$build" 2>&1) || fail "the own tests of $dir: $log"
    meson install -C "$build" --quiet >/dev/null
    PLUGIN_DIR=$(PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage" \
        pkg-config --variable=plugindir fahr-plugin)
    [ -f "$PLUGIN_DIR/$so" ] || fail "$so is not in the plugindir $PLUGIN_DIR"
    echo "$PLUGIN_DIR" >"$TEST_TMP/plugin-dir"
    export FAHR_PLUGIN_PATH="$PLUGIN_DIR:$FAHR_PLUGIN_PATH"
}

# A server started in the background writes its port(s) on the first line of
# FILE once it listens; waits up to 10 s for it and prints the first port,
# or ends the test with LOG, the server's own words.
port_from_file() { # FILE WHAT LOG
    local ports
    for _ in $(seq 1 100); do
        [ -s "$1" ] && break
        sleep 0.1
    done
    read -r -a ports <"$1" || true
    [[ "${ports[0]:-}" =~ ^[0-9]+$ ]] || fail "$2 did not start: $(cat "$3")"
    echo "${ports[0]}"
}
