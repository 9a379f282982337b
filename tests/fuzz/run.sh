#!/usr/bin/env bash
# Build the libFuzzer targets with clang (ASan and UBSan on) and run each
# for FAHR_FUZZ_SECONDS (default 20) from its committed corpus. A crash, a
# leak or a sanitizer report fails the run and leaves the input in
# build-fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/../.."

seconds=${FAHR_FUZZ_SECONDS:-20}
if [ -f build-fuzz/build.ninja ]; then
    CC=clang meson setup build-fuzz --reconfigure -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false >/dev/null
else
    CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
        -Db_lundef=false >/dev/null
fi
meson compile -C build-fuzz >build-fuzz/compile.log || { tail -n 30 build-fuzz/compile.log >&2; exit 1; }
mkdir -p build-fuzz/crashes
status=0
for target in config aws_profile xml error_body unpack user_config; do
    work=$(mktemp -d)
    cp -R "tests/fuzz/corpus/$target/." "$work/"
    if build-fuzz/tests/fuzz/fuzz_$target "$work" -max_total_time="$seconds" \
        -timeout=10 -rss_limit_mb=1024 -artifact_prefix=build-fuzz/crashes/$target- \
        >"build-fuzz/fuzz_$target.log" 2>&1; then
        echo "fuzz $target: $(grep -o 'Done [0-9]* runs' "build-fuzz/fuzz_$target.log" | tail -n 1), no crash"
    else
        echo "fuzz $target: FAILED, see build-fuzz/fuzz_$target.log" >&2
        tail -n 30 "build-fuzz/fuzz_$target.log" >&2
        status=1
    fi
    rm -rf "$work"
done
exit "$status"
