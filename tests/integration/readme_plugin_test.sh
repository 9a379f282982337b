#!/usr/bin/env bash
# The README's third-party train driver: the one C block under the heading
# that names plugins compiles against the installed header alone, is found
# in a plugin directory, and runs through `fahr fit`.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

STAGE="$TEST_TMP/stage"
PLUGINS="$TEST_TMP/plugins"

# The first ```c block after a heading that contains "plugin".
extract_readme_driver() {
    awk '
        /^#/ { in_section = (tolower($0) ~ /plugin/) }
        in_section && /^```c$/ && !done { grabbing = 1; next }
        grabbing && /^```$/ { grabbing = 0; done = 1; next }
        grabbing { print }
    ' "$FAHR_SOURCE_ROOT/README.md"
}

compiles_against_the_installed_header_only() {
    meson install -C "$FAHR_BUILD_ROOT" --no-rebuild --quiet --destdir "$STAGE" >/dev/null
    local pc
    pc=$(find "$STAGE" -name fahr-plugin.pc | head -n 1)
    [ -n "$pc" ] || fail "fahr-plugin.pc was not installed"
    local build="$TEST_TMP/driver-build"
    mkdir -p "$build" "$PLUGINS"
    extract_readme_driver >"$build/dryrun.c"
    [ "$(wc -l <"$build/dryrun.c")" -gt 50 ] || fail "README's driver block not found"
    grep -q 'fahr_plugin = {' "$build/dryrun.c" || fail "README's block is not the driver"
    local cflags
    cflags=$(PKG_CONFIG_PATH=$(dirname "$pc") PKG_CONFIG_SYSROOT_DIR="$STAGE" \
        pkg-config --cflags fahr-plugin)
    expect_contains "$cflags" "$STAGE" "cflags point into the installed tree"
    [ -f "$STAGE$(PKG_CONFIG_PATH=$(dirname "$pc") pkg-config --variable=includedir fahr-plugin)/fahr/plugin.h" ] ||
        fail "plugin.h not installed under includedir"
    # From an empty directory, so nothing of this repository is in reach.
    # shellcheck disable=SC2086 # cflags are words
    (cd "$build" && cc -Wall -Wextra -Werror -shared -fPIC $cflags dryrun.c -o "$PLUGINS/dryrun.so")
    [ -s "$PLUGINS/dryrun.so" ] || fail "no dryrun.so"
}

is_listed() {
    run_fahr --plugin-dir "$PLUGINS" plugins
    expect_eq "$RC" 0 "exit code"
    expect_eq "$ERR" "" "stderr"
    printf '%s\n' "$OUT" | grep -qE "^dryrun +train +1\.0\.0 +1\.1 +$PLUGINS/dryrun.so\$" ||
        fail "dryrun not listed: $OUT"
    run_fahr --plugin-dir "$PLUGINS" help dryrun
    expect_contains "$OUT" "--config.outcome=<string>" "help dryrun"
}

runs_through_fit() {
    use_docker_bench
    local dir
    dir=$(fixture_copy examples/foo)
    FAHR_POLL_INTERVAL_MS=50 run_fahr --plugin-dir "$PLUGINS" fit "$dir/model.py" \
        --build-driver=local --train-driver=dryrun --config.base_image="$BENCH_IMAGE"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "dryrun:foo/model:latest" "stdout is the job id"
    expect_contains "$ERR" "would run: foo/model:latest train" "job log"
    expect_contains "$ERR" "job dryrun:foo/model:latest: completed: nothing was run" "status line"

    run_fahr --plugin-dir "$PLUGINS" fit "$dir/model.py" --build-driver=local \
        --train-driver=dryrun --config.outcome=failed
    expect_eq "$RC" 3 "exit code of a failed job"
    expect_contains "$ERR" "fahr: job dryrun:foo/model:latest failed: the dry run was asked to fail" "stderr"

    run_fahr --plugin-dir "$PLUGINS" fit "$dir/model.py" --build-driver=local \
        --train-driver=dryrun --config.outcome=sideways
    expect_eq "$RC" 2 "exit code of a driver's usage error"
    expect_contains "$ERR" "fahr: dryrun: --config.outcome must be completed or failed, not 'sideways'" "stderr"
    expect_eq "$OUT" "" "stdout"
}

run_test compiles_against_the_installed_header_only
run_test is_listed
run_test runs_through_fit
finish
