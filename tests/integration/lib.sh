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

# The bench's Docker engine and base image (tests/bench/docker.sh).
use_docker_bench() {
    eval "$("$FAHR_SOURCE_ROOT/tests/bench/docker.sh" start)"
    "$FAHR_SOURCE_ROOT/tests/bench/docker.sh" image
    BENCH_IMAGE=${FAHR_BENCH_IMAGE:-fahr-bench/python:3}
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
