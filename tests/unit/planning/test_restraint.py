"""Restraint rules as data: one case where each rule holds a tool back, one where it does not."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from copilot.catalog import Catalog
from copilot.errors import ConfigError
from copilot.planning.restraint import RestraintRules, load_triggers

# rule id, tool, facts where the rule blocks, facts where it does not
CASES: list[tuple[str, str, dict[str, Any], dict[str, Any]]] = [
    ("no-rollback-without-recent-rollout", "rollback_deployment",
     {'deployment_last_rollout_age_hours{deployment="checkout"}': 30},
     {'deployment_last_rollout_age_minutes{deployment="checkout"}': 11}),
    ("no-manual-scaling-under-autoscaler", "scale_deployment",
     {'hpa_enabled{deployment="web"}': True}, {'hpa_enabled{deployment="web"}': False}),
    ("no-scale-up-when-pending-for-capacity", "scale_deployment",
     {"events": ["0/5 nodes are available: 5 Insufficient memory."], "hpa_enabled": False},
     {"events": ["Scaled up replica set web-5f7c to 4"], "hpa_enabled": False}),
    ("no-failover-for-recovering-lag", "failover_database",
     {"replica_lag_trend": "recovering", "primary_up": False},
     {"replica_lag_trend": "growing", "primary_up": False}),
    ("no-failover-while-primary-up", "failover_database",
     {'primary_up{cluster="orders-pg"}': True}, {'primary_up{cluster="orders-pg"}': False}),
    ("no-ip-block-for-distributed-abuse", "block_ip",
     {"abuse_distinct_ips": 4200, "top_offender_share": 0.01},
     {"abuse_distinct_ips": 2, "top_offender_share": 0.8}),
    ("no-cache-purge-while-origin-failing", "purge_cdn_cache",
     {"origin_5xx_ratio": 0.4}, {"origin_5xx_ratio": 0.0}),
    ("no-action-on-informational-alert", "silence_alert",
     {"alert.severity": "none", "alert_context": "Watchdog"},
     {"alert.severity": "warning", "alert_context": "Node disk filling up",
      "maintenance_window_active": True}),
    ("no-action-on-informational-alert", "restart_deployment",
     {"alert.severity": "warning", "alert_context": "An alert that should always be firing to certify..."},
     {"alert.severity": "critical", "alert_context": "5xx spike after a deploy",
      "deployment_last_rollout_age_minutes": 5}),
    ("no-action-on-informational-alert", "page_oncall",
     {"alert.severity": "info", "alert_context": "InfoInhibitor"},
     {"alert.severity": "critical", "alert_context": "Primary down"}),
]


@pytest.fixture(scope="module")
def rules(catalog: Catalog) -> RestraintRules:
    return RestraintRules.load(catalog)


@pytest.mark.parametrize(("rule_id", "tool", "blocking", "passing"), CASES,
                         ids=[f"{c[0]}:{c[1]}" for c in CASES])
def test_rule_blocks_and_passes(rules: RestraintRules, rule_id: str, tool: str, blocking: dict[str, Any],
                                passing: dict[str, Any]) -> None:
    hit = rules.blocking(tool, blocking)
    assert hit is not None and hit.rule.id == rule_id
    assert rule_id in hit.describe(tool)
    assert rules.blocking(tool, passing) is None


def test_every_shipped_rule_is_exercised(rules: RestraintRules) -> None:
    assert {rule.id for rule in rules.rules} == {case[0] for case in CASES}


def test_mutating_wildcard_leaves_read_only_tools_alone(rules: RestraintRules) -> None:
    assert rules.blocking("get_logs", {"alert.severity": "none"}) is None
    assert rules.blocking("create_ticket", {"alert.severity": "none"}) is None


@pytest.mark.parametrize(("text", "fix"), [
    ("rules:\n  - {id: x, blocks: [no_such_tool], when: 'a > 1', reason: r}\n", "unknown tool"),
    ("rules:\n  - {id: x, blocks: [drain_node], when: 'a >', reason: r}\n", "ends early"),
    ("rules:\n  - {id: x, blocks: [drain_node], when: 'a > 1'}\n", "each rule needs"),
    ("rules: [\n", "cannot read"),
])
def test_broken_rules_file_names_the_fix(catalog: Catalog, tmp_path: Path, text: str, fix: str) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    with pytest.raises(ConfigError, match=fix):
        RestraintRules.load(catalog, path)


def test_shipped_triggers_load(catalog: Catalog) -> None:
    triggers = load_triggers(catalog)
    assert "delete_pod" in triggers and "drain_node" not in triggers
