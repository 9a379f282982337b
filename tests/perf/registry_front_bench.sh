#!/usr/bin/env bash
# The Google bench's registry front (tests/bench/google_bench_registry_front.py)
# beside its baseline in the same run: `docker push` of one new image (a
# layer of SIZE_MIB random bytes, new each run, so nothing is already there)
# through the front, and straight to a plain `docker-registry` on TCP. Prints
# each push's wall time and the ratio of the medians. FAHR_BENCH_RUNS (3) and
# FAHR_BENCH_SIZE_MIB (256) change what is pushed.
set -euo pipefail
# shellcheck source=tests/perf/lib.sh
. "$(dirname "$0")/lib.sh"
runs=${FAHR_BENCH_RUNS:-3}
size=${FAHR_BENCH_SIZE_MIB:-256}
eval "$("$root/tests/bench/docker.sh" start)"
work=$(mktemp -d)
plain_pid=
cleanup() {
    [ -z "$plain_pid" ] || kill "$plain_pid" 2>/dev/null || true
    "$root/tests/bench/google.sh" stop "$work/google" || true
    rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/google" "$work/plain" "$work/image"
"$root/tests/bench/google.sh" start "$work/google"
# shellcheck disable=SC1091 # written by google.sh start
. "$work/google/env"
token=$(cat "$FAHR_BENCH_GOOGLE_CREDS/access_token")
curl -sSf -H "Authorization: Bearer $token" -H 'Content-Type: application/json' \
    -d '{"format": "DOCKER"}' >/dev/null \
    "${CLOUDSDK_API_ENDPOINT_OVERRIDES_ARTIFACTREGISTRY}v1/projects/$FAHR_BENCH_GOOGLE_PROJECT/locations/us-central1/repositories?repositoryId=perf"
plain_port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$work/plain/config.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $work/plain/storage
http:
  addr: 127.0.0.1:$plain_port
EOF
docker-registry serve "$work/plain/config.yml" >"$work/plain/log" 2>&1 &
plain_pid=$!
export DOCKER_CONFIG="$work/docker-config"
printf '%s' "$token" | docker login -u oauth2accesstoken --password-stdin \
    "$FAHR_BENCH_GOOGLE_REGISTRY" >/dev/null 2>"$work/login.log"
front="$FAHR_BENCH_GOOGLE_REGISTRY/$FAHR_BENCH_GOOGLE_PROJECT/perf/push"
plain="127.0.0.1:$plain_port/perf/push"
printf 'FROM scratch\nCOPY layer /layer\n' >"$work/image/Dockerfile"

# seconds COMMAND...: its wall time in seconds, its output discarded.
seconds() {
    local start
    start=$(date +%s%N)
    "$@" >/dev/null
    echo $(($(date +%s%N) - start))e-9
}

printf '%-6s %12s %12s\n' run "front s" "plain s"
for run in $(seq 1 "$runs"); do
    head -c "$((size * 1024 * 1024))" /dev/urandom >"$work/image/layer"
    docker build -q -t "$front:$run" "$work/image" >/dev/null 2>"$work/build.log" ||
        { cat "$work/build.log" >&2; exit 1; }
    docker tag "$front:$run" "$plain:$run"
    # Alternate which goes first, so that neither always meets a warm cache.
    if [ $((run % 2)) -eq 1 ]; then
        f=$(seconds docker push "$front:$run")
        p=$(seconds docker push "$plain:$run")
    else
        p=$(seconds docker push "$plain:$run")
        f=$(seconds docker push "$front:$run")
    fi
    printf '%-6s %12.2f %12.2f\n' "$run" "$f" "$p" | tee -a "$work/rows"
    docker rmi "$front:$run" "$plain:$run" >/dev/null
done
python3 - "$work/rows" <<'PY'
import statistics, sys
rows = [line.split() for line in open(sys.argv[1])]
front = statistics.median(float(r[1]) for r in rows)
plain = statistics.median(float(r[2]) for r in rows)
print(f"median: front {front:.2f} s, plain {plain:.2f} s, front/plain {front / plain:.2f}")
PY
