#!/usr/bin/env bash
# Every bad plugin is skipped with one warning line naming its file and the
# reason, and the host goes on working: `fahr plugins` still lists the
# built-in drivers and `fahr init` still runs. Needs no Docker engine.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# This script's own plugin cache, shared by its tests and no one else.
export FAHR_PLUGIN_CACHE="$TEST_TMP/plugin-registry"

# run_fahr, bounded: on a fahr that loads plugins itself, a plugin whose
# constructor never returns would hang the test instead of failing it.
run_fahr_bounded() {
    local fahr=$FAHR
    local FAHR=timeout # what run_fahr runs: bash's locals are seen by callees
    run_fahr -k 5 60 "$fahr" "$@"
}

# A plugin directory holding one bad plugin; prints its path.
bad_dir() { # NAME [FIXTURE]
    local dir="$TEST_TMP/$1"
    mkdir -p "$dir"
    chmod 0755 "$dir"
    if [ -n "${2:-}" ]; then
        cp "$FAHR_FIXTURE_DIR/$2" "$dir/$1.so"
        chmod 0755 "$dir/$1.so"
    fi
    echo "$dir"
}

# The host warns once about PATH with REASON, lists it as skipped, and still
# lists and uses the built-in drivers.
expect_skipped_and_host_works() { # PLUGIN_DIR PATH REASON
    run_fahr_bounded --plugin-dir "$1" plugins
    expect_eq "$RC" 0 "fahr plugins exit code"
    expect_lacks "$OUT" "hello from a constructor" "fahr plugins' stdout"
    local warnings
    warnings=$(printf '%s\n' "$ERR" | grep -c '^fahr: warning: skipping plugin ' || true)
    expect_eq "$warnings" 1 "warning lines in: $ERR"
    expect_contains "$ERR" "fahr: warning: skipping plugin $2: $3" "warning"
    expect_contains "$OUT" "skipped:" "fahr plugins"
    expect_contains "$OUT" "  $2: $3" "fahr plugins"
    printf '%s\n' "$OUT" | grep -qE '^local +build ' || fail "built-in local missing: $OUT"

    local work
    work=$(fixture_copy examples/foo)
    run_fahr_bounded --plugin-dir "$1" init "$work/model.py" --build-driver=local
    expect_eq "$RC" 0 "init beside a bad plugin"
    expect_eq "$OUT" "$work" "init's stdout"
    [ -f "$work/Dockerfile" ] || fail "init wrote no Dockerfile"
}

# The fixture FIXTURE, alone in a directory as NAME.so: skipped for REASON
# while the host works.
expect_fixture_skipped() { # NAME FIXTURE REASON
    local dir
    dir=$(bad_dir "$1" "$2")
    expect_skipped_and_host_works "$dir" "$dir/$1.so" "$3"
}

wrong_major() {
    expect_fixture_skipped wrong_major abi_wrong_major.so \
        "built for plugin ABI 2.0; this fahr speaks 1.1"
}

newer_minor() {
    expect_fixture_skipped newer_minor abi_newer_minor.so \
        "built for plugin ABI 1.2, newer than this fahr's 1.1"
}

no_entry_symbol() {
    expect_fixture_skipped no_entry no_entry_symbol.so \
        "no 'fahr_plugin' symbol, not a fahr plugin"
}

not_a_shared_object() {
    local dir
    dir=$(bad_dir junk)
    echo "just text" >"$dir/junk.so"
    expect_skipped_and_host_works "$dir" "$dir/junk.so" "cannot load: $dir/junk.so:"
}

world_writable_file() {
    local dir
    dir=$(bad_dir writable train_ok.so)
    chmod 0777 "$dir/writable.so"
    expect_skipped_and_host_works "$dir" "$dir/writable.so" \
        "world-writable, anyone could replace it"
}

world_writable_directory() {
    local dir
    dir=$(bad_dir opendir train_ok.so)
    chmod 0777 "$dir"
    expect_skipped_and_host_works "$dir" "$dir" \
        "directory is world-writable, anyone could plant a plugin in it"
}

duplicate_name() {
    local dir
    dir=$(bad_dir dup train_ok.so)
    cp "$dir/dup.so" "$dir/dup2.so"
    expect_skipped_and_host_works "$dir" "$dir/dup2.so" \
        "duplicate train driver name 'fixture-train', already loaded from $dir/dup.so"
}

short_descriptor() {
    expect_fixture_skipped short short_descriptor.so \
        "train driver 'short-descriptor' has no train operations"
}

missing_operations() {
    expect_fixture_skipped missing missing_ops.so \
        "train driver 'missing-ops' lacks submit or poll"
}

bad_name() {
    expect_fixture_skipped badname bad_name.so \
        "driver name is missing or not [a-z0-9-]+"
}

failing_open_is_a_clear_error() {
    local dir work
    dir=$(bad_dir failing failing_open.so)
    work=$(fixture_copy examples/foo)
    run_fahr --plugin-dir "$dir" init "$work/model.py" --build-driver=failing-open
    expect_eq "$RC" 1 "exit code"
    expect_eq "$ERR" "fahr: failing-open: cannot start: no credentials found" "stderr"
    [ ! -e "$work/Dockerfile" ] || fail "a failed driver wrote files"
}

shadowing_is_reported_not_warned() {
    local first second
    first=$(bad_dir first train_ok.so)
    second=$(bad_dir second train_ok.so)
    run_fahr --plugin-dir "$first" --plugin-dir "$second" plugins
    expect_eq "$RC" 0 "exit code"
    expect_eq "$ERR" "" "stderr"
    expect_contains "$OUT" "$second/second.so: 'fixture-train' is shadowed by $first/first.so" \
        "fahr plugins"
    # FAHR_PLUGIN_PATH comes after --plugin-dir.
    RC=0
    OUT=$(FAHR_PLUGIN_PATH="$second:$FAHR_PLUGIN_PATH" "$FAHR" --plugin-dir "$first" plugins)
    printf '%s\n' "$OUT" | grep -qE "^fixture-train +train .* $first/first.so\$" ||
        fail "--plugin-dir should win: $OUT"
}

# ---- plugins whose code misbehaves: found by the scan in a child process

crashing_constructor() {
    expect_fixture_skipped crashing crash_constructor.so \
        "crashed while loading: Segmentation fault"
}

hanging_constructor() {
    local started=$SECONDS
    export FAHR_PLUGIN_SCAN_TIMEOUT=1
    expect_fixture_skipped hanging hang_constructor.so "did not finish loading within 1 s"
    # Waited for once: the cache keeps the verdict for the second command.
    [ $((SECONDS - started)) -lt 10 ] || fail "took $((SECONDS - started)) s"
}

constructor_writes_to_stdout() {
    expect_fixture_skipped chatty stdout_constructor.so \
        "writes to standard output while loading"
}

garbage_descriptor() {
    expect_fixture_skipped garbage garbage_descriptor.so \
        "crashed while reading its descriptor: Segmentation fault"
}

# ---- plugins others could have written

# Craft other owners and group-writable modes; needs root.
as_root() {
    [ "$(id -u)" -eq 0 ]
}

symlink_into_an_open_directory() {
    local dir open
    dir=$(bad_dir linked)
    open="$TEST_TMP/open-target"
    mkdir -p "$open"
    cp "$FAHR_FIXTURE_DIR/train_ok.so" "$open/real.so"
    chmod 0755 "$open/real.so"
    chmod 0777 "$open"
    ln -s "$open/real.so" "$dir/linked.so"
    expect_skipped_and_host_works "$dir" "$dir/linked.so" \
        "resolves to $open/real.so: $open above it is world-writable without the sticky bit, anyone could swap what it holds"
}

directory_inside_an_open_directory() {
    local outer="$TEST_TMP/outer-open" inner
    mkdir -p "$outer/inner"
    inner="$outer/inner"
    cp "$FAHR_FIXTURE_DIR/train_ok.so" "$inner/inner.so"
    chmod 0755 "$inner" "$inner/inner.so"
    chmod 0777 "$outer"
    expect_skipped_and_host_works "$inner" "$inner" \
        "$outer above it is world-writable without the sticky bit, anyone could swap what it holds"
}

sticky_root_directory_above_is_safe() {
    local outer="$TEST_TMP/outer-sticky" inner
    inner="$outer/inner"
    mkdir -p "$inner"
    cp "$FAHR_FIXTURE_DIR/train_ok.so" "$inner/inner.so"
    chmod 0755 "$inner" "$inner/inner.so"
    chmod 1777 "$outer"
    run_fahr --plugin-dir "$inner" plugins
    expect_eq "$RC" 0 "exit code"
    expect_eq "$ERR" "" "stderr"
    printf '%s\n' "$OUT" | grep -qE "^fixture-train +train .* $inner/inner.so\$" ||
        fail "not loaded below a sticky root directory: $OUT"
}

file_of_another_user() {
    local dir
    dir=$(bad_dir theirs train_ok.so)
    chown nobody "$dir/theirs.so"
    expect_skipped_and_host_works "$dir" "$dir/theirs.so" \
        "owned by nobody (uid $(id -u nobody)), neither root nor you"
}

directory_of_another_user() {
    local dir
    dir=$(bad_dir theirdir train_ok.so)
    chown nobody "$dir"
    expect_skipped_and_host_works "$dir" "$dir" \
        "directory is owned by nobody (uid $(id -u nobody)), neither root nor you"
}

group_writable_file() {
    local dir
    dir=$(bad_dir groupfile train_ok.so)
    chgrp nogroup "$dir/groupfile.so"
    chmod 0664 "$dir/groupfile.so"
    expect_skipped_and_host_works "$dir" "$dir/groupfile.so" \
        "group-writable, members of group nogroup could replace it"
}

group_writable_directory() {
    local dir
    dir=$(bad_dir groupdir train_ok.so)
    chgrp nogroup "$dir"
    chmod 0775 "$dir"
    expect_skipped_and_host_works "$dir" "$dir" \
        "directory is group-writable, members of group nogroup could plant a plugin in it"
}

relative_environment_entries_are_ignored() {
    local dir
    dir=$(bad_dir relative train_ok.so)
    cd "$TEST_TMP"
    RC=0
    OUT=$(FAHR_PLUGIN_PATH="relative:$FAHR_PLUGIN_PATH" "$FAHR" plugins 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 0 "exit code"
    expect_eq "$(cat "$TEST_TMP/err")" \
        "fahr: warning: ignoring 'relative' in FAHR_PLUGIN_PATH: a plugin directory must be an absolute path" \
        "stderr"
    expect_lacks "$OUT" "fixture-train" "fahr plugins"
    printf '%s\n' "$OUT" | grep -qE '^local +build ' || fail "built-in local missing: $OUT"

    OUT=$(FAHR_PLUGIN_SYSTEM_PATH=relative "$FAHR" plugins 2>"$TEST_TMP/err") || RC=$?
    expect_eq "$RC" 0 "exit code"
    expect_eq "$(cat "$TEST_TMP/err")" \
        "fahr: warning: ignoring 'relative' in FAHR_PLUGIN_SYSTEM_PATH: a plugin directory must be an absolute path" \
        "stderr"
    expect_lacks "$OUT" "fixture-train" "fahr plugins"
}

missing_plugin_dir_is_warned() {
    run_fahr --plugin-dir "$TEST_TMP/nowhere" plugins
    expect_eq "$RC" 0 "exit code"
    expect_eq "$ERR" "fahr: warning: --plugin-dir $TEST_TMP/nowhere: No such file or directory" \
        "stderr"
    printf '%s\n' "$OUT" | grep -qE '^local +build ' || fail "built-in local missing: $OUT"
}

# ---- the cache of what the scans found

# Lines in the marker file: the times the marker plugin's code ran.
loads() {
    if [ -f "$FAHR_TEST_MARKER" ]; then wc -l <"$FAHR_TEST_MARKER"; else echo 0; fi
}

# A directory holding the marker plugin, scanned once by `fahr plugins`:
# sets the caller's `dir`, and FAHR_TEST_MARKER.
first_scan_of_marker() { # NAME
    dir=$(bad_dir "$1" marker_constructor.so)
    export FAHR_TEST_MARKER="$TEST_TMP/$1.log"
    run_fahr --plugin-dir "$dir" plugins
    expect_eq "$RC" 0 "exit code of the first scan"
    expect_eq "$(loads)" 1 "loads after the first scan"
}

scans_once_and_loads_only_the_driver_used() {
    local dir
    first_scan_of_marker marker
    printf '%s\n' "$OUT" | grep -qE "^marker +train .* $dir/marker.so\$" || fail "marker missing: $OUT"
    run_fahr --plugin-dir "$dir" plugins
    run_fahr --plugin-dir "$dir" help marker
    expect_contains "$OUT" "--config.region=<string>" "help from the cache"
    expect_eq "$(loads)" 1 "loads after a second fahr plugins and fahr help"
    local work
    work=$(fixture_copy examples/foo)
    run_fahr --plugin-dir "$dir" init "$work/model.py" --build-driver=local
    expect_eq "$RC" 0 "init"
    expect_eq "$(loads)" 1 "loads after an init that uses another driver"
    # Used, it is loaded into fahr; its constructor's noise goes to stderr.
    RC=0
    OUT=$(FAHR_TEST_NOISE=1 "$FAHR" --plugin-dir "$dir" status job-1 --train-driver=marker \
        2>"$TEST_TMP/err") || RC=$?
    ERR=$(cat "$TEST_TMP/err")
    expect_eq "$RC" 0 "status exit code"
    expect_eq "$(loads)" 2 "loads after a status that uses it"
    expect_eq "$OUT" "$(printf 'job-1\tcompleted')" "status stdout"
    expect_contains "$ERR" "constructor noise through stdio" "status stderr"
    expect_contains "$ERR" "constructor noise, raw" "status stderr"
    # Config keys are checked from the cache, before anything is loaded.
    run_fahr --plugin-dir "$dir" status job-1 --train-driver=marker --config.count=many
    expect_eq "$RC" 2 "a bad config value"
    expect_eq "$(loads)" 2 "loads after a usage error"
}

changed_plugin_is_scanned_again() {
    local dir
    first_scan_of_marker changing
    touch -d '2001-01-01 00:00:00' "$dir/changing.so"
    run_fahr --plugin-dir "$dir" plugins
    expect_eq "$ERR" "" "stderr"
    expect_eq "$(loads)" 2 "loads after touch"
    # Replaced by another file, even of the same size and time.
    cp -p "$dir/changing.so" "$dir/changing.so.new"
    mv "$dir/changing.so.new" "$dir/changing.so"
    run_fahr --plugin-dir "$dir" plugins
    expect_eq "$(loads)" 3 "loads after a replacement"
    run_fahr --plugin-dir "$dir" plugins
    expect_eq "$(loads)" 3 "loads once the replacement is cached"
}

corrupt_cache_is_rebuilt() {
    local dir
    first_scan_of_marker cached
    head -c 300 "$FAHR_PLUGIN_CACHE" >"$TEST_TMP/truncated"
    printf '\377garbage 99999999999999999999:\n' >>"$TEST_TMP/truncated"
    cp "$TEST_TMP/truncated" "$FAHR_PLUGIN_CACHE"
    run_fahr --plugin-dir "$dir" plugins
    expect_eq "$RC" 0 "exit code with a corrupt cache"
    expect_eq "$ERR" "" "stderr"
    expect_eq "$(loads)" 2 "loads after the cache was corrupted"
    head -n 1 "$FAHR_PLUGIN_CACHE" | grep -q '^fahr-plugin-registry ' || fail "cache not rebuilt"
    run_fahr --plugin-dir "$dir" plugins
    expect_eq "$(loads)" 2 "loads once rebuilt"
    [ "$(stat -c %a "$FAHR_PLUGIN_CACHE")" = 600 ] || fail "cache mode $(stat -c %a "$FAHR_PLUGIN_CACHE")"
}

run_test wrong_major
run_test newer_minor
run_test no_entry_symbol
run_test not_a_shared_object
run_test world_writable_file
run_test world_writable_directory
run_test duplicate_name
run_test short_descriptor
run_test missing_operations
run_test bad_name
run_test failing_open_is_a_clear_error
run_test shadowing_is_reported_not_warned
run_test crashing_constructor
run_test hanging_constructor
run_test constructor_writes_to_stdout
run_test garbage_descriptor
run_test symlink_into_an_open_directory
run_test directory_inside_an_open_directory
run_test sticky_root_directory_above_is_safe
if as_root; then
    run_test file_of_another_user
    run_test directory_of_another_user
    run_test group_writable_file
    run_test group_writable_directory
else
    echo "# not root: the tests of other owners and groups are left out"
fi
run_test relative_environment_entries_are_ignored
run_test missing_plugin_dir_is_warned
run_test scans_once_and_loads_only_the_driver_used
run_test changed_plugin_is_scanned_again
run_test corrupt_cache_is_rebuilt
finish
