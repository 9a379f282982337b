#!/usr/bin/env bash
# The Kaggle Kernels train driver (plugins/train-kaggle, issue 12), shipped
# separately: fahr is installed into a scratch prefix, the driver is built
# by its own meson project against that prefix's fahr-plugin.pc and
# installed into the plugindir it names, exactly as a user would. Then it
# runs against the Kaggle bench (tests/bench/kaggle_bench.py), which runs
# each pushed kernel in a container of the bench's image: script and
# notebook kernels, hyperparameters, a dataset input, a failing script,
# stop, bad credentials, a token alone (Kaggle says whose it is), the quota
# check, a push not repeated after a 5xx, fetch (resumed when it breaks off,
# through redirects, refused for a damaged file), scripts with future
# imports, and every job command with no flags after fit. No credential
# shows on the terminal or in fahr's files.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

USER_NAME=alice
KEY="kaggle-key-$$-$RANDOM$RANDOM"
TOKEN="KGAT_$$$RANDOM$RANDOM"
# Nothing of this machine's own Kaggle set-up is used.
export HOME="$TEST_TMP/home" XDG_DATA_HOME="$TEST_TMP/data"
unset KAGGLE_API_TOKEN KAGGLE_USERNAME KAGGLE_KEY KAGGLE_CONFIG_DIR KAGGLE_API_ENDPOINT
mkdir -p "$HOME"
# OWNER/SLUG/VERSION/SESSION: the session is what stop cancels.
JOB_ID_FORM="^$USER_NAME/foo-model/[0-9]+/[0-9]+\$"

# run_fahr, and no credential in what fahr printed.
run_kaggle() {
    run_fahr "$@"
    expect_lacks "$OUT$ERR" "$KEY" "the key on the terminal (fahr $*)"
    expect_lacks "$OUT$ERR" "$TOKEN" "the token on the terminal (fahr $*)"
}

# The legacy key in kaggle.json, private as the CLI wants it.
use_key_file() {
    export KAGGLE_CONFIG_DIR="$TEST_TMP/kaggle-config"
    mkdir -p "$KAGGLE_CONFIG_DIR"
    printf '{"username": "%s", "key": "%s"}\n' "$USER_NAME" "$KEY" >"$KAGGLE_CONFIG_DIR/kaggle.json"
    chmod 600 "$KAGGLE_CONFIG_DIR/kaggle.json"
}

# fahr in a scratch prefix, the driver built and installed against it.
install_driver() {
    install_separate_driver train-kaggle kaggle.so
}

# The bench, for this test only; sets ENDPOINT.
start_bench() {
    use_docker_bench
    local port_file="$TEST_TMP/bench.$BASHPID"
    python3 "$FAHR_SOURCE_ROOT/tests/bench/kaggle_bench.py" --user "$USER_NAME" --key "$KEY" \
        --token "$TOKEN" --image "$BENCH_IMAGE" --dir "$TEST_TMP/bench-$BASHPID" \
        >"$port_file" 2>"$TEST_TMP/bench.log" &
    local pid=$!
    # shellcheck disable=SC2064 # the pid now
    trap "kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true" EXIT
    local port
    port=$(port_from_file "$port_file" "the Kaggle bench" "$TEST_TMP/bench.log")
    ENDPOINT="http://127.0.0.1:$port"
}

control() { # WHAT JSON
    curl -sSf -d "$2" "$ENDPOINT/_bench/$1" >/dev/null
}

# How many calls of an RPC method the bench has had.
calls_of() { # METHOD
    curl -sSf "$ENDPOINT/_bench/requests" |
        python3 -c 'import json, sys; print(sum(r["path"].endswith("/" + sys.argv[1]) for r in json.load(sys.stdin)))' "$1"
}

# The session's model files as the bench serves them, fetched by curl.
bench_model() { # JOB DEST
    local owner slug version
    IFS=/ read -r owner slug version _ <<<"$1"
    curl -sSf -u "$USER_NAME:$KEY" -H 'Content-Type: application/json' \
        -d "{\"userName\": \"$owner\", \"kernelSlug\": \"$slug\", \"versionLabel\": \"$version\", \"pageSize\": 100}" \
        "$ENDPOINT/v1/kernels.KernelsApiService/ListKernelSessionOutput" |
        python3 -c 'import json, sys
for f in json.load(sys.stdin)["files"]:
    if f["fileName"].startswith("model/"):
        print(f["fileName"][6:] + "\t" + f["url"])' |
        while IFS=$'\t' read -r name url; do
            mkdir -p "$(dirname "$2/$name")"
            curl -sSf -o "$2/$name" "$url"
        done
}

installed_driver_is_listed() {
    install_driver
    run_kaggle plugins
    expect_eq "$RC" 0 "exit code of plugins; stderr: $ERR"
    printf '%s\n' "$OUT" | grep -qE "^kaggle +train +1\.0\.0 +1\.1 +$PLUGIN_DIR/kaggle\.so\$" ||
        fail "kaggle is not listed from $PLUGIN_DIR: $OUT"
    run_kaggle help kaggle
    local key
    for key in endpoint accelerator internet timeout private slug title; do
        expect_contains "$OUT" "--config.$key" "help kaggle"
    done
    expect_contains "$OUT" "\$KAGGLE_API_ENDPOINT" "help kaggle: the endpoint's variable"
}

# fit --fetch of the example model, then every job command with no flags.
script_fit_and_job_commands() {
    install_driver
    start_bench
    use_key_file
    local dir model="$TEST_TMP/model" job
    dir=$(fixture_copy examples/foo)
    run_kaggle fit "$dir/model.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" \
        --hp.epochs=3 --fetch "$model"
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    job=$(printf '%s\n' "$OUT" | head -n 1)
    [[ "$job" =~ $JOB_ID_FORM ]] || fail "stdout does not start with a job id: $OUT"
    expect_eq "$(printf '%s\n' "$OUT" | tail -n +2)" "$model" "stdout after the job id"
    expect_contains "$ERR" "fitted a=3.000 b=2.000" "the kernel's log"
    expect_eq "$(cat "$model/model.json")" '{"a": 3.0, "b": 2.0}' "the model"
    mkdir "$TEST_TMP/bench-model"
    bench_model "$job" "$TEST_TMP/bench-model"
    diff -r "$TEST_TMP/bench-model" "$model" || fail "the fetched model differs from the bench's"
    [ ! -e "$dir/Dockerfile" ] || fail "a source driver's fit wrote a Dockerfile"

    # No flags now: the job index has the driver and the endpoint.
    run_kaggle status "$job"
    expect_eq "$RC" 0 "exit code of status; stderr: $ERR"
    expect_eq "$OUT" "$job	completed	COMPLETE" "status"
    run_kaggle logs "$job"
    expect_eq "$RC" 0 "exit code of logs; stderr: $ERR"
    expect_eq "$OUT" "fitted a=3.000 b=2.000" "logs"
    run_kaggle fetch "$TEST_TMP/again" foo/model
    expect_eq "$RC" 0 "exit code of fetch; stderr: $ERR"
    diff -r "$model" "$TEST_TMP/again" || fail "fetch differs from fit --fetch"
    # Throttled twice: the host retries.
    control errors '{"count": 2, "status": 429}'
    run_kaggle status "$job"
    expect_eq "$RC" 0 "exit code of status after two 429s; stderr: $ERR"
    # A download that breaks off is resumed where it stopped.
    control break-download '{"count": 1}'
    run_kaggle fetch "$TEST_TMP/resumed" foo/model
    expect_eq "$RC" 0 "exit code of a fetch that broke off; stderr: $ERR"
    expect_contains "$ERR" "resuming" "a fetch that broke off"
    diff -r "$model" "$TEST_TMP/resumed" || fail "the resumed fetch differs"
    # Pre-signed URLs: no Kaggle credential went to the storage.
    local storage
    storage=$(curl -sSf "$ENDPOINT/_bench/requests" | python3 -c 'import json, sys
print(sorted({(r["auth"], r["authorization"]) for r in json.load(sys.stdin) if r["port"] == "storage"}))')
    expect_eq "$storage" "[('none', False)]" "what the storage saw"
    KAGGLE_API_ENDPOINT="$ENDPOINT" run_kaggle jobs foo/model --train-driver=kaggle
    expect_eq "$RC" 0 "exit code of jobs; stderr: $ERR"
    printf '%s\n' "$OUT" | grep -qE "^$job +completed " || fail "jobs: $job not listed: $OUT"
    if grep -rqF -e "$KEY" -e "$TOKEN" "$XDG_STATE_HOME" "$XDG_DATA_HOME"; then
        fail "a credential is in fahr's files"
    fi
}

# A notebook kernel with a bearer token (a file KAGGLE_API_TOKEN names), a
# dataset input and hyperparameters (tests/fixtures/hyper, unchanged).
notebook_dataset_and_hyperparameters() {
    install_driver
    start_bench
    export KAGGLE_API_TOKEN="$TEST_TMP/token" KAGGLE_USERNAME="$USER_NAME"
    printf '%s\n' "$TOKEN" >"$KAGGLE_API_TOKEN"
    local dir sent
    dir=$(fixture_copy tests/fixtures/notebook)
    # A notebook saved with an output: Kaggle gets it cleared.
    python3 - "$dir/train.ipynb" <<'PY'
import json, sys
notebook = json.load(open(sys.argv[1]))
notebook["cells"][1]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": ["old\n"]}]
notebook["cells"][1]["execution_count"] = 7
json.dump(notebook, open(sys.argv[1], "w"))
PY
    run_kaggle fit "$dir/train.ipynb" --train-driver=kaggle --config.endpoint="$ENDPOINT" \
        --fetch "$TEST_TMP/nb-model"
    expect_eq "$RC" 0 "exit code of a notebook fit; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/nb-model/model.json")" '{"total": 30}' "the notebook's model"
    # What Kaggle got: the prelude first, outputs cleared, sources joined.
    sent=$(curl -sSf -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' \
        -d "{\"userName\": \"$USER_NAME\", \"kernelSlug\": \"notebook-train\"}" \
        "$ENDPOINT/v1/kernels.KernelsApiService/GetKernel" | python3 -c 'import json, sys
blob = json.load(sys.stdin)["blob"]
cells = json.loads(blob["source"])["cells"]
print(blob["kernelType"], len(cells), "prelude" if "fahr" in cells[0]["source"] else "no prelude",
      all(isinstance(c["source"], str) for c in cells),
      [c.get("outputs") for c in cells if c["cell_type"] == "code"],
      [c.get("execution_count") for c in cells if c["cell_type"] == "code"])')
    expect_eq "$sent" "notebook 4 prelude True [[], [], []] [None, None, None]" "the notebook sent"
    expect_contains "$(curl -sSf "$ENDPOINT/_bench/requests")" '"auth": "bearer"' "the token used"

    mkdir -p "$TEST_TMP/numbers"
    echo "1 2 3" >"$TEST_TMP/numbers/numbers.txt"
    control datasets "{\"ref\": \"$USER_NAME/numbers\", \"path\": \"$TEST_TMP/numbers\"}"
    dir=$(fixture_copy tests/fixtures/hyper)
    run_kaggle fit "$dir/train.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" \
        --input "train=kaggle:$USER_NAME/numbers" --hp.scale=2 --fetch "$TEST_TMP/hp-model"
    expect_eq "$RC" 0 "exit code of a fit with a dataset; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/hp-model/model.json")" \
        '{"channels": ["train"], "hyperparameters": {"scale": "2"}, "total": 12.0}' "the model"
    # A dataset Kaggle does not have: refused, and the version not left running.
    run_kaggle fit "$dir/train.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" \
        --input "train=kaggle://$USER_NAME/nothing"
    expect_eq "$RC" 2 "exit code with an unknown dataset; stderr: $ERR"
    expect_contains "$ERR" "Kaggle does not know these inputs: $USER_NAME/nothing" "an unknown dataset"
    expect_contains "$(curl -sSf "$ENDPOINT/_bench/sessions")" '"status": "CANCEL' "the refused version cancelled"
    # A local input: refused before anything is pushed, saying what to do.
    local saves
    saves=$(calls_of SaveKernel)
    run_kaggle fit "$dir/train.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" \
        --input "train=$TEST_TMP/numbers"
    expect_eq "$RC" 2 "exit code with a local input; stderr: $ERR"
    expect_contains "$ERR" "publish $TEST_TMP/numbers as a Kaggle dataset" "a local input"
    expect_eq "$(calls_of SaveKernel)" "$saves" "pushes after a local input"
}

# A failing script, a failure Kaggle reports, and stop.
failures_and_stop() {
    install_driver
    start_bench
    use_key_file
    local dir job
    dir=$(fixture_copy tests/fixtures/failing)
    run_kaggle fit "$dir/train.py" --train-driver=kaggle --config.endpoint="$ENDPOINT"
    expect_eq "$RC" 3 "exit code of a failing script; stderr: $ERR"
    expect_contains "$ERR" "failed: Kernel exited with code 2: ValueError: the data has no rows" \
        "Kaggle's failure message, with the contract's reason"
    control fail-next '{"message": "Your notebook tried to allocate more memory than is available"}'
    dir=$(fixture_copy examples/foo)
    run_kaggle fit "$dir/model.py" --train-driver=kaggle --config.endpoint="$ENDPOINT"
    expect_eq "$RC" 3 "exit code of a failed session; stderr: $ERR"
    expect_contains "$ERR" "tried to allocate more memory" "Kaggle's failure message"

    dir=$(fixture_copy tests/fixtures/sleeper)
    run_kaggle fit "$dir/train.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" --no-wait
    expect_eq "$RC" 0 "exit code of fit --no-wait; stderr: $ERR"
    job=$OUT
    expect_contains "$ERR" "follow it with: fahr logs $job --follow" "the follow-up needs no flags"
    # The job id carries the session: stop works from another machine (here:
    # another data directory, without the session records fit keeps).
    XDG_DATA_HOME="$TEST_TMP/another-machine" run_kaggle stop "$job"
    expect_eq "$RC" 0 "exit code of stop; stderr: $ERR"
    expect_contains "$ERR" "asked job $job to stop" "stop"
    run_kaggle logs "$job" --follow
    expect_eq "$RC" 3 "exit code of logs --follow of a stopped job; stderr: $ERR"
    run_kaggle status "$job"
    expect_contains "$OUT" "$job	stopped" "status of a stopped job"
    run_kaggle stop "$job"
    expect_eq "$RC" 0 "exit code of a second stop; stderr: $ERR"
    expect_contains "$ERR" "already stopped; nothing to stop" "a second stop"

    # An id without the session (as `fahr jobs` lists it) finds it where fit
    # kept it, on this machine only.
    run_kaggle fit "$dir/train.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" --no-wait
    expect_eq "$RC" 0 "exit code of fit --no-wait; stderr: $ERR"
    job=${OUT%/*}
    XDG_DATA_HOME="$TEST_TMP/another-machine" run_kaggle stop "$job" --train-driver=kaggle \
        --config.endpoint="$ENDPOINT"
    expect_eq "$RC" 1 "exit code of stop of an id without its session elsewhere; stderr: $ERR"
    expect_contains "$ERR" "job $job was not pushed from here" "stop elsewhere without the session"
    run_kaggle stop "$job" --train-driver=kaggle --config.endpoint="$ENDPOINT"
    expect_eq "$RC" 0 "exit code of stop of an id without its session; stderr: $ERR"
    expect_contains "$ERR" "asked job $job to stop" "stop by the session fit kept"
}

# 45 model files: the output listing comes in pages of 20.
fetch_walks_the_pages() {
    install_driver
    start_bench
    use_key_file
    mkdir -p "$TEST_TMP/many"
    cat >"$TEST_TMP/many/train.py" <<'PY'
import os
os.makedirs("/opt/ml/model/parts", exist_ok=True)
for i in range(45):
    with open(f"/opt/ml/model/parts/part-{i:02d}.txt", "w") as f:
        f.write(f"part {i}\n" * (i + 1))
PY
    echo "numpy" >"$TEST_TMP/many/requirements.txt"
    run_kaggle fit "$TEST_TMP/many/train.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" \
        --fetch "$TEST_TMP/many-model"
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    expect_contains "$ERR" "requirements.txt is not installed: the kernel has no internet" \
        "requirements.txt without internet"
    expect_eq "$(find "$TEST_TMP/many-model" -type f | wc -l)" 45 "files fetched"
    local i
    for i in 0 19 20 39 44; do
        expect_eq "$(wc -l <"$TEST_TMP/many-model/parts/part-$(printf %02d "$i").txt")" "$((i + 1))" \
            "part $i"
    done
    [ "$(calls_of ListKernelSessionOutput)" -ge 3 ] || fail "the output's pages were not walked"
}

# logs --follow of a log that grows while it is read: Kaggle's stream
# while the session runs, each line once and in order, then the stored log.
follow_a_growing_log() {
    install_driver
    start_bench
    use_key_file
    local dir job
    dir=$(fixture_copy tests/fixtures/chatter)
    run_kaggle fit "$dir/"*.py --train-driver=kaggle --config.endpoint="$ENDPOINT" --no-wait
    expect_eq "$RC" 0 "exit code of fit --no-wait; stderr: $ERR"
    job=$OUT
    run_kaggle logs "$job" --follow
    expect_eq "$RC" 0 "exit code of logs --follow; stderr: $ERR"
    expect_eq "$(printf '%s\n' "$OUT" | grep -c '^line ')" 12000 "lines followed"
    expect_eq "$(printf '%s\n' "$OUT" | grep '^line ' | cut -d' ' -f2 | uniq | wc -l)" 12000 \
        "lines followed once each"
    printf '%s\n' "$OUT" | grep '^line ' | cut -d' ' -f2 | sort -c || fail "lines out of order"
    expect_eq "$(printf '%s\n' "$OUT" | tail -n 1)" "done" "the last line"
    [ "$(calls_of GetKernelSessionLogsStream)" -gt 0 ] || fail "the log stream was not used"
}

# Credentials and quota: each refusal one line, before anything is pushed.
refused_before_the_push() {
    install_driver
    start_bench
    local dir saves
    dir=$(fixture_copy examples/foo)
    local fit=(fit "$dir/model.py" --train-driver=kaggle --config.endpoint="$ENDPOINT")
    run_kaggle "${fit[@]}"
    expect_eq "$RC" 1 "exit code with no credential; stderr: $ERR"
    expect_contains "$ERR" "no Kaggle credential: set KAGGLE_API_TOKEN" "no credential"
    KAGGLE_USERNAME="$USER_NAME" KAGGLE_KEY=wrong run_kaggle "${fit[@]}"
    expect_eq "$RC" 1 "exit code with a wrong key; stderr: $ERR"
    expect_contains "$ERR" "Kaggle refused the credential from KAGGLE_USERNAME and KAGGLE_KEY (HTTP 401)" \
        "a wrong key"
    KAGGLE_API_TOKEN=KGAT_wrong KAGGLE_USERNAME="$USER_NAME" run_kaggle "${fit[@]}"
    expect_eq "$RC" 1 "exit code with a wrong token; stderr: $ERR"
    expect_contains "$ERR" "Kaggle refused the credential from KAGGLE_API_TOKEN" "a wrong token"
    expect_eq "$(calls_of SaveKernel)" 0 "pushes with bad credentials"

    use_key_file
    chmod 644 "$KAGGLE_CONFIG_DIR/kaggle.json"
    control quota '{"accelerator": "gpu", "usedSeconds": 36000, "allowedSeconds": 108000}'
    run_kaggle "${fit[@]}" --config.accelerator=NvidiaTeslaT4 --no-wait
    expect_eq "$RC" 0 "exit code of a GPU fit; stderr: $ERR"
    expect_contains "$ERR" "kaggle.json is readable by other users" "the CLI's warning"
    expect_contains "$ERR" "20.0 of 30.0 GPU hours left this week" "the quota left"
    chmod 600 "$KAGGLE_CONFIG_DIR/kaggle.json"
    control quota '{"accelerator": "gpu", "usedSeconds": 108000, "allowedSeconds": 108000}'
    saves=$(calls_of SaveKernel)
    run_kaggle "${fit[@]}" --config.accelerator=NvidiaTeslaT4
    expect_eq "$RC" 1 "exit code with the GPU quota used up; stderr: $ERR"
    expect_contains "$ERR" "the weekly GPU quota is used up (30.0 of 30.0 hours)" "an exhausted quota"
    expect_eq "$(calls_of SaveKernel)" "$saves" "pushes with the quota used up"
    run_kaggle "${fit[@]}" --config.accelerator=NvidiaK80
    expect_eq "$RC" 2 "exit code with an unknown accelerator; stderr: $ERR"
    expect_contains "$ERR" "--config.accelerator=NvidiaK80: Kaggle has none, NvidiaTeslaT4" \
        "an unknown accelerator"
    run_kaggle "${fit[@]}" --config.timeout=50000
    expect_eq "$RC" 2 "exit code with too long a timeout; stderr: $ERR"
    expect_contains "$ERR" "1 to 43200 seconds" "too long a timeout"
    expect_eq "$(calls_of SaveKernel)" "$saves" "pushes of refused requests"
}

# SaveKernel is not idempotent: a 5xx may come after Kaggle saved the
# version, so it is not tried again (a second push would be a second
# version); a throttled push (429) is.
a_failed_push_is_not_pushed_again() {
    install_driver
    start_bench
    use_key_file
    local dir
    dir=$(fixture_copy examples/foo)
    control errors '{"count": 1, "status": 503, "method": "SaveKernel"}'
    run_kaggle fit "$dir/model.py" --train-driver=kaggle --config.endpoint="$ENDPOINT"
    expect_eq "$RC" 1 "exit code of a fit whose push got a 503; stderr: $ERR"
    expect_contains "$ERR" "SaveKernel: HTTP 503: Service Unavailable; not pushed again, as Kaggle may have saved the version" \
        "a 503 on the push"
    expect_eq "$(calls_of SaveKernel)" 1 "pushes after a 503"
    control errors '{"count": 1, "status": 429, "method": "SaveKernel"}'
    run_kaggle fit "$dir/model.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" --no-wait
    expect_eq "$RC" 0 "exit code of a fit whose push was throttled once; stderr: $ERR"
    expect_eq "$(calls_of SaveKernel)" 3 "pushes after a 429"
}

# A bearer token alone: Kaggle says whose it is (IntrospectToken, asked
# once), and the kernel is that user's; a token Kaggle refuses is one line
# before anything is pushed.
a_token_names_its_user() {
    install_driver
    start_bench
    local dir job
    dir=$(fixture_copy examples/foo)
    # --verbose: the token went into IntrospectToken's body; no line shows it.
    KAGGLE_API_TOKEN="$TOKEN" run_kaggle fit "$dir/model.py" --train-driver=kaggle \
        --config.endpoint="$ENDPOINT" --fetch "$TEST_TMP/token-model" --verbose
    expect_eq "$RC" 0 "exit code of a fit with a token alone; stderr: $ERR"
    job=$(printf '%s\n' "$OUT" | head -n 1)
    [[ "$job" =~ $JOB_ID_FORM ]] || fail "the kernel is not $USER_NAME/foo-model: $OUT"
    expect_eq "$(cat "$TEST_TMP/token-model/model.json")" '{"a": 3.0, "b": 2.0}' "the model"
    expect_eq "$(calls_of IntrospectToken)" 1 "IntrospectToken calls of one fit"
    KAGGLE_API_TOKEN="$TOKEN" KAGGLE_API_ENDPOINT="$ENDPOINT" run_kaggle jobs foo/model \
        --train-driver=kaggle
    expect_eq "$RC" 0 "exit code of jobs with a token alone; stderr: $ERR"
    printf '%s\n' "$OUT" | grep -qE "^$job +completed " || fail "jobs: $job not listed: $OUT"

    KAGGLE_API_TOKEN=KGAT_wrong run_kaggle fit "$dir/model.py" --train-driver=kaggle \
        --config.endpoint="$ENDPOINT"
    expect_eq "$RC" 1 "exit code with a wrong token alone; stderr: $ERR"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c 'Kaggle refused the credential from KAGGLE_API_TOKEN (HTTP 401)')" \
        1 "a wrong token alone, said once"
    expect_eq "$(calls_of SaveKernel)" 1 "pushes (the first fit's only)"
}

# fetch where the storage does not cooperate: file URLs that redirect (as
# www.kaggleusercontent.com's do) are followed with no credential to either
# host; a file whose bytes do not match the hash the storage holds fails
# the fetch naming it, and LOCAL_DIR is left as it was.
fetch_redirects_and_damage() {
    install_driver
    start_bench
    use_key_file
    local dir seen kept="$TEST_TMP/kept" before
    dir=$(fixture_copy examples/foo)
    run_kaggle fit "$dir/model.py" --train-driver=kaggle --config.endpoint="$ENDPOINT" \
        --fetch "$TEST_TMP/direct"
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"

    control redirect-downloads '{"on": true}'
    curl -sSf -X DELETE "$ENDPOINT/_bench/requests" >/dev/null
    run_kaggle fetch "$TEST_TMP/moved" foo/model
    expect_eq "$RC" 0 "exit code of a fetch through redirects; stderr: $ERR"
    diff -r "$TEST_TMP/direct" "$TEST_TMP/moved" || fail "the redirected fetch differs"
    seen=$(curl -sSf "$ENDPOINT/_bench/requests" | python3 -c 'import json, sys
files = [r for r in json.load(sys.stdin) if r["port"] == "storage" or "/kf/" in r["path"]]
print(sorted({(r["port"], r["status"], r["authorization"]) for r in files}))')
    expect_eq "$seen" "[('api', 302, False), ('storage', 200, False)]" "the file requests"

    # A user's directory, with a file the model also has (--overwrite).
    mkdir -p "$kept"
    echo "mine" >"$kept/notes.txt"
    echo "old" >"$kept/model.pkl"
    before=$(snapshot "$kept")
    control corrupt-file '{"file": "model/model.pkl"}'
    run_kaggle fetch "$kept" foo/model --overwrite
    expect_eq "$RC" 1 "exit code of a fetch of a damaged file; stderr: $ERR"
    expect_contains "$ERR" "model.pkl: its MD5 is not the one the storage holds" "a damaged file"
    expect_eq "$(snapshot "$kept")" "$before" "LOCAL_DIR after a damaged fetch"
    run_kaggle fetch "$TEST_TMP/new-dir" foo/model
    expect_eq "$RC" 1 "exit code of a fetch of a damaged file into a new directory; stderr: $ERR"
    [ ! -e "$TEST_TMP/new-dir" ] || fail "a damaged fetch left $(find "$TEST_TMP/new-dir")"
}

# Every entry in DIR: its name, type, size, mode, mtime and bytes (not
# DIR's own mtime: the placement stages inside DIR and removes that).
snapshot() { # DIR
    (cd "$1" && find . -mindepth 1 -printf '%p %y %s %m %T@\n' | sort &&
        find . -type f -exec md5sum {} + | sort)
}

# A script that begins with its docstring, comments and `from __future__`
# imports (which Python wants before any other statement) runs: the prelude
# goes after them. A notebook needs nothing (each cell compiles alone).
future_imports_stay_first() {
    install_driver
    start_bench
    use_key_file
    mkdir -p "$TEST_TMP/future"
    cat >"$TEST_TMP/future/train.py" <<'PY'
#!/usr/bin/env python3
"""A model with annotations that are not evaluated.

from __future__ import braces  (only text)
"""
# Comments and blank lines may come first too.

from __future__ import (
    annotations,  # PEP 563
    division,
)
from __future__ import \
    generator_stop
import json
import os


def fit(xs: list[Undefined]) -> dict[str, float]:
    return {"mean": sum(xs) / len(xs), "doc": __doc__.split("\n")[0]}


os.makedirs("/opt/ml/model", exist_ok=True)
with open("/opt/ml/model/model.json", "w") as f:
    json.dump(fit([1, 2]), f, sort_keys=True)
PY
    run_kaggle fit "$TEST_TMP/future/train.py" --train-driver=kaggle \
        --config.endpoint="$ENDPOINT" --hp.n=1 --fetch "$TEST_TMP/future-model"
    expect_eq "$RC" 0 "exit code of a script with future imports; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/future-model/model.json")" \
        '{"doc": "A model with annotations that are not evaluated.", "mean": 1.5}' "the model"

    mkdir -p "$TEST_TMP/future-nb"
    python3 - "$TEST_TMP/future-nb/train.ipynb" <<'PY'
import json, sys
cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
        "source": ["from __future__ import annotations\n", "import json, os\n",
                   "def half(x: Undefined) -> float:\n", "    return x / 2\n",
                   "os.makedirs('/opt/ml/model', exist_ok=True)\n",
                   "json.dump({'half': half(3)}, open('/opt/ml/model/model.json', 'w'))\n"]}
json.dump({"cells": [cell], "metadata": {}, "nbformat": 4, "nbformat_minor": 4},
          open(sys.argv[1], "w"))
PY
    run_kaggle fit "$TEST_TMP/future-nb/train.ipynb" --train-driver=kaggle \
        --config.endpoint="$ENDPOINT" --fetch "$TEST_TMP/future-nb-model"
    expect_eq "$RC" 0 "exit code of a notebook with future imports; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/future-nb-model/model.json")" '{"half": 1.5}' "the notebook's model"
}

run_test installed_driver_is_listed
run_test script_fit_and_job_commands
run_test notebook_dataset_and_hyperparameters
run_test failures_and_stop
run_test follow_a_growing_log
run_test fetch_walks_the_pages
run_test refused_before_the_push
run_test a_failed_push_is_not_pushed_again
run_test a_token_names_its_user
run_test fetch_redirects_and_damage
run_test future_imports_stay_first
finish
