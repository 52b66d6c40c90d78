"""Argument matching: one table per operator of contracts/eval-cases.md."""

from __future__ import annotations

from typing import Any

import pytest

from copilot.evaluation.matching import _MISSING, check_pattern, match_arg, match_args

ABSENT = _MISSING


@pytest.mark.parametrize(
    ("pattern", "value", "arg_type", "ok"),
    [
        ("shop", "shop", None, True),
        ("shop", "  SHOP ", None, True),  # trimmed, case-insensitive
        ("  Shop", "shop", None, True),
        ("shop", "shop-2", None, False),
        ("shop", ABSENT, None, False),
        ("shop", None, None, False),  # None counts as absent
        (41, 41, None, True),
        (41, 41.0, None, True),
        (41, 42, None, False),
        (41, "41", None, False),  # numbers exactly: a string is not a number
        ("41", 41, None, False),
        (1, True, None, False),  # a boolean is not a number
        (True, 1, None, False),
        (True, True, None, True),
        (False, False, None, True),
        (True, False, None, False),
        (True, "true", None, False),
        (["a=1", "b=2"], ["b=2", "A=1"], None, True),  # list literal: same items, any order
        (["a=1"], ["a=1", "b=2"], None, False),
        ("1h", "60m", "duration", True),  # canonical forms of catalog types
        ("90m", "1h30m", "duration", True),
        ("1h", "2h", "duration", False),
        ("203.0.113.7", "203.0.113.7/32", "cidr", True),
        ("200Gi", "200gi", "size", True),
        (["alertname=Watchdog"], ["alertname = Watchdog"], "matchers", True),
        ("not-a-duration", "not-a-duration", "duration", True),  # unparsable: plain literal
    ],
)
def test_literal(pattern: Any, value: Any, arg_type: str | None, ok: bool) -> None:
    assert match_arg(pattern, value, arg_type) is ok


@pytest.mark.parametrize(
    ("options", "value", "ok"),
    [
        ([41, "41", None], 41, True),
        ([41, "41", None], "41", True),
        ([41, "41", None], ABSENT, True),  # null: may be absent
        ([41, "41", None], 40, False),
        ([41, "41"], ABSENT, False),  # no null: must be present
        (["shop", "shop-canary"], "SHOP-canary", True),
        ([{"$contains": "check"}, "cart"], "checkout", True),  # nested operators
        ([{"$gte": 3}], 2, False),
    ],
)
def test_any(options: list[Any], value: Any, ok: bool) -> None:
    assert match_arg({"$any": options}, value) is ok


@pytest.mark.parametrize(
    ("needle", "value", "ok"),
    [
        ("checkout", "rollback of Checkout-api", True),
        ("CHECKOUT", "checkout", True),
        ("payments", "checkout", False),
        ("watchdog", ["alertname=Watchdog"], True),  # JSON-encoded when not a string
        ('job=~"api', ['job=~"api.*"'], True),  # list items are searched unescaped too
        ('"a", "b"', ["a", "b"], True),  # and the JSON text as a whole
        ('"replicas": 3', {"replicas": 3}, True),
        ("41", 41, True),
        ("true", True, True),
        ("x", ABSENT, False),
    ],
)
def test_contains(needle: str, value: Any, ok: bool) -> None:
    assert match_arg({"$contains": needle}, value) is ok


@pytest.mark.parametrize(
    ("needles", "value", "ok"),
    [
        (["5xx", "error rate"], "checkout error rate is up", True),
        (["5xx", "error rate"], "checkout latency", False),
        (["env=prod"], ["alertname=X", "env=prod"], True),
        (["a"], ABSENT, False),
    ],
)
def test_contains_any(needles: list[str], value: Any, ok: bool) -> None:
    assert match_arg({"$contains_any": needles}, value) is ok


@pytest.mark.parametrize(
    ("bound", "value", "ok"),
    [
        (3, 3, True),
        (3, 10, True),
        (3, 2, False),
        (2.5, 2.5, True),
        (3, "5", False),  # a number, not a numeric string
        (1, True, False),  # bool is not a number
        (3, ABSENT, False),
    ],
)
def test_gte(bound: float, value: Any, ok: bool) -> None:
    assert match_arg({"$gte": bound}, value) is ok


@pytest.mark.parametrize(
    ("minutes", "value", "ok"),
    [
        (60, "30m", True),
        (60, "1h", True),
        (60, "2h", False),
        (60, "90 minutes", False),
        (1440, "1d", True),
        (10, "1d", False),
        (60, 3600, True),  # a bare number is seconds
        (60, "soon", False),  # not a duration
        (60, True, False),
        (60, ABSENT, False),
    ],
)
def test_lte_minutes(minutes: float, value: Any, ok: bool) -> None:
    assert match_arg({"$lte_minutes": minutes}, value) is ok


@pytest.mark.parametrize(
    ("banned", "value", "ok"),
    [
        ([0], 3, True),
        ([0], 0, False),
        (["kube-system", "openshift-etcd"], "Kube-System", False),
        (["kube-system"], "shop", True),
        ([0], ABSENT, True),  # absent holds none of them
        ([0], "0", True),  # strict types: the string "0" is not the number 0
    ],
)
def test_not_in(banned: list[Any], value: Any, ok: bool) -> None:
    assert match_arg({"$not_in": banned}, value) is ok


def test_match_args_lists_the_mismatched_names_and_ignores_unlisted_keys() -> None:
    expected = {"namespace": "shop", "replicas": {"$gte": 3}}
    assert match_args(expected, {"namespace": "shop", "replicas": 4, "deployment": "x"}) == []
    assert match_args(expected, {"namespace": "cart", "replicas": 1}) == ["namespace", "replicas"]


@pytest.mark.parametrize(
    ("pattern", "message"),
    [
        ({"$regex": "a.*"}, "unknown operator"),
        ({"$any": []}, "non-empty list"),
        ({"$any": "a"}, "non-empty list"),
        ({"$not_in": 3}, "non-empty list"),
        ({"$contains": 3}, "takes a string"),
        ({"$contains_any": "a"}, "list of strings"),
        ({"$gte": "3"}, "takes a number"),
        ({"$lte_minutes": True}, "takes a number"),
        ({"$gte": 1, "$lte_minutes": 2}, "exactly one key"),
        ({"$any": [{"$bogus": 1}]}, "unknown operator"),
    ],
)
def test_bad_patterns_are_rejected(pattern: Any, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        check_pattern(pattern)


@pytest.mark.parametrize("pattern", ["x", 3, None, [1, 2], {"plain": "dict"}, {"$any": [1, None]}])
def test_good_patterns_pass(pattern: Any) -> None:
    check_pattern(pattern)
