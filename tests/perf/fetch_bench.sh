#!/usr/bin/env bash
# The fetch benchmark: fahr fetch beside the bare download (curl -o
# /dev/null), curl | tar xz, and aws s3 cp then tar xzf, all of the same
# model.tar.gz from the same local S3 emulator (s3rver, which streams ranges;
# moto reads whole objects per request), on this machine in this run. Prints
# each one's wall time, CPU time (its own and s3rver's meanwhile) and peak
# memory (/usr/bin/time -v), the ratios, and the floor this machine's cores
# set: s3rver's work for one download plus inflating alone, over the cores.
#
#   tests/perf/fetch_bench.sh            # a 1 GiB artifact
#   FAHR_BENCH_MB=256 tests/perf/fetch_bench.sh
#
# Needs a built fahr (build-test/, or FAHR=path) and npm (s3rver is
# installed into tests/perf/node_modules on first use).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/perf/lib.sh
. "$here/lib.sh"
size_mb=${FAHR_BENCH_MB:-1024}
work=${FAHR_PERF_DIR:-/var/tmp/fahr-perf}
mkdir -p "$work"

# The artifact: weights-like data, float32 values drawn from N(0, 0.02) as a
# trained layer's are (a 64 MiB block, repeated: gzip's 32 KiB window cannot
# tell), packed with gzip -1 as training jobs' model.tar.gz usually are.
# Cached.
artifact="$work/weights-$size_mb.tar.gz"
if [ ! -s "$artifact" ]; then
    echo "fetch_bench: making a $size_mb MiB artifact" >&2
    rm -rf "$work/src" && mkdir -p "$work/src"
    python3 - "$work/src/weights.bin" "$size_mb" <<'PY'
import array, random, sys
random.seed(1)
block_mb = min(64, int(sys.argv[2]))
block = array.array("f", (random.gauss(0.0, 0.02) for _ in range(block_mb * 1024 * 1024 // 4)))
data = block.tobytes()
with open(sys.argv[1], "wb") as out:
    for _ in range(int(sys.argv[2]) // block_mb):
        out.write(data)
PY
    echo '{"layers": 1}' >"$work/src/config.json"
    tar -C "$work/src" -cf - weights.bin config.json | gzip -1 >"$artifact.tmp"
    mv "$artifact.tmp" "$artifact"
    rm -rf "$work/src"
fi

if [ ! -x "$here/node_modules/.bin/s3rver" ]; then
    (cd "$here" && npm install --no-audit --no-fund --silent >/dev/null)
fi
# S3 keeps the CRC32 the AWS CLI sends with an upload and gives it back to
# HeadObject; s3rver keeps none, so it runs with a front that answers as S3
# does for one copy of the artifact (s3://bench/crc32/...), and the other
# copy has only its ETag, an MD5, as on servers without S3's checksums.
if [ ! -s "$artifact.crc32" ]; then
    python3 - "$artifact" >"$artifact.crc32" <<'PY'
import base64, sys, zlib
crc = 0
with open(sys.argv[1], "rb") as f:
    while chunk := f.read(1 << 20):
        crc = zlib.crc32(chunk, crc)
print(base64.b64encode(crc.to_bytes(4, "big")).decode())
PY
fi
printf '{"/bench/crc32/model.tar.gz": {"x-amz-checksum-crc32": "%s", "x-amz-checksum-type": "FULL_OBJECT"}}' \
    "$(cat "$artifact.crc32")" >"$work/checksums.json"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
rm -rf "$work/s3rver" && mkdir -p "$work/s3rver"
node "$here/s3rver_checksums.js" "$work/s3rver" "$port" bench "$work/checksums.json" \
    >"$work/s3rver.log" 2>&1 &
s3rver=$!
trap 'kill $s3rver 2>/dev/null || true; rm -rf "$work/out"' EXIT
for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null && break
    sleep 0.1
done
export AWS_ACCESS_KEY_ID=S3RVER AWS_SECRET_ACCESS_KEY=S3RVER AWS_REGION=us-east-1 \
    AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    AWS_ENDPOINT_URL=http://127.0.0.1:$port
aws s3 cp --quiet "$artifact" s3://bench/crc32/model.tar.gz
aws s3 cp --quiet "$artifact" s3://bench/model.tar.gz
url="http://127.0.0.1:$port/bench/crc32/model.tar.gz"

# measure NAME COMMAND...: the best wall seconds of FAHR_BENCH_RUNS runs (3
# by default; shared machines are noisy), with that run's CPU seconds (user +
# system) and s3rver's in the same time, and the peak RSS (KiB).
results=()
runs=${FAHR_BENCH_RUNS:-3}
server_cpu() { # s3rver's user + system CPU so far, in clock ticks
    awk '{print $14 + $15}' "/proc/$s3rver/stat"
}
measure() {
    local name=$1 best="" rss=0 cpu="" server="" wall this_rss this_cpu before after
    shift
    for _ in $(seq 1 "$runs"); do
        rm -rf "$work/out" && mkdir -p "$work/out"
        sync
        before=$(server_cpu)
        /usr/bin/time -v -o "$work/time.txt" "$@" >/dev/null 2>"$work/stderr.txt" || {
            echo "fetch_bench: $name failed:" >&2
            cat "$work/stderr.txt" >&2
            exit 1
        }
        after=$(server_cpu)
        read -r wall this_cpu < <(python3 - "$work/time.txt" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
m = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (?:(\d+):)?(\d+):([\d.]+)", text)
wall = int(m.group(1) or 0) * 3600 + int(m.group(2)) * 60 + float(m.group(3))
cpu = sum(float(x) for x in re.findall(r"(?:User|System) time \(seconds\): ([\d.]+)", text))
print(wall, cpu)
PY
)
        this_rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.txt")
        [ "$this_rss" -gt "$rss" ] && rss=$this_rss
        if [ -z "$best" ] || python3 -c "import sys; sys.exit(0 if $wall < $best else 1)"; then
            best=$wall
            cpu=$this_cpu
            server=$(python3 -c "print(($after - $before) / $(getconf CLK_TCK))")
        fi
    done
    results+=("$name;$best;$rss;$cpu;$server")
}

measure "curl -o /dev/null" curl -sf -o /dev/null "$url"
# The floor fetch cannot go below here: inflating alone (ISA-L's igzip, from
# Debian's isal package, where installed).
if command -v igzip >/dev/null; then
    measure "igzip -dc (no network)" sh -c "igzip -dc '$artifact' >/dev/null"
fi
measure "curl | tar xz" sh -c "curl -sf '$url' | tar -xz -C '$work/out'"
measure "aws s3 cp + tar xzf" sh -c "aws s3 cp --quiet s3://bench/crc32/model.tar.gz '$work/out/m.tgz' && tar -xzf '$work/out/m.tgz' -C '$work/out' && rm '$work/out/m.tgz'"
fetched_right() {
    cmp -s "$work/out/config.json" <(echo '{"layers": 1}') ||
        { echo "fetch_bench: fahr fetched the wrong bytes" >&2; exit 1; }
}
measure "fahr fetch" "$FAHR" -q fetch "$work/out" bench/model s3://bench/crc32/model.tar.gz \
    --config.download_concurrency=1
fetched_right
measure "fahr fetch, MD5 of the ETag" "$FAHR" -q fetch "$work/out" bench/model s3://bench/model.tar.gz \
    --config.download_concurrency=1
fetched_right
measure "fahr fetch, 4 x 3 MiB ranges" "$FAHR" -q fetch "$work/out" bench/model s3://bench/crc32/model.tar.gz \
    --config.download_concurrency=4
fetched_right

python3 - "$size_mb" "$(nproc)" "${results[@]}" <<'PY'
import sys
size_mb, cores = int(sys.argv[1]), int(sys.argv[2])
rows = [r.split(";") for r in sys.argv[3:]]
times = {name: float(wall) for name, wall, *_ in rows}
cpus = {name: (float(cpu), float(server)) for name, _, _, cpu, server in rows}
print(f"fetch of a {size_mb} MiB model.tar.gz (unpacked size) from s3rver on 127.0.0.1,")
print("checked by the CRC32 S3 keeps (by the ETag's MD5 where named);")
print("best wall time of the runs; MiB/s of unpacked data; peak resident memory;")
print(f"CPU seconds (user + system) of the command and of s3rver meanwhile; {cores} cores")
print(f"{'':30} {'wall s':>8} {'MiB/s':>8} {'peak MiB':>9} {'CPU s':>7} {'s3rver':>7}")
for name, wall, rss, cpu, server in rows:
    wall = float(wall)
    print(f"{name:30} {wall:8.2f} {size_mb / wall:8.0f} {int(rss) / 1024:9.1f}"
          f" {float(cpu):7.2f} {float(server):7.2f}")
bare, fahr, aws = times["curl -o /dev/null"], times["fahr fetch"], times["aws s3 cp + tar xzf"]
print(f"fahr fetch / bare download: {fahr / bare:.2f}x   (target <= 1.25x)")
print(f"aws s3 cp + tar / fahr fetch: {aws / fahr:.2f}x   (target >= 3x)")
md5 = times["fahr fetch, MD5 of the ETag"]
print(f"checked by the ETag's MD5 instead: {md5 / bare:.2f}x the bare download, "
      f"{aws / md5:.2f}x faster than aws s3 cp + tar")
# What the cores allow: s3rver's work for one download and inflating alone
# must both fit in the time, on this machine's cores.
if "igzip -dc (no network)" in cpus:
    need = cpus["curl -o /dev/null"][1] + cpus["igzip -dc (no network)"][0]
    print(f"floor here: s3rver's {cpus['curl -o /dev/null'][1]:.2f} CPU s + igzip's "
          f"{cpus['igzip -dc (no network)'][0]:.2f} on {cores} cores >= {need / cores:.2f} s "
          f"= {need / cores / bare:.2f}x the bare download")
PY
