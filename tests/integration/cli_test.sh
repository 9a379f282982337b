#!/usr/bin/env bash
# The command line: help, version, exit codes, option and config errors,
# init's files. Needs no Docker engine.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

version_names_the_abi() {
    run_fahr --version
    expect_eq "$RC" 0 "exit code"
    expect_eq "$OUT" "fahr 0.1.0 (plugin ABI 1.1)" "version line"
}

help_lists_commands_and_exit_codes() {
    run_fahr --help
    expect_eq "$RC" 0 "exit code"
    for command in init build fit plugins help; do
        expect_contains "$OUT" "  $command " "help"
    done
    expect_contains "$OUT" "Exit codes:" "help"
    expect_eq "$ERR" "" "stderr"
}

exit_codes_in_help_match_the_readme() {
    run_fahr --help
    local codes
    codes=$(printf '%s\n' "$OUT" | sed -n '/^Exit codes:/,/^$/p' | grep -E '^  [0-9]+ ')
    [ -n "$codes" ] || fail "no exit codes in help"
    while IFS= read -r line; do
        grep -qF -- "$line" "$FAHR_SOURCE_ROOT/README.md" || fail "README lacks the line '$line'"
    done <<<"$codes"
}

every_command_has_help() {
    for command in init build fit plugins help; do
        run_fahr "$command" --help
        expect_eq "$RC" 0 "$command --help exit code"
        expect_contains "$OUT" "usage: fahr $command" "$command --help"
    done
}

# The option words (--name, -x; --config. for --config.KEY) in some text.
option_words() {
    grep -oE -- '(^|[^[:alnum:]-])--?[a-z][a-z-]*\.?' | sed -E 's/^[^-]+//' | sort -u
}

# Whether the parser takes OPTION for COMMAND: a value and --help follow it,
# so a flag, a valued option and a prefixed one (given a key) all parse.
command_takes() { # COMMAND OPTION
    local option=$2
    [[ $option == *. ]] && option="${option}key=value"
    run_fahr "$1" "$option" x --help
    case "$ERR" in
    *"unknown option"*) return 1 ;;
    *) return 0 ;;
    esac
}

help_lists_exactly_the_options_taken() {
    local commands="init build fit fetch status logs stop jobs plugins help"
    local command word long helps="$TEST_TMP/helps" all="$TEST_TMP/all-options"
    : >"$helps"
    for command in $commands; do
        run_fahr "$command" --help
        printf '%s\n' "$OUT" | option_words >"$TEST_TMP/help-$command"
        printf '%s\n' "$OUT" >>"$helps"
        if long=$(printf '%s\n' "$OUT" | awk 'length($0) > 80'); [ -n "$long" ]; then
            fail "$command --help has lines over 80 columns: $long"
        fi
    done
    run_fahr --help
    printf '%s\n' "$OUT" | awk 'length($0) > 80' | grep -q . && fail "--help is over 80 columns"
    # Every option anyone names: the helps' and the README's.
    cat "$helps" - "$FAHR_SOURCE_ROOT/README.md" <<<"$OUT" | option_words >"$all"
    for command in $commands; do
        while IFS= read -r word; do
            command_takes "$command" "$word" ||
                fail "$command --help shows $word, which $command refuses: $ERR"
        done <"$TEST_TMP/help-$command"
        while IFS= read -r word; do
            if command_takes "$command" "$word"; then
                grep -qxF -- "$word" "$TEST_TMP/help-$command" ||
                    fail "$command takes $word, but its --help does not show it"
            fi
        done <"$all"
    done
}

no_command_is_a_usage_error() {
    run_fahr
    expect_eq "$RC" 2 "exit code"
    expect_eq "$OUT" "" "stdout"
    expect_contains "$ERR" "usage: fahr" "stderr"
}

a_reader_that_goes_away_kills_nothing() {
    local fifo="$TEST_TMP/fifo" reader
    mkfifo "$fifo"
    true <"$fifo" &
    reader=$!
    exec 4>"$fifo"
    wait "$reader" # the pipe has no reader left when fahr writes to it
    RC=0
    "$FAHR" --help >&4 2>"$TEST_TMP/err" || RC=$?
    exec 4>&-
    # The write fails (EPIPE), and fahr ends on its own, quietly, instead
    # of dying of SIGPIPE (141) as it would in the middle of a fetch.
    expect_eq "$RC" 1 "exit code"
    expect_eq "$(cat "$TEST_TMP/err")" "" "stderr"
}

unknown_command_is_one_line() {
    run_fahr frobnicate
    expect_eq "$RC" 2 "exit code"
    expect_eq "$ERR" "fahr: 'frobnicate' is not a fahr command (see 'fahr --help')" "stderr"
}

unknown_option_is_one_line() {
    run_fahr build x.py --build-driver=local --frobnicate
    expect_eq "$RC" 2 "exit code"
    expect_eq "$ERR" "fahr: unknown option '--frobnicate' (see 'fahr build --help')" "stderr"
    # Options belong to their commands: build takes no train driver.
    run_fahr build x.py --train-driver=sagemaker
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "unknown option '--train-driver=sagemaker'" "stderr"
}

unknown_config_key_lists_accepted_keys() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr init "$dir/model.py" --build-driver=local --config.base_imag=python:3
    expect_eq "$RC" 2 "exit code"
    expect_eq "$ERR" "fahr: unknown config key 'base_imag' (did you mean --config.base_image?); accepted: base_image" "stderr"
    [ ! -e "$dir/Dockerfile" ] || fail "a rejected command wrote a Dockerfile"
}

typos_get_the_nearest_suggestion() {
    run_fahr buld x.py
    expect_eq "$RC" 2 "exit code of a mistyped command"
    expect_eq "$ERR" "fahr: 'buld' is not a fahr command; did you mean 'build'? (see 'fahr --help')" \
        "mistyped command"
    run_fahr init x.py --ovewrite
    expect_eq "$RC" 2 "exit code of a mistyped option"
    expect_contains "$ERR" "unknown option '--ovewrite'; did you mean --overwrite?" "mistyped flag"
    run_fahr fit x.py --build-drive=local
    expect_contains "$ERR" "unknown option '--build-drive=local'; did you mean --build-driver?" \
        "mistyped valued option"
    run_fahr fit x.py --confg.region=eu-west-1
    expect_contains "$ERR" "did you mean --config.region=eu-west-1?" "mistyped --config."
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr init "$dir/model.py" --build-driver=locl
    expect_eq "$ERR" "fahr: no build driver named 'locl'; did you mean 'local'? found: local, local-gpu" \
        "mistyped driver"
    run_fahr init x.py --frobnicate
    expect_eq "$ERR" "fahr: unknown option '--frobnicate' (see 'fahr init --help')" \
        "no suggestion for a word near nothing"
}

invalid_config_values_are_rejected() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image=Not:A:Ref
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "--config.base_image: 'Not:A:Ref' is not a valid image reference" "stderr"
    expect_eq "$(printf '%s\n' "$ERR" | wc -l)" 1 "error lines"
    run_fahr init "$dir/model.py" --build-driver=local --config.BadKey=1
    expect_eq "$RC" 2 "exit code"
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "--config.base_image needs a value" "stderr"
    [ ! -e "$dir/Dockerfile" ] || fail "a rejected command wrote a Dockerfile"
}

unknown_driver_lists_the_found_ones() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr init "$dir/model.py" --build-driver=nope
    expect_eq "$RC" 2 "exit code"
    expect_eq "$ERR" "fahr: no build driver named 'nope'; found: local, local-gpu" "stderr"
    run_fahr init "$dir/model.py" --build-driver=fixture-train --plugin-dir "$(fixture_plugin_dir)"
    expect_eq "$RC" 2 "exit code"
    expect_eq "$ERR" "fahr: 'fixture-train' is a train driver; --build-driver needs a build driver" "stderr"
    run_fahr init "$dir/model.py"
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "--build-driver=NAME is required" "stderr"
}

fixture_plugin_dir() {
    local dir="$TEST_TMP/fixture-plugins"
    mkdir -p "$dir"
    cp "$FAHR_FIXTURE_DIR/train_ok.so" "$dir/"
    echo "$dir"
}

bad_artifacts_are_rejected() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr init "$dir/missing.py" --build-driver=local
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "missing.py': No such file or directory" "stderr"
    touch "$dir/data.csv"
    run_fahr init "$dir/data.csv" --build-driver=local
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "is neither a .py script nor an .ipynb notebook" "stderr"
    run_fahr init "$dir" --build-driver=local
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "is not a file" "stderr"
}

broken_notebooks_are_refused_before_building() {
    local dir
    dir=$(fixture_copy tests/fixtures/notebook)
    printf '{"cells": [], "nbformat": 4,\n' >"$dir/broken.ipynb"
    # No engine answers there: the refusal must come before any build.
    DOCKER_HOST=unix:///nonexistent/docker.sock run_fahr build "$dir/broken.ipynb" \
        --build-driver=local
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "fahr: '$dir/broken.ipynb' is not a valid notebook: " "stderr"
    expect_contains "$ERR" "(line 2, column 0)" "where the JSON breaks"
    [ ! -e "$dir/Dockerfile" ] || fail "a refused notebook got a Dockerfile"
    printf '{"nbformat": 4}' >"$dir/nocells.ipynb"
    run_fahr init "$dir/nocells.ipynb" --build-driver=local
    expect_eq "$ERR" "fahr: '$dir/nocells.ipynb' is not a valid notebook: it has no list of cells" \
        "a notebook without cells"
    # The extension's case does not matter.
    cp "$dir/train.ipynb" "$dir/TRAIN.IPYNB"
    run_fahr init "$dir/TRAIN.IPYNB" --build-driver=local
    expect_eq "$RC" 0 "init of TRAIN.IPYNB; stderr: $ERR"
    grep -q "RUN_NOTEBOOK\" 'TRAIN.IPYNB'" "$dir/run.sh" || fail "TRAIN.IPYNB is not run as a notebook"
}

init_writes_files_and_builds_nothing() {
    local dir
    dir=$(fixture_copy examples/foo)
    # Any DOCKER_HOST would do: init must not talk to an engine.
    RC=0
    DOCKER_HOST=unix:///nonexistent/docker.sock run_fahr init "$dir/model.py" \
        --build-driver=local --config.base_image python:3.12-slim
    expect_eq "$RC" 0 "exit code"
    expect_eq "$OUT" "$dir" "stdout (the directory written to)"
    grep -qx 'FROM python:3.12-slim' "$dir/Dockerfile" || fail "FROM line: $(cat "$dir/Dockerfile")"
    [ -x "$dir/run.sh" ] || fail "run.sh is not executable"
    grep -q "\"\$PYTHON\" 'model.py'" "$dir/run.sh" || fail "run.sh does not run model.py"
    sh -n "$dir/run.sh" || fail "run.sh is not valid sh"
    expect_eq "$(find "$dir" -name '.*fahr-*' | wc -l)" 0 "temporary files left"
}

init_needs_no_train_setting() {
    local dir
    dir=$(fixture_copy examples/foo)
    # The original fahr's documented init names a train driver; init writes
    # only the build files, so the train driver's required keys wait for fit.
    run_fahr init "$dir/model.py" --build-driver=local --train-driver=sagemaker
    expect_eq "$RC" 0 "exit code; stderr: $ERR"
    [ -f "$dir/Dockerfile" ] || fail "no Dockerfile"
    # Its keys are still checked where given.
    run_fahr init "$dir/model.py" --build-driver=local --train-driver=sagemaker \
        --config.train_instance_count=many
    expect_eq "$RC" 2 "exit code of a bad train key"
    expect_contains "$ERR" "--config.train_instance_count" "stderr"
}

init_keeps_user_edits_unless_overwrite() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr init "$dir/model.py" --build-driver=local
    echo "# my edit" >>"$dir/Dockerfile"
    echo "# my edit" >>"$dir/run.sh"
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image=python:3.12
    expect_eq "$RC" 0 "exit code"
    grep -q "# my edit" "$dir/Dockerfile" || fail "the user's Dockerfile was replaced"
    grep -q "# my edit" "$dir/run.sh" || fail "the user's run.sh was replaced"
    expect_contains "$ERR" "is kept and builds on python:3.11-slim, so --config.base_image=python:3.12 has no effect" "stderr"
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image=python:3.11-slim
    expect_eq "$RC" 0 "exit code"
    expect_lacks "$ERR" "has no effect" "the kept Dockerfile builds on the image asked for"
    run_fahr init "$dir/model.py" --build-driver=local --config.base_image=python:3.12 --overwrite
    expect_eq "$RC" 0 "exit code"
    ! grep -q "# my edit" "$dir/Dockerfile" || fail "--overwrite kept the old Dockerfile"
    grep -qx 'FROM python:3.12' "$dir/Dockerfile" || fail "FROM line after --overwrite"
}

quiet_prints_only_the_result() {
    local dir
    dir=$(fixture_copy examples/foo)
    run_fahr --quiet init "$dir/model.py" --build-driver=local
    expect_eq "$RC" 0 "exit code"
    expect_eq "$ERR" "" "stderr with --quiet"
    expect_eq "$OUT" "$dir" "stdout"
}

help_for_a_driver_shows_its_keys() {
    run_fahr help local
    expect_eq "$RC" 0 "exit code"
    expect_contains "$OUT" "--config.base_image=<image>" "help local"
    run_fahr plugins --verbose
    expect_contains "$OUT" "--config.base_image=<image>" "plugins --verbose"
    run_fahr help no-such-thing
    expect_eq "$RC" 2 "exit code"
}

plugins_lists_the_builtin_build_drivers() {
    run_fahr plugins
    expect_eq "$RC" 0 "exit code"
    printf '%s\n' "$OUT" | grep -qE '^local +build +0\.1\.0 +1\.1 +/.*build-local\.so$' ||
        fail "local missing: $OUT"
    printf '%s\n' "$OUT" | grep -qE '^local-gpu +build +0\.1\.0 +1\.1 +/.*build-local-gpu\.so$' ||
        fail "local-gpu missing: $OUT"
}

run_test version_names_the_abi
run_test help_lists_commands_and_exit_codes
run_test exit_codes_in_help_match_the_readme
run_test every_command_has_help
run_test help_lists_exactly_the_options_taken
run_test no_command_is_a_usage_error
run_test a_reader_that_goes_away_kills_nothing
run_test unknown_command_is_one_line
run_test unknown_option_is_one_line
run_test unknown_config_key_lists_accepted_keys
run_test typos_get_the_nearest_suggestion
run_test invalid_config_values_are_rejected
run_test unknown_driver_lists_the_found_ones
run_test bad_artifacts_are_rejected
run_test broken_notebooks_are_refused_before_building
run_test init_writes_files_and_builds_nothing
run_test init_needs_no_train_setting
run_test init_keeps_user_edits_unless_overwrite
run_test quiet_prints_only_the_result
run_test help_for_a_driver_shows_its_keys
run_test plugins_lists_the_builtin_build_drivers
finish
