"""The filter language of Cloud Logging and of Vertex's list (AIP-160), the
subset fahr and gcloud send: comparisons `FIELD OP VALUE` (OP one of
= != < <= > >= :), VALUE a "quoted string" or a bare word, joined with
AND, OR, NOT / -, parentheses; adjacent terms are ANDed. As in both
languages OR binds tighter than AND, so gcloud's
`A AND B AND (C AND D) OR E` reads A AND B AND ((C AND D) OR E).

Timestamps (fields named in TIME_FIELDS) compare as instants, whatever
offset or number of fraction digits the client wrote; everything else as
strings. A syntax error raises FilterError with the position."""
import datetime
import re

TIME_FIELDS = ("timestamp", "receiveTimestamp", "create_time", "createTime",
               "update_time", "updateTime", "start_time", "end_time")

TOKEN = re.compile(r'\s*(?:(?P<string>"(?:[^"\\]|\\.)*")|(?P<op><=|>=|!=|[=<>:()])'
                   r'|(?P<word>[^\s"=<>!:()]+))')


class FilterError(ValueError):
    pass


def parse_time(text):
    """RFC 3339 -> integer nanoseconds since the epoch (None if not a time)."""
    match = re.fullmatch(r"(\d{4}-\d\d-\d\d)[Tt ](\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?"
                         r"(Z|z|[+-]\d\d:?\d\d)", text.strip())
    if not match:
        return None
    date, clock, fraction, zone = match.groups()
    try:
        base = datetime.datetime.fromisoformat(f"{date}T{clock}")
    except ValueError:
        return None
    offset = 0
    if zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * (int(digits[:2]) * 3600 + int(digits[2:]) * 60)
    seconds = int(base.replace(tzinfo=datetime.timezone.utc).timestamp()) - offset
    return seconds * 10**9 + int((fraction or "0").ljust(9, "0"))


def format_time(nanos):
    """Integer nanoseconds -> RFC 3339 with nine fraction digits, UTC."""
    seconds, fraction = divmod(nanos, 10**9)
    stamp = datetime.datetime.fromtimestamp(seconds, datetime.timezone.utc)
    return stamp.strftime("%Y-%m-%dT%H:%M:%S") + f".{fraction:09d}Z"


def tokenize(text):
    tokens, position = [], 0
    while position < len(text):
        if text[position:].strip() == "":
            break
        match = TOKEN.match(text, position)
        if not match or match.end() == position:
            raise FilterError(f"unexpected character at position {position} of the filter")
        if match.group("string") is not None:
            raw = match.group("string")[1:-1]
            tokens.append(("value", re.sub(r"\\(.)", r"\1", raw)))
        elif match.group("op") is not None:
            tokens.append(("op", match.group("op")))
        else:
            word = match.group("word")
            kind = "keyword" if word in ("AND", "OR", "NOT") else "word"
            tokens.append((kind, word))
        position = match.end()
    return tokens


class Parser:
    def __init__(self, text):
        self.tokens = tokenize(text)
        self.index = 0

    def peek(self):
        return self.tokens[self.index] if self.index < len(self.tokens) else (None, None)

    def take(self):
        token = self.peek()
        self.index += 1
        return token

    def parse(self):
        if not self.tokens:
            return ("true",)
        node = self.conjunction()
        if self.index != len(self.tokens):
            raise FilterError(f"unexpected {self.peek()[1]!r} in the filter")
        return node

    def conjunction(self):
        terms = [self.disjunction()]
        while True:
            kind, value = self.peek()
            if kind == "keyword" and value == "AND":
                self.take()
            elif kind is None or (kind == "op" and value == ")"):
                break
            elif kind == "keyword" and value == "OR":
                raise FilterError("OR without a left-hand term in the filter")
            terms.append(self.disjunction())
        return ("and", terms) if len(terms) > 1 else terms[0]

    def disjunction(self):
        terms = [self.unary()]
        while self.peek() == ("keyword", "OR"):
            self.take()
            terms.append(self.unary())
        return ("or", terms) if len(terms) > 1 else terms[0]

    def unary(self):
        kind, value = self.peek()
        if (kind, value) == ("keyword", "NOT"):
            self.take()
            return ("not", self.unary())
        if kind == "word" and value == "-":
            self.take()
            return ("not", self.unary())
        if (kind, value) == ("op", "("):
            self.take()
            node = self.conjunction()
            if self.take() != ("op", ")"):
                raise FilterError("unbalanced parentheses in the filter")
            return node
        return self.comparison()

    def comparison(self):
        kind, field = self.take()
        if kind != "word":
            raise FilterError(f"expected a field name, found {field!r} in the filter")
        op_kind, op = self.take()
        if op_kind != "op" or op in "()":
            raise FilterError(f"expected an operator after {field} in the filter")
        value_kind, value = self.take()
        if value_kind not in ("value", "word"):
            raise FilterError(f"expected a value after {field}{op} in the filter")
        return ("cmp", field, op, value)


def parse(text):
    return Parser(text or "").parse()


def compare(field, op, actual, wanted):
    if actual is None:
        return op == "!="
    if op == ":":
        return wanted in str(actual)
    if field in TIME_FIELDS:
        left, right = parse_time(str(actual)), parse_time(wanted)
        if right is None:
            raise FilterError(f"invalid timestamp {wanted!r} in the filter")
    else:
        left, right = str(actual), wanted
    return {"=": left == right, "!=": left != right, "<": left < right,
            "<=": left <= right, ">": left > right, ">=": left >= right}[op]


def matches(node, lookup):
    """lookup(field) -> the item's value or None."""
    kind = node[0]
    if kind == "true":
        return True
    if kind == "and":
        return all(matches(term, lookup) for term in node[1])
    if kind == "or":
        return any(matches(term, lookup) for term in node[1])
    if kind == "not":
        return not matches(node[1], lookup)
    _, field, op, wanted = node
    return compare(field, op, lookup(field), wanted)


def dotted_lookup(item, aliases=None):
    """A lookup for a JSON object: `a.b.c` walks the keys; aliases maps a
    filter name (display_name) to the JSON one (displayName)."""
    def lookup(field):
        value = item
        for part in (aliases or {}).get(field, field).split("."):
            if not isinstance(value, dict) or part not in value:
                return None
            value = value[part]
        return value
    return lookup
