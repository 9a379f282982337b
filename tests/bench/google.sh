#!/usr/bin/env bash
# The test bench's Google Cloud (see README, "Tests"): tests/bench/google_bench.py
# on free ports of 127.0.0.1, with fresh test credentials in DIR/creds.
#
#   tests/bench/google.sh start DIR   start the bench (the Docker engine must
#                                     answer for jobs: tests/bench/docker.sh
#                                     start and image first); write DIR/env, a
#                                     file of `export` lines for the tests
#   tests/bench/google.sh stop DIR    stop what `start DIR` started (running
#                                     jobs' containers and the registry too)
#
# DIR/env points gcloud and fahr at the bench (CLOUDSDK_API_ENDPOINT_OVERRIDES_*,
# GCE_METADATA_HOST) and gives the tests FAHR_BENCH_GOOGLE_CONTROL, _REGISTRY,
# _CREDS (the credentials directory), _PROJECT. Nothing is exported under the
# names ADC reads (GOOGLE_APPLICATION_CREDENTIALS, CLOUDSDK_CONFIG): each test
# says which credential it uses.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)

port_of() { # NAME PORTS-LINE
    local pair
    for pair in $2; do
        if [ "${pair%%=*}" = "$1" ]; then
            echo "${pair#*=}"
            return
        fi
    done
}

url() { # NAME PORTS-LINE
    echo "http://127.0.0.1:$(port_of "$1" "$2")/"
}

start() {
    local dir=$1 project=${FAHR_BENCH_GOOGLE_PROJECT:-fahr-bench-project}
    mkdir -p "$dir/work"
    python3 "$here/google_bench.py" --dir "$dir/work" --project "$project" \
        --image "${FAHR_BENCH_IMAGE:-fahr-bench/python:3}" \
        >"$dir/ports" 2>"$dir/bench.log" &
    echo $! >"$dir/bench.pid"
    local ports=""
    for _ in $(seq 1 300); do
        ports=$(head -n 1 "$dir/ports" 2>/dev/null || true)
        [ -n "$ports" ] && break
        kill -0 "$(cat "$dir/bench.pid")" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$ports" ]; then
        echo "google.sh: google_bench.py did not start; see $dir/bench.log" >&2
        tail -n 20 "$dir/bench.log" >&2 || true
        exit 1
    fi
    local name upper
    (
        umask 077
        {
            for name in aiplatform logging artifactregistry; do
                upper=$(echo "$name" | tr '[:lower:]' '[:upper:]')
                if [ -n "$(port_of "$name" "$ports")" ]; then
                    echo "export CLOUDSDK_API_ENDPOINT_OVERRIDES_$upper=$(url "$name" "$ports")"
                fi
            done
            echo "export CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE=$(url storage "$ports")storage/v1/"
            echo "export GCE_METADATA_HOST=127.0.0.1:$(port_of metadata "$ports")"
            echo "export FAHR_BENCH_GOOGLE_CONTROL=http://127.0.0.1:$(port_of control "$ports")"
            if [ -n "$(port_of registry "$ports")" ]; then
                echo "export FAHR_BENCH_GOOGLE_REGISTRY=127.0.0.1:$(port_of registry "$ports")"
            fi
            echo "export FAHR_BENCH_GOOGLE_CREDS=$dir/work/creds"
            echo "export FAHR_BENCH_GOOGLE_PROJECT=$project"
        } >"$dir/env"
    )
}

stop() {
    local dir=$1 pid
    if [ -s "$dir/bench.pid" ]; then
        pid=$(cat "$dir/bench.pid")
        kill "$pid" 2>/dev/null || true
        # Its SIGTERM handler removes running jobs' containers and the registry.
        for _ in $(seq 1 100); do
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
