/* future.c: where in a script the prelude goes. Python's grammar lets only
 * comments, blank lines, the module docstring and other future imports
 * come before a `from __future__ import`, so the prelude cannot simply go
 * first: it goes after the docstring and the future imports (which keeps
 * the docstring the module's __doc__ too). A statement is followed to the
 * end of its logical line: through brackets (a parenthesized import over
 * several lines), strings, comments and backslash continuations. Anything
 * the scan does not understand ends the head where it stood. */
#include "kaggle.h"

#include <string.h>

struct scan {
    const char *text;
    size_t length;
    size_t at;
};

static char peek(const struct scan *s, size_t ahead)
{
    return s->at + ahead < s->length ? s->text[s->at + ahead] : '\0';
}

/* A backslash that continues the line: "\\\n" or "\\\r\n"; its length. */
static size_t continuation(const struct scan *s)
{
    if (peek(s, 0) != '\\')
        return 0;
    if (peek(s, 1) == '\n')
        return 2;
    return peek(s, 1) == '\r' && peek(s, 2) == '\n' ? 3 : 0;
}

/* Spaces within a line, and backslash continuations. */
static void skip_spaces(struct scan *s)
{
    for (;;) {
        size_t joined = continuation(s);
        if (joined > 0)
            s->at += joined;
        else if (peek(s, 0) == ' ' || peek(s, 0) == '\t' || peek(s, 0) == '\f')
            s->at++;
        else
            return;
    }
}

/* Between statements: blank lines and comments. */
static void skip_blank(struct scan *s)
{
    for (;;) {
        skip_spaces(s);
        if (peek(s, 0) == '#')
            while (s->at < s->length && s->text[s->at] != '\n')
                s->at++;
        if (peek(s, 0) == '\r' || peek(s, 0) == '\n')
            s->at++;
        else if (peek(s, 0) != '#')
            return;
    }
}

/* A string literal's body from its opening quote; 0 if unterminated. A
 * backslash always takes the next character (in raw strings too, as far
 * as where the string ends goes). */
static int skip_string(struct scan *s)
{
    char quote = peek(s, 0);
    int triple = peek(s, 1) == quote && peek(s, 2) == quote;
    s->at += triple ? 3 : 1;
    while (s->at < s->length) {
        char c = s->text[s->at];
        if (c == '\\') {
            s->at += 2;
        } else if (c == quote && (!triple || (peek(s, 1) == quote && peek(s, 2) == quote))) {
            s->at += triple ? 3 : 1;
            return 1;
        } else if (c == '\n' && !triple) {
            return 0;
        } else {
            s->at++;
        }
    }
    return 0;
}

/* To the start of the next logical line (or the end); 0 where a string
 * or a bracket is left open. */
static int end_of_logical_line(struct scan *s)
{
    int depth = 0;
    while (s->at < s->length) {
        char c = s->text[s->at];
        size_t joined = continuation(s);
        if (joined > 0)
            s->at += joined;
        else if (c == '#')
            while (s->at < s->length && s->text[s->at] != '\n')
                s->at++;
        else if (c == '\'' || c == '"') {
            if (!skip_string(s))
                return 0;
        } else if (c == '\n') {
            s->at++;
            if (depth == 0)
                return 1;
        } else {
            depth += (c == '(' || c == '[' || c == '{') - (c == ')' || c == ']' || c == '}');
            s->at++;
        }
    }
    return depth == 0;
}

/* `word` here, as a whole word. */
static int keyword(struct scan *s, const char *word)
{
    size_t length = strlen(word);
    if (s->at + length > s->length || memcmp(s->text + s->at, word, length) != 0)
        return 0;
    char next = peek(s, length);
    if (next == '_' || (next >= 'a' && next <= 'z') || (next >= 'A' && next <= 'Z') ||
        (next >= '0' && next <= '9'))
        return 0;
    s->at += length;
    return 1;
}

static int future_import(struct scan *s)
{
    if (!keyword(s, "from"))
        return 0;
    skip_spaces(s);
    if (!keyword(s, "__future__"))
        return 0;
    skip_spaces(s);
    return keyword(s, "import");
}

/* A docstring: string literals (no b or f prefix), and nothing else in
 * the statement. */
static int docstring(struct scan *s)
{
    int strings = 0;
    for (;;) {
        char c = peek(s, 0);
        if (c != '\0' && strchr("rRuU", c) != NULL && (peek(s, 1) == '\'' || peek(s, 1) == '"'))
            s->at++;
        if (peek(s, 0) != '\'' && peek(s, 0) != '"')
            break;
        if (!skip_string(s))
            return 0;
        strings++;
        skip_spaces(s);
    }
    return strings > 0 && (s->at >= s->length || strchr("#;\r\n", peek(s, 0)) != NULL);
}

size_t kaggle_prelude_offset(const char *text, size_t length)
{
    struct scan s = {.text = text, .length = length};
    size_t head = 0;
    if (length >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
        s.at = head = 3; /* a byte order mark stays first */
    for (int first = 1;; first = 0) {
        skip_blank(&s);
        if (s.at >= length)
            return head;
        size_t start = s.at;
        int known = first && docstring(&s);
        if (!known) {
            s.at = start;
            known = future_import(&s);
        }
        if (!known || !end_of_logical_line(&s))
            return head;
        head = s.at;
    }
}
