#!/usr/bin/env bash
# The build-context benchmark: fahr build's peak memory with a small context
# and with a large one (FAHR_BENCH_MB of data beside the script, 512 by
# default), on the bench's Docker engine, this machine, this run. The
# context streams to the engine as it is read, so the two peaks should match.
set -euo pipefail
# shellcheck source=tests/perf/lib.sh
. "$(dirname "$0")/lib.sh"
size_mb=${FAHR_BENCH_MB:-512}
eval "$("$root/tests/bench/docker.sh" start)"
"$root/tests/bench/docker.sh" image
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

measure() { # NAME DIR
    cp "$root/examples/foo/model.py" "$2/model.py"
    timed_row "$1" "$FAHR" -q build "$2/model.py" --build-driver=local \
        --config.base_image=fahr-bench/python:3
}

mkdir -p "$work/small/ctx" "$work/large/ctx"
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/large/ctx/data.bin"
echo "fahr build: peak memory with a small and a $size_mb MiB build context"
timed_header
measure "context of a few KiB" "$work/small/ctx"
measure "context of $size_mb MiB" "$work/large/ctx"
docker image rm -f ctx/model:latest >/dev/null 2>&1 || true
