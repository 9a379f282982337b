#!/usr/bin/env bash
# Uploading local inputs to S3 (plugins/common/s3_upload.c) on the bench:
# the digest cache that spares re-runs a read of unchanged inputs, the
# content's SHA-256 in the object's metadata, and what is sent.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
use_aws_bench

MODEL_DIR=$(fixture_copy examples/foo)

# fit --no-wait -v with one input channel, data=SOURCE; extra arguments
# (an env prefix is not possible here) go after it.
fit_input() { # SOURCE ARGS...
    local source=$1
    shift
    run_fahr -v fit "$MODEL_DIR/model.py" --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" \
        --config.role_name="$FAHR_BENCH_ROLE" --config.registry="$FAHR_BENCH_REGISTRY" \
        --config.base_image="$BENCH_IMAGE" --no-wait --input "data=$source" "$@"
}

# The s3:// prefix fit reports for its one uploaded input.
uploaded_uri() {
    printf '%s\n' "$ERR" | sed -n 's/^fahr: sagemaker: \(s3:[^:]*\): [0-9]* file(s) uploaded.*/\1/p'
}

# The digests of the cache's entries, one a line.
cached_digests() {
    local entry
    for entry in "$XDG_CACHE_HOME"/fahr/digests/*; do
        tail -n 1 "$entry"
    done
}

rerun_reads_nothing_of_an_unchanged_input() {
    local data="$TEST_TMP/rerun.bin"
    head -c 300000 /dev/urandom >"$data"
    fit_input "$data"
    expect_eq "$RC" 0 "first fit; stderr: $ERR"
    expect_contains "$ERR" "1 file(s) uploaded, 0 already there" "first upload"
    expect_lacks "$ERR" "digest cached" "first run"
    local uri key sha
    uri=$(uploaded_uri)
    key="${uri#s3://"$FAHR_BENCH_BUCKET"/}/rerun.bin"
    sha=$(sha256sum "$data" | cut -d' ' -f1)
    # The object carries its content's SHA-256, what a re-run compares.
    expect_eq "$(moto_cli s3api head-object --bucket "$FAHR_BENCH_BUCKET" --key "$key" \
        --query 'Metadata."fahr-sha256"' --output text)" "$sha" "the object's metadata"
    expect_contains "$(cached_digests)" "$sha" "the cache's entry"
    expect_eq "$(stat -c %a "$XDG_CACHE_HOME/fahr/digests")" 700 "the cache directory's mode"
    local entry
    for entry in "$XDG_CACHE_HOME"/fahr/digests/*; do
        expect_eq "$(stat -c %a "$entry")" 600 "a cache entry's mode"
    done

    # Again: the file is never opened (strace, an independent witness;
    # LeakSanitizer, in a sanitizer build, cannot run under ptrace).
    RC=0
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" strace -f -qq -e trace=open,openat -o "$TEST_TMP/trace" "$FAHR" -v fit "$MODEL_DIR/model.py" \
        --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" \
        --config.role_name="$FAHR_BENCH_ROLE" --config.registry="$FAHR_BENCH_REGISTRY" \
        --config.base_image="$BENCH_IMAGE" --no-wait --input "data=$data" \
        >"$TEST_TMP/out" 2>"$TEST_TMP/err" || RC=$?
    ERR=$(cat "$TEST_TMP/err")
    expect_eq "$RC" 0 "second fit; stderr: $ERR"
    expect_contains "$ERR" "$data: digest cached" "second run"
    expect_contains "$ERR" "$uri: 0 file(s) uploaded, 1 already there" "second upload"
    if grep -F "\"$data\"" "$TEST_TMP/trace" >/dev/null; then
        fail "the second run opened $data: $(grep -F "\"$data\"" "$TEST_TMP/trace" | head -n 3)"
    fi
}

same_size_new_mtime_is_read_again() {
    local data="$TEST_TMP/changed.bin"
    head -c 200000 /dev/urandom >"$data"
    fit_input "$data"
    expect_eq "$RC" 0 "first fit; stderr: $ERR"
    local first
    first=$(uploaded_uri)
    # New bytes, the same size, a later mtime.
    head -c 200000 /dev/urandom >"$data"
    touch -d '+2 seconds' "$data"
    fit_input "$data"
    expect_eq "$RC" 0 "second fit; stderr: $ERR"
    expect_lacks "$ERR" "digest cached" "changed file"
    expect_contains "$ERR" "1 file(s) uploaded, 0 already there" "changed file"
    expect_lacks "$ERR" "$first:" "the changed file's prefix"
    local uri
    uri=$(uploaded_uri)
    moto_cli s3 cp --quiet "$uri/changed.bin" "$TEST_TMP/changed.back"
    cmp "$data" "$TEST_TMP/changed.back" || fail "the object is not the changed file"
}

garbled_cache_entries_are_ignored() {
    local data="$TEST_TMP/garbled.bin"
    head -c 100000 /dev/urandom >"$data"
    fit_input "$data"
    expect_eq "$RC" 0 "first fit; stderr: $ERR"
    local uri sha entry
    uri=$(uploaded_uri)
    sha=$(sha256sum "$data" | cut -d' ' -f1)
    # Every entry names a wrong digest or is cut or is garbage: none may
    # be believed, the file is read and found already there.
    for entry in "$XDG_CACHE_HOME"/fahr/digests/*; do
        if grep -q "$sha" "$entry"; then
            sed -i "s/$sha/$(printf '%064d' 7)x/" "$entry"
        fi
    done
    fit_input "$data"
    expect_eq "$RC" 0 "fit over a garbled entry; stderr: $ERR"
    expect_lacks "$ERR" "digest cached" "garbled entry"
    expect_contains "$ERR" "$uri: 0 file(s) uploaded, 1 already there" "garbled entry"
    expect_contains "$(cached_digests)" "$sha" "the entry written anew"
    for entry in "$XDG_CACHE_HOME"/fahr/digests/*; do
        head -c 20 /dev/urandom >"$entry"
    done
    fit_input "$data"
    expect_eq "$RC" 0 "fit over a garbage entry; stderr: $ERR"
    expect_lacks "$ERR" "digest cached" "garbage entry"
    expect_contains "$ERR" "$uri: 0 file(s) uploaded, 1 already there" "garbage entry"
    # A cache directory others may write to is not used at all.
    chmod 0777 "$XDG_CACHE_HOME/fahr/digests"
    fit_input "$data"
    chmod 0700 "$XDG_CACHE_HOME/fahr/digests"
    expect_eq "$RC" 0 "fit with an open cache directory; stderr: $ERR"
    expect_lacks "$ERR" "digest cached" "a cache directory others may write"
}

# The parts go up aws-chunked, their chunks signed (the bench is plain
# HTTP) with a trailing CRC32 each; the bench checks every signature and
# checksum as S3 does (tests/bench/aws_chunked.py) and the object keeps the
# whole file's CRC32 (FULL_OBJECT), the checksum fetch checks.
parts_carry_checksums() {
    local data="$TEST_TMP/parts.bin"
    head -c $((11 * 1024 * 1024 + 7)) /dev/urandom >"$data"
    FAHR_S3_PART_SIZE=$((5 * 1024 * 1024)) fit_input "$data"
    expect_eq "$RC" 0 "fit; stderr: $ERR"
    expect_contains "$ERR" "1 file(s) uploaded, 0 already there" "upload"
    local uri key head crc
    uri=$(uploaded_uri)
    key="${uri#s3://"$FAHR_BENCH_BUCKET"/}/parts.bin"
    head=$(moto_cli s3api head-object --bucket "$FAHR_BENCH_BUCKET" --key "$key" \
        --checksum-mode ENABLED)
    crc=$(python3 -c 'import base64, sys, zlib
print(base64.b64encode(zlib.crc32(open(sys.argv[1], "rb").read()).to_bytes(4, "big")).decode())' "$data")
    python3 - "$head" "$crc" <<'PY' || fail "HeadObject: $head"
import json, sys
head = json.loads(sys.argv[1])
assert head["ETag"].endswith('-3"'), head["ETag"]
assert head.get("ChecksumCRC32") == sys.argv[2], (head.get("ChecksumCRC32"), sys.argv[2])
assert head.get("ChecksumType") == "FULL_OBJECT", head.get("ChecksumType")
PY
    moto_cli s3 cp --quiet "s3://$FAHR_BENCH_BUCKET/$key" "$TEST_TMP/parts.back"
    cmp "$data" "$TEST_TMP/parts.back" || fail "the object is not the file"
    local checked
    checked=$(grep -c "PUT /$FAHR_BENCH_BUCKET/$key?partNumber=.*: aws-chunked, .* checked: signatures x-amz-checksum-crc32" \
        "$AWS_BENCH/bench.log") || true
    expect_eq "$checked" 3 "parts the bench checked (signatures, CRC32); its log: $(tail -n 5 "$AWS_BENCH/bench.log")"
    expect_lacks "$(cat "$AWS_BENCH/bench.log")" "aws-chunked body refused" "the bench's log"
}

run_test parts_carry_checksums
run_test rerun_reads_nothing_of_an_unchanged_input
run_test same_size_new_mtime_is_read_again
run_test garbled_cache_entries_are_ignored
finish
