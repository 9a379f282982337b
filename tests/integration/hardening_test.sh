#!/usr/bin/env bash
# Hostile values and answers (issue 9, parts 4 and 5): fahr against a small
# server that records what reaches it (tests/bench/hardening_server.py). A
# region or config value cannot add a header line or send the request to
# another host, a huge answer is refused in little memory, a container
# credentials token never travels in cleartext to a host outside the allowed
# ones, AWS_CA_BUNDLE and a profile's ca_bundle are honoured, and a local
# job's files are private whatever the umask.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

# Each test runs in a subshell of its own (lib.sh): the servers it starts
# are stopped when it ends.
SERVERS=()
stop_servers() {
    local pid
    for pid in "${SERVERS[@]}"; do
        kill "$pid" 2>/dev/null || true
    done
}

# Nothing of this machine's own AWS setup may leak in; keys that only this
# test's server sees.
export AWS_CONFIG_FILE="$TEST_TMP/no-config" AWS_SHARED_CREDENTIALS_FILE="$TEST_TMP/no-credentials"
export AWS_ACCESS_KEY_ID=AKIDHARDENING AWS_SECRET_ACCESS_KEY=hardening-secret
export AWS_EC2_METADATA_DISABLED=true AWS_MAX_ATTEMPTS=1
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_DEFAULT_REGION AWS_REGION AWS_ENDPOINT_URL AWS_CA_BUNDLE
unset AWS_CONTAINER_CREDENTIALS_RELATIVE_URI AWS_CONTAINER_CREDENTIALS_FULL_URI
unset AWS_CONTAINER_AUTHORIZATION_TOKEN AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Start the server: sets PORT and LOG (the record of what reached it).
start_server() { # MODE [CERT KEY]
    PORT=$(free_port)
    LOG=$(mktemp "$TEST_TMP/server.XXXXXX")
    python3 "$FAHR_SOURCE_ROOT/tests/bench/hardening_server.py" "$PORT" "$LOG" "$@" &
    SERVERS+=($!)
    trap stop_servers EXIT
    for _ in $(seq 1 50); do
        python3 -c "import socket; socket.create_connection(('127.0.0.1', $PORT), 0.2)" 2>/dev/null && break
        sleep 0.1
    done
    # The probe's connection is recorded by a thread of the server's: wait
    # for it, then forget it.
    for _ in $(seq 1 50); do
        [ -s "$LOG" ] && break
        sleep 0.1
    done
    : >"$LOG"
}

# What reached the server: request lines and headers, CR and LF as \r \n.
received() {
    python3 -c 'import json, sys
for line in open(sys.argv[1]):
    print(json.dumps(json.loads(line)))' "$LOG"
}

header_lines_cannot_be_injected() {
    start_server ok
    export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT"
    # The server records and answers: a region fit for it gets through.
    AWS_REGION=us-east-1 run_fahr jobs
    expect_eq "$RC" 0 "exit code with a good region; stderr: $ERR"
    expect_contains "$(received)" "X-Amz-Target: SageMaker.ListTrainingJobs" "what reached the server"
    : >"$LOG"

    local hostile=$'us-east-1\r\nX-Injected: yes'
    run_fahr jobs "--config.region=$hostile"
    expect_eq "$RC" 2 "exit code with --config.region; stderr: $ERR"
    expect_contains "$ERR" "--config.region: the value has a control character (0x0d)" "stderr"
    AWS_REGION=$hostile run_fahr jobs
    expect_eq "$RC" 2 "exit code with AWS_REGION; stderr: $ERR"
    expect_contains "$ERR" "AWS_REGION: region 'us-east-1\\x0d\\x0aX-Injected: yes' doesn't match a supported format" "stderr"
    printf '[default]\nregion = us-east-1\rX-Injected: yes\n' >"$TEST_TMP/cr-config"
    AWS_CONFIG_FILE="$TEST_TMP/cr-config" run_fahr jobs
    expect_eq "$RC" 2 "exit code with the profile's region; stderr: $ERR"
    expect_contains "$ERR" "profile 'default': region has a control character" "stderr"
    AWS_REGION=us-east-1 AWS_ENDPOINT_URL="http://127.0.0.1:$PORT/"$'\r\nX-Injected: yes' run_fahr jobs
    expect_eq "$RC" 2 "exit code with a hostile endpoint URL; stderr: $ERR"
    expect_contains "$ERR" "AWS_ENDPOINT_URL: 'http://127.0.0.1:$PORT/\\x0d\\x0aX-Injected: yes' is not an endpoint URL" "stderr"
    AWS_REGION=us-east-1 run_fahr status $'job\r\nX-Injected: yes'
    expect_eq "$RC" 2 "exit code with a hostile job name; stderr: $ERR"
    expect_contains "$ERR" "'job\\x0d\\x0aX-Injected: yes' is not a SageMaker training job name" "stderr"
    expect_eq "$(received)" "" "what reached the server"
}

a_region_cannot_send_the_request_elsewhere() {
    start_server ok
    # https://api.sagemaker.x@127.0.0.1:PORT/.amazonaws.com is 127.0.0.1.
    AWS_REGION="x@127.0.0.1:$PORT/" run_fahr jobs
    expect_eq "$RC" 2 "exit code; stderr: $ERR"
    expect_contains "$ERR" "AWS_REGION: region 'x@127.0.0.1:$PORT/' doesn't match a supported format (like us-east-1)" "stderr"
    expect_eq "$(received)" "" "connections to the other host"
}

huge_answers_are_refused_in_little_memory() {
    start_server huge
    export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_REGION=us-east-1
    local out="$TEST_TMP/time.out" kib
    RC=0
    /usr/bin/time -v -o "$out" "$FAHR" jobs >/dev/null 2>"$TEST_TMP/err" || RC=$?
    ERR=$(cat "$TEST_TMP/err")
    expect_eq "$RC" 1 "exit code of jobs; stderr: $ERR"
    expect_eq "$ERR" "fahr: sagemaker: ListTrainingJobs: the answer from 127.0.0.1:$PORT is larger than 8 MiB; refusing it" "stderr"
    kib=$(sed -n 's/^.*Maximum resident set size (kbytes): //p' "$out")
    [ "$kib" -lt $((128 * 1024)) ] || fail "jobs peaked at $kib KiB for a 1 GiB answer"
    # The same error answer to a streamed download.
    RC=0
    /usr/bin/time -v -o "$out" "$FAHR" fetch "$TEST_TMP/model" foo/model \
        s3://bucket/model.tar.gz >/dev/null 2>"$TEST_TMP/err" || RC=$?
    ERR=$(cat "$TEST_TMP/err")
    expect_eq "$RC" 1 "exit code of fetch; stderr: $ERR"
    expect_contains "$ERR" "GetObject: the answer from 127.0.0.1:$PORT is larger than 8 MiB; refusing it" "stderr"
    kib=$(sed -n 's/^.*Maximum resident set size (kbytes): //p' "$out")
    [ "$kib" -lt $((128 * 1024)) ] || fail "fetch peaked at $kib KiB for a 1 GiB answer"
    [ ! -e "$TEST_TMP/model" ] || fail "a failed fetch left LOCAL_DIR behind"
}

container_tokens_never_travel_in_cleartext() {
    start_server ok
    export AWS_ENDPOINT_URL="http://127.0.0.1:$PORT" AWS_REGION=us-east-1
    local bare=(env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY)
    # libcurl takes any *.localhost for this machine; botocore allows only
    # loopback addresses, localhost and the ECS and EKS hosts.
    RC=0
    "${bare[@]}" AWS_CONTAINER_CREDENTIALS_FULL_URI="http://fahr-test.localhost:$PORT/creds" \
        AWS_CONTAINER_AUTHORIZATION_TOKEN=cleartext-secret "$FAHR" jobs 2>"$TEST_TMP/err" || RC=$?
    expect_eq "$RC" 2 "exit code; stderr: $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/err")" "refusing to send it a token in cleartext" "stderr"
    expect_eq "$(received)" "" "what reached the server"

    # The token file wins over the variable, and is what is sent.
    printf 'token-from-the-file' >"$TEST_TMP/token"
    RC=0
    "${bare[@]}" AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$PORT/creds" \
        AWS_CONTAINER_AUTHORIZATION_TOKEN=token-from-the-variable \
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$TEST_TMP/token" "$FAHR" -v jobs 2>"$TEST_TMP/err" || RC=$?
    expect_eq "$RC" 0 "exit code with a token file; stderr: $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/err")" "credentials from container credentials" "debug line"
    expect_lacks "$(cat "$TEST_TMP/err")" "token-from-the-file" "debug output"
    expect_contains "$(received)" 'GET /creds HTTP/1.1\r\nHost: 127.0.0.1:'"$PORT"'\r\n' "the request"
    expect_contains "$(received)" 'Authorization: token-from-the-file\r\n' "the request"
    expect_lacks "$(received)" "token-from-the-variable" "the request"
    : >"$LOG"

    # A token with a line break is refused; the error names the file only.
    printf 'token-from-the-file\r\nX-Injected: yes' >"$TEST_TMP/token"
    RC=0
    "${bare[@]}" AWS_CONTAINER_CREDENTIALS_FULL_URI="http://127.0.0.1:$PORT/creds" \
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE="$TEST_TMP/token" "$FAHR" jobs 2>"$TEST_TMP/err" || RC=$?
    expect_eq "$RC" 2 "exit code with a CRLF token; stderr: $(cat "$TEST_TMP/err")"
    expect_contains "$(cat "$TEST_TMP/err")" "the token in AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE ($TEST_TMP/token) has a line break" "stderr"
    expect_lacks "$(cat "$TEST_TMP/err")" "token-from-the-file" "stderr"
    expect_eq "$(received)" "" "what reached the server"
}

ca_bundles_are_honoured() {
    local cert="$TEST_TMP/cert.pem" key="$TEST_TMP/key.pem"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$key" -out "$cert" 2>/dev/null
    start_server ok "$cert" "$key"
    export AWS_ENDPOINT_URL="https://127.0.0.1:$PORT" AWS_REGION=us-east-1
    AWS_CA_BUNDLE=$cert run_fahr jobs
    expect_eq "$RC" 0 "exit code with AWS_CA_BUNDLE; stderr: $ERR"
    expect_contains "$(received)" "X-Amz-Target: SageMaker.ListTrainingJobs" "what reached the server"
    : >"$LOG"
    # TLS is never weakened: a certificate nobody vouches for is refused.
    run_fahr jobs
    expect_eq "$RC" 1 "exit code without the bundle; stderr: $ERR"
    expect_contains "$ERR" "ListTrainingJobs: cannot reach https://127.0.0.1:$PORT: SSL certificate problem: self-signed certificate (AWS_CA_BUNDLE or a profile's ca_bundle names the CAs to trust)" "stderr"
    expect_lacks "$(received)" "ListTrainingJobs" "what reached the server"
    printf '[default]\nca_bundle = %s\n' "$cert" >"$TEST_TMP/ca-config"
    AWS_CONFIG_FILE="$TEST_TMP/ca-config" run_fahr jobs
    expect_eq "$RC" 0 "exit code with the profile's ca_bundle; stderr: $ERR"
    expect_contains "$(received)" "X-Amz-Target: SageMaker.ListTrainingJobs" "what reached the server"
    AWS_CA_BUNDLE="$TEST_TMP/missing.pem" run_fahr jobs
    expect_eq "$RC" 2 "exit code with a missing bundle; stderr: $ERR"
    expect_contains "$ERR" "AWS_CA_BUNDLE names $TEST_TMP/missing.pem, which cannot be read: No such file or directory" "stderr"
}

expect_mode() { # MODE PATH...
    local mode=$1 path
    shift
    for path in "$@"; do
        expect_eq "$(stat -c %a "$path")" "$mode" "mode of $path"
    done
}

local_job_files_are_private() {
    use_docker_bench
    export XDG_DATA_HOME="$TEST_TMP/xdg" FAHR_POLL_INTERVAL_MS=200
    umask 000
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr fit "$dir/model.py" --build-driver=local --train-driver=local \
        --config.base_image="$BENCH_IMAGE" --hp.api_key=hardening-secret
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job="$XDG_DATA_HOME/fahr/jobs/$OUT"
    expect_mode 700 "$XDG_DATA_HOME" "$XDG_DATA_HOME/fahr" "$XDG_DATA_HOME/fahr/jobs" "$job" \
        "$job/model" "$job/output" "$job/input" "$job/input/config"
    expect_mode 600 "$job/job.json" "$job/input/config/hyperparameters.json" \
        "$job/input/config/inputdataconfig.json" "$job/input/config/resourceconfig.json"
    # The container (root in the images fahr builds) still wrote the model.
    expect_eq "$(cat "$job/model/model.json")" '{"a": 3.0, "b": 2.0}' "the model"
    expect_contains "$(cat "$job/input/config/hyperparameters.json")" "hardening-secret" "hyperparameters"

    dir=$(fixture_copy tests/fixtures/sleeper)
    run_fahr fit "$dir/train.py" --build-driver=local --train-driver=local \
        --config.base_image="$BENCH_IMAGE" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    job=$OUT
    run_fahr stop --train-driver=local "$job"
    expect_eq "$RC" 0 "stop exit code; stderr: $ERR"
    expect_mode 600 "$XDG_DATA_HOME/fahr/jobs/$job/stopped"
}

run_test header_lines_cannot_be_injected
run_test a_region_cannot_send_the_request_elsewhere
run_test huge_answers_are_refused_in_little_memory
run_test container_tokens_never_travel_in_cleartext
run_test ca_bundles_are_honoured
run_test local_job_files_are_private
finish
