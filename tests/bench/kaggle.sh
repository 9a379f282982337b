#!/usr/bin/env bash
# The test bench's Kaggle (see README, "Tests"): tests/bench/kaggle_bench.py
# on free ports of 127.0.0.1, with fresh credentials of both kinds.
#
#   tests/bench/kaggle.sh start DIR   start the bench (the Docker engine must
#                                     answer: tests/bench/docker.sh start and
#                                     image first); write DIR/env, a file of
#                                     `export` lines for the tests
#   tests/bench/kaggle.sh stop DIR    stop what `start DIR` started (its
#                                     running kernels' containers too)
#
# DIR/env sets KAGGLE_API_ENDPOINT (the API's base URL) and, for the tests to
# pick from, FAHR_BENCH_KAGGLE_USER, _KEY (HTTP Basic, the kaggle.json kind),
# _TOKEN (Bearer, the access-token kind), _CONTROL (the bench's /_bench base)
# and _STORAGE (the pre-signed URLs' host:port). No credential is exported
# under the names the Kaggle CLI reads: each test says which kind it uses.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

start() {
    local dir=$1 user key token
    mkdir -p "$dir/work"
    user=bench-user
    key=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    token=KGAT_$(python3 -c 'import secrets; print(secrets.token_hex(16))')
    python3 "$here/kaggle_bench.py" --user "$user" --key "$key" --token "$token" \
        --image "${FAHR_BENCH_IMAGE:-fahr-bench/python:3}" --dir "$dir/work" \
        >"$dir/ports" 2>"$dir/bench.log" &
    echo $! >"$dir/bench.pid"
    local ports=""
    for _ in $(seq 1 100); do
        ports=$(head -n 1 "$dir/ports" 2>/dev/null || true)
        [ -n "$ports" ] && break
        sleep 0.1
    done
    if [ -z "$ports" ]; then
        echo "kaggle.sh: kaggle_bench.py did not start; see $dir/bench.log" >&2
        tail -n 20 "$dir/bench.log" >&2 || true
        exit 1
    fi
    local api_port=${ports% *} storage_port=${ports#* }
    # The credentials are secrets of the bench: the file is the user's only.
    (
        umask 077
        cat >"$dir/env" <<ENV
export KAGGLE_API_ENDPOINT=http://127.0.0.1:$api_port
export FAHR_BENCH_KAGGLE_USER=$user
export FAHR_BENCH_KAGGLE_KEY=$key
export FAHR_BENCH_KAGGLE_TOKEN=$token
export FAHR_BENCH_KAGGLE_CONTROL=http://127.0.0.1:$api_port/_bench
export FAHR_BENCH_KAGGLE_STORAGE=127.0.0.1:$storage_port
ENV
    )
}

stop() {
    local dir=$1 pid
    if [ -s "$dir/bench.pid" ]; then
        pid=$(cat "$dir/bench.pid")
        kill "$pid" 2>/dev/null || true
        # Its SIGTERM handler removes the running kernels' containers.
        for _ in $(seq 1 50); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        rm -f "$dir/bench.pid"
    fi
}

case "${1:-}" in
start) start "${2:?usage: $0 start DIR}" ;;
stop) stop "${2:?usage: $0 stop DIR}" ;;
*)
    echo "usage: $0 start|stop DIR" >&2
    exit 2
    ;;
esac
