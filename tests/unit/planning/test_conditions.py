"""The `when` grammar over telemetry snapshots."""

from __future__ import annotations

import pytest

from copilot.errors import ConfigError
from copilot.planning.conditions import condition_keys, condition_verifiable, evaluate, evaluate3

FACTS = {
    'http_5xx_ratio{service="checkout"}': 0.12,
    'http_5xx_ratio{service="web"}': 0.001,
    'deployment_last_rollout_age_hours{deployment="checkout"}': 0.5,
    "hpa_enabled": True,
    "events": ["0/3 nodes are available: 3 Insufficient cpu."],
    "replica_lag_trend": "recovering",
    "pods_pending": ["web-1", "web-2"],
    "alert.severity": "none",
}


@pytest.mark.parametrize(("condition", "expected"), [
    ("http_5xx_ratio > 0.02", True),
    ('http_5xx_ratio{service="web"} > 0.02', False),
    ("deployment_last_rollout_age_minutes < 60", True),  # converted from _hours
    ("deployment_last_rollout_age_minutes < 20", False),
    ("hpa_enabled == true", True),
    ("hpa_enabled != true", False),
    ('events contains "insufficient cpu"', True),
    ('events contains "OOMKilled"', False),
    ('replica_lag_trend == "recovering"', True),
    ("pods_pending exists", True),
    ("pods_pending > 1", True),  # a list compares by its length
    ("nothing_here exists", False),
    ("nothing_here missing", True),
    ("nothing_here > 1", False),  # a clause on a missing key is false
    ("not nothing_here == true", True),
    ("alert.severity in (none, info)", True),
    ("hpa_enabled == false or http_5xx_ratio > 0.1", True),
    ("hpa_enabled == true and http_5xx_ratio > 0.5", False),
    ("(hpa_enabled == false or pods_pending exists) and not replica_lag_trend == growing", True),
])
def test_evaluate(condition: str, expected: bool) -> None:
    assert evaluate(condition, FACTS) is expected


def test_prefers_the_key_whose_labels_mention_the_bound_workload() -> None:
    assert evaluate("http_5xx_ratio > 0.02", FACTS, prefer=["web"]) is False
    assert evaluate("http_5xx_ratio > 0.02", FACTS, prefer=["checkout"]) is True


@pytest.mark.parametrize(("condition", "expected"), [
    ("hpa_enabled == false and missing_key > 1", False),  # false either way
    ("hpa_enabled == true and missing_key > 1", None),  # the facts cannot say
    ("hpa_enabled == true or missing_key > 1", True),
])
def test_three_valued_reading(condition: str, expected: bool | None) -> None:
    assert evaluate3(condition, FACTS) is expected
    assert condition_verifiable(condition, FACTS) is (expected is not None)


@pytest.mark.parametrize("bad", ["http_5xx_ratio >", "a ~ 3", "a > 1 b < 2", "(a > 1", "x in none"])
def test_malformed_condition_raises_config_error(bad: str) -> None:
    with pytest.raises(ConfigError):
        evaluate(bad, FACTS)


def test_condition_keys() -> None:
    keys = condition_keys('a_minutes < 60 and not b exists or c contains "x" or d in (1, 2)')
    assert keys == ["a_minutes", "b", "c", "d"]


@pytest.mark.parametrize(("condition", "expected"), [
    ("*transaction_age_seconds > 300", True),
    ("*transaction_age_minutes > 20", True),  # unit conversion applies to a suffix key too
    ("*transaction_age_seconds > 3000", False),
    ("*_pid exists", True),
    ("*ion_age_seconds exists", False),  # a suffix matches whole name parts only
    ("*query_duration_seconds > 1", False),  # no such name: false, like any missing key
])
def test_suffix_key_matches_names_we_do_not_control(condition: str, expected: bool) -> None:
    facts = {"long_running_transaction_age_seconds": 1400, "long_running_transaction_pid": 42}
    assert evaluate(condition, facts) is expected
    assert condition_keys(condition)[0].startswith("*")
