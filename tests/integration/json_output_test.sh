#!/usr/bin/env bash
# --output json (README, "Output for scripts"): every line of stdout is one
# JSON object of schema fahr/1, checked with python3's json module against
# fahr's own text output and the benches' answers: the scripted fixture
# driver (no service), the local train driver on the Docker bench and the
# sagemaker driver on the AWS bench. Also jobs --limit and --state.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

fixture_plugins train_scripted.so

scripted() { # fahr ARGS with the scripted driver
    run_fahr --plugin-dir "$PLUGINS" "$@" --train-driver=scripted
}

# Every line of $OUT parsed strictly (no NaN, no duplicate keys, an object
# with "schema": "fahr/1" and a string "type"); prints one line per object:
# the FIELDs asked for, tab-separated, a string as it is, anything else as
# JSON (null, 3, true). Fails the test on a line that is not such JSON.
json_fields() { # FIELD...
    printf '%s\n' "$OUT" | python3 -c '
import json, sys
def no_duplicates(pairs):
    keys = [k for k, _ in pairs]
    assert len(keys) == len(set(keys)), "duplicate keys: %r" % keys
    return dict(pairs)
def no_constant(name):
    raise ValueError("not JSON: " + name)
data = sys.stdin.buffer.read()
if data in (b"", b"\n"):
    sys.exit(0)
for number, raw in enumerate(data.decode("utf-8").split("\n")[:-1], 1):
    try:
        obj = json.loads(raw, object_pairs_hook=no_duplicates, parse_constant=no_constant)
        assert isinstance(obj, dict), "not an object"
        assert obj.get("schema") == "fahr/1", "schema %r" % obj.get("schema")
        assert isinstance(obj.get("type"), str), "type %r" % obj.get("type")
    except Exception as e:
        sys.exit("line %d is not a fahr/1 object (%s): %r" % (number, e, raw))
    try:
        print("\t".join(obj[f] if isinstance(obj.get(f), str) else json.dumps(obj.get(f))
                        for f in sys.argv[1:]))
    except BrokenPipeError:  # a reader that wanted the first lines only
        sys.stderr.close()
        sys.exit(0)
' "$@" || fail "stdout is not JSON Lines of fahr/1: $OUT"
}

# ---- the scripted driver ------------------------------------------------

jobs_json_matches_the_text_listing() {
    scripted jobs
    expect_eq "$RC" 0 "text exit code"
    local text
    text=$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 "\t" $2 "\t" $3 }')
    scripted jobs --output json
    expect_eq "$RC" 0 "json exit code; stderr: $ERR"
    expect_eq "$ERR" "" "stderr"
    expect_eq "$(json_fields job state created)" "$text" "jobs as JSON"
    expect_eq "$(json_fields type created_unix | sort -u)" "job	1000
job	2000
job	3000" "types and Unix times"
    scripted jobs -o json
    expect_eq "$(json_fields job)" "$(printf '%s\n' "$text" | cut -f1)" "-o json"
}

jobs_state_and_limit_filter_both_forms() {
    scripted jobs --state=completed
    expect_eq "$RC" 0 "exit code"
    expect_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }')" "ok-newer
ok-older" "--state completed, text"
    expect_eq "$(printf '%s\n' "$OUT" | sed -n 1p | awk '{ print $1, $2, $3 }')" \
        "JOB STATE CREATED" "the header stays"
    scripted jobs --state completed -o json
    expect_eq "$(json_fields job state)" "ok-newer	completed
ok-older	completed" "--state completed, json"
    scripted jobs --limit=1
    expect_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 }')" \
        run-newest-with-a-name-longer-than-sixty-four-characters-to-check-the-columns \
        "--limit 1, text: the newest"
    scripted jobs --limit 2 --state=completed -o json
    expect_eq "$(json_fields job)" "ok-newer
ok-older" "--limit 2 --state completed"
    scripted jobs --limit 1 --state=completed --output=json
    expect_eq "$(json_fields job)" "ok-newer" "--limit 1 --state completed"
    scripted jobs --state=stopped -o json
    expect_eq "$RC" 0 "no stopped job: exit code"
    expect_eq "$OUT" "" "no stopped job: no lines"
    scripted jobs --limit 99
    expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 4 "--limit above the count: all, and the header"
}

jobs_filters_refuse_bad_values() {
    local bad
    for bad in 0 -1 x 1x 2.5 +3 " 3" 99999999999999999999999; do
        scripted jobs --limit "$bad"
        expect_eq "$RC" 2 "exit code of --limit '$bad'"
        expect_eq "$OUT" "" "stdout of --limit '$bad'"
        expect_eq "$ERR" "fahr: --limit takes a whole number of 1 or more, not '$bad' (see 'fahr jobs --help')" \
            "stderr of --limit '$bad'"
    done
    scripted jobs --limit=
    expect_eq "$RC" 2 "exit code of an empty --limit"
    for bad in Running "done" ""; do
        scripted jobs --state="$bad" -o json
        expect_eq "$RC" 2 "exit code of --state '$bad'"
        expect_eq "$OUT" "" "stdout of --state '$bad'"
    done
    scripted jobs --state=done
    expect_eq "$ERR" "fahr: --state 'done' is not a job state; one of pending, running, completed, failed, stopped (see 'fahr jobs --help')" \
        "stderr of an unknown state"
    scripted jobs --output yaml
    expect_eq "$RC" 2 "exit code of --output yaml"
    expect_eq "$ERR" "fahr: --output is text or json, not 'yaml' (see 'fahr jobs --help')" \
        "stderr of --output yaml"
    run_fahr logs ok-1 -o json
    expect_eq "$RC" 2 "logs takes no --output"
    run_fahr status ok-1 --limit 1
    expect_eq "$RC" 2 "status takes no --limit"
}

status_json_matches_the_text() {
    local job
    for job in ok-1 fail-1 run-1; do
        scripted status "$job"
        expect_eq "$RC" 0 "text exit code of $job"
        local line reason model
        line=$(printf '%s\n' "$OUT" | sed -n 1p)
        reason=$(printf '%s\n' "$OUT" | sed -n 's/^reason: //p')
        model=$(printf '%s\n' "$OUT" | sed -n 's/^model: //p')
        scripted status "$job" -o json
        expect_eq "$RC" 0 "json exit code of $job"
        expect_eq "$(json_fields type job state detail)" "status	$line" "$job's state"
        expect_eq "$(json_fields reason)" "${reason:-null}" "$job's reason"
        expect_eq "$(json_fields model)" "${model:-null}" "$job's model"
    done
    scripted status fail-1 -o json
    expect_eq "$(json_fields state reason)" "failed	the script raised" "fail-1"
    scripted status nosuch-1 -o json
    expect_eq "$RC" 1 "a missing job's exit code"
    expect_eq "$OUT" "" "a missing job: nothing on stdout"
    expect_eq "$ERR" "fahr: scripted: job 'nosuch-1' does not exist" "one line on stderr"
}

fit_json_has_one_object_per_event() {
    local work
    work=$(fixture_copy examples/foo)
    scripted fit "$work/model.py" --config.job=fail-2 -o json
    expect_eq "$RC" 3 "exit code of a failed job"
    expect_eq "$(json_fields type job)" "submitted	fail-2
log	fail-2
log	fail-2
log	fail-2
status	fail-2
done	fail-2" "the events"
    expect_eq "$(json_fields line | sed -n '2,4p')" "log line 1
log line 2
last log line" "the log lines"
    expect_eq "$(json_fields type state detail reason | sed -n 5p)" \
        "status	failed	scripted	the script raised" "the state change"
    expect_eq "$(json_fields type state exit_code reason model model_dir | tail -n 1)" \
        "done	failed	3	the script raised	null	null" "done"
    expect_eq "$(json_fields driver | sed -n 1p)" scripted "submitted's driver"
    # stderr keeps the error, as one line; the events are not repeated there.
    expect_eq "$ERR" "fahr: job fail-2 failed: the script raised" "stderr"
    # A failure before the submit: done alone, with the exit code.
    scripted fit "$work/nosuch.py" -o json
    expect_eq "$RC" 2 "exit code of a missing artifact"
    expect_eq "$(json_fields type exit_code job)" "done	2	null" "done alone"
}

plugins_json_matches_the_text() {
    run_fahr plugins
    local text
    text=$(printf '%s\n' "$OUT" | awk 'NR > 1 && NF == 5 { print $1 "\t" $2 "\t" $3 "\t" $4 "\t" $5 }')
    run_fahr plugins -o json
    expect_eq "$RC" 0 "exit code"
    expect_eq "$(json_fields name kind version abi path)" "$text" "plugins as JSON"
    expect_eq "$(json_fields type | sort -u)" plugin "types"
    # A skipped plugin is an object of its own.
    printf 'not a plugin' >"$TEST_TMP/broken.so"
    mkdir -p "$TEST_TMP/broken"
    chmod 0755 "$TEST_TMP/broken"
    mv "$TEST_TMP/broken.so" "$TEST_TMP/broken/"
    run_fahr plugins --plugin-dir "$TEST_TMP/broken" -o json -v
    expect_eq "$(json_fields type path | grep '^skipped')" "skipped	$TEST_TMP/broken/broken.so" \
        "the skipped plugin"
    expect_eq "$(json_fields type path | grep '^search_dir' | sed -n 1p)" \
        "search_dir	$TEST_TMP/broken" "the search path, with -v"
}

help_sagemaker_json_matches_the_text() {
    run_fahr help sagemaker
    expect_eq "$RC" 0 "text exit code"
    local names required
    names=$(printf '%s\n' "$OUT" | sed -n 's/^    --config\.\([a-z0-9_]*\)=.*/\1/p')
    required=$(printf '%s\n' "$OUT" | sed -n 's/^    --config\.\([a-z0-9_]*\)=.*(required)$/\1/p')
    [ -n "$names" ] || fail "no keys in: $OUT"
    run_fahr help sagemaker -o json
    expect_eq "$RC" 0 "json exit code"
    expect_eq "$(json_fields type name kind)" "driver	sagemaker	train" "the driver"
    local keys
    keys=$(printf '%s\n' "$OUT" | python3 -c '
import json, sys
for key in json.loads(sys.stdin.readline())["keys"]:
    assert set(key) == {"name", "value", "required", "secret", "help", "default", "default_env"}, key
    assert key["default"] is None or not key["secret"], "a secret default shown: %r" % key
    print(key["name"], key["required"])
')
    expect_eq "$(printf '%s\n' "$keys" | cut -d' ' -f1)" "$names" "the keys"
    expect_eq "$(printf '%s\n' "$keys" | awk '$2 == "True" { print $1 }')" "$required" \
        "the required keys"
    run_fahr help fit -o json
    expect_eq "$(json_fields type name)" "command	fit" "help of a command"
    run_fahr help nosuch -o json
    expect_eq "$RC" 2 "an unknown topic's exit code"
    expect_eq "$OUT" "" "an unknown topic: nothing on stdout"
}

run_test jobs_json_matches_the_text_listing
run_test jobs_state_and_limit_filter_both_forms
run_test jobs_filters_refuse_bad_values
run_test status_json_matches_the_text
run_test fit_json_has_one_object_per_event
run_test plugins_json_matches_the_text
run_test help_sagemaker_json_matches_the_text

# ---- the local train driver on the Docker bench ------------------------

use_docker_bench
export XDG_DATA_HOME="$TEST_TMP/xdg" FAHR_POLL_INTERVAL_MS=200

local_fit_jobs_and_status_as_json() {
    local work
    work=$(fixture_copy examples/foo)
    fit_local "$work/model.py" -o json --fetch "$TEST_TMP/model"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local types job
    types=$(json_fields type | uniq)
    expect_eq "$(printf '%s\n' "$types" | head -n 2)" "built
submitted" "first events"
    expect_eq "$(printf '%s\n' "$types" | tail -n 1)" "done" "the last event"
    expect_lacks "$types" pushed "a local image is not pushed"
    job=$(json_fields type job | sed -n 's/^submitted\t//p')
    [[ "$job" =~ ^foo-model-[0-9]{8}-[0-9]{6}-[0-9a-f]{4}$ ]] || fail "job name '$job'"
    expect_eq "$(json_fields type image driver | sed -n 1p | cut -f1,3)" "built	local" "built"
    expect_contains "$(json_fields type image | sed -n 1p)" "foo/model" "the image built"
    expect_eq "$(json_fields type line | grep '^log')" "log	fitted a=3.000 b=2.000" "the log line"
    expect_eq "$(json_fields type state | grep '^status' | tail -n 1)" "status	completed" \
        "the last state"
    local done_line model
    done_line=$(json_fields type job state exit_code model_dir | tail -n 1)
    expect_eq "$done_line" "done	$job	completed	0	$TEST_TMP/model" "done"
    model=$(json_fields type model | tail -n 1 | cut -f2)
    [ "$model" != null ] || fail "done names no model: $OUT"
    expect_eq "$(cat "$TEST_TMP/model/model.json")" '{"a": 3.0, "b": 2.0}' "the model fetched"
    expect_lacks "$ERR" "job $job: " "state changes are not repeated on stderr"

    run_fahr jobs --train-driver=local foo/model
    local text
    text=$(printf '%s\n' "$OUT" | awk -v job="$job" '$1 == job { print $1 "\t" $2 "\t" $3 }')
    expect_eq "$(printf '%s\n' "$text" | cut -f2)" completed "the text listing"
    run_fahr jobs --train-driver=local foo/model -o json --state completed --limit 1
    expect_eq "$(json_fields job state created)" "$text" "jobs as JSON"
    run_fahr status --train-driver=local "$job"
    local line
    line=$(printf '%s\n' "$OUT" | sed -n 1p)
    run_fahr status --train-driver=local "$job" -o json
    expect_eq "$(json_fields job state detail)" "$line" "status as JSON"
    expect_eq "$(json_fields model)" "$model" "status's model is fit's"

    run_fahr fetch --train-driver=local "$TEST_TMP/again" foo/model -o json
    expect_eq "$RC" 0 "fetch exit code; stderr: $ERR"
    expect_eq "$(json_fields type dir job)" "fetched	$TEST_TMP/again	$job" "fetched"
    cmp "$TEST_TMP/model/model.json" "$TEST_TMP/again/model.json" || fail "fetched models differ"
}

# A job that prints control characters, an escape sequence, a NUL and bytes
# that are no UTF-8: still one valid JSON object per line, the text kept
# where it is valid and each bad byte U+FFFD.
hostile_log_lines_stay_valid_json() {
    local dir="$TEST_TMP/hostile/evil"
    mkdir -p "$dir"
    cat >"$dir/train.py" <<'PY'
import os, sys
sys.stdout.buffer.write(b"bell\x07 esc\x1b[31mred\x1b[0m nul\x00 tab\t bad\xff\xfe cut\xc3 over\xc0\xaf sur\xed\xa0\x80 ok\xc3\xa9 end\n")
sys.stdout.buffer.write(b'quote" backslash\\ \x7f\x01\n')
sys.stdout.flush()
os.makedirs("/opt/ml/model", exist_ok=True)
open("/opt/ml/model/m.txt", "w").write("x")
PY
    fit_local "$dir/train.py" -o json
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$(json_fields type | grep -c '^log$')" 2 "two log lines: $OUT"
    printf '%s\n' "$OUT" | python3 -c '
import json, sys
lines = [json.loads(l)["line"] for l in sys.stdin if json.loads(l)["type"] == "log"]
R = "\ufffd"
# The escape sequences may be taken out on the way (the host strips them
# from live output); whatever reaches JSON is valid and decodes as sent.
first = lines[0].replace("\x1b[31m", "").replace("\x1b[0m", "")
want = "bell\x07 escred nul\x00 tab\t bad" + R + R + " cut" + R + " over" + R + R + \
       " sur" + R + R + R + " ok\u00e9 end"
assert first == want, (first, want)
assert lines[1] == "quote\" backslash\\ \x7f\x01", lines[1]
' || fail "the hostile lines: $OUT"
    # Raw control bytes (but DEL, which JSON takes as it is) never reach
    # stdout: jansson escapes them.
    if printf '%s' "$OUT" | LC_ALL=C grep -q "$(printf '[\001-\010\016-\037]')"; then
        fail "a raw control character on stdout"
    fi
}

run_test local_fit_jobs_and_status_as_json
run_test hostile_log_lines_stay_valid_json

# ---- the sagemaker driver on the AWS bench -----------------------------

use_aws_bench

# A training job made straight in moto (no container runs).
moto_training_job() { # NAME REPOSITORY
    moto_cli sagemaker create-training-job --training-job-name "$1" \
        --algorithm-specification "TrainingImage=$FAHR_BENCH_REGISTRY/$2:old,TrainingInputMode=File" \
        --role-arn arn:aws:iam::123456789012:role/fahr-bench-role \
        --output-data-config "S3OutputPath=s3://$FAHR_BENCH_BUCKET/models" \
        --resource-config InstanceType=ml.m5.large,InstanceCount=1,VolumeSizeInGB=1 \
        --stopping-condition MaxRuntimeInSeconds=60 >/dev/null
}

sagemaker_jobs_and_status_as_json() {
    moto_training_job json-one team/jsonic
    moto_training_job json-two team/jsonic
    run_fahr jobs --train-driver=sagemaker -o json
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local listed moto
    listed=$(json_fields job | sort)
    moto=$(moto_cli sagemaker list-training-jobs --query 'TrainingJobSummaries[].TrainingJobName' \
        --output text | tr '\t' '\n' | sort)
    expect_eq "$listed" "$moto" "the jobs are moto's"
    run_fahr jobs --train-driver=sagemaker
    expect_eq "$(printf '%s\n' "$OUT" | awk 'NR > 1 { print $1 "\t" $2 "\t" $3 }')" \
        "$(run_fahr jobs --train-driver=sagemaker -o json && json_fields job state created)" \
        "text and JSON list the same"
    run_fahr jobs --train-driver=sagemaker -o json --limit 1
    expect_eq "$(printf '%s\n' "$OUT" | wc -l)" 1 "--limit 1"

    local job created described
    for job in json-one json-two; do
        run_fahr status --train-driver=sagemaker "$job"
        local line
        line=$(printf '%s\n' "$OUT" | sed -n 1p)
        run_fahr status --train-driver=sagemaker "$job" -o json
        expect_eq "$RC" 0 "status exit code; stderr: $ERR"
        expect_eq "$(json_fields job state detail)" "$line" "status of $job"
        described=$(moto_cli sagemaker describe-training-job --training-job-name "$job" \
            --query '[TrainingJobStatus, SecondaryStatus]' --output text)
        expect_eq "$(json_fields detail)" "$(printf '%s\n' "$described" | cut -f2)" \
            "$job's detail is moto's SecondaryStatus"
        expect_eq "$(json_fields state)" \
            "$(printf '%s\n' "$described" | cut -f1 | tr '[:upper:]' '[:lower:]' | sed 's/inprogress/running/')" \
            "$job's state is moto's"
    done
    created=$(run_fahr jobs --train-driver=sagemaker -o json && json_fields created_unix | sed -n 1p)
    [[ "$created" =~ ^[0-9]+$ ]] || fail "created_unix '$created'"
}

run_test sagemaker_jobs_and_status_as_json
finish
