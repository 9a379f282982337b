/* core/help.c: `fahr --help` and `fahr help COMMAND`, generated from the
 * command and option tables of core/main.c (as git's parse-options makes
 * usage from its option array), so a command's help lists exactly the
 * options the parser takes for it. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

#define HELP_COLUMN 26 /* where an option's help starts */
#define HELP_WIDTH 79  /* no line longer */

/* How much of `text` must stay on one line: a word, a usage's [...] group
 * or a 'quoted command'. */
static int unit_length(const char *text)
{
    int depth = 0;
    bool quoted = false;
    int n = 0;
    for (; text[n] != '\0'; n++) {
        if (text[n] == ' ' && depth == 0 && !quoted)
            break;
        if (text[n] == '[')
            depth++;
        else if (text[n] == ']' && depth > 0)
            depth--;
        else if (text[n] == '\'' && (quoted || n == 0 || text[n - 1] == '('))
            quoted = !quoted; /* the ' of "driver's" opens nothing */
    }
    return n;
}

/* Print `text` from column `column` (where the cursor is), breaking it
 * between units to stay within HELP_WIDTH, each further line indented to
 * `column`. */
static void print_wrapped(const char *text, int column, FILE *out)
{
    int at = column;
    bool line_empty = true;
    while (*text != '\0') {
        int unit = unit_length(text);
        if (!line_empty && at + 1 + unit > HELP_WIDTH) {
            fprintf(out, "\n%*s", column, "");
            at = column;
            line_empty = true;
        }
        at += fprintf(out, "%s%.*s", line_empty ? "" : " ", unit, text);
        line_empty = false;
        text += unit;
        text += strspn(text, " ");
    }
    fputc('\n', out);
}

/* The options `command` takes, of its own (`global` false) or every
 * command's, one per line: "  -f, --follow      help". */
static void print_options(const struct command *command, bool global, FILE *out)
{
    struct option_info options[64];
    size_t count = command_options(command, options, sizeof options / sizeof options[0]);
    for (size_t i = 0; i < count; i++) {
        const struct option_info *option = &options[i];
        if ((option->needs == 0) != global)
            continue;
        int at = fprintf(out, "  %s%s%s%s", option->short_name ? option->short_name : "",
                         option->short_name ? ", " : "", option->name,
                         option->shown_arg ? option->shown_arg : "");
        if (at >= HELP_COLUMN - 1) { /* no room for the help beside it */
            fputc('\n', out);
            at = 0;
        }
        fprintf(out, "%*s", HELP_COLUMN - at, "");
        print_wrapped(option->help, HELP_COLUMN, out);
    }
}

static const char exit_codes_help[] =
    "Exit codes:\n"
    "  0    success\n"
    "  1    the work failed (a build, the Docker engine, a service)\n"
    "  2    usage error: bad command line, config value or driver name\n"
    "  3    the training job ended Failed or Stopped\n"
    "  130  interrupted\n";

void print_main_help(FILE *out)
{
    fputs("usage: fahr [--plugin-dir DIR] [-q|-v] COMMAND [ARGS]\n\n"
          "Build a training artifact (.py or .ipynb) into a container image, run it\n"
          "on a training service and bring the model home.\n\nCommands:\n",
          out);
    const struct command *command;
    for (size_t i = 0; (command = command_at(i)) != NULL; i++) {
        fprintf(out, "  %-10s ", command->name); /* "completion" the longest */
        print_wrapped(command->summary, 13, out);
    }
    fputs("\nOptions for every command:\n", out);
    print_options(NULL, true, out);
    fputs("\n", out);
    fputs(exit_codes_help, out);
    fputs("\nRun 'fahr help COMMAND' for a command, 'fahr help DRIVER' for a driver's keys.\n",
          out);
}

void print_command_help(const struct command *command, FILE *out)
{
    int at = fprintf(out, "usage: fahr %s ", command->name);
    print_wrapped(command->usage, at, out);
    fputs("\n", out);
    print_wrapped(command->summary, 0, out);
    fputs("\n", out);
    if (command->options) {
        fputs("Options:\n", out);
        print_options(command, false, out);
        fputs("\n", out);
    }
    fputs("Options for every command:\n", out);
    print_options(command, true, out);
    fputs("\n", out);
    fputs(exit_codes_help, out);
}
