"""The ``when`` grammar: preconditions evaluated over a telemetry snapshot (data, not code).

    expr   := term ("or" term)*
    term   := factor ("and" factor)*
    factor := "not" factor | "(" expr ")" | clause
    clause := KEY OP VALUE | KEY exists | KEY missing | KEY contains "text" | KEY in (v1, v2)
    OP     := < <= > >= == !=          VALUE := number | true | false | "quoted" | bareword

KEY matches a snapshot key exactly, or the key's metric name before ``{``; a KEY starting with ``*``
matches any metric name ending in the rest (``*transaction_age_seconds``), for telemetry whose
names we do not control. Among several
matches the one whose labels mention a preferred value (the bound service/deployment)
wins, else the first. ``*_minutes`` / ``*_hours`` / ``*_seconds`` / ``*_days`` keys convert
into each other. A clause on a missing key is false (``evaluate``), so an unverifiable
precondition never proposes a mitigation. ``evaluate3`` is the three-valued
reading (missing -> unknown; ``false and unknown`` is false) used to tell "the
facts say no" from "the facts cannot say". Compiled conditions are cached.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from copilot.errors import ConfigError

_TOKEN = re.compile(r'\s*(?:(?P<str>"[^"]*"|\'[^\']*\')|(?P<op><=|>=|==|!=|<|>)|(?P<paren>[(),])'
                    r'|(?P<word>[\w.:$-]+\{[^}]*\}|[^\s()<>=!,"\']+))')
_UNITS = {"seconds": 1.0, "minutes": 60.0, "hours": 3600.0, "days": 86400.0}
_MISSING = object()

Lookup = Callable[[str], Any]
Condition = Callable[[Lookup, "bool | None"], "bool | None"]  # (lookup, value of a clause on a missing key)


@dataclass(frozen=True)
class _Clause:
    key: str
    op: str
    value: Any = None

    def __call__(self, lookup: Lookup, unknown: bool | None = False) -> bool | None:
        actual = lookup(self.key)
        if self.op == "missing":
            return actual is _MISSING
        if actual is _MISSING:
            return False if self.op == "exists" else unknown
        if self.op == "exists":
            return actual is not None and actual != [] and actual != ""
        if self.op == "contains":
            return _contains(actual, str(self.value))
        if self.op == "in":
            return any(_compare(actual, "==", option) for option in self.value)
        return _compare(actual, self.op, self.value)


def _contains(actual: Any, needle: str) -> bool:
    needle = needle.lower()
    if isinstance(actual, list | tuple):
        return any(needle in str(item).lower() for item in actual)
    return needle in str(actual).lower()


def _compare(actual: Any, op: str, expected: Any) -> bool:
    if isinstance(actual, list | tuple) and not isinstance(expected, str):
        actual = len(actual)
    left, right = _coerce(actual), _coerce(expected)
    if isinstance(left, float) and isinstance(right, float):
        ops: dict[str, Callable[[float, float], bool]] = {
            "<": float.__lt__, "<=": float.__le__, ">": float.__gt__, ">=": float.__ge__,
            "==": float.__eq__, "!=": float.__ne__,
        }
        return ops[op](left, right)
    if op in ("==", "!="):
        same = str(left).strip().lower() == str(right).strip().lower()
        return same if op == "==" else not same
    return False


def _coerce(value: Any) -> Any:
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        text = value.strip().lower()
        if text in ("true", "false"):
            return text == "true"
        try:
            return float(text.rstrip("%"))
        except ValueError:
            return text
    return value


# --------------------------------------------------------------------------- parsing


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[str]:
        tokens, pos = [], 0
        while pos < len(text):
            match = _TOKEN.match(text, pos)
            if not match or match.end() == pos:
                if text[pos:].strip() == "":
                    break
                raise ConfigError(f"condition {text!r}: cannot read {text[pos:]!r}; "
                                  'write clauses like `http_5xx_ratio > 0.02` or `events contains "OOM"`')
            tokens.append(match.group(0).strip())
            pos = match.end()
        return [t for t in tokens if t]

    def peek(self) -> str | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise ConfigError(f"condition {self.text!r} ends early; finish the clause (KEY OP VALUE)")
        self.pos += 1
        return token

    def expr(self) -> Condition:
        parts = [self.term()]
        while (self.peek() or "").lower() == "or":
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else _any_of(parts)

    def term(self) -> Condition:
        parts = [self.factor()]
        while (self.peek() or "").lower() == "and":
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else _all_of(parts)

    def factor(self) -> Condition:
        token = self.take()
        if token.lower() == "not":
            negated = self.factor()

            def run(lookup: Lookup, unknown: bool | None = False) -> bool | None:
                return _negate(negated(lookup, unknown))
            return run
        if token == "(":  # noqa: S105 - a parenthesis, not a password
            inner = self.expr()
            if self.take() != ")":
                raise ConfigError(f"condition {self.text!r}: missing `)`")
            return inner
        return self.clause(token)

    def clause(self, key: str) -> Condition:
        op = self.take()
        if op.lower() in ("exists", "missing"):
            return _Clause(key, op.lower())
        if op.lower() == "contains":
            return _Clause(key, "contains", _literal(self.take()))
        if op.lower() == "in":
            return _Clause(key, "in", tuple(self._options()))
        if op not in ("<", "<=", ">", ">=", "==", "!="):
            raise ConfigError(f"condition {self.text!r}: {op!r} after {key!r} is not an operator; "
                              "use < <= > >= == != exists missing contains in")
        return _Clause(key, op, _literal(self.take()))

    def _options(self) -> Iterable[Any]:
        if self.take() != "(":
            raise ConfigError(f"condition {self.text!r}: `in` takes a list like (none, info)")
        while (token := self.take()) != ")":
            if token != ",":  # noqa: S105 - a separator, not a password
                yield _literal(token)


def _negate(value: bool | None) -> bool | None:
    return None if value is None else not value


def _any_of(parts: list[Condition]) -> Condition:
    """Kleene or: true if any part is true, unknown if any is unknown, else false."""
    def run(lookup: Lookup, unknown: bool | None = False) -> bool | None:
        values = [part(lookup, unknown) for part in parts]
        return True if True in values else (None if None in values else False)
    return run


def _all_of(parts: list[Condition]) -> Condition:
    """Kleene and: false if any part is false, unknown if any is unknown, else true."""
    def run(lookup: Lookup, unknown: bool | None = False) -> bool | None:
        values = [part(lookup, unknown) for part in parts]
        return False if False in values else (None if None in values else True)
    return run


def _literal(token: str) -> Any:
    if len(token) >= 2 and token[0] == token[-1] and token[0] in "\"'":
        return token[1:-1]
    lowered = token.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    try:
        return float(token)
    except ValueError:
        return token


@functools.lru_cache(maxsize=1024)
def compile_condition(text: str) -> Condition:
    """Parse once; raises ConfigError naming the problem."""
    parser = _Parser(text)
    condition = parser.expr()
    if parser.peek() is not None:
        raise ConfigError(f"condition {text!r}: unexpected {parser.peek()!r}; join clauses with `and` / `or`")
    return condition


# --------------------------------------------------------------------------- evaluation


def snapshot_lookup(facts: Mapping[str, Any], prefer: Iterable[str] = ()) -> Lookup:
    """A lookup over ``facts`` (telemetry plus any ``alert.*`` / ``runbook`` keys the caller adds)."""
    by_name: dict[str, list[str]] = {}
    for key in facts:
        by_name.setdefault(str(key).split("{", 1)[0].strip(), []).append(key)
    preferred = [p.lower() for p in prefer if p]

    def find(key: str) -> Any:
        if key in facts:
            return facts[key]
        keys = by_name.get(key.split("{", 1)[0])
        if keys:
            best = next((k for k in keys if any(f'"{p}"' in k.lower() for p in preferred)), keys[0])
            return facts[best]
        value = find_raw(key) if key.startswith("*") else _MISSING
        return value if value is not _MISSING else _converted(key, find_raw)

    def find_raw(key: str) -> Any:
        keys = by_name.get(key) if not key.startswith("*") else [
            k for name, group in by_name.items() if name_matches(key, name) for k in group]
        if keys:
            best = next((k for k in keys if any(f'"{p}"' in k.lower() for p in preferred)), keys[0])
            return facts[best]
        return _MISSING

    return find


def name_matches(key: str, name: str) -> bool:
    """``*_lag_seconds`` matches ``replica_lag_seconds``; any other key only its own name."""
    if not key.startswith("*"):
        return key == name
    suffix = key[1:]
    return name == suffix.lstrip("_") or name.endswith(suffix if suffix.startswith("_") else "_" + suffix)


def _converted(key: str, find_raw: Lookup) -> Any:
    """``age_minutes`` from ``age_hours`` (and the other unit pairs)."""
    for unit, seconds in _UNITS.items():
        suffix = "_" + unit
        if key.endswith(suffix):
            stem = key[: -len(suffix)]
            for other, other_seconds in _UNITS.items():
                value = find_raw(stem + "_" + other) if other != unit else _MISSING
                if value is not _MISSING:
                    if not isinstance(value, int | float | str):
                        return _MISSING
                    try:
                        return float(value) * other_seconds / seconds
                    except (TypeError, ValueError):
                        return _MISSING
    return _MISSING


def evaluate(condition: str, facts: Mapping[str, Any], prefer: Iterable[str] = ()) -> bool:
    """True when ``condition`` holds; a clause on a missing key is false. ConfigError if malformed."""
    return compile_condition(condition)(snapshot_lookup(facts, prefer), False) is True


def evaluate3(condition: str, facts: Mapping[str, Any], prefer: Iterable[str] = ()) -> bool | None:
    """True, False, or None when the facts cannot decide it (a key it needs is missing)."""
    return compile_condition(condition)(snapshot_lookup(facts, prefer), None)


def condition_keys(condition: str) -> list[str]:
    """The KEYs a condition reads, for evidence."""
    keys = []
    for match in re.finditer(r"(\*?[A-Za-z_][\w.]*(?:\{[^}]*\})?)\s*(?:<=|>=|==|!=|<|>|\bexists\b|"
                             r"\bmissing\b|\bcontains\b|\bin\b)", condition):
        if match.group(1).lower() not in ("and", "or", "not"):
            keys.append(match.group(1))
    return keys


def condition_verifiable(condition: str, facts: Mapping[str, Any], prefer: Iterable[str] = ()) -> bool:
    """True when the facts decide the condition either way."""
    return evaluate3(condition, facts, prefer) is not None
