#!/usr/bin/env bash
# CI for the separately shipped drivers: each is built exactly as a user
# builds it, against an installed fahr and nothing else of this tree.
#
#   scripts/ci-drivers.sh [FAHR_BUILD_DIR]
#
# fahr is installed from FAHR_BUILD_DIR (default: a release build of this
# tree, set up in a scratch directory) into a scratch prefix (meson install
# --destdir). Then every plugins/*/meson.build whose first statement is
# project( (a project of its own: train-kaggle, train-vertex) is set up
# against that prefix's fahr-plugin.pc only (PKG_CONFIG_PATH and
# PKG_CONFIG_SYSROOT_DIR), compiled with warnings as errors, tested with its
# own meson test, installed into the plugindir the pc file names, and must
# then be listed by the installed fahr's `fahr plugins` (FAHR_PLUGIN_PATH
# unset, the scratch prefix's plugindir as its system directory).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d "${TMPDIR:-/tmp}/fahr-ci-drivers.XXXXXX")
trap 'rm -rf "$scratch"' EXIT
stage="$scratch/stage"

say() { echo "ci-drivers: $*" >&2; }
die() {
    say "$*"
    exit 1
}

# Run a step quietly; its output only if it fails.
step() { # WHAT COMMAND...
    local what=$1 log="$scratch/step.log"
    shift
    "$@" >"$log" 2>&1 || {
        cat "$log" >&2
        die "$what failed"
    }
}

# A driver of its own: the first statement of its meson.build is project(.
is_own_project() { # MESON_BUILD
    grep -v -E '^[[:space:]]*(#|$)' "$1" | head -n 1 | grep -q -E '^project[[:space:]]*\('
}

install_fahr() { # BUILD_DIR
    local build=$1
    if [ -z "$build" ]; then
        build="$scratch/fahr-build"
        say "building fahr (release) in $build"
        step "meson setup of fahr" meson setup "$build" "$root" --buildtype=release -Dtests=false
    fi
    step "building fahr" meson compile -C "$build"
    step "installing fahr" meson install -C "$build" --no-rebuild --destdir "$stage"
    pc=$(find "$stage" -name fahr-plugin.pc | head -n 1)
    fahr=$(find "$stage" -path '*/bin/fahr' -type f | head -n 1)
    [ -n "$pc" ] || die "fahr-plugin.pc was not installed"
    [ -n "$fahr" ] || die "fahr was not installed"
    plugindir=$(PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$stage" \
        pkg-config --variable=plugindir fahr-plugin)
}

# The installed fahr as a user runs it: no FAHR_PLUGIN_PATH, no user
# plugins, the scratch prefix's plugindir for the one it was built with.
installed_fahr() {
    env -u FAHR_PLUGIN_PATH XDG_DATA_HOME="$scratch/data" FAHR_PLUGIN_SYSTEM_PATH="$plugindir" \
        "$fahr" "$@"
}

build_driver() { # SOURCE_DIR
    local name build copy listed so
    name=$(basename "$1")
    build="$scratch/build-$name"
    # A copy outside this tree, so that nothing of fahr's sources is in reach.
    copy="$scratch/src-$name"
    cp -R "$1" "$copy"
    say "$name: setup, compile, test, install against $pc"
    step "$name: meson setup" env PKG_CONFIG_PATH="$(dirname "$pc")" \
        PKG_CONFIG_SYSROOT_DIR="$stage" meson setup "$build" "$copy" -Dwerror=true
    if grep -q -F "$root" "$build/compile_commands.json"; then
        die "$name: its compile flags reach into fahr's tree; it must build from the pc file only"
    fi
    step "$name: compile (warnings are errors)" meson compile -C "$build"
    step "$name: its own tests" meson test -C "$build" --print-errorlogs
    step "$name: meson install" meson install -C "$build" --no-rebuild
    listed=$(installed_fahr plugins) || die "$name: fahr plugins failed"
    meson introspect "$build" --installed |
        python3 -c 'import json, sys
print("\n".join(p for p in json.load(sys.stdin).values() if p.endswith(".so")))' >"$scratch/so"
    [ -s "$scratch/so" ] || die "$name: installs no .so"
    while IFS= read -r so; do
        [[ "$so" == "$plugindir"/* ]] || die "$name: $so is not in the plugindir $plugindir"
        printf '%s\n' "$listed" | awk -v so="$so" '$NF == so { found = 1 } END { exit !found }' ||
            die "$name: the installed fahr does not list $so: $listed"
    done <"$scratch/so"
    say "$name: ok"
}

install_fahr "${1:-}"
count=0
for meson_build in "$root"/plugins/*/meson.build; do
    if is_own_project "$meson_build"; then
        build_driver "$(dirname "$meson_build")"
        count=$((count + 1))
    fi
done
[ "$count" -gt 0 ] || die "no separately shipped driver under plugins/"
say "$count driver(s) built, tested and listed as a user would"
