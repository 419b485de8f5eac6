"""CloudWatch Logs filter patterns: which of the three forms a pattern is, and whether it parses.

The forms (CloudWatch Logs User Guide, "Filter pattern syntax for metric filters, subscription
filters, and filter log events"):

* terms, matching unstructured text: `ERROR`, `"exact phrase"`, `?ERROR ?WARN` (any),
  `-DEBUG` (not), `%regex%`; a term with characters other than letters, digits and a few
  separators must be quoted, or PutMetricFilter answers "Invalid character(s) in term";
* JSON: `{ $.level = "ERROR" && $.latency > 100 }`, each comparison's left side a selector
  starting with `$` (`{ status = 401 }` is refused: the field is `$.status`);
* space-delimited: `[ip, user, ..., status = 4*, bytes > 1000]`, named fields.

Only the last two name fields, so only they can carry metric dimensions, and a dimension's
value must be a selector of one of their fields ($.field, $field).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# What an unquoted term may not contain (quote such a term: "a(b)").
_TERM_FORBIDDEN = re.compile(r"[\"(){}\[\]=<>!&|,]")
_JSON_SELECTOR = re.compile(r"\$(\.[^\s.=!<>&|()\[\]]+|\[\d+\]|\.\*)+")
_JSON_COMPARISON = re.compile(
    r"\s*(?P<selector>\$[^\s=!<>&|()]*)\s*"
    r"(?:(?P<operator>=|!=|<=|>=|<|>)\s*(?P<value>\"(?:[^\"\\]|\\.)*\"|%[^%]*%|[^\s&|()]+)"
    r"|IS\s+(?:TRUE|FALSE|NULL)|NOT\s+EXISTS)\s*",
    re.IGNORECASE,
)
_FIELD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DELIMITED_CONDITION = re.compile(
    r"\s*(?P<field>[A-Za-z_][A-Za-z0-9_]*)\s*(?:=|!=|<=|>=|<|>)\s*"
    r"(?:\"(?:[^\"\\]|\\.)*\"|%[^%]*%|[^\s&|,\]]+)\s*"
)


class InvalidPattern(ValueError):
    """A filter pattern CloudWatch Logs does not parse; the message is AWS's, or names the fault."""


@dataclass(frozen=True)
class FilterPattern:
    kind: str  # "all" (empty), "terms", "json" or "delimited"
    fields: frozenset[str]  # the selectors it names: "$.a.b" (JSON), "$name" (space-delimited)

    @property
    def supports_dimensions(self) -> bool:
        return self.kind in ("json", "delimited")

    def is_selector(self, value: str) -> bool:
        """Whether `value` is a selector of a field of this pattern's form."""
        if self.kind == "json":
            return _JSON_SELECTOR.fullmatch(value) is not None
        if self.kind == "delimited":
            return value.startswith("$") and _FIELD.fullmatch(value[1:]) is not None
        return False


def _terms(pattern: str) -> FilterPattern:
    position = 0
    while position < len(pattern):
        if pattern[position].isspace():
            position += 1
            continue
        if pattern[position] in "?-":
            position += 1
        if pattern.startswith('"', position):
            end = pattern.find('"', position + 1)
            if end < 0:
                raise InvalidPattern("Invalid metric filter pattern (an unclosed quote)")
            position = end + 1
        elif pattern.startswith("%", position):
            end = pattern.find("%", position + 1)
            if end < 0:
                raise InvalidPattern("Invalid metric filter pattern (an unclosed % regular expression)")
            position = end + 1
        else:
            end = position
            while end < len(pattern) and not pattern[end].isspace():
                end += 1
            term = pattern[position:end]
            if not term or _TERM_FORBIDDEN.search(term) or "?" in term:
                raise InvalidPattern(f"Invalid character(s) in term '{term}'")
            position = end
    return FilterPattern("terms", frozenset())


def _boolean_sequence(body: str, condition: re.Pattern[str], what: str) -> list[re.Match[str]]:
    """`body` as conditions joined by && and ||, with parentheses; the condition matches."""
    found: list[re.Match[str]] = []
    position, depth, expect_condition = 0, 0, True
    while position < len(body):
        if body[position].isspace():
            position += 1
        elif expect_condition and body[position] == "(":
            depth, position = depth + 1, position + 1
        elif not expect_condition and body[position] == ")" and depth:
            depth, position = depth - 1, position + 1
        elif not expect_condition and body.startswith(("&&", "||"), position):
            expect_condition, position = True, position + 2
        elif expect_condition and (match := condition.match(body, position)):
            found.append(match)
            expect_condition, position = False, match.end()
        else:
            text = body[position : position + 20]
            raise InvalidPattern(f"Invalid metric filter pattern ({what} at {text!r})")
    if expect_condition or depth:
        raise InvalidPattern(f"Invalid metric filter pattern ({what}: incomplete expression)")
    return found


def _json(pattern: str) -> FilterPattern:
    if not pattern.endswith("}"):
        raise InvalidPattern("Invalid metric filter pattern (a JSON pattern must end with })")
    comparisons = _boolean_sequence(pattern[1:-1], _JSON_COMPARISON, "a JSON comparison is due")
    selectors = [match["selector"] for match in comparisons]
    for selector in selectors:
        if _JSON_SELECTOR.fullmatch(selector) is None:
            raise InvalidPattern(
                "Invalid metric filter pattern "
                f"(a JSON field is a selector starting with $., not {selector!r})"
            )
    return FilterPattern("json", frozenset(selectors))


def _delimited(pattern: str) -> FilterPattern:
    if not pattern.endswith("]"):
        raise InvalidPattern("Invalid metric filter pattern (a space-delimited pattern must end with ])")
    fields: set[str] = set()
    for part in pattern[1:-1].split(","):
        part = part.strip()
        if part == "...":
            continue
        name = _FIELD.match(part)
        if name is None:
            raise InvalidPattern(f"Invalid metric filter pattern (field {part!r})")
        if part[name.end() :].strip():
            for match in _boolean_sequence(part, _DELIMITED_CONDITION, "a field condition is due"):
                fields.add(f"${match['field']}")
        fields.add(f"${name.group()}")
    return FilterPattern("delimited", frozenset(fields))


def parse(pattern: str) -> FilterPattern:
    """The form of `pattern` and the fields it names; raises InvalidPattern as PutMetricFilter refuses it."""
    stripped = pattern.strip()
    if not stripped:
        return FilterPattern("all", frozenset())
    if stripped.startswith("{"):
        return _json(stripped)
    if stripped.startswith("["):
        return _delimited(stripped)
    return _terms(stripped)
