#!/usr/bin/env bash
# fahr's heavy host services (the HTTP transport, model placement) live in
# its private module libfahr-services.so (core/services.c): a command that
# uses none of them never loads libcurl, libcrypto, libarchive or ISA-L; the
# first service call loads the module, from beside the executable or from
# libdir/fahr of an installed fahr; a module that is missing, writable by
# others or of another build is refused with one line, and nothing is
# placed.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

fixture_plugins train_places.so
MODULE="$(dirname "$FAHR")/libfahr-services.so"

places_with() { # FAHR DIR: fetch a model into DIR with the places driver
    local fahr=$1 out_file="$TEST_TMP/places.out" err_file="$TEST_TMP/places.err"
    RC=0
    "$fahr" --plugin-dir "$PLUGINS" fetch "$2" some/model places://files-1 \
        --train-driver=places >"$out_file" 2>"$err_file" </dev/null || RC=$?
    ERR=$(cat "$err_file")
}

# A copy of fahr in a directory of its own, with MODULE beside it if given.
lone_fahr() { # DIR [MODULE]
    mkdir -p "$1"
    cp "$FAHR" "$1/fahr"
    [ $# -lt 2 ] || cp "$2" "$1/libfahr-services.so"
}

plugins_loads_none_of_the_heavy_libraries() {
    local err="$TEST_TMP/ld.err" pid own
    LD_DEBUG=files "$FAHR" plugins >/dev/null 2>"$err" </dev/null &
    pid=$!
    wait "$pid"
    # fahr's own lines, not those of the children that inspect drivers.
    own=$(grep -oE "^ *$pid:[[:space:]]+file=[^ ]+" "$err" | sed 's/.*file=/file=/' | sort -u)
    expect_contains "$own" "file=libjansson" "the libraries fahr loaded"
    local lib
    for lib in libarchive libcurl libcrypto libisal; do
        expect_lacks "$own" "file=$lib" "the libraries fahr plugins loaded"
    done
}

a_service_loads_the_module() {
    local dest="$TEST_TMP/placed"
    mkdir "$dest"
    places_with "$FAHR" "$dest"
    expect_eq "$RC" 0 "exit code ($ERR)"
    expect_eq "$(cat "$dest/model/weights.bin")" weights "the placed file"
}

a_missing_module_is_one_line_and_nothing_is_placed() {
    local dest="$TEST_TMP/missing-dest"
    mkdir "$dest"
    echo mine >"$dest/mine.txt"
    lone_fahr "$TEST_TMP/lone/bin"
    places_with "$TEST_TMP/lone/bin/fahr" "$dest"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "cannot load fahr's services ($TEST_TMP/lone/" "stderr"
    expect_contains "$ERR" "libfahr-services.so): cannot resolve: No such file or directory" "stderr"
    expect_eq "$(grep -c "fahr's services" <<<"$ERR")" 1 "lines naming the module"
    expect_eq "$(ls -A "$dest")" mine.txt "the destination"
}

a_module_others_could_write_is_refused() {
    local dest="$TEST_TMP/writable-dest"
    mkdir "$dest"
    lone_fahr "$TEST_TMP/writable" "$MODULE"
    chmod g+w "$TEST_TMP/writable/libfahr-services.so"
    places_with "$TEST_TMP/writable/fahr" "$dest"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "cannot load fahr's services ($TEST_TMP/writable/libfahr-services.so): group-writable" "stderr"
    expect_eq "$(ls -A "$dest")" "" "the destination"
}

a_module_of_another_build_is_refused() {
    local dest="$TEST_TMP/stale-dest"
    mkdir "$dest"
    lone_fahr "$TEST_TMP/stale" "$FAHR_FIXTURE_DIR/services_stale.so"
    places_with "$TEST_TMP/stale/fahr" "$dest"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "cannot load fahr's services ($TEST_TMP/stale/libfahr-services.so): it is of another build of fahr (0.0.0-stale), not of $("$FAHR" --version | awk '{print $2}')" "stderr"
    expect_eq "$(ls -A "$dest")" "" "the destination"
}

an_installed_fahr_finds_its_module_in_libdir() {
    local stage="$TEST_TMP/stage" dest="$TEST_TMP/installed-dest" fahr module
    meson install -C "$FAHR_BUILD_ROOT" --no-rebuild --quiet --destdir "$stage" >/dev/null
    fahr=$(find "$stage" -type f -name fahr -path '*/bin/*' | head -n 1)
    module=$(find "$stage" -type f -name libfahr-services.so | head -n 1)
    [ -n "$fahr" ] || fail "no fahr installed in $stage"
    [ -n "$module" ] || fail "no libfahr-services.so installed in $stage"
    [ ! -e "$(dirname "$fahr")/libfahr-services.so" ] || fail "the module was installed beside fahr"
    expect_contains "$module" "/fahr/libfahr-services.so" "where the module is installed"
    expect_lacks "$module" "/plugins/" "where the module is installed"
    mkdir "$dest"
    places_with "$fahr" "$dest"
    expect_eq "$RC" 0 "exit code ($ERR)"
    expect_eq "$(cat "$dest/model/weights.bin")" weights "the placed file"
}

run_test plugins_loads_none_of_the_heavy_libraries
run_test a_service_loads_the_module
run_test a_missing_module_is_one_line_and_nothing_is_placed
run_test a_module_others_could_write_is_refused
run_test a_module_of_another_build_is_refused
run_test an_installed_fahr_finds_its_module_in_libdir
finish
