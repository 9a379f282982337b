#!/usr/bin/env bash
# Every bad plugin is skipped with one warning line naming its file and the
# reason, and the host goes on working: `fahr plugins` still lists the
# built-in drivers and `fahr init` still runs. Needs no Docker engine.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

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
    run_fahr --plugin-dir "$1" plugins
    expect_eq "$RC" 0 "fahr plugins exit code"
    local warnings
    warnings=$(printf '%s\n' "$ERR" | grep -c '^fahr: warning: skipping plugin ' || true)
    expect_eq "$warnings" 1 "warning lines in: $ERR"
    expect_contains "$ERR" "fahr: warning: skipping plugin $2: $3" "warning"
    expect_contains "$OUT" "skipped:" "fahr plugins"
    expect_contains "$OUT" "  $2: $3" "fahr plugins"
    printf '%s\n' "$OUT" | grep -qE '^local +build ' || fail "built-in local missing: $OUT"

    local work
    work=$(fixture_copy examples/foo)
    run_fahr --plugin-dir "$1" init "$work/model.py" --build-driver=local
    expect_eq "$RC" 0 "init beside a bad plugin"
    [ -f "$work/Dockerfile" ] || fail "init wrote no Dockerfile"
}

wrong_major() {
    local dir
    dir=$(bad_dir wrong_major abi_wrong_major.so)
    expect_skipped_and_host_works "$dir" "$dir/wrong_major.so" \
        "built for plugin ABI 2.0; this fahr speaks 1.0"
}

newer_minor() {
    local dir
    dir=$(bad_dir newer_minor abi_newer_minor.so)
    expect_skipped_and_host_works "$dir" "$dir/newer_minor.so" \
        "built for plugin ABI 1.1, newer than this fahr's 1.0"
}

no_entry_symbol() {
    local dir
    dir=$(bad_dir no_entry no_entry_symbol.so)
    expect_skipped_and_host_works "$dir" "$dir/no_entry.so" \
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
    local dir
    dir=$(bad_dir short short_descriptor.so)
    expect_skipped_and_host_works "$dir" "$dir/short.so" \
        "train driver 'short-descriptor' has no train operations"
}

missing_operations() {
    local dir
    dir=$(bad_dir missing missing_ops.so)
    expect_skipped_and_host_works "$dir" "$dir/missing.so" \
        "train driver 'missing-ops' lacks submit or poll"
}

bad_name() {
    local dir
    dir=$(bad_dir badname bad_name.so)
    expect_skipped_and_host_works "$dir" "$dir/badname.so" \
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
finish
