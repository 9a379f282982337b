#!/usr/bin/env bash
# The build-context benchmark: fahr build's peak memory with a small context
# and with a large one (FAHR_BENCH_MB of data beside the script, 512 by
# default), on the bench's Docker engine, this machine, this run. The
# context streams to the engine as it is read, so the two peaks should match.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
FAHR=${FAHR:-$root/build-test/core/fahr}
export FAHR_PLUGIN_PATH=${FAHR_PLUGIN_PATH:-$root/build-test/plugins} FAHR_PLUGIN_SYSTEM_PATH=
size_mb=${FAHR_BENCH_MB:-512}
eval "$("$root/tests/bench/docker.sh" start)"
"$root/tests/bench/docker.sh" image
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # NAME DIR
    cp "$root/examples/foo/model.py" "$2/model.py"
    /usr/bin/time -v -o "$work/time.txt" "$FAHR" -q build "$2/model.py" --build-driver=local \
        --config.base_image=fahr-bench/python:3 >/dev/null
    local rss wall
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$work/time.txt")
    printf "%-34s %10s %9s\n" "$1" "$wall" "$(awk -v kib="$rss" 'BEGIN { printf "%.1f", kib / 1024 }')"
}

mkdir -p "$work/small/ctx" "$work/large/ctx"
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/large/ctx/data.bin"
echo "fahr build: peak memory with a small and a $size_mb MiB build context"
printf '%-34s %10s %9s\n' "" "wall" "peak MiB"
measure "context of a few KiB" "$work/small/ctx"
measure "context of $size_mb MiB" "$work/large/ctx"
docker image rm -f ctx/model:latest >/dev/null 2>&1 || true
