#!/usr/bin/env bash
# The ABI 1.1 host services a driver shipped separately uses, through the
# `places` fixture driver (tests/fixtures/plugins/train_places.c, built
# against plugin.h only): loose files placed all or nothing and confined,
# the scratch directory that goes with the command (Ctrl-C too), and the
# driver's own data directory.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

fixture_plugins train_places.so
mkdir -p "$TEST_TMP/tmp"
export TMPDIR="$TEST_TMP/tmp"

places() { # DIR WORD: fahr fetch DIR places://WORD with the places driver
    run_fahr --plugin-dir "$PLUGINS" fetch "$1" some/model "places://$2" --train-driver=places
}

scratch_of() { # the scratch directory a run said it used
    printf '%s\n' "$1" | sed -n 's/^fahr: .*scratch //p'
}

a_driver_places_loose_files_and_its_scratch_goes() {
    local dir="$TEST_TMP/files" scratch
    mkdir "$dir"
    places "$dir" files-1
    expect_eq "$RC" 0 "exit code ($ERR)"
    expect_eq "$(cat "$dir/model/weights.bin")" weights "a file in a directory"
    expect_eq "$(stat -c %a "$dir/config.json")" 755 "the mode asked for"
    expect_eq "$(find "$dir" -mindepth 1 | wc -l)" 3 "what is in the destination"
    scratch=$(scratch_of "$ERR")
    expect_contains "$scratch" "$TMPDIR/fahr-" "the scratch directory"
    [ ! -e "$scratch" ] || fail "the scratch directory $scratch is still there"
}

a_path_that_leaves_is_refused_and_nothing_is_written() {
    local dir="$TEST_TMP/escape/dest"
    mkdir -p "$dir"
    echo mine >"$dir/mine.txt"
    places "$dir" escape-1
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "refusing the model file '../escaped': its path leaves the destination" "stderr"
    expect_eq "$(ls -A "$TEST_TMP/escape")" dest "beside the destination"
    expect_eq "$(ls -A "$dir")" mine.txt "the destination"
    places "$dir" twice-1
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "refusing the model file 'model/inside': its path goes through a file" "stderr"
    expect_eq "$(ls -A "$dir")" mine.txt "the destination"
}

ctrl_c_removes_the_scratch_directory() {
    local err="$TEST_TMP/wait.err" pid rc=0 scratch=""
    "$FAHR" --plugin-dir "$PLUGINS" fetch "$TEST_TMP" some/model places://wait-1 --train-driver=places \
        2>"$err" </dev/null &
    pid=$!
    for _ in $(seq 1 100); do
        grep -q waiting "$err" && break
        sleep 0.1
    done
    scratch=$(scratch_of "$(cat "$err")")
    [ -d "$scratch/locked" ] || fail "no scratch directory: $(cat "$err")"
    expect_eq "$(stat -c %a "$scratch")" 700 "the scratch directory's mode"
    kill -INT "$pid"
    wait "$pid" || rc=$?
    expect_eq "$rc" 130 "exit code"
    [ ! -e "$scratch" ] || fail "the scratch directory $scratch is still there after Ctrl-C"
}

the_data_directory_is_the_drivers_own_and_lasts() {
    local data="$TEST_TMP/data/fahr/drivers/places"
    XDG_DATA_HOME="$TEST_TMP/data" places "$TEST_TMP" data-1
    expect_eq "$RC" 0 "exit code ($ERR)"
    expect_contains "$ERR" "data $data" "stderr"
    expect_eq "$(stat -c %a "$data")" 700 "its mode"
    [ -f "$data/kept" ] || fail "the driver's file is gone from $data"
}

run_test a_driver_places_loose_files_and_its_scratch_goes
run_test a_path_that_leaves_is_refused_and_nothing_is_written
run_test ctrl_c_removes_the_scratch_directory
run_test the_data_directory_is_the_drivers_own_and_lasts
finish
