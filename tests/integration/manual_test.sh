#!/usr/bin/env bash
# The manuals (doc/*.scd, built into roff): fahr(1) names every command and
# option of core/main.c's tables (read from the built fahr, so the page
# cannot fall behind them), every exit code and environment variable; both
# pages render without a warning; fahr-plugin(7) holds the README's driver.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

PAGE_SOURCE="$FAHR_SOURCE_ROOT/doc/fahr.1.scd"
PLUGIN_PAGE_SOURCE="$FAHR_SOURCE_ROOT/doc/fahr-plugin.7.scd"

# The lines of the page's section NAME, up to the next section.
section() { # NAME
    sed -n "/^# $1\$/,/^# /p" "$PAGE_SOURCE"
}

# Every command fahr has, from the table (as completion offers them).
commands() {
    "$FAHR" __complete "" </dev/null
}

every_command_is_in_the_manual() {
    local list command
    list=$(commands)
    [ "$(wc -l <<<"$list")" -ge 10 ] || fail "too few commands listed: $list"
    for command in $list; do
        section COMMANDS | grep -qF -- "*fahr $command*" ||
            fail "fahr(1) has no '*fahr $command*' under COMMANDS"
    done
}

every_option_is_in_the_manual() {
    local options command option pattern text
    # Read once: `section | grep -q` fails under pipefail where grep stops
    # reading before sed has written all (SIGPIPE), as the section grows.
    text=$(section OPTIONS)
    options=$("$FAHR" __complete -)
    for command in $(commands); do
        options+=$'\n'$("$FAHR" __complete "$command" -)
    done
    expect_contains "$options" "--train-driver=" "the options listed"
    while IFS= read -r option; do
        option=${option%=}
        # The name alone: --fetch is not found in --fetch-overwrite.
        pattern="(^|[^-a-z0-9])${option//./\\.}([^-a-z0-9_]|\$)"
        grep -qE -- "$pattern" <<<"$text" || fail "fahr(1) has no $option under OPTIONS"
    done < <(sort -u <<<"$options")
}

every_builtin_drivers_key_is_in_the_manual() {
    local keys key
    # The keys of every build and train driver found: the built-in ones.
    keys=$("$FAHR" __complete fit --config.)
    expect_contains "$keys" "--config.role_name=" "the keys listed"
    for key in $keys; do
        key=${key#--config.}
        section DRIVERS | grep -qF -- "*${key%=}*" || fail "fahr(1) lacks the key ${key%=}"
    done
}

every_exit_code_is_in_the_manual() {
    local codes code
    codes=$("$FAHR" --help | sed -n '/^Exit codes:/,/^$/p' | awk '/^  [0-9]+ /{print $1}')
    [ -n "$codes" ] || fail "no exit codes in fahr --help"
    for code in $codes; do
        section "EXIT STATUS" | grep -qFx -- "*$code*" || fail "fahr(1) lacks exit status $code"
    done
}

every_variable_of_the_readme_is_in_the_manual() {
    local variables variable
    variables=$(sed -n '/^### Environment/,/^## /p' "$FAHR_SOURCE_ROOT/README.md" |
        grep '^| `' | cut -d'|' -f2 | grep -oE '`[A-Z][A-Z0-9_]+' | tr -d '`' | sort -u)
    [ "$(wc -l <<<"$variables")" -ge 20 ] || fail "too few variables in the README: $variables"
    for variable in $variables; do
        section ENVIRONMENT | grep -qF -- "$variable" || fail "fahr(1) lacks $variable"
    done
}

pages_render_without_warnings() {
    local page err
    for page in "$FAHR_BUILD_ROOT/doc/fahr.1" "$FAHR_BUILD_ROOT/doc/fahr-plugin.7"; do
        [ -s "$page" ] || fail "$page was not built"
        err=$(MANWIDTH=80 man --warnings -l "$page" 2>&1 >"$TEST_TMP/rendered")
        expect_eq "$err" "" "man --warnings -l $page"
        grep -q '^NAME' "$TEST_TMP/rendered" || fail "$page renders without NAME"
    done
    grep -qE '^ +fahr-plugin - the driver plugin ABI' "$TEST_TMP/rendered" ||
        fail "fahr-plugin(7) has no NAME line"
}

plugin_page_holds_the_readmes_driver() {
    # shellcheck disable=SC2016 # the backquotes of a Markdown fence
    sed -n '/^```c$/,/^```$/p' "$FAHR_SOURCE_ROOT/README.md" |
        sed -n '/^\/\* dryrun.c/,/^```$/p' | sed '$d' >"$TEST_TMP/readme-driver.c"
    sed -n '/^\/\* dryrun.c/,/^```$/p' "$PLUGIN_PAGE_SOURCE" | sed '$d' >"$TEST_TMP/page-driver.c"
    [ "$(wc -l <"$TEST_TMP/readme-driver.c")" -gt 50 ] || fail "no driver found in the README"
    diff -u "$TEST_TMP/readme-driver.c" "$TEST_TMP/page-driver.c" >&2 ||
        fail "fahr-plugin(7)'s example differs from the README's"
}

pages_are_installed() {
    local installed
    installed=$(meson introspect --installed "$FAHR_BUILD_ROOT")
    expect_contains "$installed" '/man1/fahr.1"' "the installed files"
    expect_contains "$installed" '/man7/fahr-plugin.7"' "the installed files"
}

run_test every_command_is_in_the_manual
run_test every_option_is_in_the_manual
run_test every_builtin_drivers_key_is_in_the_manual
run_test every_exit_code_is_in_the_manual
run_test every_variable_of_the_readme_is_in_the_manual
run_test pages_render_without_warnings
run_test plugin_page_holds_the_readmes_driver
run_test pages_are_installed
finish
