#!/usr/bin/env bash
# The Debian packages (debian/): `dpkg-buildpackage -us -uc -b` of a copy of
# this tree gives fahr, libfahr-plugin-dev, fahr-driver-kaggle and
# fahr-driver-vertex, lintian finds no error in them, and installed with apt
# into a fresh Debian root (the bench's debootstrap root, tests/bench/docker.sh)
# fahr runs there: --version, all four packaged drivers listed from the
# system plugin directory, its manuals and its bash completion.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

SRC="$TEST_TMP/src/fahr"
ROOT="$TEST_TMP/root"

# The tree as git sees it (tracked and new files, no build directories),
# so what is packaged is what a clone of this work would hold.
copy_tree() {
    mkdir -p "$SRC"
    (
        cd "$FAHR_SOURCE_ROOT"
        git ls-files -z --cached --others --exclude-standard |
            while IFS= read -r -d '' file; do
                # A tracked file deleted in the work tree is not copied.
                if [ -e "$file" ] || [ -L "$file" ]; then printf '%s\0' "$file"; fi
            done | xargs -0 cp --parents -d -t "$SRC"
    )
    [ -f "$SRC/debian/control" ] || fail "the copy of the tree has no debian/control"
}

# Run a command in the Debian root, in a mount namespace of its own so that
# /proc and /dev vanish with it.
in_root() { # COMMAND...
    # shellcheck disable=SC2016 # expanded by the inner sh
    unshare --mount --propagation private sh -c '
        root=$1; shift
        mount --rbind /dev "$root/dev" && mount -t proc proc "$root/proc" &&
            exec chroot "$root" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin \
                LANG=C.UTF-8 TERM=dumb "$@"' _ "$ROOT" "$@"
}

packages_build() {
    copy_tree
    (cd "$SRC" && DEB_BUILD_OPTIONS="parallel=$(nproc)" dpkg-buildpackage -us -uc -b) \
        >"$TEST_TMP/build.log" 2>&1 || {
        tail -n 40 "$TEST_TMP/build.log"
        fail "dpkg-buildpackage -us -uc -b failed"
    }
    local package
    for package in fahr libfahr-plugin-dev fahr-driver-kaggle fahr-driver-vertex; do
        compgen -G "$TEST_TMP/src/${package}_*.deb" >/dev/null || fail "no $package package was built"
    done
}

packages_have_the_files_and_dependencies_they_promise() {
    local deb
    deb=$(echo "$TEST_TMP"/src/fahr_*.deb)
    expect_contains "$(dpkg-deb -c "$deb")" "./usr/bin/fahr" "fahr's files"
    expect_contains "$(dpkg-deb -c "$deb")" "./usr/share/man/man1/fahr.1.gz" "fahr's files"
    expect_contains "$(dpkg-deb -f "$deb" Provides)" "fahr-abi-1 (= 1." "fahr's Provides"
    deb=$(echo "$TEST_TMP"/src/libfahr-plugin-dev_*.deb)
    expect_contains "$(dpkg-deb -c "$deb")" "/fahr-plugin.pc" "libfahr-plugin-dev's files"
    expect_contains "$(dpkg-deb -c "$deb")" "./usr/include/fahr/plugin.h" "libfahr-plugin-dev's files"
    for deb in "$TEST_TMP"/src/fahr-driver-kaggle_*.deb "$TEST_TMP"/src/fahr-driver-vertex_*.deb; do
        expect_contains "$(dpkg-deb -f "$deb" Depends)" "fahr-abi-1 (>= 1." "$(basename "$deb")'s Depends"
        expect_contains "$(dpkg-deb -c "$deb")" "/fahr/plugins/" "$(basename "$deb")'s files"
    done
}

lintian_finds_no_error() {
    local changes out
    changes=$(echo "$TEST_TMP"/src/fahr_*.changes)
    [ -f "$changes" ] || fail "no .changes file"
    out=$(lintian --fail-on error "$changes" 2>&1) || fail "lintian: $out"
    expect_lacks "$out" "E: " "lintian's report"
}

packages_install_into_a_fresh_debian_root() {
    local tar
    tar=$("$FAHR_SOURCE_ROOT/tests/bench/docker.sh" rootfs)
    mkdir -p "$ROOT"
    tar -C "$ROOT" -xf "$tar"
    [ ! -e "$ROOT/usr/bin/fahr" ] || fail "the Debian root already has a fahr"
    cp /etc/resolv.conf "$ROOT/etc/resolv.conf"
    mkdir -p "$ROOT/debs"
    local package debs=()
    for package in fahr libfahr-plugin-dev fahr-driver-kaggle fahr-driver-vertex; do
        cp "$TEST_TMP"/src/"${package}"_*.deb "$ROOT/debs/"
        debs+=("/debs/$(cd "$ROOT/debs" && echo "${package}"_*.deb)")
    done
    # The packages' dependencies come from the root's own Debian mirror.
    {
        in_root apt-get update &&
            in_root apt-get install -y --no-install-recommends "${debs[@]}" man-db
    } >"$TEST_TMP/apt.log" 2>&1 || {
        tail -n 30 "$TEST_TMP/apt.log"
        fail "apt-get could not install the packages"
    }
}

installed_fahr_runs() {
    local out
    out=$(in_root fahr --version) || fail "fahr --version: $out"
    expect_contains "$out" "fahr " "fahr --version"
    expect_eq "$(in_root sh -c 'command -v fahr')" "/usr/bin/fahr" "where fahr is"
}

installed_fahr_lists_the_packaged_drivers() {
    local out name
    out=$(in_root fahr plugins 2>&1) || fail "fahr plugins: $out"
    for name in local local-gpu sagemaker kaggle vertex; do
        grep -qE "(^|[[:space:]])$name([[:space:]]|\$)" <<<"$out" || fail "fahr plugins lacks $name: $out"
    done
    # Loaded from the system plugin directory, not a build tree.
    expect_contains "$(in_root sh -c 'ls /usr/lib/*/fahr/plugins/')" "kaggle" "the system plugin directory"
}

installed_manuals_are_found() {
    local out
    out=$(in_root man -w fahr) || fail "man -w fahr: $out"
    expect_contains "$out" "/usr/share/man/man1/fahr.1" "man -w fahr"
    out=$(in_root man -w 7 fahr-plugin) || fail "man -w 7 fahr-plugin: $out"
    expect_contains "$out" "/usr/share/man/man7/fahr-plugin.7" "man -w 7 fahr-plugin"
}

installed_bash_completion_completes() {
    local out
    # shellcheck disable=SC2016 # expanded by the root's bash
    out=$(in_root bash -c '. /usr/share/bash-completion/completions/fahr
        COMP_WORDS=(fahr fi); COMP_CWORD=1; _fahr; printf "%s\n" "${COMPREPLY[@]}"') ||
        fail "bash completion in the root: $out"
    expect_eq "$out" "fit" "fahr fi<TAB> in the root"
    # shellcheck disable=SC2016
    out=$(in_root bash -c '. /usr/share/bash-completion/completions/fahr
        COMP_WORDS=(fahr help ka); COMP_CWORD=2; _fahr; printf "%s\n" "${COMPREPLY[@]}"')
    expect_eq "$out" "kaggle" "fahr help ka<TAB> in the root (a packaged driver)"
}

if [ "$(id -u)" -ne 0 ] || ! command -v dpkg-buildpackage >/dev/null; then
    echo "1..0 # SKIP needs root (chroot) and dpkg-buildpackage"
    exit 0
fi
run_test packages_build
if [ "$TEST_FAILED" -eq 0 ]; then
    run_test packages_have_the_files_and_dependencies_they_promise
    run_test lintian_finds_no_error
    run_test packages_install_into_a_fresh_debian_root
fi
if [ "$TEST_FAILED" -eq 0 ]; then
    run_test installed_fahr_runs
    run_test installed_fahr_lists_the_packaged_drivers
    run_test installed_manuals_are_found
    run_test installed_bash_completion_completes
fi
finish
