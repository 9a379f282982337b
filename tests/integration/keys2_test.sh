#!/usr/bin/env bash
# ABI 1.1 config keys and train flags, with the fixture-keys2 driver
# (tests/fixtures/plugins/train_keys2.c): config_keys2 preferred to the 1.0
# table, URL and URI values, defaults from the environment, --hp and --input
# refused for a driver that takes none. No service, no Docker engine.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

fixture_plugins train_keys2.so
WORK=$(fixture_copy examples/foo)
unset FIXTURE_BUCKET FIXTURE_PROJECT FIXTURE_TOKEN

keys2() { # fahr ARGS with the fixture-keys2 driver
    run_fahr --plugin-dir "$PLUGINS" "$@" --train-driver=fixture-keys2
}

help_shows_the_environment_defaults() {
    run_fahr --plugin-dir "$PLUGINS" help fixture-keys2
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_contains "$OUT" "--config.bucket=<gs://...>" "a URI key's form"
    expect_contains "$OUT" "[default: \$FIXTURE_BUCKET, else gs://fallback-bucket]" "bucket"
    expect_contains "$OUT" "--config.endpoint=<http(s)://host[:port][/path]>" "a URL key's form"
    expect_contains "$OUT" "[default: \$FIXTURE_PROJECT]" "a required key's variable"
    expect_contains "$OUT" "[default: \$FIXTURE_TOKEN, else (secret)]" "a secret's default"
    expect_lacks "$OUT" "token.example.com" "the secret's default"
    expect_lacks "$OUT" "old_only" "the 1.0 table, which the host does not read"
}

fit_takes_its_defaults_from_the_environment() {
    FIXTURE_PROJECT=p-1 FIXTURE_BUCKET=gs://env-bucket/out/ keys2 fit "$WORK/model.py"
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    expect_eq "$OUT" keys2-job "its job"
    expect_contains "$ERR" "fahr: fixture-keys2: warning: bucket=gs://env-bucket/out" \
        "the variable's value, normalised, logged with the driver's name"
    expect_contains "$ERR" "project=p-1" "the required key from its variable"
    expect_contains "$ERR" "endpoint=https://api.example.com/v1" "a URL default"
    # The command line wins over the environment.
    FIXTURE_PROJECT=p-1 FIXTURE_BUCKET=gs://env-bucket keys2 fit "$WORK/model.py" \
        --config.bucket=gs://typed
    expect_contains "$ERR" "bucket=gs://typed" "the typed value"
}

bad_environment_values_name_the_variable() {
    FIXTURE_PROJECT=p-1 FIXTURE_BUCKET=s3://wrong keys2 fit "$WORK/model.py"
    expect_eq "$RC" 2 "exit code"
    expect_eq "$OUT" "" "stdout: no job"
    expect_eq "$ERR" "fahr: \$FIXTURE_BUCKET (the default of --config.bucket): 's3://wrong' is not a gs:// location (like gs://name/path)" \
        "stderr"
    FIXTURE_PROJECT=p-1 FIXTURE_TOKEN='https://me:hunter2@token.example.com' keys2 fit "$WORK/model.py"
    expect_eq "$RC" 2 "exit code of a bad secret"
    expect_lacks "$ERR" "hunter2" "a secret's value"
    keys2 fit "$WORK/model.py"
    expect_eq "$RC" 2 "exit code without the required key"
    expect_eq "$ERR" "fahr: fixture-keys2 needs --config.project=VALUE or \$FIXTURE_PROJECT (the project to bill)" \
        "stderr"
}

urls_with_a_password_are_refused_unquoted() {
    FIXTURE_PROJECT=p-1 keys2 fit "$WORK/model.py" --config.endpoint=https://me:hunter2@api.example.com
    expect_eq "$RC" 2 "exit code"
    expect_lacks "$ERR" "hunter2" "the password"
    expect_contains "$ERR" "--config.endpoint: the value holds a user name or password" "stderr"
    FIXTURE_PROJECT=p-1 keys2 fit "$WORK/model.py" --config.old_only=x
    expect_eq "$RC" 2 "exit code of a key only the 1.0 table has"
    expect_contains "$ERR" "unknown config key 'old_only'" "stderr"
}

hyperparameters_and_inputs_are_refused_at_once() {
    keys2 fit "$WORK/model.py" --hp.lr=0.1
    expect_eq "$RC" 2 "exit code"
    expect_eq "$OUT" "" "stdout: no job"
    expect_eq "$ERR" "fahr: the fixture-keys2 driver takes no hyperparameters; drop --hp.lr" "stderr"
    keys2 fit "$WORK/model.py" --input "train=$WORK"
    expect_eq "$RC" 2 "exit code of an input"
    expect_eq "$ERR" "fahr: the fixture-keys2 driver takes no input channels; drop --input train=$WORK" \
        "stderr"
}

a_source_driver_needs_no_build_driver_from_its_record() {
    # Described from the cache, the driver is known to run the source
    # before it is loaded: --build-driver is refused, and none is asked for.
    keys2 fit "$WORK/model.py" --build-driver=local
    expect_eq "$RC" 2 "exit code"
    expect_eq "$ERR" "fahr: the fixture-keys2 driver runs the artifact's source; it takes no --build-driver" \
        "stderr"
    FIXTURE_PROJECT=p-1 keys2 fit "$WORK/model.py"
    expect_eq "$RC" 0 "exit code without a build driver; stderr: $ERR"
    [ ! -e "$WORK/Dockerfile" ] || fail "fit of a source driver wrote a Dockerfile"
}

run_test help_shows_the_environment_defaults
run_test fit_takes_its_defaults_from_the_environment
run_test bad_environment_values_name_the_variable
run_test urls_with_a_password_are_refused_unquoted
run_test hyperparameters_and_inputs_are_refused_at_once
run_test a_source_driver_needs_no_build_driver_from_its_record
finish
