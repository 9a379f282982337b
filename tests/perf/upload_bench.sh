#!/usr/bin/env bash
# The upload benchmark: `fahr fit --no-wait` (build, push, upload the input
# channel, CreateTrainingJob) on the test bench, with an input of a few KiB
# and with one of FAHR_BENCH_MB (512 by default), which goes up as a
# multipart upload, parts in parallel. The build and push are the same in
# both runs; the upload is what differs. Parts are read from the file as
# they are sent, so the two peaks should match. Beside them, `aws s3 cp` of
# the same large file to the same bucket. This machine, this run; peak
# memory from /usr/bin/time -v.
#
# S3 is s3rver (tests/perf/node_modules, installed on first use with npm):
# moto, behind the bench's signature judge, is a Python server that holds
# every object in memory and measures itself, not the client. SageMaker,
# IAM and the registry stay the bench's (AWS_ENDPOINT_URL_S3 points S3 alone
# elsewhere, for fahr and the AWS CLI alike). s3rver checks no signature:
# correctness is the integration tests' business, on moto.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tests/perf/lib.sh
. "$here/lib.sh"
size_mb=${FAHR_BENCH_MB:-512}
eval "$("$root/tests/bench/docker.sh" start)"
"$root/tests/bench/docker.sh" image
work=$(mktemp -d)
s3rver=
export XDG_CACHE_HOME="$work/cache" # the digest cache of this run, never the user's
trap '"$root/tests/bench/aws.sh" stop "$work/aws" >/dev/null 2>&1 || true
    [ -z "$s3rver" ] || kill "$s3rver" 2>/dev/null || true; rm -rf "$work"' EXIT
mkdir -p "$work/aws"
"$root/tests/bench/aws.sh" start "$work/aws"
# shellcheck disable=SC1091 # written by aws.sh start
. "$work/aws/env"
s3rver_port=$(start_s3rver "$work/s3rver" "$FAHR_BENCH_BUCKET")
s3rver=$(cat "$work/s3rver/pid")
export AWS_ENDPOINT_URL_S3=http://127.0.0.1:$s3rver_port
export AWS_CONFIG_FILE="$work/no-config" AWS_SHARED_CREDENTIALS_FILE="$work/no-credentials"
unset AWS_PROFILE AWS_SESSION_TOKEN

mkdir -p "$work/foo"
cp "$root/examples/foo/model.py" "$work/foo/model.py"
fit=("$FAHR" -q fit "$work/foo/model.py" --build-driver=local --train-driver=sagemaker
    --config.output_path="s3://$FAHR_BENCH_BUCKET/models"
    --config.role_name="$FAHR_BENCH_ROLE" --config.registry="$FAHR_BENCH_REGISTRY"
    --config.base_image=fahr-bench/python:3 --no-wait --input)

measure() { # NAME COMMAND...
    timed_row "$@"
    stop_fitted_job
}

echo "small" >"$work/small.txt"
head -c $((size_mb * 1024 * 1024)) /dev/urandom >"$work/large.bin"
"${fit[@]}" "data=$work/small.txt" >"$work/out.txt" # builds and pushes the image once, unmeasured
stop_fitted_job

echo "fahr fit --no-wait: peak memory with a small and a $size_mb MiB input channel"
timed_header
measure "input of a few bytes (already there)" "${fit[@]}" "data=$work/small.txt"
# Files over 64 MiB (FAHR_S3_PART_SIZE) go up in parts.
how=$([ "$size_mb" -gt 64 ] && echo "multipart" || echo "one PUT")
measure "input of $size_mb MiB, $how" "${fit[@]}" "data=$work/large.bin"
# Again, unchanged: the digest cache (\$XDG_CACHE_HOME/fahr/digests) knows
# its SHA-256, so the upload's work is a stat and one HEAD; beside the row
# of a few bytes above, the difference is what the upload costs.
measure "the same $size_mb MiB again (digest cached)" "${fit[@]}" "data=$work/large.bin"
measure "aws s3 cp of the $size_mb MiB file" \
    aws s3 cp --quiet "$work/large.bin" "s3://$FAHR_BENCH_BUCKET/aws-cp/large.bin"
