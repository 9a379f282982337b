#!/usr/bin/env bash
# The job commands and what a person sees at a terminal, with the `scripted`
# fixture driver (tests/fixtures/plugins/train_scripted.c), whose jobs follow
# their id: no service, no Docker engine.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

fixture_plugins train_scripted.so
WORK=$(fixture_copy examples/foo)

scripted() { # fahr ARGS with the scripted driver
    run_fahr --plugin-dir "$PLUGINS" "$@" --train-driver=scripted
}

logs_of_a_missing_job_fail() {
    scripted logs nosuch-job
    expect_eq "$RC" 1 "exit code"
    expect_eq "$OUT" "" "stdout"
    expect_eq "$ERR" "fahr: scripted: job 'nosuch-job' does not exist" "stderr"
}

logs_follow_exits_3_when_the_job_failed() {
    scripted logs fail-1 --follow
    expect_eq "$RC" 3 "exit code of a failed job"
    expect_contains "$OUT" "last log line" "its logs"
    expect_contains "$ERR" "job fail-1 failed: the script raised" "stderr"
    scripted logs stop-1 --follow
    expect_eq "$RC" 3 "exit code of a stopped job"
    scripted logs ok-1 --follow
    expect_eq "$RC" 0 "exit code of a completed job"
}

stop_of_an_ended_job_says_so() {
    scripted stop ok-1
    expect_eq "$RC" 0 "exit code"
    expect_eq "$ERR" "fahr: job ok-1 already completed; nothing to stop" "stderr"
    scripted stop fail-1
    expect_eq "$ERR" "fahr: job fail-1 already failed; nothing to stop" "stderr"
    scripted stop run-1
    expect_eq "$RC" 0 "exit code of a running job"
    expect_eq "$ERR" "fahr: asked job run-1 to stop" "stderr"
    scripted stop nosuch-1
    expect_eq "$RC" 1 "exit code of a missing job"
}

jobs_are_sorted_newest_first_under_a_header() {
    scripted jobs
    expect_eq "$RC" 0 "exit code"
    local long=run-newest-with-a-name-longer-than-sixty-four-characters-to-check-the-columns
    local expected format="%-${#long}s  %-9s  %s\n"
    # shellcheck disable=SC2059 # the format is built for the longest id
    expected=$(printf "$format" JOB STATE CREATED \
        "$long" running 1970-01-01T00:50:00Z \
        ok-newer completed 1970-01-01T00:33:20Z \
        ok-older completed 1970-01-01T00:16:40Z)
    expect_eq "$OUT" "$expected" "the listing"
}

fetch_takes_the_newest_completed_job() {
    scripted fetch "$TEST_TMP/newest" some/model
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/newest/model.bin")" ok-newer "the job fetched"
}

the_last_log_lines_come_before_the_end() {
    scripted fit "$WORK/model.py" --config.job=fail-2
    expect_eq "$RC" 3 "exit code"
    local last_line end
    last_line=$(printf '%s\n' "$ERR" | grep -n 'last log line' | cut -d: -f1)
    end=$(printf '%s\n' "$ERR" | grep -n 'job fail-2: failed: scripted' | cut -d: -f1)
    if [ -z "$last_line" ] || [ -z "$end" ] || [ "$end" -le "$last_line" ]; then
        fail "the end was shown before the job's last line: $ERR"
    fi
}

a_last_line_without_newline_is_shown_once_the_job_is_over() {
    # read_logs2 is told the last call: a line the job left unfinished comes
    # out then (read_logs, which is never told, holds it back).
    scripted logs partial-1
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "$(printf 'log line 1\nlog line 2\nlast log line')" "logs"
    scripted logs partial-1 --follow
    expect_eq "$RC" 0 "exit code of logs --follow; stderr: $ERR"
    expect_eq "$OUT" "$(printf 'log line 1\nlog line 2\nlast log line')" "logs --follow"
    scripted fit "$WORK/model.py" --config.job=partial-2
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    expect_eq "$(printf '%s\n' "$ERR" | grep -c '^last log line$' || true)" 1 \
        "the last line in fit's follow, once: $ERR"
}

polls_of() { # FILE: how many polls the paced job recorded
    grep -c '^poll ' "$1" || true
}

the_driver_says_when_to_poll_next() {
    # The fixture asks for 250 ms (its poll_interval_ms is 10 ms) and its job
    # runs 1 s from its first poll: about 5 polls, not about 100.
    local polls="$TEST_TMP/polls-250"
    scripted fit "$WORK/model.py" --config.job=paced-250 --config.polls="$polls"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    local count
    count=$(polls_of "$polls")
    if [ "$count" -lt 2 ] || [ "$count" -gt 7 ]; then
        fail "$count polls for a job of 1 s at 250 ms each: $(cat "$polls")"
    fi
    # next_poll_ms=1 is kept at 100 ms at least: about 11 polls, not 1000.
    polls="$TEST_TMP/polls-1"
    scripted logs paced-1 --follow --config.polls="$polls"
    expect_eq "$RC" 0 "exit code of logs --follow; stderr: $ERR"
    count=$(polls_of "$polls")
    if [ "$count" -lt 2 ] || [ "$count" -gt 13 ]; then
        fail "$count polls for a job of 1 s at 100 ms at least: $(cat "$polls")"
    fi
}

each_poll_gets_a_zeroed_status() {
    # A running paced job fills every field; the fixture's poll fails if the
    # next one is handed any of it.
    scripted fit "$WORK/model.py" --config.job=paced-100 --config.polls="$TEST_TMP/polls-z"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_lacks "$ERR" "not zeroed" "stderr"
    [ "$(polls_of "$TEST_TMP/polls-z")" -ge 3 ] || fail "too few polls to tell: $ERR"
}

no_wait_prints_how_to_follow() {
    # Where the job index cannot be written, the command names the driver.
    : >"$TEST_TMP/a-file"
    XDG_STATE_HOME="$TEST_TMP/a-file" scripted fit "$WORK/model.py" --config.job=run-2 --no-wait
    expect_eq "$RC" 0 "exit code"
    expect_eq "$OUT" run-2 "stdout: the job id alone"
    expect_contains "$ERR" "fahr: warning: job run-2 is not in the job index: cannot make" \
        "stderr"
    expect_contains "$ERR" $'\nfahr: follow it with: fahr logs --train-driver=scripted run-2 --follow' \
        "stderr"
    # With the job in the index, it needs no driver.
    scripted fit "$WORK/model.py" --config.job=run-2 --no-wait
    expect_eq "$ERR" "fahr: follow it with: fahr logs run-2 --follow" "stderr"
}

a_failed_fetch_after_the_job_says_how_to_retry() {
    local dir="$TEST_TMP/it's here"
    scripted fit "$WORK/model.py" --config.job=fetchfail-3 --fetch "$dir"
    expect_eq "$RC" 1 "exit code"
    local hint
    hint=$(printf '%s\n' "$ERR" | sed -n 's/^fahr: the job completed; fetch its model again with: //p')
    [ -n "$hint" ] || fail "no retry command in: $ERR"
    # The command, pasted back into a shell, names the same directory and model.
    eval "set -- $hint"
    # The job is in the index: the command needs no driver, and works.
    expect_eq "$*" "fahr fetch $dir foo/model fixture://fetchfail-3/model it's" \
        "the retry command's words"
    shift
    run_fahr --plugin-dir "$PLUGINS" "$@"
    expect_eq "$RC" 0 "exit code of the retry; stderr: $ERR"
    expect_eq "$(cat "$dir/model.bin")" "fixture://fetchfail-3/model it's" "the model fetched"
}

a_failed_fetch_without_the_index_names_the_driver() {
    local dir="$TEST_TMP/no-index"
    : >"$TEST_TMP/a-file"
    XDG_STATE_HOME="$TEST_TMP/a-file" scripted fit "$WORK/model.py" --config.job=fetchfail-4 \
        --fetch "$dir"
    expect_eq "$RC" 1 "exit code"
    expect_contains "$ERR" "fetch its model again with: fahr fetch --train-driver=scripted $dir foo/model" \
        "the retry command"
}

fetch_finds_the_images_driver_in_the_index() {
    scripted fit "$WORK/model.py" --config.job=ok-10
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    run_fahr --plugin-dir "$PLUGINS" fetch "$TEST_TMP/by-image" foo/model:latest
    expect_eq "$RC" 0 "exit code of fetch without flags; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/by-image/model.bin")" ok-newer "the newest completed job"
    run_fahr --plugin-dir "$PLUGINS" fetch "$TEST_TMP/other-image" other/model
    expect_contains "$ERR" "fahr: sagemaker: " "an image not in the index: the default driver"
}

jobs_of_an_image_finds_its_driver_in_the_index() {
    scripted fit "$WORK/model.py" --config.job=ok-11
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    run_fahr --plugin-dir "$PLUGINS" jobs foo/model:latest
    expect_eq "$RC" 0 "exit code of jobs without flags; stderr: $ERR"
    expect_contains "$OUT" "ok-newer" "the scripted driver's listing"
}

progress_fits_a_narrow_terminal() {
    command -v tmux >/dev/null || fail "tmux is not installed"
    in_tmux 40 env TERM=screen "$FAHR" --plugin-dir "$PLUGINS" fetch "$TEST_TMP/narrow" x \
        --train-driver=scripted
    expect_contains "$PANE" "EXIT=0" "fahr's exit"
    # One finished progress line, cut to 39 columns: redraws left no lines.
    local lines
    lines=$(printf '%s\n' "$PANE" | grep -c 'downloading the scripted' || true)
    expect_eq "$lines" 1 "progress lines in: $PANE"
    local widest
    widest=$(printf '%s\n' "$PANE" | awk '{ if (length($0) > w) w = length($0) } END { print w }')
    [ "$widest" -le 40 ] || fail "a line is wider than the terminal: $PANE"
    expect_contains "$PANE" "coloured output" "the live output"
}

# The raw bytes fahr writes to a terminal (script(1) gives it one).
raw_terminal_output() { # ENV... -- ARGS...
    local envs=()
    while [ "$1" != -- ]; do envs+=("$1"); shift; done
    shift
    local command
    printf -v command '%q ' env "${envs[@]}" "$FAHR" --plugin-dir "$PLUGINS" "$@"
    script -qec "$command" /dev/null >"$TEST_TMP/raw" </dev/null
}

no_escape_codes_for_a_dumb_terminal_or_no_color() {
    raw_terminal_output TERM=dumb -- fetch "$TEST_TMP/dumb" x --train-driver=scripted
    ! grep -q $'\033' "$TEST_TMP/raw" || fail "escape codes under TERM=dumb: $(od -c "$TEST_TMP/raw" | head)"
    grep -q 'coloured output' "$TEST_TMP/raw" || fail "no live output under TERM=dumb"
    raw_terminal_output TERM=xterm NO_COLOR=1 -- fetch "$TEST_TMP/nocolor" x --train-driver=scripted
    ! grep -q $'\033\\[1;31m' "$TEST_TMP/raw" || fail "colour codes despite NO_COLOR"
    grep -q 'coloured output' "$TEST_TMP/raw" || fail "no live output under NO_COLOR"
    raw_terminal_output TERM=xterm -- fetch "$TEST_TMP/colour" x --train-driver=scripted
    grep -q $'\033\\[1;31mcoloured' "$TEST_TMP/raw" || fail "colours are kept on a colour terminal"
}

piped_output_has_no_escape_codes() {
    "$FAHR" -v --plugin-dir "$PLUGINS" fetch "$TEST_TMP/piped" x --train-driver=scripted \
        2>"$TEST_TMP/piped.err" >/dev/null
    grep -q 'coloured output' "$TEST_TMP/piped.err" || fail "no live output with -v"
    ! grep -q $'\033' "$TEST_TMP/piped.err" || fail "escape codes in piped output"
}

check_refuses_before_anything_runs() {
    scripted fit "$WORK/model.py" --config.job=ok-9 \
        --config.refuse="instance type 'c5' is not of the form ml.*"
    expect_eq "$RC" 2 "exit code"
    expect_eq "$OUT" "" "stdout: no job was submitted"
    expect_eq "$ERR" "fahr: scripted: instance type 'c5' is not of the form ml.*" "stderr"
}

# The host checks only the syntax every driver shares: SageMaker's limits
# (100 hyperparameters, 20 channels, their names) and its sources are the
# sagemaker and local drivers' own (sagemaker_test, local_train_test).
a_driver_without_limits_gets_what_sagemaker_refuses() {
    local record="$TEST_TMP/submitted" many=() inputs=() expected i
    for i in $(seq 1 150); do many+=("--hp.k$i=v"); done
    expected=$'hyperparameters 150\nchannel cloud 0 gs://bucket/x'
    expected+=$'\nchannel dataset 0 kaggle://owner/some-set'
    expected+=$'\nchannel my data 1 '"$WORK"
    for i in $(seq 1 21); do
        inputs+=(--input "c$i=s3://b/$i")
        expected+=$'\n'"channel c$i 0 s3://b/$i"
    done
    cd "$WORK" # a relative local source is made absolute
    scripted fit model.py --config.job=ok-11 --config.record="$record" "${many[@]}" \
        --input cloud=gs://bucket/x --input dataset=kaggle://owner/some-set \
        --input "my data=." "${inputs[@]}"
    cd - >/dev/null
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" ok-11 "its job"
    expect_eq "$(cat "$record")" "$expected" "what submit got"
}

# An opaque URI (RFC 3986: scheme ':' then no '/') is a location too, as
# `kaggle:OWNER/DATASET`; a path that begins with '.' or '/' stays local, so
# a local file with a colon in its first segment is written ./name.
an_opaque_uri_is_a_location_and_dot_slash_a_path() {
    local record="$TEST_TMP/opaque" expected
    mkdir -p "$WORK/kaggle:here"
    expected=$'hyperparameters 0\nchannel opaque 0 kaggle:owner/some-set'
    expected+=$'\nchannel hier 0 kaggle-model://o/m/f/v'
    expected+=$'\nchannel colon 1 '"$WORK/kaggle:here"
    cd "$WORK"
    scripted fit model.py --config.job=ok-13 --config.record="$record" \
        --input opaque=kaggle:owner/some-set --input hier=kaggle-model://o/m/f/v \
        --input colon=./kaggle:here
    cd - >/dev/null
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$(cat "$record")" "$expected" "what submit got"
    # A scheme followed by one '/' is no URI: a path, which must exist.
    scripted fit "$WORK/model.py" --config.job=ok-13 --config.record="$record" \
        --input bad=nosuch:/x
    expect_eq "$RC" 2 "exit code for nosuch:/x"
    expect_contains "$ERR" "--input bad: 'nosuch:/x': No such file or directory" "stderr for nosuch:/x"
}

bad_input_syntax_is_refused_for_every_driver() {
    local record="$TEST_TMP/refused" arg
    for arg in "a/b=$WORK" "=$WORK" "a=" "nameonly" $'a\tb='"$WORK"; do
        scripted fit "$WORK/model.py" --config.job=ok-12 --config.record="$record" --input "$arg"
        expect_eq "$RC" 2 "exit code for --input '$arg'"
        expect_contains "$ERR" "expected NAME=SOURCE, NAME without '/' or control characters" \
            "stderr for --input '$arg'"
    done
    expect_lacks "$ERR" $'\t' "the refused name's control character"
    scripted fit "$WORK/model.py" --config.job=ok-12 --config.record="$record" \
        --input owner/some-dataset
    expect_eq "$RC" 2 "exit code for a name without a scheme"
    scripted fit "$WORK/model.py" --config.job=ok-12 --config.record="$record" \
        --input $'x=gs://b/\r\nHost: evil'
    expect_eq "$RC" 2 "exit code for a location with a control character"
    expect_eq "$ERR" "fahr: --input x: a location has no control characters" "stderr"
    scripted fit "$WORK/model.py" --config.job=ok-12 --config.record="$record" $'--hp.a\nb=1'
    expect_eq "$RC" 2 "exit code for a hyperparameter's name with a newline"
    expect_eq "$ERR" "fahr: --hp.a?b: a hyperparameter has no control characters" "stderr"
    scripted fit "$WORK/model.py" --config.job=ok-12 --config.record="$record" --hp.a=1 --hp.a=2
    expect_eq "$RC" 2 "exit code for a hyperparameter twice"
    expect_eq "$ERR" "fahr: --hp.a is given twice" "stderr"
    [ ! -e "$record" ] || fail "a refused fit was submitted"
}

a_driver_built_against_abi_1_0_still_runs() {
    local dir="$TEST_TMP/abi10"
    mkdir -p "$dir"
    chmod 0755 "$dir"
    cp "$FAHR_FIXTURE_DIR/train_abi_1_0.so" "$dir/"
    run_fahr --plugin-dir "$dir" plugins
    printf '%s\n' "$OUT" | grep -qE '^abi-one-oh +train +1\.0\.0 +1\.0 ' ||
        fail "the 1.0 driver is not listed with ABI 1.0: $OUT"
    run_fahr --plugin-dir "$dir" fit "$WORK/model.py" --train-driver=abi-one-oh
    expect_eq "$RC" 0 "fit with the 1.0 driver; stderr: $ERR"
    expect_eq "$OUT" fixture-job "its job"
}

# --dry-run is the host's, for every driver: check() runs, submit() never.
dry_run_checks_and_submits_nothing() {
    local record="$TEST_TMP/dry-run-submitted"
    scripted fit "$WORK/model.py" --config.job=ok-9 --config.record="$record" --dry-run
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" "" "stdout: no job was submitted"
    expect_eq "$ERR" "fahr: dry run: fit would run $WORK/model.py with the scripted driver; nothing was uploaded or submitted" "stderr"
    [ ! -e "$record" ] || fail "submit was called"
    scripted fit "$WORK/model.py" --config.job=ok-9 --config.refuse="no such instance type" \
        --dry-run
    expect_eq "$RC" 2 "exit code of a refused check"
    expect_eq "$ERR" "fahr: scripted: no such instance type" "stderr"
    # A driver of ABI 1.0 has no check(): the dry run says that it checked
    # nothing of the driver's.
    local dir="$TEST_TMP/abi10-dry"
    mkdir -p "$dir"
    chmod 0755 "$dir"
    cp "$FAHR_FIXTURE_DIR/train_abi_1_0.so" "$dir/"
    run_fahr --plugin-dir "$dir" fit "$WORK/model.py" --train-driver=abi-one-oh --dry-run
    expect_eq "$RC" 0 "exit code with the 1.0 driver; stderr: $ERR"
    expect_eq "$OUT" "" "stdout of the 1.0 driver"
    expect_contains "$ERR" "the abi-one-oh driver checks nothing before it submits" "stderr"
}

a_source_driver_takes_no_build_driver() {
    scripted fit "$WORK/model.py" --build-driver=local --config.job=ok-9
    expect_eq "$RC" 2 "exit code"
    expect_eq "$OUT" "" "stdout: no job was submitted"
    expect_eq "$ERR" "fahr: the scripted driver runs the artifact's source; it takes no --build-driver" \
        "stderr"
    # Without a build driver, its keys are no keys at all.
    scripted fit "$WORK/model.py" --config.job=ok-9 --config.base_image=python:3
    expect_eq "$RC" 2 "exit code of a build driver's key"
    expect_contains "$ERR" "unknown config key 'base_image'" "stderr"
    scripted fit "$WORK/model.py" --config.job=ok-9
    expect_eq "$RC" 0 "exit code without a build driver; stderr: $ERR"
    expect_eq "$OUT" ok-9 "its job"
    [ ! -e "$WORK/Dockerfile" ] || fail "fit of a source driver wrote a Dockerfile"
}

init_with_a_source_driver_writes_nothing() {
    local before after
    before=$(ls -A "$WORK")
    scripted init "$WORK/model.py"
    expect_eq "$RC" 0 "exit code"
    expect_eq "$OUT" "" "stdout"
    expect_eq "$ERR" "fahr: the scripted driver runs the source itself; there are no build files to write" \
        "stderr"
    after=$(ls -A "$WORK")
    expect_eq "$after" "$before" "the artifact's directory"
}

list_gets_the_image_name_without_its_tag() {
    scripted jobs foo/model:latest
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    printf '%s\n' "$OUT" | grep -q '^image=foo/model ' || fail "list() got another name: $OUT"
    scripted jobs registry.example.com:5000/foo/model:3
    printf '%s\n' "$OUT" | grep -q '^image=registry.example.com:5000/foo/model ' ||
        fail "a registry's port is not a tag: $OUT"
}

# The job index: fit records the job, its driver and its addressing keys.
status_finds_the_driver_and_keys_in_the_job_index() {
    scripted fit "$WORK/model.py" --config.job=run-5@ep1 --config.endpoint=ep1 \
        --config.token=s3cr3t-t0ken-value --no-wait
    expect_eq "$RC" 0 "exit code of fit; stderr: $ERR"
    expect_eq "$ERR" "fahr: follow it with: fahr logs run-5@ep1 --follow" "the hint"
    run_fahr --plugin-dir "$PLUGINS" status run-5@ep1
    expect_eq "$RC" 0 "exit code of status without flags; stderr: $ERR"
    expect_eq "$OUT" "$(printf 'run-5@ep1\trunning\tscripted')" "status"
    run_fahr --plugin-dir "$PLUGINS" logs run-5@ep1
    expect_eq "$RC" 0 "exit code of logs; stderr: $ERR"
    run_fahr --plugin-dir "$PLUGINS" stop run-5@ep1
    expect_eq "$ERR" "fahr: asked job run-5@ep1 to stop" "stop"
    # A key given on the command line wins over the recorded one.
    run_fahr --plugin-dir "$PLUGINS" status run-5@ep1 --config.endpoint=ep2
    expect_eq "$RC" 1 "exit code with another endpoint"
    expect_eq "$ERR" "fahr: scripted: job 'run-5@ep1' does not exist at endpoint 'ep2'" "stderr"
    # The file: 0600 in a 0700 directory under XDG_STATE_HOME, no secret.
    local dir="$XDG_STATE_HOME/fahr/jobs"
    expect_eq "$(stat -c %a "$dir")" 700 "the index directory's mode"
    expect_eq "$(stat -c %a "$dir/run-5%40ep1")" 600 "the entry's mode"
    expect_contains "$(cat "$dir/run-5%40ep1")" '"endpoint":"ep1"' "the entry"
    ! grep -rq s3cr3t "$dir" || fail "the secret was recorded: $(cat "$dir"/*)"
    expect_eq "$(find "$dir" -name '.new*' | wc -l)" 0 "temporary files left"
}

a_job_id_is_no_path_in_the_index() {
    scripted fit "$WORK/model.py" --config.job=run-../../../escape --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    [ -f "$XDG_STATE_HOME/fahr/jobs/run-..%2F..%2F..%2Fescape" ] ||
        fail "not recorded as one encoded file: $(find "$XDG_STATE_HOME")"
    [ ! -e "$XDG_STATE_HOME/escape" ] || fail "a file was written outside the index"
    run_fahr --plugin-dir "$PLUGINS" status run-../../../escape
    expect_eq "$RC" 0 "exit code of status; stderr: $ERR"
}

the_index_is_in_home_without_xdg_state_home() {
    local home="$TEST_TMP/home"
    mkdir -p "$home"
    HOME=$home XDG_STATE_HOME='' scripted fit "$WORK/model.py" --config.job=run-6 --no-wait
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    [ -f "$home/.local/state/fahr/jobs/run-6" ] || fail "not in ~/.local/state: $(find "$home")"
    HOME=$home XDG_STATE_HOME='' run_fahr --plugin-dir "$PLUGINS" status run-6
    expect_eq "$RC" 0 "exit code of status; stderr: $ERR"
}

a_job_not_in_the_index_defaults_to_sagemaker() {
    run_fahr --plugin-dir "$PLUGINS" status run-never-started
    expect_contains "$ERR" "fahr: sagemaker: " "stderr"
}

a_corrupt_index_entry_is_ignored_with_a_warning() {
    local dir="$XDG_STATE_HOME/fahr/jobs"
    scripted fit "$WORK/model.py" --config.job=run-7 --no-wait
    printf '{"job_id": "run-7", "driver": ' >"$dir/run-7"
    run_fahr --plugin-dir "$PLUGINS" status run-7
    expect_contains "$ERR" "fahr: warning: ignoring $dir/run-7 of the job index: not a job index entry" \
        "stderr"
    expect_contains "$ERR" "fahr: sagemaker: " "the default driver is used"
    # An entry of another job, or with a driver name that is no name.
    printf '{"job_id": "run-8", "driver": "scripted", "image_name": "x", "config": {}}' >"$dir/run-7"
    run_fahr --plugin-dir "$PLUGINS" status run-7
    expect_contains "$ERR" "ignoring $dir/run-7 of the job index: it names another job" "stderr"
    printf '{"job_id": "run-7", "driver": "../x", "image_name": "x", "config": {}}' >"$dir/run-7"
    run_fahr --plugin-dir "$PLUGINS" status run-7
    expect_contains "$ERR" "ignoring $dir/run-7 of the job index: a bad driver name" "stderr"
    # A good entry others could write, or a link to one, is not used.
    scripted fit "$WORK/model.py" --config.job=run-7 --no-wait
    chmod 0620 "$dir/run-7"
    run_fahr --plugin-dir "$PLUGINS" status run-7
    expect_contains "$ERR" "ignoring $dir/run-7 of the job index: not a file of yours that only you can write" \
        "stderr"
    chmod 0600 "$dir/run-7"
    ln -s "$dir/run-7" "$dir/run-71"
    run_fahr --plugin-dir "$PLUGINS" status run-71
    expect_contains "$ERR" "ignoring $dir/run-71 of the job index: " "a link"
    expect_contains "$ERR" "fahr: sagemaker: " "the default driver is used"
}

help_shows_no_secret_default() {
    run_fahr --plugin-dir "$PLUGINS" help scripted
    expect_eq "$RC" 0 "exit code"
    expect_contains "$OUT" "[default: (secret)]" "the token's default"
    expect_lacks "$OUT" "default-token-value" "help"
}

run_test check_refuses_before_anything_runs
run_test a_driver_without_limits_gets_what_sagemaker_refuses
run_test bad_input_syntax_is_refused_for_every_driver
run_test an_opaque_uri_is_a_location_and_dot_slash_a_path
run_test a_source_driver_takes_no_build_driver
run_test dry_run_checks_and_submits_nothing
run_test init_with_a_source_driver_writes_nothing
run_test list_gets_the_image_name_without_its_tag
run_test status_finds_the_driver_and_keys_in_the_job_index
run_test a_job_id_is_no_path_in_the_index
run_test the_index_is_in_home_without_xdg_state_home
run_test a_job_not_in_the_index_defaults_to_sagemaker
run_test a_corrupt_index_entry_is_ignored_with_a_warning
run_test help_shows_no_secret_default
run_test a_driver_built_against_abi_1_0_still_runs
following_ends_when_the_reader_goes() {
    # `| head`: once the reader is gone, the next line cannot be written and
    # fahr stops following (SIGPIPE is ignored, so it is not killed).
    local rc=0 started=$SECONDS
    set +e
    timeout 20 "$FAHR" --plugin-dir "$PLUGINS" logs chatty-1 --follow --train-driver=scripted \
        2>"$TEST_TMP/chatty.err" | head -n 2 >"$TEST_TMP/chatty.out"
    rc=${PIPESTATUS[0]}
    set -e
    expect_eq "$(cat "$TEST_TMP/chatty.out")" "$(printf 'chatty line 1\nchatty line 2')" "head's lines"
    expect_eq "$rc" 1 "fahr's exit code (124: it went on following)"
    [ $((SECONDS - started)) -lt 10 ] || fail "fahr followed for $((SECONDS - started)) s"
    expect_eq "$(cat "$TEST_TMP/chatty.err")" "" "stderr"
}

run_test following_ends_when_the_reader_goes
run_test logs_of_a_missing_job_fail
run_test logs_follow_exits_3_when_the_job_failed
run_test stop_of_an_ended_job_says_so
run_test jobs_are_sorted_newest_first_under_a_header
run_test fetch_takes_the_newest_completed_job
run_test the_last_log_lines_come_before_the_end
run_test a_last_line_without_newline_is_shown_once_the_job_is_over
run_test the_driver_says_when_to_poll_next
run_test each_poll_gets_a_zeroed_status
run_test no_wait_prints_how_to_follow
run_test a_failed_fetch_after_the_job_says_how_to_retry
run_test a_failed_fetch_without_the_index_names_the_driver
run_test fetch_finds_the_images_driver_in_the_index
run_test jobs_of_an_image_finds_its_driver_in_the_index
run_test progress_fits_a_narrow_terminal
run_test no_escape_codes_for_a_dumb_terminal_or_no_color
run_test piped_output_has_no_escape_codes
finish
