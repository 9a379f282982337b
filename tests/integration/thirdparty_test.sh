#!/usr/bin/env bash
# Plugin ABI 1.1's acceptance (issue 11): two third-party train drivers, one
# of each input kind (tests/fixtures/thirdparty: ext-source runs a script's
# source, ext-image a built image), built as a third party builds them, by
# their own meson projects against fahr's installed header and
# fahr-plugin.pc only. They talk to a pretend service
# (tests/bench/ext_service.py) through the host's HTTP, placement and
# scratch services, and run through every job command. After `fit` no
# command names the driver or the endpoint (the job index keeps them), and
# the token, a secret key, shows nowhere: not on the terminal, not in the
# index.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

STAGE="$TEST_TMP/stage"
PLUGINS="$TEST_TMP/plugins"
# The drivers are found without --plugin-dir, as installed ones would be.
export FAHR_PLUGIN_PATH="$PLUGINS${FAHR_PLUGIN_PATH:+:$FAHR_PLUGIN_PATH}"
# The token comes from the environment (the key's default_env) on every
# command: a secret key is never recorded, so the index cannot supply it.
TOKEN="ext-secret-$$-$RANDOM$RANDOM"
export EXT_TOKEN="$TOKEN"
unset EXT_ENDPOINT
# A job's id, as the host's job_name() makes it from foo/model.
JOB_ID_FORM='^foo-model-[0-9]{8}-[0-9]{6}-[a-z0-9]+$'

# run_fahr, and the token is not in what fahr printed.
run_ext() {
    run_fahr "$@"
    expect_lacks "$OUT$ERR" "$TOKEN" "the token on the terminal (fahr $*)"
}

# The service, for this test only; sets ENDPOINT.
start_service() {
    local port_file="$TEST_TMP/service.$BASHPID"
    python3 "$FAHR_SOURCE_ROOT/tests/bench/ext_service.py" "$TOKEN" >"$port_file" 2>&1 &
    local pid=$!
    # shellcheck disable=SC2064 # the pid now
    trap "kill $pid 2>/dev/null || true" EXIT
    local port
    port=$(port_from_file "$port_file" "the ext service" "$port_file")
    ENDPOINT="http://127.0.0.1:$port"
}

# Tell the service something (tests/bench/ext_service.py, "Control").
control() { # WHAT JSON
    curl -sSf -H "Authorization: Bearer $TOKEN" -d "$2" "$ENDPOINT/control/$1" >/dev/null
}

# Each test keeps its own job index, so "the newest job of foo/model" is
# its own driver's.
own_index() {
    export XDG_STATE_HOME="$TEST_TMP/state-$1"
}

# The index remembers the endpoint and never the token.
index_keeps_endpoint_not_token() {
    grep -rqF "$ENDPOINT" "$XDG_STATE_HOME/fahr/jobs" || fail "the endpoint is not in the job index"
    if grep -rqF "$TOKEN" "$XDG_STATE_HOME"; then
        fail "the token is in the job index"
    fi
}

build_driver() { # PKG_CONFIG_DIR KIND (source or image)
    local pc_dir=$1 name=$2 build="$TEST_TMP/build-$2"
    PKG_CONFIG_PATH="$pc_dir" PKG_CONFIG_SYSROOT_DIR="$STAGE" \
        meson setup "$build" "$TEST_TMP/thirdparty/$name-driver" >"$TEST_TMP/setup-$name.log" 2>&1 ||
        fail "meson setup of the $name driver: $(cat "$TEST_TMP/setup-$name.log")"
    local log
    log=$(meson compile -C "$build" 2>&1) || fail "the $name driver does not compile: $log"
    expect_lacks "$log" "warning" "compiling the $name driver"
    local flags
    flags=$(cat "$build/compile_commands.json")
    expect_contains "$flags" "-I$STAGE/" "the $name driver's flags point into the installed tree"
    expect_lacks "$flags" "$FAHR_SOURCE_ROOT" "the $name driver's flags"
    cp "$build/ext-$name.so" "$PLUGINS/"
}

compiles_against_the_installed_header_only() {
    meson install -C "$FAHR_BUILD_ROOT" --no-rebuild --quiet --destdir "$STAGE" >/dev/null
    local pc
    pc=$(find "$STAGE" -name fahr-plugin.pc | head -n 1)
    [ -n "$pc" ] || fail "fahr-plugin.pc was not installed"
    # A copy outside the repository, so nothing of it is in reach.
    cp -R "$FAHR_SOURCE_ROOT/tests/fixtures/thirdparty" "$TEST_TMP/thirdparty"
    mkdir -p "$PLUGINS"
    local kind
    for kind in source image; do
        build_driver "$(dirname "$pc")" "$kind"
    done
    run_ext plugins
    expect_eq "$RC" 0 "exit code of plugins; stderr: $ERR"
    for kind in source image; do
        printf '%s\n' "$OUT" | grep -qE "^ext-$kind +train +1\.0\.0 +1\.1 +$PLUGINS/ext-$kind.so\$" ||
            fail "ext-$kind not listed: $OUT"
    done
    run_ext help ext-source
    expect_contains "$OUT" "--config.endpoint" "help ext-source"
    expect_contains "$OUT" "--config.token" "help ext-source"
}

# fit, with the fetched outputs checked against the source sent.
source_fit_fetches_the_outputs() {
    local dir=$1 model="$TEST_TMP/source-model"
    run_ext fit "$dir/model.py" --train-driver=ext-source --config.endpoint="$ENDPOINT" \
        --hp.epochs=3 --fetch "$model"
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    # The job's id, then where the model went.
    JOB=$(printf '%s\n' "$OUT" | head -n 1)
    [[ "$JOB" =~ $JOB_ID_FORM ]] || fail "stdout does not start with a job id: $OUT"
    expect_eq "$(printf '%s\n' "$OUT" | tail -n +2)" "$model" "stdout after the job id"
    expect_contains "$ERR" "running model.py" "the job's log"
    expect_contains "$ERR" "model saved" "the job's log"
    [ ! -e "$dir/Dockerfile" ] || fail "a source driver's fit wrote a Dockerfile"
    cmp "$dir/model.py" "$model/source/model.py" || fail "the fetched source differs"
    expect_contains "$(cat "$model/result.json")" "\"source_sha256\": \"$(sha256sum <"$dir/model.py" | cut -d' ' -f1)\"" \
        "the service got the script"
    expect_contains "$(cat "$model/result.json")" '"epochs": "3"' "the hyperparameters"
    index_keeps_endpoint_not_token
}

source_driver_runs_every_job_command() {
    own_index source
    start_service
    local dir job
    dir=$(fixture_copy examples/foo)
    source_fit_fetches_the_outputs "$dir"
    job=$JOB

    run_ext status "$job"
    expect_eq "$RC" 0 "exit code of status; stderr: $ERR"
    expect_eq "$OUT" "$job	completed	done" "status"
    # Seven lines over four pages: the page token carries the cursor.
    run_ext logs "$job"
    expect_eq "$RC" 0 "exit code of logs; stderr: $ERR"
    expect_eq "$OUT" "$(printf '%s\n' queued "running model.py" "step 1/4" "step 2/4" "step 3/4" \
        "step 4/4" "model saved")" "logs"
    # The host retries what the service cannot answer now.
    control unavailable '{"count": 2}'
    run_ext status "$job"
    expect_eq "$RC" 0 "exit code of status after two 503s; stderr: $ERR"
    expect_eq "$(curl -sSf "$ENDPOINT/control/requests" | grep -o "GET /jobs/$job 503" | wc -l)" 2 \
        "the 503s the host retried"

    run_ext fetch "$TEST_TMP/source-again" foo/model
    expect_eq "$RC" 0 "exit code of fetch; stderr: $ERR"
    cmp "$dir/model.py" "$TEST_TMP/source-again/source/model.py" || fail "the fetched source differs"
    # All or nothing: a file in the way fails the fetch and stays as it was.
    echo mine >"$TEST_TMP/source-again/result.json"
    rm "$TEST_TMP/source-again/source/model.py"
    run_ext fetch "$TEST_TMP/source-again" foo/model
    expect_eq "$RC" 1 "exit code of a fetch onto a file; stderr: $ERR"
    expect_contains "$ERR" "result.json" "the file in the way"
    expect_eq "$(cat "$TEST_TMP/source-again/result.json")" mine "a file in the way"
    [ ! -e "$TEST_TMP/source-again/source/model.py" ] || fail "a failed fetch placed a file"
    run_ext fetch "$TEST_TMP/source-again" foo/model --overwrite
    expect_eq "$RC" 0 "exit code of fetch --overwrite; stderr: $ERR"
    expect_contains "$(cat "$TEST_TMP/source-again/result.json")" '"epochs": "3"' "replaced"
    # A file that breaks off half way: the host retries, but what was
    # placed of it cannot be taken back, so the fetch fails whole.
    control break-download '{}'
    run_ext fetch "$TEST_TMP/source-broken" foo/model
    expect_eq "$RC" 1 "exit code of a fetch that broke off; stderr: $ERR"
    expect_contains "$ERR" "broke off" "a fetch that broke off"
    [ -z "$(ls -A "$TEST_TMP/source-broken" 2>/dev/null)" ] || fail "a fetch that broke off placed files"

    source_follow_and_stop "$dir"

    # `fahr jobs` reads no index (README): it is told the driver, and the
    # endpoint comes from the key's environment variable.
    EXT_ENDPOINT="$ENDPOINT" run_ext jobs foo/model --train-driver=ext-source
    expect_eq "$RC" 0 "exit code of jobs; stderr: $ERR"
    expect_contains "$OUT" "$job" "jobs"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c '^foo-model-')" 3 "jobs lists the three jobs"
    index_keeps_endpoint_not_token
}

# fit --no-wait, then logs --follow; another, then stop; a failed one.
source_follow_and_stop() {
    local dir=$1 job
    run_ext fit "$dir/model.py" --train-driver=ext-source --config.endpoint="$ENDPOINT" --no-wait
    expect_eq "$RC" 0 "exit code of fit --no-wait; stderr: $ERR"
    job=$OUT
    expect_contains "$ERR" "follow it with: fahr logs $job --follow" "the follow-up needs no flags"
    run_ext logs "$job" --follow
    expect_eq "$RC" 0 "exit code of logs --follow; stderr: $ERR"
    expect_contains "$OUT" "step 4/4" "logs --follow"
    expect_eq "$(printf '%s\n' "$OUT" | tail -n 1)" "model saved" "the last line of logs --follow"

    run_ext fit "$dir/model.py" --train-driver=ext-source --config.endpoint="$ENDPOINT" --no-wait
    job=$OUT
    [[ "$job" =~ $JOB_ID_FORM ]] || fail "stdout of fit --no-wait is not one job id: $OUT"
    run_ext stop "$job"
    expect_eq "$RC" 0 "exit code of stop; stderr: $ERR"
    expect_contains "$ERR" "asked job $job to stop" "stop"
    run_ext status "$job"
    expect_contains "$OUT" "$job	stopped" "status of a stopped job"
    expect_contains "$OUT" "reason: stopped by the user" "status of a stopped job"
    run_ext stop "$job"
    expect_eq "$RC" 0 "exit code of a second stop; stderr: $ERR"
    expect_contains "$ERR" "already stopped; nothing to stop" "a second stop"
    run_ext logs "$job" --follow
    expect_eq "$RC" 3 "exit code of logs --follow of a stopped job"

    run_ext status no-such-job --train-driver=ext-source --config.endpoint="$ENDPOINT"
    expect_eq "$RC" 1 "exit code of status of a job the service lacks"
    expect_contains "$ERR" "no job no-such-job" "status of a job the service lacks"
    EXT_TOKEN=wrong run_ext status "$job"
    expect_eq "$RC" 1 "exit code with a wrong token"
    expect_contains "$ERR" "the service refused the token" "a wrong token"
}

image_driver_runs_every_job_command() {
    own_index image
    use_docker_bench
    start_service
    local dir job model="$TEST_TMP/image-model"
    dir=$(fixture_copy examples/foo)
    local build=(--build-driver=local --config.base_image="$BENCH_IMAGE")
    run_ext fit "$dir/model.py" "${build[@]}" --train-driver=ext-image \
        --config.endpoint="$ENDPOINT" --hp.lr=0.1 --fetch "$model" --verbose
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    job=$(printf '%s\n' "$OUT" | head -n 1)
    [[ "$job" =~ $JOB_ID_FORM ]] || fail "stdout does not start with a job id: $OUT"
    expect_eq "$(printf '%s\n' "$OUT" | tail -n +2)" "$model" "stdout after the job id"
    expect_contains "$ERR" "running foo/model:latest" "the job's log"
    # The model as the service sent it, unpacked by tar: the same files.
    mkdir "$TEST_TMP/image-tar"
    curl -sSf -H "Authorization: Bearer $TOKEN" "$ENDPOINT/jobs/$job/model.tar.gz" |
        tar -xzf - -C "$TEST_TMP/image-tar"
    diff -r "$TEST_TMP/image-tar" "$model" || fail "the fetched model differs from the service's"
    expect_contains "$(cat "$model/model.json")" '"image": "foo/model:latest"' "the image submitted"
    expect_contains "$(cat "$model/model.json")" '"digest": "sha256:' "the image's digest"
    expect_contains "$(cat "$model/model.json")" '"lr": "0.1"' "the hyperparameters"
    index_keeps_endpoint_not_token

    run_ext status "$job"
    expect_eq "$OUT" "$job	completed	done
model: $ENDPOINT/jobs/$job/model.tar.gz" "status"
    run_ext logs "$job"
    expect_eq "$(printf '%s\n' "$OUT" | head -n 2)" "queued
running foo/model:latest" "logs"
    # The archive breaks off half way: the retry starts the placement over.
    control break-download '{}'
    run_ext fetch "$TEST_TMP/image-again" foo/model
    expect_eq "$RC" 0 "exit code of a fetch retried; stderr: $ERR"
    diff -r "$TEST_TMP/image-tar" "$TEST_TMP/image-again" || fail "the fetched model differs"

    # A reason with an escape sequence in it: the service's words are not
    # the terminal's commands.
    control fail-next '{"reason": "out of memory\u001b[2J"}'
    run_ext fit "$dir/model.py" "${build[@]}" --train-driver=ext-image \
        --config.endpoint="$ENDPOINT" --no-wait
    job=$OUT
    run_ext logs "$job" --follow
    expect_eq "$RC" 3 "exit code of logs --follow of a failed job; stderr: $ERR"
    expect_contains "$OUT" "error: out of memory" "the failed job's log"
    expect_contains "$ERR" "out of memory" "the failure's reason"
    run_ext status "$job"
    expect_contains "$OUT" "reason: out of memory" "status of a failed job"
    expect_lacks "$OUT" $'\e' "status of a failed job"
    run_ext stop "$job"
    expect_eq "$RC" 0 "exit code of stop of an ended job"
    expect_contains "$ERR" "already failed; nothing to stop" "stop of an ended job"

    EXT_ENDPOINT="$ENDPOINT" run_ext jobs foo/model --train-driver=ext-image
    expect_eq "$RC" 0 "exit code of jobs; stderr: $ERR"
    printf "%s\n" "$OUT" | grep -qE "^$job +failed " || fail "jobs: $job not failed: $OUT"
    index_keeps_endpoint_not_token
}

run_test compiles_against_the_installed_header_only
run_test source_driver_runs_every_job_command
run_test image_driver_runs_every_job_command
finish
