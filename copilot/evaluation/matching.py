"""Argument matching for eval cases (shared/contracts/eval-cases.md, "Matching arguments").

Pure functions. An expected value is a literal or a one-key operator mapping:

    literal           strings trimmed + case-insensitive; numbers and booleans exactly
    $any [v, ...]     any one of them; ``null`` in the list means "may be absent"
    $contains s       the value (JSON-encoded if not a string) contains s, case-insensitively
    $contains_any []  contains at least one of them
    $gte n            a number at least n
    $lte_minutes n    a duration of at most n minutes
    $not_in [...]     none of these values (an absent argument passes)

Decisions the contract leaves open, taken here:
- Types are strict. ``41`` (a number) does not match ``"41"`` (a string) and vice versa; a boolean is
  never a number (``True`` does not match ``1``). Cases that accept both write ``{"$any": [41, "41"]}``.
- A list literal matches a list of the same items in any order (matchers, paths, labels).
- Where the catalog gives an argument a canonical type (duration, cidr, size, matchers), both sides
  are canonicalised first when they parse, so ``"1h"`` matches ``"60m"`` and ``203.0.113.7``
  matches ``203.0.113.7/32``; values that do not parse are compared as plain literals.
- An argument whose proposed value is ``None`` counts as absent.
- ``$contains`` on a list also looks inside each string item, so quotes that JSON escapes
  (``job=~"api.*"``) are still found.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from copilot import argtypes

OPERATORS = ("$any", "$contains", "$contains_any", "$gte", "$lte_minutes", "$not_in")
_MISSING = object()


def check_pattern(value: Any) -> None:
    """Raise ValueError naming the fix when an expected argument value is not a valid pattern."""
    if not _is_operator(value):
        return
    (op, operand), = value.items()
    if op in ("$any", "$not_in"):
        if not isinstance(operand, list) or not operand:
            raise ValueError(f"{op} takes a non-empty list, e.g. {{\"{op}\": [\"a\", \"b\"]}}")
        for item in operand:
            check_pattern(item)
    elif op == "$contains" and not isinstance(operand, str):
        raise ValueError('$contains takes a string, e.g. {"$contains": "checkout"}')
    elif op == "$contains_any" and (
        not isinstance(operand, list) or not operand or not all(isinstance(s, str) for s in operand)
    ):
        raise ValueError('$contains_any takes a non-empty list of strings, e.g. {"$contains_any": ["a"]}')
    elif op in ("$gte", "$lte_minutes") and not _is_number(operand):
        raise ValueError(f'{op} takes a number, e.g. {{"{op}": 5}}')


def _is_operator(value: Any) -> bool:
    if not isinstance(value, Mapping) or not any(str(k).startswith("$") for k in value):
        return False
    if len(value) != 1:
        raise ValueError(f"an operator mapping has exactly one key; got {sorted(value)}")
    (op,) = value
    if op not in OPERATORS:
        raise ValueError(f"unknown operator {op!r}; use one of {', '.join(OPERATORS)}")
    return True


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and not (
        isinstance(value, float) and math.isnan(value)
    )


# --------------------------------------------------------------------------- canonical forms


def _canonical_list(value: Any) -> Any:
    return sorted(argtypes.canonical_matchers(value)) if isinstance(value, str | list) else value


_CANONICAL: dict[str, Callable[[Any], Any]] = {
    "duration": argtypes.duration_seconds,
    "cidr": argtypes.canonical_cidr,
    "size": argtypes.canonical_size,
    "matchers": _canonical_list,
}


def canonical(value: Any, arg_type: str | None) -> Any:
    """``value`` in the catalog's canonical form for ``arg_type``, or unchanged when it does not parse."""
    convert = _CANONICAL.get(arg_type or "")
    if convert is None or isinstance(value, bool) or value is None:
        return value
    if arg_type == "duration" and not isinstance(value, str | int):
        return value
    try:
        return convert(value)
    except (ValueError, TypeError):
        return value


# --------------------------------------------------------------------------- matching


def match_arg(pattern: Any, value: Any = _MISSING, arg_type: str | None = None) -> bool:
    """Whether a proposed argument ``value`` (absent when omitted) satisfies ``pattern``."""
    present = value is not _MISSING and value is not None
    if not _is_operator(pattern):
        return present and literal_equal(pattern, value, arg_type)
    (op, operand), = pattern.items()
    if op == "$any":
        return any(
            (not present) if option is None else match_arg(option, value if present else _MISSING, arg_type)
            for option in operand
        )
    if op == "$not_in":
        banned = [option for option in operand if option is not None]
        return not present or not any(match_arg(option, value, arg_type) for option in banned)
    if not present:
        return False
    if op in ("$contains", "$contains_any"):
        needles = [operand] if op == "$contains" else operand
        texts = _as_texts(value)
        return any(needle.strip().lower() in text for needle in needles for text in texts)
    if op == "$gte":
        return _is_number(value) and value >= operand
    return _within_minutes(value, operand)  # $lte_minutes


def literal_equal(expected: Any, proposed: Any, arg_type: str | None = None) -> bool:
    """Literal comparison: trimmed case-insensitive strings, exact numbers and booleans, lists as sets."""
    expected, proposed = canonical(expected, arg_type), canonical(proposed, arg_type)
    if isinstance(expected, bool) or isinstance(proposed, bool):
        return isinstance(expected, bool) and isinstance(proposed, bool) and expected == proposed
    if _is_number(expected) or _is_number(proposed):
        return _is_number(expected) and _is_number(proposed) and expected == proposed
    if isinstance(expected, str) or isinstance(proposed, str):
        return isinstance(expected, str) and isinstance(proposed, str) and (
            expected.strip().lower() == proposed.strip().lower()
        )
    if isinstance(expected, list) and isinstance(proposed, list):
        return _same_items(expected, proposed)
    if expected is None or proposed is None:
        return expected is proposed
    return bool(_json(expected) == _json(proposed))


def _same_items(expected: list[Any], proposed: list[Any]) -> bool:
    if len(expected) != len(proposed):
        return False
    remaining = list(proposed)
    for item in expected:
        hit = next((i for i, other in enumerate(remaining) if literal_equal(item, other)), None)
        if hit is None:
            return False
        remaining.pop(hit)
    return True


def _as_texts(value: Any) -> list[str]:
    """The value as text: itself if a string, else its JSON; a list's string items count on their own
    too, so ``job=~"api.*"`` is found in a list of matchers without JSON's escaped quotes."""
    if isinstance(value, str):
        return [value.lower()]
    items = [item.lower() for item in value if isinstance(item, str)] if isinstance(value, list) else []
    return [_json(value).lower(), *items]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _within_minutes(value: Any, minutes: float) -> bool:
    if isinstance(value, bool):
        return False
    try:
        seconds = argtypes.duration_seconds(value)
    except (ValueError, TypeError):
        return False
    return seconds <= minutes * 60


def match_args(
    expected: Mapping[str, Any], proposed: Mapping[str, Any], arg_types: Mapping[str, str] | None = None
) -> list[str]:
    """The names of expected arguments that ``proposed`` fails to match (empty when all match)."""
    types = arg_types or {}
    return [
        name for name, pattern in expected.items()
        if not match_arg(pattern, proposed.get(name, _MISSING), types.get(name))
    ]
