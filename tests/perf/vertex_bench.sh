#!/usr/bin/env bash
# The Vertex driver's Cloud Storage speed on the Google bench
# (tests/bench/google.sh), beside Google's own client against the same bench:
#
# - upload: `fahr fit --no-wait --train-driver=vertex` with a local --input
#   of FAHR_BENCH_MB (256 by default), which goes up with the resumable
#   protocol, beside the same fit with an input of a few bytes (the build,
#   push and job are the same in both runs; the upload is what differs) and
#   `gcloud storage cp` of the same file up;
# - fetch: `fahr fetch` of a model of that size (one file, and the same
#   bytes as 8 files, which go 4 at once), beside `gcloud storage cp` of the
#   same objects down and curl's bare download of the one file.
#
# Wall time and peak resident memory from /usr/bin/time -v; this machine,
# this run, one run each. The bench's CRC32C is ISA-L's through ctypes where
# libisal is installed (pure Python otherwise, minutes for 256 MiB: then the
# figures measure the bench, not the clients). Needs a built fahr
# (build-test/ or FAHR=path), the Docker bench's engine, and gcloud for its
# rows (left out with a line where it is missing). The driver is built
# against build-test's fahr here, as a user builds it (or VERTEX_PLUGIN_DIR
# names a directory holding a built vertex.so).
set -euo pipefail
# shellcheck source=tests/perf/lib.sh
. "$(dirname "$0")/lib.sh"
size_mb=${FAHR_BENCH_MB:-256}
bucket=fahr-bench
eval "$("$root/tests/bench/docker.sh" start)"
"$root/tests/bench/docker.sh" image
work=$(mktemp -d "${TMPDIR:-/var/tmp}/vertex-bench.XXXXXX")
trap '"$root/tests/bench/google.sh" stop "$work/google" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT

# The driver, built against build-test's fahr as a separately shipped one is.
if [ -z "${VERTEX_PLUGIN_DIR:-}" ]; then
    meson install -C "$root/build-test" --no-rebuild --quiet --destdir "$work/stage" >/dev/null
    pc=$(find "$work/stage" -name fahr-plugin.pc | head -n 1)
    PKG_CONFIG_PATH="$(dirname "$pc")" PKG_CONFIG_SYSROOT_DIR="$work/stage" \
        meson setup "$work/build-vertex" "$root/plugins/train-vertex" --buildtype=release \
        -Db_lundef=false >"$work/setup.log" 2>&1 || { cat "$work/setup.log" >&2; exit 1; }
    meson compile -C "$work/build-vertex" >"$work/compile.log" 2>&1 ||
        { cat "$work/compile.log" >&2; exit 1; }
    VERTEX_PLUGIN_DIR="$work/build-vertex"
fi
export FAHR_PLUGIN_PATH="$VERTEX_PLUGIN_DIR:$FAHR_PLUGIN_PATH"

mkdir -p "$work/google" "$work/gcloud" "$work/home"
FAHR_BENCH_IMAGE=fahr-bench/python:3 "$root/tests/bench/google.sh" start "$work/google"
# shellcheck disable=SC1091 # written by google.sh start
. "$work/google/env"
# Nothing of this machine's own Google set-up; the bench's service account
# for fahr, its access token for gcloud.
export HOME="$work/home" CLOUDSDK_CONFIG="$work/gcloud" CLOUDSDK_CORE_DISABLE_PROMPTS=1 \
    GOOGLE_APPLICATION_CREDENTIALS="$FAHR_BENCH_GOOGLE_CREDS/service_account.json" \
    CLOUDSDK_CORE_PROJECT="$FAHR_BENCH_GOOGLE_PROJECT"
unset GOOGLE_CLOUD_PROJECT GCLOUD_PROJECT CLOUDSDK_AUTH_ACCESS_TOKEN_FILE
# (a command, not a function: /usr/bin/time runs it). No parallel composite
# upload: the bench does not play objects.compose, and fahr's upload is one
# object too.
gcloud_storage=(env CLOUDSDK_AUTH_ACCESS_TOKEN_FILE="$FAHR_BENCH_GOOGLE_CREDS/access_token"
    CLOUDSDK_STORAGE_PARALLEL_COMPOSITE_UPLOAD_ENABLED=False
    gcloud --no-user-output-enabled --verbosity=error storage)
have_gcloud=$(command -v gcloud >/dev/null && echo 1 || echo "")

mkdir -p "$work/foo" "$work/parts"
cp "$root/examples/foo/model.py" "$work/foo/model.py"
fit=("$FAHR" -q fit "$work/foo/model.py" --build-driver=local --train-driver=vertex
    --config.base_image=fahr-bench/python:3 --config.region=us-central1
    --config.output_path="gs://$bucket/perf" --config.registry="$FAHR_BENCH_GOOGLE_REGISTRY"
    --no-wait --input)

echo "small" >"$work/small.txt"
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/large.bin"
split -n 8 -d "$work/large.bin" "$work/parts/part-"
"${fit[@]}" "data=$work/small.txt" >"$work/out.txt" # builds and pushes the image once, unmeasured
stop_fitted_job

echo "Vertex driver and gcloud storage cp against the Google bench, $size_mb MiB; $(nproc) cores"
echo "upload"
timed_header
timed_row "fahr fit --no-wait, input of a few bytes" "${fit[@]}" "data=$work/small.txt"
stop_fitted_job
timed_row "fahr fit --no-wait, input of $size_mb MiB" "${fit[@]}" "data=$work/large.bin"
stop_fitted_job
if [ -n "$have_gcloud" ]; then
    timed_row "gcloud storage cp up, $size_mb MiB" \
        "${gcloud_storage[@]}" cp "$work/large.bin" "gs://$bucket/one/large.bin"
    parts=("$work"/parts/part-*)
    timed_row "gcloud storage cp up, 8 files" "${gcloud_storage[@]}" cp "${parts[@]}" "gs://$bucket/eight/"
else
    echo "(gcloud is not installed: its rows are left out)"
fi

# What fahr fetches: gcloud's upload where it ran, else fahr's own (under
# perf/inputs/), copied there by curl.
if [ -z "$have_gcloud" ]; then
    storage=${CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE%storage/v1/}
    token=$(cat "$FAHR_BENCH_GOOGLE_CREDS/access_token")
    put() { # FILE NAME
        curl -sSf -H "Authorization: Bearer $token" --data-binary "@$1" \
            -H 'Content-Type: application/octet-stream' \
            "${storage}upload/storage/v1/b/$bucket/o?uploadType=media&name=$2" >/dev/null
    }
    put "$work/large.bin" one/large.bin
    for part in "$work"/parts/part-*; do put "$part" "eight/$(basename "$part")"; done
fi

echo "fetch"
timed_header
fetched_right() { # DIR
    cmp -s "$1/large.bin" "$work/large.bin" 2>/dev/null ||
        cmp -s <(cat "$1"/part-*) "$work/large.bin" ||
        { echo "vertex_bench: the wrong bytes came in $1" >&2; exit 1; }
}
storage=${CLOUDSDK_API_ENDPOINT_OVERRIDES_STORAGE%storage/v1/}
timed_row "curl -o /dev/null (bare download)" curl -sSf -o /dev/null \
    -H "Authorization: Bearer $(cat "$FAHR_BENCH_GOOGLE_CREDS/access_token")" \
    "${storage}download/storage/v1/b/$bucket/o/one%2Flarge.bin?alt=media"
timed_row "fahr fetch, one file of $size_mb MiB" \
    "$FAHR" -q fetch "$work/f1" foo/model "gs://$bucket/one" --train-driver=vertex
fetched_right "$work/f1"
timed_row "fahr fetch, 8 files" \
    "$FAHR" -q fetch "$work/f8" foo/model "gs://$bucket/eight" --train-driver=vertex
fetched_right "$work/f8"
if [ -n "$have_gcloud" ]; then
    mkdir -p "$work/g1" "$work/g8"
    timed_row "gcloud storage cp down, one file" \
        "${gcloud_storage[@]}" cp "gs://$bucket/one/large.bin" "$work/g1/"
    fetched_right "$work/g1"
    names=()
    for part in "$work"/parts/part-*; do names+=("gs://$bucket/eight/$(basename "$part")"); done
    timed_row "gcloud storage cp down, 8 files" "${gcloud_storage[@]}" cp "${names[@]}" "$work/g8/"
    fetched_right "$work/g8"
fi
