#!/usr/bin/env bash
# Faults survived, nothing lost: fahr against the AWS bench through a proxy
# that drops connections mid-body (a FIN or a TCP RST), resets them before
# or during the TLS handshake, answers 500/503/SlowDown and throttling
# errors, stalls, and corrupts bytes (tests/bench/fault_proxy.py).
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

AWS_BENCH="$TEST_TMP/aws"
PLAN="$TEST_TMP/plan.json"
PROXY_LOG="$TEST_TMP/proxy.log"
mkdir -p "$AWS_BENCH"
echo '[]' >"$PLAN"
trap '"$FAHR_SOURCE_ROOT/tests/bench/aws.sh" stop "$AWS_BENCH"; kill "${PROXY_PID:-0}" "${TLS_PROXY_PID:-0}" 2>/dev/null; rm -rf "$TEST_TMP"' EXIT
"$FAHR_SOURCE_ROOT/tests/bench/aws.sh" start "$AWS_BENCH"
# shellcheck disable=SC1091 # written by aws.sh start
. "$AWS_BENCH/env"
export AWS_CONFIG_FILE="$TEST_TMP/no-config" AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/no-credentials"
export FAHR_RETRY_SCALE=0.01
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION

bench_url=$AWS_ENDPOINT_URL
free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}
wait_for_port() { # PORT
    for _ in $(seq 1 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $1), 0.2)" 2>/dev/null && return
        sleep 0.1
    done
}
proxy_port=$(free_port)
python3 "$FAHR_SOURCE_ROOT/tests/bench/fault_proxy.py" "$proxy_port" "$bench_url" "$PLAN" "$PROXY_LOG" &
PROXY_PID=$!
# The same proxy over HTTPS, as S3 is reached: resets in the TLS handshake.
TLS_CERT="$TEST_TMP/cert.pem"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
    -keyout "$TEST_TMP/key.pem" -out "$TLS_CERT" 2>/dev/null
tls_proxy_port=$(free_port)
python3 "$FAHR_SOURCE_ROOT/tests/bench/fault_proxy.py" "$tls_proxy_port" "$bench_url" "$PLAN" \
    "$PROXY_LOG" "$TLS_CERT" "$TEST_TMP/key.pem" &
TLS_PROXY_PID=$!
wait_for_port "$proxy_port"
wait_for_port "$tls_proxy_port"
export AWS_ENDPOINT_URL="http://127.0.0.1:$proxy_port"

aws_bench() {
    aws --endpoint-url "$bench_url" --region us-east-1 --output text "$@"
}

# A model of a few files, one of 2 MiB that compresses poorly.
MODEL_SRC="$TEST_TMP/model-src"
mkdir -p "$MODEL_SRC/weights"
head -c $((2 * 1024 * 1024)) /dev/urandom >"$MODEL_SRC/weights/layer.bin"
echo '{"layers": 1}' >"$MODEL_SRC/config.json"
tar -C "$MODEL_SRC" -czf "$TEST_TMP/model.tar.gz" config.json weights
ARTIFACT="s3://$FAHR_BENCH_BUCKET/faults/model.tar.gz"
aws_bench s3 cp --quiet "$TEST_TMP/model.tar.gz" "$ARTIFACT"

plan() {
    echo "$1" >"$PLAN"
    : >"$PROXY_LOG"
}

expect_model_fetched() { # DIR
    cmp "$MODEL_SRC/weights/layer.bin" "$1/weights/layer.bin" || fail "layer.bin differs"
    cmp "$MODEL_SRC/config.json" "$1/config.json" || fail "config.json differs"
    expect_eq "$(find "$1" -mindepth 1 | wc -l)" 3 "entries in $1"
}

expect_dir_untouched() { # DIR
    expect_eq "$(cat "$1/mine.txt")" "mine" "the user's file"
    expect_eq "$(find "$1" -mindepth 1 | wc -l)" 1 "entries in $1"
}

fetch_resumes_after_resets() {
    plan '[{"match": "GetObject", "fault": "reset", "times": 2, "after_bytes": 300000}]'
    run_fahr fetch "$TEST_TMP/resets" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/resets"
    # Resumed where it broke, not from the start.
    grep -q '"range": "bytes=300000-"' "$PROXY_LOG" || fail "no resume at 300000: $(cat "$PROXY_LOG")"
    grep -q '"range": "bytes=600000-"' "$PROXY_LOG" || fail "no resume at 600000: $(cat "$PROXY_LOG")"
}

parallel_ranges_survive_resets() {
    plan '[{"match": "GetObject", "fault": "reset", "times": 2, "after_bytes": 100000}]'
    run_fahr fetch "$TEST_TMP/ranges" faults "$ARTIFACT" --config.download_concurrency=3 \
        --config.download_part_mb=1
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/ranges"
    grep -q '"range": "bytes=0-1048575"' "$PROXY_LOG" || fail "no first part: $(cat "$PROXY_LOG")"
    grep -q '"range": "bytes=1048576-2097151"' "$PROXY_LOG" || fail "no second part: $(cat "$PROXY_LOG")"
    expect_eq "$(grep -c '"fault": "reset"' "$PROXY_LOG")" 2 "resets given"
    # Parts that never arrive: a clear error, nothing written.
    mkdir -p "$TEST_TMP/ranges-fail"
    echo "mine" >"$TEST_TMP/ranges-fail/mine.txt"
    plan '[{"match": "GetObject", "fault": "reset", "times": 100, "after_bytes": 1000}]'
    run_fahr fetch "$TEST_TMP/ranges-fail" faults "$ARTIFACT" --config.download_concurrency=3 \
        --config.download_part_mb=1
    expect_eq "$RC" 1 "exit code when parts never arrive"
    expect_contains "$ERR" "fahr: sagemaker: GetObject:" "stderr"
    expect_dir_untouched "$TEST_TMP/ranges-fail"
}

fetch_survives_server_errors() {
    plan '[{"match": "HeadObject", "fault": "status", "status": 500, "times": 2,
            "body": "<Error><Code>InternalError</Code><Message>oops</Message></Error>"},
           {"match": "GetObject", "fault": "status", "status": 503, "times": 2,
            "body": "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"}]'
    run_fahr fetch "$TEST_TMP/errors" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/errors"
    expect_eq "$(grep -c '"fault": "status"' "$PROXY_LOG")" 4 "faults given"
}

fetch_survives_a_stall() {
    plan '[{"match": "GetObject", "fault": "stall", "seconds": 4, "times": 1}]'
    FAHR_STALL_SECONDS=1 run_fahr fetch "$TEST_TMP/stall" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/stall"
}

fetch_gives_up_cleanly() {
    mkdir -p "$TEST_TMP/given-up"
    echo "mine" >"$TEST_TMP/given-up/mine.txt"
    plan '[{"match": "GetObject", "fault": "reset", "times": 100, "after_bytes": 0}]'
    run_fahr fetch "$TEST_TMP/given-up" faults "$ARTIFACT"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "fahr: sagemaker: GetObject: cannot reach" "stderr"
    expect_dir_untouched "$TEST_TMP/given-up"
    # Retries that run out on errors, too.
    plan '[{"match": "GetObject", "fault": "status", "status": 503, "times": 100,
            "body": "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"}]'
    run_fahr fetch "$TEST_TMP/given-up" faults "$ARTIFACT"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "GetObject: SlowDown: Please reduce your request rate." "stderr"
    expect_dir_untouched "$TEST_TMP/given-up"
}

# A connection reset (a TCP RST: "Connection reset by peer") is survived
# where a FIN is: mid-body the download resumes; before the body, and on
# any other call, the request is sent again within AWS_MAX_ATTEMPTS.
SLOW_DOWN='{"match": "GetObject", "fault": "status", "status": 503, "times": 1,
            "body": "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>"}'

expect_one_line() { # TEXT PREFIX
    expect_eq "$(printf '%s\n' "$1" | wc -l)" 1 "lines in: $1"
    expect_contains "$1" "$2" "the line"
}

count_in_log() { # PATTERN
    grep -cE "$1" "$PROXY_LOG" || true
}

tcp_resets_mid_body_resume() {
    plan '[{"match": "GetObject", "fault": "rst", "times": 2, "after_bytes": 300000}]'
    run_fahr fetch "$TEST_TMP/rst" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/rst"
    expect_eq "$(count_in_log '"fault": "rst"')" 2 "resets given"
    # Resumed where it broke, not from the start (the RST throws away what
    # the proxy had not sent yet, so where exactly varies).
    grep -qE '"range": "bytes=[1-9][0-9]*-"' "$PROXY_LOG" || fail "no resume: $(cat "$PROXY_LOG")"
    plan '[{"match": "GetObject", "fault": "rst", "times": 2, "after_bytes": 100000}]'
    run_fahr fetch "$TEST_TMP/rst-ranges" faults "$ARTIFACT" --config.download_concurrency=4 \
        --config.download_part_mb=1
    expect_eq "$RC" 0 "exit code, four ranged GETs; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/rst-ranges"
    expect_eq "$(count_in_log '"fault": "rst"')" 2 "resets given to ranged GETs"
    plan "[$SLOW_DOWN, {\"match\": \"GetObject\", \"fault\": \"rst\", \"after_bytes\": 300000}]"
    run_fahr fetch "$TEST_TMP/rst-slowdown" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code, a reset after a SlowDown; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/rst-slowdown"
    expect_eq "$(count_in_log '"fault": "(rst|status)"')" 2 "faults given"
}

tcp_resets_before_the_body_are_retried() {
    local where
    for where in 0 -1; do # after the status and headers; before them
        plan "[{\"match\": \"GetObject\", \"fault\": \"rst\", \"times\": 2, \"after_bytes\": $where}]"
        run_fahr fetch "$TEST_TMP/rst-$where" faults "$ARTIFACT"
        expect_eq "$RC" 0 "exit code, reset at $where; stderr: $ERR"
        expect_model_fetched "$TEST_TMP/rst-$where"
        expect_eq "$(count_in_log '"method": "GET"')" 3 "GETs, reset at $where"
    done
    plan "[$SLOW_DOWN, {\"match\": \"GetObject\", \"fault\": \"rst\", \"after_bytes\": 0}]"
    run_fahr fetch "$TEST_TMP/rst-slowdown-0" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code, a reset after a SlowDown; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/rst-slowdown-0"
    # AWS_MAX_ATTEMPTS is the budget, whatever it is.
    plan '[{"match": "GetObject", "fault": "rst", "times": 4, "after_bytes": 0}]'
    AWS_MAX_ATTEMPTS=5 run_fahr fetch "$TEST_TMP/rst-five" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code, 4 resets in 5 attempts; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/rst-five"
    expect_eq "$(count_in_log '"method": "GET"')" 5 "GETs in 5 attempts"
}

tcp_resets_on_other_calls_are_retried() {
    plan '[{"match": "HeadObject", "fault": "rst", "times": 2, "after_bytes": -1}]'
    run_fahr fetch "$TEST_TMP/rst-head" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code, HeadObject reset; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/rst-head"
    a_training_job reset-job
    local where
    for where in -1 10; do # before the answer; in the middle of its JSON
        plan "[{\"match\": \"SageMaker.DescribeTrainingJob\", \"fault\": \"rst\", \"times\": 2,
                \"after_bytes\": $where}]"
        run_fahr status reset-job
        expect_eq "$RC" 0 "exit code, DescribeTrainingJob reset at $where; stderr: $ERR"
        expect_contains "$OUT" "reset-job" "status"
        expect_eq "$(count_in_log '"fault": "rst"')" 2 "resets given"
    done
}

tcp_resets_exhaust_the_budget_cleanly() {
    mkdir -p "$TEST_TMP/rst-given-up"
    echo "mine" >"$TEST_TMP/rst-given-up/mine.txt"
    plan '[{"match": "GetObject", "fault": "rst", "times": 100, "after_bytes": 0}]'
    run_fahr -q fetch "$TEST_TMP/rst-given-up" faults "$ARTIFACT"
    expect_eq "$RC" 1 "exit code"
    expect_one_line "$ERR" "fahr: sagemaker: GetObject: cannot reach $AWS_ENDPOINT_URL: "
    expect_dir_untouched "$TEST_TMP/rst-given-up"
    expect_eq "$(count_in_log '"method": "GET"')" 3 "GETs (AWS_MAX_ATTEMPTS)"
    plan '[{"match": "GetObject", "fault": "rst", "times": 100, "after_bytes": 1000}]'
    run_fahr -q fetch "$TEST_TMP/rst-given-up" faults "$ARTIFACT" \
        --config.download_concurrency=4 --config.download_part_mb=1
    expect_eq "$RC" 1 "exit code, four ranged GETs"
    expect_one_line "$ERR" "fahr: sagemaker: GetObject: "
    expect_dir_untouched "$TEST_TMP/rst-given-up"
    a_training_job reset-forever-job
    plan '[{"match": "SageMaker.DescribeTrainingJob", "fault": "rst", "times": 100, "after_bytes": -1}]'
    run_fahr status reset-forever-job
    expect_eq "$RC" 1 "exit code, DescribeTrainingJob"
    expect_one_line "$ERR" "fahr: sagemaker: DescribeTrainingJob: cannot reach $AWS_ENDPOINT_URL: "
    expect_eq "$(count_in_log '"fault": "rst"')" 3 "DescribeTrainingJob attempts"
}

# Over HTTPS, as S3 is reached, a connection reset in the TLS handshake is
# libcurl's "SSL connect error", whose message reads "Recv failure:
# Connection reset by peer" (or "Send failure"): a transport failure like
# any other, retried.
tls_handshake_resets_are_retried() {
    export AWS_ENDPOINT_URL="https://127.0.0.1:$tls_proxy_port" AWS_CA_BUNDLE="$TLS_CERT"
    a_training_job handshake-job
    plan '[{"match": "connect", "fault": "rst", "times": 2}]'
    run_fahr status handshake-job
    expect_eq "$RC" 0 "exit code, DescribeTrainingJob; stderr: $ERR"
    expect_contains "$OUT" "handshake-job" "status"
    expect_eq "$(count_in_log '"method": "connect"')" 2 "connections reset"
    plan '[{"match": "connect", "fault": "rst", "times": 2, "round": "HeadObject"}]'
    run_fahr fetch "$TEST_TMP/tls-head" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code, HeadObject's handshakes reset; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/tls-head"
    # HeadObject's connection is closed after its answer, so GetObject
    # needs a new one, whose handshake is reset.
    plan '[{"match": "HeadObject", "fault": "reset", "after_bytes": 0},
           {"match": "connect", "fault": "rst", "times": 2, "skip": 1}]'
    run_fahr fetch "$TEST_TMP/tls-get" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code, GetObject's handshakes reset; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/tls-get"
    expect_eq "$(count_in_log '"method": "connect"')" 2 "connections reset"
    # A resume's, and ranged GETs' (each on a connection of its own).
    plan "[$SLOW_DOWN, {\"match\": \"GetObject\", \"fault\": \"rst\", \"after_bytes\": 300000},
           {\"match\": \"connect\", \"fault\": \"rst\", \"times\": 2, \"skip\": 1}]"
    run_fahr fetch "$TEST_TMP/tls-resume" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code, a resume's handshakes reset; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/tls-resume"
    plan '[{"match": "connect", "fault": "rst", "times": 3, "skip": 1}]'
    run_fahr fetch "$TEST_TMP/tls-ranges" faults "$ARTIFACT" --config.download_concurrency=4 \
        --config.download_part_mb=1
    expect_eq "$RC" 0 "exit code, ranged GETs' handshakes reset; stderr: $ERR"
    expect_model_fetched "$TEST_TMP/tls-ranges"
    # Every handshake reset: one line, after AWS_MAX_ATTEMPTS, nothing written.
    mkdir -p "$TEST_TMP/tls-given-up"
    echo "mine" >"$TEST_TMP/tls-given-up/mine.txt"
    plan '[{"match": "connect", "fault": "rst", "times": 100}]'
    run_fahr -q fetch "$TEST_TMP/tls-given-up" faults "$ARTIFACT"
    expect_eq "$RC" 1 "exit code when every handshake is reset"
    expect_one_line "$ERR" "fahr: sagemaker: HeadObject: cannot reach $AWS_ENDPOINT_URL: "
    expect_dir_untouched "$TEST_TMP/tls-given-up"
    expect_eq "$(count_in_log '"method": "connect"')" 3 "connections (AWS_MAX_ATTEMPTS)"
}

# Ctrl-C while resets are being retried ends fahr at once: an interrupt
# is never taken for a transport failure.
interrupt_between_resets_is_not_retried() {
    mkdir -p "$TEST_TMP/rst-interrupted"
    echo "mine" >"$TEST_TMP/rst-interrupted/mine.txt"
    plan '[{"match": "GetObject", "fault": "rst", "times": 100, "after_bytes": 0}]'
    AWS_MAX_ATTEMPTS=100 FAHR_RETRY_SCALE=1 "$FAHR" fetch "$TEST_TMP/rst-interrupted" faults \
        "$ARTIFACT" >/dev/null 2>"$TEST_TMP/err" &
    local pid=$!
    for _ in $(seq 1 100); do
        [ "$(count_in_log '"method": "GET"')" -ge 2 ] && break
        sleep 0.1
    done
    kill -INT "$pid"
    local started=$SECONDS
    RC=0
    wait "$pid" || RC=$?
    expect_eq "$RC" 130 "exit code after SIGINT; stderr: $(cat "$TEST_TMP/err")"
    [ $((SECONDS - started)) -le 2 ] || fail "SIGINT took $((SECONDS - started)) s to end fahr"
    local gets
    gets=$(count_in_log '"method": "GET"')
    sleep 1
    expect_eq "$(count_in_log '"method": "GET"')" "$gets" "GETs after fahr ended"
    expect_dir_untouched "$TEST_TMP/rst-interrupted"
}

corrupt_bytes_are_refused() {
    mkdir -p "$TEST_TMP/corrupt"
    echo "mine" >"$TEST_TMP/corrupt/mine.txt"
    plan '[{"match": "GetObject", "fault": "corrupt", "times": 1, "after_bytes": 1500000}]'
    run_fahr fetch "$TEST_TMP/corrupt" faults "$ARTIFACT"
    expect_eq "$RC" 1 "exit code; stderr: $ERR"
    expect_dir_untouched "$TEST_TMP/corrupt"
}

# The checksum S3 keeps for the object is what the download is held to.
s3_checksums_are_checked() {
    # aws s3 cp sends a CRC32, which S3 keeps and gives back.
    plan '[]'
    run_fahr -v fetch "$TEST_TMP/crc32" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "the download is checked against the object's CRC32" "stderr"
    expect_model_fetched "$TEST_TMP/crc32"
    aws_bench s3api put-object --bucket "$FAHR_BENCH_BUCKET" --key faults/sha256.tar.gz \
        --body "$TEST_TMP/model.tar.gz" --checksum-algorithm SHA256 >/dev/null
    run_fahr -v fetch "$TEST_TMP/sha256" faults "s3://$FAHR_BENCH_BUCKET/faults/sha256.tar.gz"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "the download is checked against the object's SHA256" "stderr"
    expect_model_fetched "$TEST_TMP/sha256"
    # CRC64NVME, which S3 adds to objects uploaded without a checksum: the
    # emulator cannot compute it, so the proxy answers as S3 does, with
    # the value from CRC-64/NVME's definition, a bit at a time.
    local crc64
    crc64=$(python3 - "$TEST_TMP/model.tar.gz" <<'PY'
import base64, sys
table = []
for i in range(256):
    crc = i
    for _ in range(8):
        crc = (crc >> 1) ^ (0x9A6C9329AC4BC9B5 if crc & 1 else 0)
    table.append(crc)
crc = (1 << 64) - 1
for byte in open(sys.argv[1], "rb").read():
    crc = (crc >> 8) ^ table[(crc ^ byte) & 0xFF]
print(base64.b64encode((crc ^ ((1 << 64) - 1)).to_bytes(8, "big")).decode())
PY
)
    local s3_crc64='{"match": "HeadObject", "fault": "headers", "times": 1,
                     "set": {"x-amz-checksum-crc64nvme": "%s", "x-amz-checksum-type": "FULL_OBJECT"},
                     "remove": ["x-amz-checksum-crc32", "x-amz-sdk-checksum-algorithm"]}'
    # shellcheck disable=SC2059 # the plan is the format
    plan "[$(printf "$s3_crc64" "$crc64")]"
    run_fahr -v fetch "$TEST_TMP/crc64" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "the download is checked against the object's CRC64NVME" "stderr"
    expect_model_fetched "$TEST_TMP/crc64"
    # One that does not match: refused, nothing written.
    mkdir -p "$TEST_TMP/crc64-wrong"
    echo "mine" >"$TEST_TMP/crc64-wrong/mine.txt"
    # shellcheck disable=SC2059
    plan "[$(printf "$s3_crc64" "AAAAAAAAAAA=")]"
    run_fahr -q fetch "$TEST_TMP/crc64-wrong" faults "$ARTIFACT"
    expect_eq "$RC" 1 "exit code"
    expect_eq "$ERR" "fahr: sagemaker: $ARTIFACT: the download's CRC64NVME is $crc64, not the object's AAAAAAAAAAA=; nothing was written" "stderr"
    expect_dir_untouched "$TEST_TMP/crc64-wrong"
}

# Under SSE-KMS an object's ETag is not the MD5 of its bytes (S3 User
# Guide, "Checking object integrity"); the emulator's is, so the proxy
# gives S3's answer.
kms_etags_are_not_taken_for_md5s() {
    local md5
    md5=$(md5sum "$TEST_TMP/model.tar.gz" | cut -d' ' -f1)
    plan '[{"match": "HeadObject", "fault": "headers", "times": 1,
            "set": {"ETag": "\"0123456789abcdef0123456789abcdef\"",
                    "x-amz-server-side-encryption": "aws:kms"},
            "remove": ["x-amz-checksum-crc32"]}]'
    run_fahr -v fetch "$TEST_TMP/kms" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "checked against the object's size alone" "stderr"
    expect_model_fetched "$TEST_TMP/kms"
    # The same ETag on an unencrypted object is an MD5, and not this one's.
    mkdir -p "$TEST_TMP/md5-wrong"
    echo "mine" >"$TEST_TMP/md5-wrong/mine.txt"
    plan '[{"match": "HeadObject", "fault": "headers", "times": 1,
            "set": {"ETag": "\"0123456789abcdef0123456789abcdef\""},
            "remove": ["x-amz-checksum-crc32"]}]'
    run_fahr -q fetch "$TEST_TMP/md5-wrong" faults "$ARTIFACT"
    expect_eq "$RC" 1 "exit code"
    expect_eq "$ERR" "fahr: sagemaker: $ARTIFACT: the download's MD5 (ETag) is $md5, not the object's 0123456789abcdef0123456789abcdef; nothing was written" "stderr"
    expect_dir_untouched "$TEST_TMP/md5-wrong"
}

interrupted_fetch_leaves_nothing() {
    mkdir -p "$TEST_TMP/interrupted"
    echo "mine" >"$TEST_TMP/interrupted/mine.txt"
    # The answer stalls; each round's plan is new, so it stalls again.
    for signal in INT TERM; do
        plan "[{\"match\": \"GetObject\", \"fault\": \"stall\", \"seconds\": 30, \"round\": \"$signal\"}]"
        "$FAHR" fetch "$TEST_TMP/interrupted" faults "$ARTIFACT" >/dev/null 2>"$TEST_TMP/err" &
        local pid=$!
        sleep 1
        kill -"$signal" "$pid"
        RC=0
        wait "$pid" || RC=$?
        expect_eq "$RC" 130 "exit code after SIG$signal; stderr: $(cat "$TEST_TMP/err")"
        expect_dir_untouched "$TEST_TMP/interrupted"
    done
}

# A write that fails (a file-size limit here; a full disk the same way) is
# named as such, not blamed on the network, and leaves nothing. SIGXFSZ
# ignored by the caller, and left at its default: fahr ignores it itself.
# The model is larger than the pipe and the unpacker's buffers together,
# so the download is still going when the write fails.
write_failures_are_named() {
    mkdir -p "$TEST_TMP/full" "$TEST_TMP/big-src"
    echo "mine" >"$TEST_TMP/full/mine.txt"
    head -c $((8 * 1024 * 1024)) /dev/urandom >"$TEST_TMP/big-src/weights.bin"
    tar -C "$TEST_TMP/big-src" -czf "$TEST_TMP/big.tar.gz" weights.bin
    local big="s3://$FAHR_BENCH_BUCKET/faults/big.tar.gz"
    aws_bench s3 cp --quiet "$TEST_TMP/big.tar.gz" "$big"
    plan '[]'
    local how
    for how in ignored default; do
        RC=0
        (
            if [ "$how" = ignored ]; then trap '' XFSZ; fi
            ulimit -f 256
            exec "$FAHR" -q fetch "$TEST_TMP/full" faults "$big"
        ) >/dev/null 2>"$TEST_TMP/err" </dev/null || RC=$?
        expect_eq "$RC" 1 "exit code, SIGXFSZ $how; stderr: $(cat "$TEST_TMP/err")"
        expect_eq "$(cat "$TEST_TMP/err")" \
            "fahr: sagemaker: cannot write to $TEST_TMP/full: File too large" "stderr, SIGXFSZ $how"
        expect_dir_untouched "$TEST_TMP/full"
    done
}

# kill -KILL leaves the staging directory; the next fetch into the same
# directory removes it.
killed_fetch_is_cleaned_up_by_the_next() {
    mkdir -p "$TEST_TMP/killed"
    echo "mine" >"$TEST_TMP/killed/mine.txt"
    plan '[{"match": "GetObject", "fault": "stall", "seconds": 30, "times": 1}]'
    "$FAHR" fetch "$TEST_TMP/killed" faults "$ARTIFACT" >/dev/null 2>&1 &
    local pid=$!
    sleep 1
    kill -KILL "$pid"
    wait "$pid" || true
    expect_eq "$(find "$TEST_TMP/killed" -maxdepth 1 -name '.fahr-fetch-*' | wc -l)" 1 \
        "staging directories the killed fetch left"
    plan '[]'
    run_fahr fetch "$TEST_TMP/killed" faults "$ARTIFACT"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "left by a fetch that was stopped" "stderr"
    cmp "$MODEL_SRC/weights/layer.bin" "$TEST_TMP/killed/weights/layer.bin" || fail "layer.bin differs"
    expect_eq "$(cat "$TEST_TMP/killed/mine.txt")" "mine" "the user's file"
    expect_eq "$(find "$TEST_TMP/killed" -mindepth 1 | wc -l)" 4 "entries: the model's and mine.txt"
}

a_training_job() {
    aws_bench sagemaker create-training-job --training-job-name "$1" \
        --algorithm-specification TrainingImage=127.0.0.1:1/none:latest,TrainingInputMode=File \
        --role-arn arn:aws:iam::123456789012:role/fahr-bench-role \
        --output-data-config S3OutputPath="s3://$FAHR_BENCH_BUCKET/models" \
        --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=1 \
        --stopping-condition MaxRuntimeInSeconds=60 >/dev/null
}

throttled_status_is_retried() {
    a_training_job throttled-job
    plan '[{"match": "SageMaker.DescribeTrainingJob", "fault": "status", "status": 400, "times": 2,
            "content_type": "application/x-amz-json-1.1",
            "body": "{\"__type\": \"ThrottlingException\", \"message\": \"Rate exceeded\"}"}]'
    run_fahr status throttled-job
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$OUT" "throttled-job" "status"
    expect_eq "$(grep -c '"fault": "status"' "$PROXY_LOG")" 2 "throttled answers"
    plan '[{"match": "SageMaker.DescribeTrainingJob", "fault": "status", "status": 400, "times": 50,
            "content_type": "application/x-amz-json-1.1",
            "body": "{\"__type\": \"ThrottlingException\", \"message\": \"Rate exceeded\"}"}]'
    run_fahr status throttled-job
    expect_eq "$RC" 1 "exit code when retries run out"
    expect_eq "$ERR" "fahr: sagemaker: DescribeTrainingJob: ThrottlingException: Rate exceeded" "stderr"
}

throttled_logs_lose_nothing() {
    a_training_job logged-job
    local moto=(aws --endpoint-url "$FAHR_BENCH_MOTO" --region us-east-1)
    "${moto[@]}" logs create-log-group --log-group-name /aws/sagemaker/TrainingJobs 2>/dev/null || true
    "${moto[@]}" logs create-log-stream --log-group-name /aws/sagemaker/TrainingJobs \
        --log-stream-name logged-job/algo-1-1
    local events now
    now=$(($(date +%s) * 1000))
    events=$(python3 -c "import json, sys; print(json.dumps([{'timestamp': int(sys.argv[1]) + i, 'message': f'line {i}'} for i in range(50)]))" "$now")
    "${moto[@]}" logs put-log-events --log-group-name /aws/sagemaker/TrainingJobs \
        --log-stream-name logged-job/algo-1-1 --log-events "$events" >/dev/null
    plan '[{"match": "Logs_20140328.GetLogEvents", "fault": "status", "status": 400, "times": 2,
            "content_type": "application/x-amz-json-1.1",
            "body": "{\"__type\": \"ThrottlingException\", \"message\": \"Rate exceeded\"}"}]'
    run_fahr logs logged-job
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "$(seq 0 49 | sed 's/^/line /')" "the log, in order, whole"
}

run_test fetch_resumes_after_resets
run_test parallel_ranges_survive_resets
run_test fetch_survives_server_errors
run_test fetch_survives_a_stall
run_test fetch_gives_up_cleanly
run_test tcp_resets_mid_body_resume
run_test tcp_resets_before_the_body_are_retried
run_test tcp_resets_on_other_calls_are_retried
run_test tcp_resets_exhaust_the_budget_cleanly
run_test tls_handshake_resets_are_retried
run_test interrupt_between_resets_is_not_retried
run_test corrupt_bytes_are_refused
run_test s3_checksums_are_checked
run_test kms_etags_are_not_taken_for_md5s
run_test interrupted_fetch_leaves_nothing
run_test write_failures_are_named
run_test killed_fetch_is_cleaned_up_by_the_next
run_test throttled_status_is_retried
run_test throttled_logs_lose_nothing
finish
