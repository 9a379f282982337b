#!/usr/bin/env bash
# Run fahr's whole test suite: build, start the bench, run every test, then
# run them all again under AddressSanitizer and UndefinedBehaviorSanitizer.
# Ends with one line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")/.."

# fahr loads plugins only from directories nobody but root and the user can
# write (README, "Where drivers come from"), the build trees' own included:
# make them so, whatever the umask the checkout was made with.
umask 022
chmod go-w . build-* 2>/dev/null || true
dir=$PWD
while [ "$dir" != / ]; do
    dir=$(dirname "$dir")
    mode=$(stat -c %a "$dir")
    if [ $((8#$mode & 8#022)) -ne 0 ] && [ $((8#$mode & 8#1000)) -eq 0 ]; then
        echo "run.sh: $dir is writable by others, so fahr would load no plugin built below it;" \
            "check the tree out elsewhere" >&2
        exit 1
    fi
done

# The bench: a Docker engine (started unless one runs) and its base image.
eval "$(tests/bench/docker.sh start)"
tests/bench/docker.sh image

configure() { # DIR ARGS...
    local dir=$1
    shift
    if [ -f "$dir/build.ninja" ]; then
        meson setup "$dir" --reconfigure "$@" >/dev/null
    else
        meson setup "$dir" "$@" >/dev/null
    fi
}

passed=0
failed=0
run_suite() { # DIR [MESON TEST ARGS...]
    local rc=0
    meson test -C "$@" --print-errorlogs || rc=$?
    local counts
    counts=$(python3 - "$1/meson-logs/testlog.json" <<'PY'
import json, sys
ok = bad = 0
for line in open(sys.argv[1]):
    result = json.loads(line)["result"]
    if result in ("OK", "EXPECTEDFAIL"):
        ok += 1
    elif result != "SKIP":
        bad += 1
print(ok, bad)
PY
)
    passed=$((passed + ${counts% *}))
    failed=$((failed + ${counts#* }))
    return "$rc"
}

status=0
configure build-test
meson compile -C build-test >/dev/null
run_suite build-test || status=1

configure build-sanitize -Db_sanitize=address,undefined -Db_lundef=false
meson compile -C build-sanitize >/dev/null
# intercept_tls_get_addr=0: up to GCC 13 the runtime's __tls_get_addr
# interceptor takes a dynamic TLS block (of a dlopen'd library: the drivers,
# fahr's services module, libcurl) that happens to start at a certain page
# offset for a pre-2.25 glibc header and reads beside it, and LeakSanitizer's
# tracer then dies at exit ("Tracer caught signal 11"), failing a test that
# leaked nothing, at random.
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:intercept_tls_get_addr=0} \
    UBSAN_OPTIONS=${UBSAN_OPTIONS:-halt_on_error=1:print_stacktrace=1} \
    run_suite build-sanitize --no-suite package || status=1

# The release build that scripts/setup.sh installs must compile too: -O3
# finds warnings (-Werror) that -O2 does not.
configure build-release-check --buildtype=release -Dtests=false
if meson compile -C build-release-check >/dev/null; then
    passed=$((passed + 1))
else
    echo "run.sh: the release build does not compile" >&2
    failed=$((failed + 1))
    status=1
fi

# The fuzz targets, briefly (FAHR_FUZZ_SECONDS each, 20 by default).
if tests/fuzz/run.sh; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    status=1
fi

echo "$passed passed, $failed failed"
exit "$status"
