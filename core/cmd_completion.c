/* core/cmd_completion.c: `fahr completion SHELL` and the call back its
 * scripts make, `fahr __complete WORD... CURRENT`.
 *
 * The scripts hold no list of their own: on every <TAB> they ask the fahr
 * being completed, which answers from main.c's command and option tables
 * and from the drivers it finds (through the plugin cache, as `fahr help
 * DRIVER` does). So a new command or option, or a third-party driver's
 * config keys, complete without a new script, as with the hidden
 * `__complete` command of gh and kubectl (cobra). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char bash_script[] =
    "# bash completion for fahr, printed by 'fahr completion bash'. The\n"
    "# candidates come from the fahr being completed ('fahr __complete'), so new\n"
    "# commands, options and drivers' keys complete without a new script.\n"
    "_fahr() {\n"
    "    local -a words=()\n"
    "    local i raw previous=''\n"
    "    # bash splits --name=value at '=' (and kaggle:OWNER at ':'): join them.\n"
    "    for ((i = 1; i <= COMP_CWORD; i++)); do\n"
    "        raw=${COMP_WORDS[i]-}\n"
    "        if ((${#words[@]} > 0)) && [[ $raw == [=:] || $previous == [=:] ]]; then\n"
    "            words[-1]+=$raw\n"
    "        else\n"
    "            words+=(\"$raw\")\n"
    "        fi\n"
    "        previous=$raw\n"
    "    done\n"
    "    local fahr=${COMP_WORDS[0]} out\n"
    "    command -v -- \"$fahr\" >/dev/null 2>&1 || fahr=fahr\n"
    "    out=$(\"$fahr\" __complete \"${words[@]}\" 2>/dev/null) || return 0\n"
    "    # Readline replaces only bash's last word, which is empty after a\n"
    "    # lone '=' or ':'; the candidates are for the whole joined word.\n"
    "    local current=${words[-1]} typed=${COMP_WORDS[COMP_CWORD]-} before line nospace=''\n"
    "    [[ $typed == [=:] ]] && typed=''\n"
    "    before=${current%\"$typed\"}\n"
    "    COMPREPLY=()\n"
    "    while IFS= read -r line; do\n"
    "        case $line in\n"
    "        '') ;;\n"
    "        :files | :dirs)\n"
    "            compopt -o filenames 2>/dev/null || true\n"
    "            local kind=-f\n"
    "            [[ $line == :dirs ]] && kind=-d\n"
    "            mapfile -t -O \"${#COMPREPLY[@]}\" COMPREPLY < <(compgen \"$kind\" -- \"${current#\"$before\"}\")\n"
    "            ;;\n"
    "        *)\n"
    "            [[ $line == *[=.] ]] && nospace=1\n"
    "            COMPREPLY+=(\"${line#\"$before\"}\")\n"
    "            ;;\n"
    "        esac\n"
    "    done <<<\"$out\"\n"
    "    if [[ -n $nospace ]]; then\n"
    "        compopt -o nospace 2>/dev/null || true\n"
    "    fi\n"
    "    return 0\n"
    "}\n"
    "complete -F _fahr fahr\n";

static const char zsh_script[] =
    "#compdef fahr\n"
    "# zsh completion for fahr, printed by 'fahr completion zsh'. The candidates\n"
    "# come from the fahr being completed ('fahr __complete').\n"
    "_fahr() {\n"
    "    local -a lines plain nospace\n"
    "    local line\n"
    "    lines=(\"${(@f)$(\"${words[1]}\" __complete \"${(@)words[2,CURRENT]}\" 2>/dev/null)}\")\n"
    "    for line in \"${lines[@]}\"; do\n"
    "        case $line in\n"
    "        (:files) _files ;;\n"
    "        (:dirs) _files -/ ;;\n"
    "        ('') ;;\n"
    "        (*[=.]) nospace+=(\"$line\") ;;\n"
    "        (*) plain+=(\"$line\") ;;\n"
    "        esac\n"
    "    done\n"
    "    (( ${#plain} )) && compadd -- \"${plain[@]}\"\n"
    "    (( ${#nospace} )) && compadd -S '' -- \"${nospace[@]}\"\n"
    "    return 0\n"
    "}\n"
    "if [ \"${funcstack[1]}\" = _fahr ]; then\n"
    "    _fahr \"$@\"\n"
    "else\n"
    "    compdef _fahr fahr\n"
    "fi\n";

static const char fish_script[] =
    "# fish completion for fahr, printed by 'fahr completion fish'. The\n"
    "# candidates come from the fahr being completed ('fahr __complete').\n"
    "function __fahr_complete\n"
    "    set -l words (commandline -opc)\n"
    "    set -l fahr $words[1]\n"
    "    set -e words[1]\n"
    "    set -l current (commandline -ct)\n"
    "    for line in ($fahr __complete $words \"$current\" 2>/dev/null)\n"
    "        switch $line\n"
    "            case :files\n"
    "                __fish_complete_path \"$current\"\n"
    "            case :dirs\n"
    "                __fish_complete_directories \"$current\"\n"
    "            case '*'\n"
    "                echo $line\n"
    "        end\n"
    "    end\n"
    "end\n"
    "complete -c fahr -f -a '(__fahr_complete)'\n";

int cmd_completion(struct cli *cli)
{
    static const struct {
        const char *shell;
        const char *script;
    } scripts[] = {{"bash", bash_script}, {"zsh", zsh_script}, {"fish", fish_script}};
    for (size_t i = 0; i < sizeof scripts / sizeof scripts[0]; i++)
        if (strcmp(cli->args[0], scripts[i].shell) == 0) {
            fputs(scripts[i].script, stdout);
            return FAHR_EXIT_OK;
        }
    host_error("no completion for '%s'; fahr completes bash, zsh and fish", cli->args[0]);
    return FAHR_EXIT_USAGE;
}

/* ---- __complete ---- */

#define MAX_OPTIONS 64

/* What the words before the current one chose. */
struct line {
    const struct command *command;
    size_t positionals;                 /* arguments after the command */
    const char *build_driver, *train_driver;
    char **plugin_dirs;                 /* --plugin-dir, borrowed from argv */
    size_t plugin_dir_count;
    struct option_info options[MAX_OPTIONS]; /* those the command takes */
    size_t option_count;
    char **offered;                     /* printed so far, to print each once */
    size_t offered_count;
};

/* Print `head``tail` if it completes `current` and was not printed yet. */
static void offer(struct line *line, const char *head, const char *tail, const char *current)
{
    char candidate[1024];
    if (snprintf(candidate, sizeof candidate, "%s%s", head, tail) >= (int)sizeof candidate ||
        strncmp(candidate, current, strlen(current)) != 0)
        return;
    for (size_t i = 0; i < line->offered_count; i++)
        if (strcmp(line->offered[i], candidate) == 0)
            return;
    puts(candidate);
    line->offered = xgrow(line->offered, line->offered_count, sizeof *line->offered);
    line->offered[line->offered_count++] = xstrdup(candidate);
}

static void load_options(struct line *line)
{
    line->option_count = command_options(line->command, line->options, MAX_OPTIONS);
}

/* The option `word` names ("--fetch", "--fetch=DIR", "--config.KEY=V"). */
static const struct option_info *option_of(const struct line *line, const char *word)
{
    for (size_t i = 0; i < line->option_count; i++) {
        const struct option_info *option = &line->options[i];
        size_t len = strlen(option->name);
        if (option->prefixed ? strncmp(word, option->name, len) == 0
                             : (strncmp(word, option->name, len) == 0 &&
                                (word[len] == '\0' || (option->takes_value && word[len] == '='))))
            return option;
        if (option->short_name != NULL && strcmp(word, option->short_name) == 0)
            return option;
    }
    return NULL;
}

static void record_value(struct line *line, const struct option_info *option, char *value)
{
    if (option->needs == OPT_BUILD_DRIVER)
        line->build_driver = value;
    else if (option->needs == OPT_TRAIN_DRIVER)
        line->train_driver = value;
    else if (strcmp(option->name, "--plugin-dir") == 0) {
        line->plugin_dirs = xgrow(line->plugin_dirs, line->plugin_dir_count,
                                  sizeof *line->plugin_dirs);
        line->plugin_dirs[line->plugin_dir_count++] = value;
    }
}

/* Read the words before the current one as main.c's parser would. Returns
 * the option whose value the current word is (--fetch <TAB>), or NULL. */
static const struct option_info *read_words(struct line *line, int count, char **words)
{
    bool options_done = false;
    load_options(line);
    for (int i = 0; i < count; i++) {
        char *word = words[i];
        if (options_done || word[0] != '-' || strcmp(word, "-") == 0) {
            if (line->command == NULL) {
                line->command = find_command(word);
                load_options(line);
            } else {
                line->positionals++;
            }
            continue;
        }
        if (strcmp(word, "--") == 0) {
            options_done = true;
            continue;
        }
        const struct option_info *option = option_of(line, word);
        if (option == NULL || !option->takes_value)
            continue;
        char *equals = strchr(word, '=');
        if (equals != NULL)
            record_value(line, option, equals + 1);
        else if (i + 1 < count)
            record_value(line, option, words[++i]);
        else
            return option;
    }
    return NULL;
}

static void load_plugins(const struct line *line, struct plugin_set *set)
{
    memset(set, 0, sizeof *set);
    plugins_search_path(set, line->plugin_dirs, line->plugin_dir_count);
    plugins_load(set);
}

/* Driver names: of `kind`, or of any kind with kind 0. */
static void offer_drivers(struct line *line, int kind, const char *head, const char *current)
{
    struct plugin_set set;
    load_plugins(line, &set);
    for (size_t i = 0; i < set.count; i++)
        if (kind == 0 || (int)set.items[i].desc.kind == kind)
            offer(line, head, set.items[i].desc.name, current);
    plugins_unload(&set);
}

/* Whether a driver's keys are meant: the one named, or with none named,
 * every driver of a kind the command takes. */
static bool keys_wanted(const struct line *line, const struct plugin *plugin)
{
    bool build = plugin->desc.kind == FAHR_DRIVER_BUILD;
    const char *named = build ? line->build_driver : line->train_driver;
    if (named != NULL)
        return strcmp(named, plugin->desc.name) == 0;
    unsigned needs = build ? OPT_BUILD_DRIVER : OPT_TRAIN_DRIVER;
    return line->command != NULL && (line->command->options & needs) != 0;
}

static void offer_config_keys(struct line *line, const char *prefix, const char *current)
{
    struct plugin_set set;
    load_plugins(line, &set);
    char head[512];
    for (size_t i = 0; i < set.count; i++) {
        const struct fahr_config_key2 *key = set.items[i].record.keys;
        for (; keys_wanted(line, &set.items[i]) && key != NULL && key->name != NULL; key++) {
            snprintf(head, sizeof head, "%s%s", prefix, key->name);
            offer(line, head, "=", current);
        }
    }
    plugins_unload(&set);
}

/* What a placeholder of the usage or of an option stands for: "PATH" a
 * file, "DIR" or "..._DIR" a directory, "COMMAND" a command, "DRIVER" a
 * driver, a word in lower case itself ("bash|zsh|fish"); others (JOB,
 * MODEL_IMAGE_TAG) nothing fahr can list. */
static void offer_placeholder(struct line *line, const char *word, size_t len,
                              const char *current)
{
    char name[64];
    snprintf(name, sizeof name, "%.*s", (int)len, word);
    size_t n = strlen(name);
    if (strcmp(name, "PATH") == 0)
        offer(line, ":files", "", "");
    else if (strcmp(name, "DIR") == 0 || (n > 4 && strcmp(name + n - 4, "_DIR") == 0))
        offer(line, ":dirs", "", "");
    else if (strcmp(name, "COMMAND") == 0)
        for (size_t i = 0; command_at(i) != NULL; i++)
            offer(line, command_at(i)->name, "", current);
    else if (strcmp(name, "DRIVER") == 0)
        offer_drivers(line, 0, "", current);
    else if (n > 0 && strspn(name, "abcdefghijklmnopqrstuvwxyz-") == n)
        offer(line, name, "", current);
}

/* The command's positional argument number `index`, from its usage
 * ("LOCAL_DIR MODEL_IMAGE_TAG [ARTIFACT] [--train-driver=NAME] ..."): the
 * words before the first option; '|' separates alternatives. */
static void offer_positional(struct line *line, size_t index, const char *current)
{
    const char *word = line->command->usage;
    for (size_t at = 0;; at++) {
        word += strspn(word, " [");
        size_t len = strcspn(word, " ");
        if (len == 0 || word[0] == '-')
            return;
        if (at == index) {
            while (len > 0) {
                size_t part = strcspn(word, "|] ");
                offer_placeholder(line, word, part, current);
                len = word[part] == '|' ? len - part - 1 : 0;
                word += part + 1;
            }
            return;
        }
        word += len;
    }
}

/* The value of `option`: `current` is "--name=VALUE" (head "--name=") or,
 * with head "", the word after the option. */
static void offer_value(struct line *line, const struct option_info *option, const char *head,
                        const char *current)
{
    if (option->needs == OPT_BUILD_DRIVER || option->needs == OPT_TRAIN_DRIVER) {
        offer_drivers(line,
                      option->needs == OPT_BUILD_DRIVER ? FAHR_DRIVER_BUILD : FAHR_DRIVER_TRAIN,
                      head, current);
        return;
    }
    /* A path after "--fetch=" is the shell's to complete only as a word
     * of its own. */
    const char *shown = option->shown_arg ? option->shown_arg + strspn(option->shown_arg, " =") : "";
    if (head[0] == '\0' && strchr(shown, '=') == NULL)
        offer_placeholder(line, shown, strlen(shown), current);
}

/* An option word being typed: names, or a value after '=', or a config
 * key after "--config.". */
static void offer_option(struct line *line, const char *current)
{
    const struct option_info *option = option_of(line, current);
    const char *equals = strchr(current, '=');
    if (option != NULL && option->prefixed && equals == NULL) {
        if (option->needs == OPT_CONFIG)
            offer_config_keys(line, option->name, current);
        return;
    }
    if (option != NULL && equals != NULL && !option->prefixed) {
        char head[128];
        snprintf(head, sizeof head, "%.*s", (int)(equals - current + 1), current);
        offer_value(line, option, head, current);
        return;
    }
    for (size_t i = 0; i < line->option_count; i++) {
        const struct option_info *each = &line->options[i];
        bool equals_form = each->takes_value && !each->prefixed && each->shown_arg != NULL &&
                           each->shown_arg[0] == '=';
        offer(line, each->name, equals_form ? "=" : "", current);
        if (each->short_name != NULL)
            offer(line, each->short_name, "", current);
    }
}

int complete_words(int count, char **words)
{
    struct line line;
    memset(&line, 0, sizeof line);
    host_init(VERBOSITY_QUIET);
    const char *current = count > 0 ? words[count - 1] : "";
    const struct option_info *awaiting = read_words(&line, count > 0 ? count - 1 : 0, words);
    if (awaiting != NULL) {
        if (!awaiting->prefixed) /* --config.KEY's or --hp.KEY's value: anything */
            offer_value(&line, awaiting, "", current);
    } else if (current[0] == '-')
        offer_option(&line, current);
    else if (line.command == NULL)
        offer_placeholder(&line, "COMMAND", strlen("COMMAND"), current);
    else
        offer_positional(&line, line.positionals, current);
    for (size_t i = 0; i < line.offered_count; i++)
        free(line.offered[i]);
    free(line.offered);
    free(line.plugin_dirs);
    return fflush(stdout) == 0 ? FAHR_EXIT_OK : FAHR_EXIT_FAILED;
}
