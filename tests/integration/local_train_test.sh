#!/usr/bin/env bash
# The local train driver on the bench's Docker engine: SageMaker's container
# contract, hyperparameters, input channels, fit --fetch, and the job
# commands for local jobs.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
export XDG_DATA_HOME="$TEST_TMP/xdg" FAHR_POLL_INTERVAL_MS=200
DATA="$TEST_TMP/data"
mkdir -p "$DATA"
printf '1 2 3\n4\n' >"$DATA/numbers.txt"

hyperparameters_and_channels_make_the_model() {
    local dir
    dir=$(fixture_copy tests/fixtures/hyper)
    fit_local "$dir/train.py" --hp.scale=0.5 --hp.note="a b" --input "train=$DATA" \
        --fetch "$TEST_TMP/model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job
    job=$(printf '%s\n' "$OUT" | head -n 1)
    [[ "$job" =~ ^hyper-train-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] || fail "job name '$job'"
    expect_eq "$(printf '%s\n' "$OUT" | sed -n 2p)" "$TEST_TMP/model" "stdout's second line"
    expect_contains "$ERR" "job $job on algo-1: 4 numbers, scale 0.5" "the job's output"
    expect_eq "$(cat "$TEST_TMP/model/model.json")" \
        '{"channels": ["train"], "hyperparameters": {"note": "a b", "scale": "0.5"}, "total": 5.0}' \
        "model.json"
    # The data was mounted read-only, and the job is listed.
    run_fahr jobs --train-driver=local hyper/train
    expect_contains "$OUT" "$job" "jobs"
    run_fahr status --train-driver=local "$job"
    expect_contains "$OUT" "$job	completed	Completed" "status"
    run_fahr logs --train-driver=local "$job"
    expect_eq "$OUT" "job $job on algo-1: 4 numbers, scale 0.5" "logs"
    # fetch by tag: the newest completed job.
    run_fahr fetch --train-driver=local "$TEST_TMP/again" hyper/train
    expect_eq "$RC" 0 "fetch exit code; stderr: $ERR"
    cmp "$TEST_TMP/model/model.json" "$TEST_TMP/again/model.json" || fail "fetched models differ"
}

# /opt/ml/checkpoints is one folder per image, kept across runs: a second
# run of the same artifact finds what the first saved.
checkpoints_are_kept_per_image() {
    local dir
    dir=$(fixture_copy tests/fixtures/resumer)
    fit_local "$dir/train.py" --hp.steps=1 --fetch "$TEST_TMP/resumed-1"
    expect_eq "$RC" 0 "first run's exit code; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/resumed-1/model.json")" '{"starts": [0], "step": 1}' \
        "first model"
    expect_lacks "$ERR" "resuming" "first run's output"
    fit_local "$dir/train.py" --hp.steps=2 --fetch "$TEST_TMP/resumed-2"
    expect_eq "$RC" 0 "second run's exit code; stderr: $ERR"
    expect_contains "$ERR" "resuming from the checkpoint at step 1" "second run's output"
    expect_eq "$(cat "$TEST_TMP/resumed-2/model.json")" '{"starts": [0, 1], "step": 2}' \
        "second model"
    local kept="$XDG_DATA_HOME/fahr/drivers/local/checkpoints/resumer/train"
    expect_eq "$(cat "$kept/state.json")" '{"step": 2, "starts": [0, 1]}' "the kept checkpoint"
    expect_eq "$(stat -c %a "$XDG_DATA_HOME/fahr/drivers/local/checkpoints")" 700 \
        "the checkpoint folder's mode"
}

a_single_file_channel() {
    local dir
    dir=$(fixture_copy tests/fixtures/hyper)
    fit_local "$dir/train.py" --hp.scale=2 --input "train=$DATA/numbers.txt" \
        --fetch "$TEST_TMP/model-file"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$(cat "$TEST_TMP/model-file/model.json")" '"total": 20.0' "model.json"
}

failure_leaves_the_fetch_dir_untouched() {
    local dir
    dir=$(fixture_copy tests/fixtures/failing)
    mkdir -p "$TEST_TMP/keep"
    echo "mine" >"$TEST_TMP/keep/model.json"
    fit_local "$dir/train.py" --fetch "$TEST_TMP/keep"
    expect_eq "$RC" 3 "exit code; stderr: $ERR"
    expect_contains "$ERR" "failed: ValueError: the data has no rows" "stderr"
    expect_contains "$ERR" "loading data" "the job's output"
    expect_eq "$(cat "$TEST_TMP/keep/model.json")" "mine" "kept file"
    expect_eq "$(find "$TEST_TMP/keep" -mindepth 1 | wc -l)" 1 "files in the fetch dir"
    fit_local "$dir/train.py" --fetch "$TEST_TMP/new-dir"
    [ ! -e "$TEST_TMP/new-dir" ] || fail "a failed fit made the fetch dir"
    # Without a failure file: the exit status and the last line printed.
    printf 'import sys\nprint("first")\nprint("the last words")\nsys.exit(5)\n' >"$dir/train.py"
    rm -f "$dir/Dockerfile" "$dir/run.sh"
    printf '#!/bin/sh\nexec python3 /opt/program/train.py\n' >"$dir/run.sh"
    fit_local "$dir/train.py"
    expect_eq "$RC" 3 "exit code; stderr: $ERR"
    expect_contains "$ERR" "failed: exit status 5: the last words" "stderr"
}

bad_training_inputs_are_refused_before_building() {
    local dir
    dir=$(fixture_copy tests/fixtures/hyper)
    local many=()
    for i in $(seq 0 100); do many+=("--hp.k$i=v"); done
    fit_local "$dir/train.py" "${many[@]}"
    expect_eq "$RC" 2 "exit code with 101 hyperparameters"
    expect_eq "$ERR" "fahr: local: 101 hyperparameters; SageMaker takes at most 100" "stderr"
    fit_local "$dir/train.py" "--hp.long=$(head -c 2501 /dev/zero | tr '\0' x)"
    expect_eq "$RC" 2 "exit code with a long value"
    expect_contains "$ERR" "--hp.long: a hyperparameter's value is at most 2500 characters" "stderr"
    fit_local "$dir/train.py" --input "bad/name=$DATA"
    expect_eq "$RC" 2 "exit code with a bad channel name"
    fit_local "$dir/train.py" --input "train=$TEST_TMP/missing"
    expect_eq "$RC" 2 "exit code with a missing source"
    expect_contains "$ERR" "--input train: '$TEST_TMP/missing': No such file or directory" "stderr"
    fit_local "$dir/train.py" --input "train=$DATA" --input "train=$DATA"
    expect_eq "$RC" 2 "exit code with a channel twice"
    [ ! -e "$dir/Dockerfile" ] || fail "a refused fit wrote build files"
    # SageMaker's rules, which the local driver follows, not the host's.
    fit_local "$dir/train.py" --input "my data=$DATA"
    expect_eq "$RC" 2 "exit code with a channel name SageMaker refuses"
    expect_eq "$ERR" "fahr: local: --input my data: a channel's name is letters, digits, '.', '-' and '_' (at most 64) on SageMaker" "stderr"
    local channels=()
    for i in $(seq 1 21); do channels+=(--input "c$i=$DATA"); done
    fit_local "$dir/train.py" "${channels[@]}"
    expect_eq "$RC" 2 "exit code with 21 channels"
    expect_eq "$ERR" "fahr: local: 21 input channels; SageMaker takes at most 20" "stderr"
    fit_local "$dir/train.py" --input "train=s3://bucket/data"
    expect_eq "$RC" 2 "exit code with an s3 source for the local driver"
    expect_contains "$ERR" "the local driver takes local files and directories" "stderr"
    fit_local "$dir/train.py" --input "train=gs://bucket/data"
    expect_eq "$RC" 2 "exit code with a gs source for the local driver"
    expect_eq "$ERR" "fahr: local: --input train: the local driver takes local files and directories, not gs://bucket/data" "stderr"
    fit_local "$dir/train.py" --input "train=kaggle:owner/some-set"
    expect_eq "$RC" 2 "exit code with an opaque kaggle: source for the local driver"
    expect_eq "$ERR" "fahr: local: --input train: the local driver takes local files and directories, not kaggle:owner/some-set" "stderr"
    [ ! -e "$dir/Dockerfile" ] || fail "a fit the driver refused wrote build files"
}

# Fit ARTIFACT without waiting and wait until its log says "step 2"; the
# job's id into JOB.
start_until_step_2() { # ARTIFACT
    fit_local "$1" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    JOB=$OUT
    for _ in $(seq 1 50); do
        run_fahr logs --train-driver=local "$JOB"
        case "$OUT" in *"step 2"*) break ;; esac
        sleep 0.2
    done
    expect_contains "$OUT" "step 2" "logs while running"
}

stop_a_running_local_job() {
    local dir
    dir=$(fixture_copy tests/fixtures/sleeper)
    start_until_step_2 "$dir/train.py"
    local job=$JOB
    run_fahr status --train-driver=local "$job"
    expect_contains "$OUT" "$job	running	Training" "status"
    run_fahr stop --train-driver=local "$job"
    expect_eq "$RC" 0 "stop exit code; stderr: $ERR"
    run_fahr status --train-driver=local "$job"
    expect_contains "$OUT" "$job	stopped	Stopped" "status after stop"
    run_fahr fetch --train-driver=local "$TEST_TMP/none" sleeper/train
    expect_eq "$RC" 1 "fetch of a stopped job's tag"
}

gpu_image_without_an_nvidia_runtime() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr fit "$dir/model.py" --build-driver=local-gpu --train-driver=local \
        --config.base_image="$BENCH_IMAGE" --fetch "$TEST_TMP/gpu-model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "the image is built for NVIDIA GPUs, but the Docker engine has no nvidia runtime" "stderr"
    expect_eq "$(cat "$TEST_TMP/gpu-model/model.json")" '{"a": 3.0, "b": 2.0}' "model.json"
}

a_cuda_base_image_built_for_cpu_gets_no_gpus() {
    # CUDA base images set NVIDIA_VISIBLE_DEVICES themselves; what the build
    # driver says (build2's gpu flag), not the image's environment, decides.
    local base=fahr-test/cuda-like:1 dir
    printf 'FROM %s\nENV NVIDIA_VISIBLE_DEVICES=all\n' "$BENCH_IMAGE" |
        docker build -q -t "$base" - >/dev/null
    dir=$(fixture_copy examples/foo)
    run_fahr fit "$dir/model.py" --build-driver=local --train-driver=local \
        --config.base_image="$base" --fetch "$TEST_TMP/cpu-model"
    docker image rm -f "$base" >/dev/null 2>&1 || true
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_lacks "$ERR" "built for NVIDIA GPUs" "stderr"
    expect_eq "$(cat "$TEST_TMP/cpu-model/model.json")" '{"a": 3.0, "b": 2.0}' "model.json"
}

fetch_overwrite_keeps_the_build_files() {
    local dir
    dir=$(fixture_copy tests/fixtures/hyper)
    fit_local "$dir/train.py" --hp.scale=1 --input "train=$DATA" --fetch "$TEST_TMP/replaced"
    expect_eq "$RC" 0 "first fit; stderr: $ERR"
    echo "# edited by hand" >>"$dir/Dockerfile"
    # --overwrite is about the build files alone: the model is not replaced.
    fit_local "$dir/train.py" --hp.scale=3 --input "train=$DATA" --fetch "$TEST_TMP/replaced" \
        --overwrite
    expect_eq "$RC" 1 "fit --overwrite into a fetched model; stderr: $ERR"
    expect_contains "$ERR" "model.json exists; --overwrite replaces it" "stderr"
    expect_contains "$(cat "$TEST_TMP/replaced/model.json")" '"scale": "1"' "the first model stays"
    expect_lacks "$(cat "$dir/Dockerfile")" "edited by hand" "--overwrite writes the build files anew"
    echo "# edited by hand" >>"$dir/Dockerfile"
    # --fetch-overwrite replaces the model and keeps the edited Dockerfile.
    fit_local "$dir/train.py" --hp.scale=2 --input "train=$DATA" --fetch "$TEST_TMP/replaced" \
        --fetch-overwrite
    expect_eq "$RC" 0 "fit --fetch-overwrite; stderr: $ERR"
    expect_contains "$(cat "$TEST_TMP/replaced/model.json")" '"scale": "2"' "the model is replaced"
    expect_contains "$(cat "$dir/Dockerfile")" "edited by hand" "the edited Dockerfile is kept"
}

the_model_comes_back_whole() {
    # The model's own .dockerignore names its weights: a model is copied
    # whole all the same, non-ASCII file names included.
    local dir
    dir=$(fixture_copy tests/fixtures/weights)
    fit_local "$dir/train.py" --fetch "$TEST_TMP/weights-model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job
    job=$(printf '%s\n' "$OUT" | head -n 1)
    local trained="$XDG_DATA_HOME/fahr/jobs/$job/model"
    [ -d "$trained" ] || fail "no model folder at $trained"
    expect_eq "$(cd "$TEST_TMP/weights-model" && find . | LC_ALL=C sort)" \
        "$(cd "$trained" && find . | LC_ALL=C sort)" "the fetched files"
    for file in .dockerignore weights.bin weights/layer1.bin modèle.json; do
        cmp "$trained/$file" "$TEST_TMP/weights-model/$file" || fail "$file differs or is missing"
    done
}

stop_reaches_the_scripts_sigterm_handler() {
    # fahr stop sends SIGTERM, as SageMaker's StopTrainingJob and spot
    # interruptions do: the script's handler saves a checkpoint at once.
    local dir
    dir=$(fixture_copy tests/fixtures/checkpointer)
    start_until_step_2 "$dir/train.py"
    local job=$JOB
    local started=$SECONDS
    run_fahr stop --train-driver=local "$job"
    expect_eq "$RC" 0 "stop exit code; stderr: $ERR"
    # Not the engine's kill after its 10 s grace time.
    [ $((SECONDS - started)) -lt 8 ] || fail "stop took $((SECONDS - started)) s"
    run_fahr logs --train-driver=local "$job"
    expect_contains "$OUT" "caught SIGTERM at step" "the handler's output in the logs"
    local checkpoint="$XDG_DATA_HOME/fahr/jobs/$job/model/checkpoint.json"
    [ -s "$checkpoint" ] || fail "no checkpoint saved at $checkpoint"
    expect_contains "$(cat "$checkpoint")" '"step": ' "checkpoint"
    run_fahr status --train-driver=local "$job"
    expect_contains "$OUT" "$job	stopped	Stopped" "status after stop"
}

stop_reaches_a_notebooks_sigterm_handler() {
    # In a notebook the handler runs in the kernel, nbconvert's child.
    local dir
    dir=$(fixture_copy tests/fixtures/checkpointer-notebook)
    fit_local "$dir/train.ipynb" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job=$OUT model="$XDG_DATA_HOME/fahr/jobs/$OUT/model"
    for _ in $(seq 1 100); do
        [ -e "$model/started" ] && break
        sleep 0.2
    done
    [ -e "$model/started" ] || fail "the notebook did not start"
    run_fahr stop --train-driver=local "$job"
    expect_eq "$RC" 0 "stop exit code; stderr: $ERR"
    [ -s "$model/checkpoint.json" ] || fail "no checkpoint saved by the kernel"
    expect_contains "$(cat "$model/checkpoint.json")" '"step": ' "checkpoint"
}

a_failing_notebook_names_its_cell() {
    local dir
    dir=$(fixture_copy tests/fixtures/failing-notebook)
    fit_local "$dir/train.ipynb"
    expect_eq "$RC" 3 "exit code; stderr: $ERR"
    expect_contains "$ERR" "failed: cell 3: ValueError: the data has no rows" "the failure reason"
    expect_lacks "$ERR" "MissingIDFieldWarning" "stderr"
    expect_lacks "$ERR" "Debugger warning" "stderr"
    # The executed notebook is kept with the model, the error in its cell.
    local job executed
    job=$(printf '%s\n' "$OUT" | head -n 1)
    executed="$XDG_DATA_HOME/fahr/jobs/$job/model/train.ipynb"
    [ -s "$executed" ] || fail "no executed notebook at $executed"
    python3 - "$executed" <<'PY' || fail "the executed notebook lacks its outputs"
import json, sys
cells = json.load(open(sys.argv[1]))["cells"]
assert "loading the data" in "".join(cells[0]["outputs"][0]["text"]), cells[0]
assert cells[2]["outputs"][-1]["ename"] == "ValueError", cells[2]
PY
    # What its cells print, and the failing cell's traceback without its
    # colours, reach the job's log as a script's would (run.sh echoes them).
    run_fahr logs "$job"
    expect_eq "$RC" 0 "exit code of logs; stderr: $ERR"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c 'loading the data')" 1 "the cell's line in logs, once"
    expect_contains "$OUT" "ValueError: the data has no rows" "the traceback in logs"
    expect_lacks "$OUT" $'\e[' "escape codes in logs"
}

an_empty_model_gets_a_warning() {
    local dir
    dir=$(fixture_copy examples/foo)
    printf 'print("trained, but saved nothing")\n' >"$dir/model.py"
    fit_local "$dir/model.py" --fetch "$TEST_TMP/empty-model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "fahr: warning: the model is empty: the job wrote no file to /opt/ml/model" \
        "stderr"
}

job_commands_need_no_flags_after_fit() {
    local dir
    dir=$(fixture_copy examples/foo)
    fit_local "$dir/model.py" --config.jobs_dir="$TEST_TMP/elsewhere"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job
    job=$(printf '%s\n' "$OUT" | head -n 1)
    # The job index keeps the driver and jobs_dir: no --train-driver, no
    # --config.jobs_dir.
    run_fahr status "$job"
    expect_eq "$RC" 0 "status from the index; stderr: $ERR"
    expect_contains "$OUT" "$job	completed	Completed" "status"
    expect_contains "$OUT" "$TEST_TMP/elsewhere/$job/model" "the model where jobs_dir put it"
    run_fahr logs "$job"
    expect_eq "$OUT" "fitted a=3.000 b=2.000" "logs from the index"
}

# Relay the engine's socket at $TEST_TMP/relay.sock, counting the bytes it
# answers into $TEST_TMP/relay.bytes; its pid into RELAY_PID.
start_engine_relay() {
    rm -f "$TEST_TMP/relay.sock" "$TEST_TMP/relay.bytes"
    python3 - "$TEST_TMP/relay.sock" "${DOCKER_HOST#unix://}" "$TEST_TMP/relay.bytes" <<'PY' &
import os, socket, sys, threading
listen_path, engine_path, count_path = sys.argv[1:4]
server = socket.socket(socket.AF_UNIX)
server.bind(listen_path)
server.listen(16)
lock = threading.Lock()
total = 0

def pump(source, sink, counted):
    global total
    try:
        while data := source.recv(65536):
            sink.sendall(data)
            if counted:
                with lock:
                    total += len(data)
                    with open(count_path + ".new", "w") as out:
                        out.write(str(total))
                    os.replace(count_path + ".new", count_path)
    except OSError:
        pass
    finally:
        try:
            sink.shutdown(socket.SHUT_WR)
        except OSError:
            pass

while True:
    client, _ = server.accept()
    engine = socket.socket(socket.AF_UNIX)
    engine.connect(engine_path)
    threading.Thread(target=pump, args=(client, engine, False), daemon=True).start()
    threading.Thread(target=pump, args=(engine, client, True), daemon=True).start()
PY
    RELAY_PID=$!
    for _ in $(seq 1 50); do
        [ -S "$TEST_TMP/relay.sock" ] && return 0
        sleep 0.1
    done
    fail "the relay did not start"
}

a_followed_log_is_read_once() {
    # Following a job whose log grows for about 4 s: each line once, in
    # order, and the engine sends about the log's size, not the whole log
    # again on every poll (timestamps and frame headers add about 20%).
    local dir
    dir=$(fixture_copy tests/fixtures/chatter)
    fit_local "$dir/train.py" --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local job=$OUT
    start_engine_relay
    DOCKER_HOST="unix://$TEST_TMP/relay.sock" run_fahr logs --train-driver=local "$job" --follow
    kill "$RELAY_PID"
    wait "$RELAY_PID" 2>/dev/null || true
    expect_eq "$RC" 0 "exit code of logs --follow; stderr: $ERR"
    printf '%s\n' "$OUT" >"$TEST_TMP/followed.log"
    python3 - "$TEST_TMP/followed.log" <<'PY' || fail "lines lost, repeated or out of order"
import sys
lines = open(sys.argv[1]).read().rstrip("\n").split("\n")
assert lines[-1] == "done", lines[-1]
numbers = [int(line.split()[1]) for line in lines[:-1]]
assert numbers == list(range(12000)), [n for i, n in enumerate(numbers) if n != i][:5]
PY
    local sent log_bytes=${#OUT}
    sent=$(cat "$TEST_TMP/relay.bytes")
    [ "$sent" -lt $((log_bytes * 2)) ] ||
        fail "the engine sent $sent bytes for a log of $log_bytes"
}

messages_of_one_time_are_neither_lost_nor_repeated() {
    # The fake engine's log grows by 3 messages a read, 4 of each time, so
    # each read after the first starts amid messages of the time it asks
    # for; its last line has no newline.
    python3 "$FAHR_SOURCE_ROOT/tests/bench/log_engine.py" "$TEST_TMP/fake.sock" \
        "$TEST_TMP/queries" &
    local pid=$!
    for _ in $(seq 1 50); do
        [ -S "$TEST_TMP/fake.sock" ] && break
        sleep 0.1
    done
    DOCKER_HOST="unix://$TEST_TMP/fake.sock" run_fahr logs --train-driver=local fake-1 --follow
    kill "$pid"
    wait "$pid" 2>/dev/null || true
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "$(printf 'line %02d\n' $(seq 0 11))"$'\nthe end' "the lines"
    expect_contains "$(cat "$TEST_TMP/queries")" "&since=1700000000.000000005" \
        "a later read asks only for what is new"
}

run_test hyperparameters_and_channels_make_the_model
run_test checkpoints_are_kept_per_image
run_test a_single_file_channel
run_test failure_leaves_the_fetch_dir_untouched
run_test bad_training_inputs_are_refused_before_building
run_test stop_a_running_local_job
run_test gpu_image_without_an_nvidia_runtime
run_test a_cuda_base_image_built_for_cpu_gets_no_gpus
run_test fetch_overwrite_keeps_the_build_files
run_test a_failing_notebook_names_its_cell
run_test an_empty_model_gets_a_warning
run_test job_commands_need_no_flags_after_fit
run_test the_model_comes_back_whole
run_test stop_reaches_the_scripts_sigterm_handler
run_test stop_reaches_a_notebooks_sigterm_handler
run_test a_followed_log_is_read_once
run_test messages_of_one_time_are_neither_lost_nor_repeated
finish
