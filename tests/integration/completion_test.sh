#!/usr/bin/env bash
# Shell completion (core/cmd_completion.c): the bash script run for real,
# its completion function called as bash calls it (COMP_WORDS split at '='
# as readline splits them); the zsh and fish scripts parse; the scripts are
# installed where the shells look.
set -euo pipefail
# shellcheck source=tests/integration/lib.sh
. "$(dirname "$0")/lib.sh"

"$FAHR" completion bash >"$TEST_TMP/fahr.bash"

# Complete in bash: the words after fahr, the last being the one completed.
# Prints COMPREPLY, one a line, sorted.
complete_bash() { # WORD...
    # shellcheck disable=SC2016 # expanded by the inner bash
    bash -c 'source "$1"; shift
        complete -p fahr >/dev/null || exit 9
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _fahr
        printf "%s\n" "${COMPREPLY[@]}"' _ "$TEST_TMP/fahr.bash" "$FAHR" "$@" </dev/null | sort
}

lines() {
    printf '%s\n' "$@" | sort
}

commands_complete() {
    expect_eq "$(complete_bash "")" \
        "$(lines build completion config fetch fit help init jobs logs plugins prune status stop)" "fahr <TAB>"
    expect_eq "$(complete_bash "fi")" "fit" "fahr fi<TAB>"
    expect_eq "$(complete_bash help s)" "$(lines sagemaker status stop)" "fahr help s<TAB>"
    expect_eq "$(complete_bash completion "")" "$(lines bash fish zsh)" "fahr completion <TAB>"
}

options_complete() {
    expect_eq "$(complete_bash fit --f)" "$(lines --fetch --fetch-overwrite)" "fit --f<TAB>"
    expect_eq "$(complete_bash logs --fo)" "--follow" "logs --fo<TAB>"
    local all
    all=$(complete_bash logs -)
    expect_contains "$all" "-f" "logs -<TAB>"
    expect_contains "$all" "--train-driver=" "logs -<TAB>"
    expect_lacks "$all" "--fetch" "logs -<TAB>"
    expect_eq "$(complete_bash --verb)" "--verbose" "fahr --verb<TAB>"
}

driver_names_complete() {
    # fahr fit --train-driver=<TAB>: readline gives bash "--train-driver" "=" "".
    expect_eq "$(complete_bash fit --train-driver = "")" "$(lines local sagemaker)" \
        "--train-driver=<TAB>"
    expect_eq "$(complete_bash fit --train-driver =)" "$(lines local sagemaker)" \
        "--train-driver=<TAB>, the cursor on '='"
    expect_eq "$(complete_bash fit --train-driver = sa)" "sagemaker" "--train-driver=sa<TAB>"
    expect_eq "$(complete_bash build --build-driver "")" "$(lines local local-gpu)" \
        "--build-driver <TAB>"
    # Where '=' breaks no word, the whole word is replaced.
    expect_eq "$(complete_bash fit --train-driver=sa)" "--train-driver=sagemaker" \
        "--train-driver=sa<TAB> as one word"
}

config_keys_complete() {
    expect_eq "$(complete_bash fit --train-driver = sagemaker --config.r)" \
        "$(lines --config.region= --config.registry= --config.role_name=)" \
        "--config.r<TAB> with sagemaker"
    expect_eq "$(complete_bash init --build-driver=local --train-driver local --config.)" \
        "$(lines --config.base_image= --config.jobs_dir=)" "--config.<TAB> with local, local"
    expect_eq "$(complete_bash fit --config.region "")" "" "a key's value"
}

third_party_keys_complete() {
    mkdir -p "$TEST_TMP/plugins"
    cp "$FAHR_FIXTURE_DIR/train_ok.so" "$TEST_TMP/plugins/"
    expect_eq "$(complete_bash --plugin-dir "$TEST_TMP/plugins" fit --train-driver = fix)" \
        "fixture-train" "--train-driver=fix<TAB> with --plugin-dir"
    expect_eq "$(FAHR_PLUGIN_PATH="$TEST_TMP/plugins" complete_bash stop \
        --train-driver = fixture-train --config.)" \
        "$(lines --config.count= --config.region=)" "--config.<TAB> of a third-party driver"
}

paths_complete() {
    mkdir -p "$TEST_TMP/work/out"
    touch "$TEST_TMP/work/model.py" "$TEST_TMP/work/outfile"
    cd "$TEST_TMP/work"
    expect_eq "$(complete_bash fit mo)" "model.py" "fit PATH<TAB>"
    expect_eq "$(complete_bash fetch ou)" "out" "fetch LOCAL_DIR<TAB>"
    expect_eq "$(complete_bash fit model.py --fetch ou)" "out" "fit --fetch DIR<TAB>"
    expect_eq "$(complete_bash fetch out foo/model "")" "" "fetch's MODEL_IMAGE_TAG"
}

scripts_parse() {
    shellcheck -s bash "$TEST_TMP/fahr.bash" >&2 || fail "the bash script fails shellcheck"
    "$FAHR" completion zsh >"$TEST_TMP/_fahr"
    "$FAHR" completion fish >"$TEST_TMP/fahr.fish"
    if command -v zsh >/dev/null; then
        zsh -n "$TEST_TMP/_fahr" || fail "the zsh script does not parse"
    else
        echo "# zsh not installed" >&2
    fi
    if command -v fish >/dev/null; then
        fish --no-execute "$TEST_TMP/fahr.fish" || fail "the fish script does not parse"
    else
        echo "# fish not installed" >&2
    fi
}

# At a terminal: SHELL (bash, zsh or fish) started in tmux with fahr's
# script loaded the way its users load it; type, press Tab, and read what
# the line became.
TERMINAL_SOCKET="$TEST_TMP/shell.sock"
pane() {
    tmux -S "$TERMINAL_SOCKET" capture-pane -p
}
wait_for_pane() { # TEXT WHAT
    local i
    for ((i = 0; i < 300; i++)); do # 30 s, for a loaded machine
        case "$(pane)" in *"$1"*) return 0 ;; esac
        sleep 0.1
    done
    fail "$2: '$1' not shown; the terminal: $(pane)"
}
start_shell() { # SHELL
    local home="$TEST_TMP/$1-home"
    mkdir -p "$home/bin" "$home/config/fish/completions" "$home/zsh"
    ln -sf "$FAHR" "$home/bin/fahr"
    local -a command
    case $1 in
    bash)
        printf 'source %q\nPS1="READY> "\n' "$TEST_TMP/fahr.bash" >"$home/bashrc"
        command=(bash --noprofile --rcfile "$home/bashrc" -i)
        ;;
    zsh)
        "$FAHR" completion zsh >"$home/zsh/_fahr"
        # shellcheck disable=SC2016 # $fpath is zsh's
        printf 'fpath=(%q $fpath)\nautoload -U compinit && compinit -u -D\nPS1="READY> "\n' \
            "$home/zsh" >"$home/.zshrc"
        command=(env ZDOTDIR="$home" zsh -i)
        ;;
    fish)
        "$FAHR" completion fish >"$home/config/fish/completions/fahr.fish"
        printf 'function fish_prompt; echo "READY> "; end\nfunction fish_greeting; end\n' \
            >"$home/config/fish/config.fish"
        command=(env XDG_CONFIG_HOME="$home/config" XDG_DATA_HOME="$home/data" fish -i)
        ;;
    esac
    tmux -S "$TERMINAL_SOCKET" new-session -d -x 150 -y 20 env TERM=screen HOME="$home" \
        PATH="$home/bin:$PATH" FAHR_PLUGIN_PATH="$FAHR_PLUGIN_PATH" \
        FAHR_PLUGIN_SYSTEM_PATH= FAHR_PLUGIN_CACHE="$FAHR_PLUGIN_CACHE" "${command[@]}"
    wait_for_pane "READY>" "$1's prompt" # tmux drops the space after it
}
type_keys() { # TEXT: literal text, then Tab
    tmux -S "$TERMINAL_SOCKET" send-keys -l -- "$1"
    tmux -S "$TERMINAL_SOCKET" send-keys Tab
}

completes_at_a_terminal() {
    command -v tmux >/dev/null || fail "tmux is not installed"
    local shell
    for shell in bash zsh fish; do
        if ! command -v "$shell" >/dev/null; then
            echo "# $shell not installed" >&2
            continue
        fi
        start_shell "$shell"
        type_keys "fahr fit --train-driver=sa"
        wait_for_pane "fahr fit --train-driver=sagemaker" "$shell: --train-driver=sa<Tab>"
        sleep 0.2
        type_keys "--config.ro" # after the space the completion added
        wait_for_pane "--config.role_name=" "$shell: --config.ro<Tab>"
        # No space after '=': the value follows at once.
        tmux -S "$TERMINAL_SOCKET" send-keys -l -- "ROLE"
        wait_for_pane "fahr fit --train-driver=sagemaker --config.role_name=ROLE" "$shell: the value"
        tmux -S "$TERMINAL_SOCKET" kill-server
    done
}

another_shell_is_a_usage_error() {
    run_fahr completion tcsh
    expect_eq "$RC" 2 "exit code"
    expect_contains "$ERR" "bash, zsh and fish" "stderr"
    expect_eq "$OUT" "" "stdout"
}

scripts_are_installed() {
    local installed
    installed=$(meson introspect --installed "$FAHR_BUILD_ROOT")
    grep -qE '/bash-completion/completions/fahr"' <<<"$installed" ||
        fail "no bash completion installed: $installed"
    grep -qE '/zsh/(vendor-completions|site-functions)/_fahr"' <<<"$installed" ||
        fail "no zsh completion installed"
    grep -qE '/fish/vendor_completions.d/fahr.fish"' <<<"$installed" ||
        fail "no fish completion installed"
    # What is installed is what `fahr completion` prints.
    cmp "$FAHR_BUILD_ROOT/doc/fahr" "$TEST_TMP/fahr.bash" || fail "the built bash script differs"
}

run_test commands_complete
run_test options_complete
run_test driver_names_complete
run_test config_keys_complete
run_test third_party_keys_complete
run_test paths_complete
run_test scripts_parse
run_test completes_at_a_terminal
run_test another_shell_is_a_usage_error
run_test scripts_are_installed
finish
