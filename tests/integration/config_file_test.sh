#!/usr/bin/env bash
# The user's config file, $XDG_CONFIG_HOME/fahr/config (core/user_config.c,
# core/user_defaults.c), and `fahr config` (core/cmd_config.c): drivers and
# keys from [defaults], a driver's section and profiles, below the command
# line and the environment; keys checked as on the command line, naming the
# file's line; secrets, unsafe and hostile files refused. With the
# fixture-keys2 driver (it logs the keys it got; no service), then the
# original fahr's command lines and a bare `fahr fit` on the AWS bench.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

use_docker_bench
use_aws_bench

fixture_plugins train_keys2.so
WORK=$(fixture_copy examples/foo)
CONFIG="$XDG_CONFIG_HOME/fahr/config"
unset FIXTURE_BUCKET FIXTURE_PROJECT FIXTURE_TOKEN

config_is() { # the file's text, from stdin
    mkdir -p "$(dirname "$CONFIG")"
    cat >"$CONFIG"
    chmod 0600 "$CONFIG"
}

keys2() { # fahr ARGS with the fixture driver's plugin directory
    run_fahr --plugin-dir "$PLUGINS" "$@"
}

fit_alone_takes_the_drivers_and_keys_from_the_file() {
    config_is <<'EOF'
# drivers for a bare `fahr fit`
[defaults]
train-driver = fixture-keys2
build-driver = local

[fixture-keys2]
project = p-file
bucket = gs://file-bucket/out
EOF
    keys2 fit "$WORK/model.py"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" keys2-job "its job"
    expect_contains "$ERR" "project=p-file" "a required key from the file"
    expect_contains "$ERR" "bucket=gs://file-bucket/out" "a key from the file"
    expect_contains "$ERR" "endpoint=https://api.example.com/v1" "a key the file lacks: its default"
    # The file's build driver is not refused beside a driver of the source.
    [ ! -e "$WORK/Dockerfile" ] || fail "a Dockerfile was written"
}

the_command_line_then_the_environment_then_the_profile_win() {
    config_is <<'EOF'
[defaults]
train-driver = local

[fixture-keys2]
project = p-plain
bucket = gs://plain
endpoint = https://plain.example.com

[profile dev]
train-driver = fixture-keys2

[profile dev fixture-keys2]
bucket = gs://dev
EOF
    keys2 fit "$WORK/model.py" --train-driver=fixture-keys2
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "bucket=gs://plain" "the plain section"
    expect_contains "$ERR" "endpoint=https://plain.example.com" "the file over the default"
    keys2 fit "$WORK/model.py" --profile dev
    expect_eq "$RC" 0 "exit code with --profile; stderr: $ERR"
    expect_eq "$OUT" keys2-job "the profile's train driver over [defaults]"
    expect_contains "$ERR" "bucket=gs://dev" "the profile's key"
    expect_contains "$ERR" "endpoint=https://plain.example.com" "a key the profile lacks"
    FAHR_PROFILE=dev keys2 fit "$WORK/model.py"
    expect_eq "$RC" 0 "exit code with \$FAHR_PROFILE; stderr: $ERR"
    expect_contains "$ERR" "bucket=gs://dev" "the profile of \$FAHR_PROFILE"
    FAHR_PROFILE=nope FIXTURE_BUCKET=gs://env keys2 fit "$WORK/model.py" --profile dev
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$ERR" "bucket=gs://env" "the key's variable over the profile"
    FIXTURE_BUCKET=gs://env keys2 fit "$WORK/model.py" --profile dev --config.bucket=gs://typed
    expect_contains "$ERR" "bucket=gs://typed" "the command line over everything"
    keys2 fit "$WORK/model.py" --profile prod
    expect_eq "$RC" 2 "exit code of a profile the file lacks"
    expect_eq "$ERR" "fahr: 'prod' is not a profile of $CONFIG (it has: dev)" "stderr"
}

a_typo_names_the_file_and_line() {
    config_is <<'EOF'
[defaults]
train-driver = fixture-keys2

[fixture-keys2]
project = p
projct = q
EOF
    keys2 fit "$WORK/model.py"
    expect_eq "$RC" 2 "exit code"
    expect_eq "$OUT" "" "stdout: no job"
    expect_eq "$ERR" "fahr: $CONFIG:6: fixture-keys2 has no key 'projct' (did you mean project?) ('fahr help fixture-keys2' lists its keys)" \
        "stderr"
    # Under $HOME the file is shown as ~/...
    mkdir -p "$TEST_TMP/home/.config/fahr"
    cp "$CONFIG" "$TEST_TMP/home/.config/fahr/config"
    HOME="$TEST_TMP/home" XDG_CONFIG_HOME='' keys2 fit "$WORK/model.py"
    expect_eq "$ERR" "fahr: ~/.config/fahr/config:6: fixture-keys2 has no key 'projct' (did you mean project?) ('fahr help fixture-keys2' lists its keys)" \
        "stderr under HOME"
    config_is <<'EOF'
[defaults]
train-driver = fixture-keys2
[fixture-keys2]
bucket = s3://wrong
EOF
    keys2 fit "$WORK/model.py" --config.project=p
    expect_eq "$RC" 2 "exit code of a bad value"
    expect_eq "$ERR" "fahr: $CONFIG:4: fixture-keys2.bucket: 's3://wrong' is not a gs:// location (like gs://name/path)" \
        "stderr"
    config_is <<'EOF'
[defaults]
train-driver = fixture-keys3
EOF
    keys2 fit "$WORK/model.py"
    expect_eq "$RC" 2 "exit code of an unknown driver"
    expect_contains "$ERR" "fahr: $CONFIG:2: train-driver: no train driver named 'fixture-keys3'; did you mean 'fixture-keys2'?" \
        "stderr"
    config_is <<'EOF'
[defaults]
train_driver = fixture-keys2
EOF
    keys2 fit "$WORK/model.py"
    expect_eq "$ERR" "fahr: $CONFIG:2: [defaults] has no key 'train_driver' (did you mean train-driver?); it takes build-driver and train-driver" \
        "stderr of a [defaults] typo"
}

a_secret_is_refused_in_the_file() {
    config_is <<'EOF'
[fixture-keys2]
project = p
token = https://hunter2.example.com
EOF
    keys2 fit "$WORK/model.py" --train-driver=fixture-keys2
    expect_eq "$RC" 2 "exit code"
    expect_eq "$ERR" "fahr: $CONFIG:3: fixture-keys2.token is a secret and fahr reads no secret from its config file: keep it in the service's own credential store or in \$FIXTURE_TOKEN, and remove the line" \
        "stderr"
    keys2 config set fixture-keys2.token https://hunter2.example.com
    expect_eq "$RC" 2 "exit code of config set"
    expect_contains "$ERR" "fixture-keys2.token is a secret" "stderr of config set"
    expect_lacks "$ERR" "hunter2" "the secret"
}

an_unsafe_file_is_refused() {
    config_is <<<'[defaults]'
    chmod 0620 "$CONFIG"
    run_fahr jobs --train-driver=local
    expect_eq "$RC" 2 "exit code of a group-writable file"
    expect_contains "$ERR" "fahr: refusing $CONFIG: group-writable" "stderr"
    chmod 0602 "$CONFIG"
    run_fahr config list
    expect_contains "$ERR" "fahr: refusing $CONFIG: world-writable" "stderr"
    chmod 0600 "$CONFIG"
    chmod 0777 "$(dirname "$CONFIG")"
    run_fahr config list
    expect_contains "$ERR" "$(dirname "$CONFIG") above it is world-writable" "stderr of a directory"
    chmod 0700 "$(dirname "$CONFIG")"
    if [ "$(id -u)" = 0 ]; then
        chown 65534 "$CONFIG"
        run_fahr config list
        expect_contains "$ERR" "fahr: refusing $CONFIG: owned by uid 65534, not by you" "stderr"
        chown 0 "$CONFIG"
    fi
    rm "$CONFIG"
    run_fahr config list
    expect_eq "$RC" 0 "exit code without a file; stderr: $ERR"
}

a_config_home_that_is_a_file_holds_no_defaults() {
    # As git reads it: a path through a file (ENOTDIR) is no config file,
    # so a command runs on its own options; writing one is a clear error.
    local home="$TEST_TMP/config-home-file"
    echo "not a directory" >"$home"
    XDG_CONFIG_HOME=$home run_fahr jobs --train-driver=local
    expect_eq "$RC" 0 "exit code of jobs; stderr: $ERR"
    XDG_CONFIG_HOME=$home run_fahr config list
    expect_eq "$RC" 0 "exit code of config list; stderr: $ERR"
    expect_eq "$OUT" "" "config list"
    XDG_CONFIG_HOME=$home run_fahr config set defaults.train-driver local
    expect_eq "$RC" 1 "exit code of config set"
    expect_contains "$ERR" "$home" "stderr of config set"
    expect_eq "$(wc -l <<<"$ERR")" 1 "lines of stderr of config set: $ERR"
    expect_eq "$(cat "$home")" "not a directory" "the file in its place"
}

hostile_content_gets_one_line() {
    printf '[defaults]\ntrain-driver = lo\0cal\n' | config_is
    run_fahr jobs --train-driver=local
    expect_eq "$RC" 2 "exit code of a NUL byte"
    expect_eq "$ERR" "fahr: $CONFIG:2: a NUL byte (byte 0x00 at column 18); refusing the file" "stderr"
    printf '[defaults]\ntrain-driver = \033[2Jlocal\n' | config_is
    run_fahr jobs --train-driver=local
    expect_eq "$ERR" "fahr: $CONFIG:2: a control character (byte 0x1b at column 16); refusing the file" \
        "stderr of an escape"
    { echo '[defaults]'; head -c 5000 /dev/zero | tr '\0' a; echo; } | config_is
    run_fahr jobs --train-driver=local
    expect_eq "$ERR" "fahr: $CONFIG:2: the line is longer than 4095 bytes" "stderr of a long line"
    printf '[profile]\n' | config_is
    run_fahr config list
    expect_eq "$ERR" "fahr: $CONFIG:1: '[profile]' is not a section fahr knows ([defaults], [DRIVER], [profile NAME] or [profile NAME DRIVER])" \
        "stderr of a bad section"
    printf '[defaults]\r\ntrain-driver = local\r\n' | config_is
    run_fahr config get defaults.train-driver
    expect_eq "$OUT" local "a CRLF file's value"
}

config_edits_keep_the_rest_of_the_file() {
    config_is <<'EOF'
# my settings
[fixture-keys2]
; the project
project = p-old
bucket = gs://b

[defaults]
build-driver = local
EOF
    umask 000 # the test's own subshell
    keys2 config set fixture-keys2.project p-new
    expect_eq "$RC" 0 "exit code of set; stderr: $ERR"
    keys2 config set fixture-keys2.endpoint https://api.example.com
    keys2 config set defaults.train-driver fixture-keys2
    keys2 config set --profile dev fixture-keys2.bucket gs://dev
    expect_eq "$RC" 0 "exit code of set in a new profile; stderr: $ERR"
    expect_eq "$(cat "$CONFIG")" "# my settings
[fixture-keys2]
; the project
project = p-new
bucket = gs://b
endpoint = https://api.example.com

[defaults]
build-driver = local
train-driver = fixture-keys2

[profile dev fixture-keys2]
bucket = gs://dev" "the file"
    expect_eq "$(stat -c %a "$CONFIG")" 600 "the file's mode under umask 000"
    [ ! -e "$CONFIG.lock" ] || fail "the lock file was left"
    run_fahr config get fixture-keys2.bucket
    expect_eq "$OUT" gs://b "get"
    run_fahr config get fixture-keys2.bucket --profile dev
    expect_eq "$OUT" gs://dev "get in a profile"
    run_fahr config get fixture-keys2.token
    expect_eq "$RC:$OUT:$ERR" "1::" "get of a key not set"
    FAHR_PROFILE=dev run_fahr config list
    expect_eq "$OUT" "fixture-keys2.project=p-new
fixture-keys2.bucket=gs://dev
fixture-keys2.endpoint=https://api.example.com
defaults.build-driver=local
defaults.train-driver=fixture-keys2" "list in a profile"
    keys2 config unset fixture-keys2.endpoint
    expect_eq "$RC" 0 "exit code of unset; stderr: $ERR"
    expect_lacks "$(cat "$CONFIG")" "endpoint" "the file after unset"
    expect_contains "$(cat "$CONFIG")" "; the project" "a comment after unset"
    keys2 config unset fixture-keys2.endpoint
    expect_eq "$RC" 1 "exit code of unset of a key not set"
}

config_set_checks_as_the_command_line_does() {
    config_is <<<'# nothing yet'
    local before
    before=$(cat "$CONFIG")
    keys2 config set fixture-keys2.projct p
    expect_eq "$RC" 2 "exit code of a typo"
    expect_eq "$ERR" "fahr: fixture-keys2 has no key 'projct' (did you mean project?) ('fahr help fixture-keys2' lists its keys)" \
        "stderr"
    keys2 config set fixture-keys2.bucket s3://x
    expect_eq "$ERR" "fahr: fixture-keys2.bucket: 's3://x' is not a gs:// location (like gs://name/path)" \
        "stderr of a bad value"
    keys2 config set defaults.train-driver fixture-keys3
    expect_eq "$ERR" "fahr: no train driver named 'fixture-keys3'; did you mean 'fixture-keys2'? ('fahr plugins' lists the drivers)" \
        "stderr of a bad driver"
    keys2 config set defaults.build-driver fixture-keys2
    expect_eq "$RC" 2 "exit code of a train driver as build-driver"
    keys2 config set nodriver.key v
    expect_eq "$ERR" "fahr: no driver named 'nodriver' ('fahr plugins' lists the drivers)" "stderr"
    keys2 config set noformat v
    expect_eq "$RC" 2 "exit code of a key without its section"
    keys2 config set fixture-keys2.project "$(printf 'a\nb')"
    expect_eq "$RC" 2 "exit code of a value with a newline"
    keys2 config set defaults.train-driver "$(printf 'x\033[2Jy')"
    expect_eq "$ERR" "fahr: defaults.train-driver: the value has a control character (0x1b); refusing it" \
        "stderr of an escape, not echoed"
    expect_eq "$(cat "$CONFIG")" "$before" "the file after refused edits"
    # A writer that holds the lock: refused, not waited for, the file kept.
    : >"$CONFIG.lock"
    keys2 config set fixture-keys2.project p
    expect_eq "$RC" 1 "exit code while locked"
    expect_contains "$ERR" "$CONFIG.lock exists" "stderr"
    expect_eq "$(cat "$CONFIG")" "$before" "the file while locked"
    rm "$CONFIG.lock"
    # A symlinked file (a dotfile manager's) stays a link.
    mv "$CONFIG" "$TEST_TMP/dotfile"
    ln -s "$TEST_TMP/dotfile" "$CONFIG"
    keys2 config set fixture-keys2.project p
    expect_eq "$RC" 0 "exit code through a symlink; stderr: $ERR"
    [ -L "$CONFIG" ] || fail "the symlink was replaced"
    expect_contains "$(cat "$TEST_TMP/dotfile")" "project = p" "the linked file"
}

job_field() { # JOB QUERY: a string of the job as moto describes it
    moto_cli sagemaker describe-training-job --training-job-name "$1" --query "$2" | tr -d '"'
}

the_original_command_lines_and_a_bare_fit_on_the_aws_bench() {
    # The file names another bucket and instance count: the command line wins.
    config_is <<EOF
[defaults]
build-driver = local
train-driver = sagemaker

[local]
base_image = $BENCH_IMAGE

[sagemaker]
output_path = s3://$FAHR_BENCH_BUCKET/from-file
role_name = $FAHR_BENCH_ROLE
registry = $FAHR_BENCH_REGISTRY
train_instance_type = ml.m5.large
EOF
    local dir job
    dir=$(fixture_copy examples/foo)
    run_fahr fit "$dir/model.py" --build-driver=local --train-driver=sagemaker \
        --config.output_path="s3://$FAHR_BENCH_BUCKET/models" --config.role_name="$FAHR_BENCH_ROLE"
    expect_eq "$RC" 0 "exit code of the documented fit; stderr: $ERR"
    job=$OUT
    expect_eq "$(job_field "$job" OutputDataConfig.S3OutputPath)" "s3://$FAHR_BENCH_BUCKET/models" \
        "the command line's output path"
    run_fahr fetch "$TEST_TMP/model" foo/model "s3://$FAHR_BENCH_BUCKET/models/$job/output/model.tar.gz"
    expect_eq "$RC" 0 "exit code of the documented fetch; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/model/model.json")" '{"a": 3.0, "b": 2.0}' "fetched model.json"

    run_fahr fit "$dir/model.py"
    expect_eq "$RC" 0 "exit code of a bare fit; stderr: $ERR"
    job=$OUT
    expect_contains "$ERR" "job $job: completed" "status lines"
    expect_eq "$(job_field "$job" OutputDataConfig.S3OutputPath)" \
        "s3://$FAHR_BENCH_BUCKET/from-file" "the file's output path"
    expect_eq "$(job_field "$job" ResourceConfig.InstanceType)" ml.m5.large "the file's instance type"
    run_fahr fetch "$TEST_TMP/model-bare" foo/model
    expect_eq "$RC" 0 "exit code of fetch from the file's driver; stderr: $ERR"
    expect_eq "$(cat "$TEST_TMP/model-bare/model.json")" '{"a": 3.0, "b": 2.0}' "fetched model.json"
}

run_test fit_alone_takes_the_drivers_and_keys_from_the_file
run_test the_command_line_then_the_environment_then_the_profile_win
run_test a_typo_names_the_file_and_line
run_test a_secret_is_refused_in_the_file
run_test an_unsafe_file_is_refused
run_test a_config_home_that_is_a_file_holds_no_defaults
run_test hostile_content_gets_one_line
run_test config_edits_keep_the_rest_of_the_file
run_test config_set_checks_as_the_command_line_does
run_test the_original_command_lines_and_a_bare_fit_on_the_aws_bench
finish
