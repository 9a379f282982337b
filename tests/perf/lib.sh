#!/usr/bin/env bash
# tests/perf/lib.sh: what the benchmarks share; sourced. Sets `root` (the
# source tree) and FAHR, and points the plugin path at the build tree's
# drivers (build-test/ unless FAHR and FAHR_PLUGIN_PATH say otherwise),
# never an installed fahr's.
# shellcheck disable=SC2034 # root and FAHR are for the scripts that source this
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
FAHR=${FAHR:-$root/build-test/core/fahr}
export FAHR_PLUGIN_PATH=${FAHR_PLUGIN_PATH:-$root/build-test/plugins} FAHR_PLUGIN_SYSTEM_PATH=

# timed_row NAME COMMAND...: run COMMAND once under /usr/bin/time -v, its
# output into $work/out.txt (`work`: the caller's scratch directory), and
# print a row: NAME, the wall time and the peak resident memory in MiB.
timed_row() {
    local name=$1 dir=${work:?} rss wall
    shift
    /usr/bin/time -v -o "$dir/time.txt" "$@" >"$dir/out.txt"
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$dir/time.txt")
    wall=$(awk -F': ' '/Elapsed \(wall clock\)/ {print $2}' "$dir/time.txt")
    printf "%-40s %10s %9s\n" "$name" "$wall" "$(awk -v kib="$rss" 'BEGIN { printf "%.1f", kib / 1024 }')"
}

# stop_fitted_job: stop the job that a `fit --no-wait` measured by
# timed_row printed into $work/out.txt, if any, so that it does not take
# the machine from the next row.
stop_fitted_job() {
    local job
    job=$(cat "${work:?}/out.txt")
    if [ -n "$job" ]; then
        "$FAHR" -q stop "$job" >/dev/null 2>&1 || true
    fi
}

# The header over timed_row's rows.
timed_header() {
    printf '%-40s %10s %9s\n' "" "wall" "peak MiB"
}

# start_s3rver DIR BUCKET: s3rver (installed into tests/perf/node_modules on
# first use) on a free port of 127.0.0.1 with BUCKET, its data and log in
# DIR, its pid in DIR/pid; prints the port once it answers.
start_s3rver() {
    local dir=$1 bucket=$2 perf port
    perf="$root/tests/perf"
    if [ ! -x "$perf/node_modules/.bin/s3rver" ]; then
        (cd "$perf" && npm install --no-audit --no-fund --silent >/dev/null)
    fi
    port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
    mkdir -p "$dir/data"
    echo '{}' >"$dir/checksums.json"
    node "$perf/s3rver_checksums.js" "$dir/data" "$port" "$bucket" "$dir/checksums.json" \
        >"$dir/log" 2>&1 &
    echo $! >"$dir/pid"
    for _ in $(seq 1 100); do
        if python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            echo "$port"
            return
        fi
        sleep 0.1
    done
    echo "start_s3rver: s3rver did not start; see $dir/log" >&2
    return 1
}
