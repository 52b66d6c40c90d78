"""Placeholder binding and canonical arguments through the catalog."""

from __future__ import annotations

from typing import Any

import pytest

from copilot.catalog import Catalog
from copilot.planning.binding import Binder, scope_query

VALUES = {"NAMESPACE": "shop", "DEPLOYMENT": "checkout", "POD": "checkout-7d9f8b6c5d-x2x9k",
          "ALERTNAME": "HighHTTP5xxRate", "CIDR": "203.0.113.7/32"}


@pytest.mark.parametrize(("tool", "args", "expected"), [
    ("rollback_deployment", {"namespace": "$NAMESPACE", "deployment": "$DEPLOYMENT"},
     {"namespace": "shop", "deployment": "checkout"}),
    ("get_metrics", {"query": 'rate(x{service="$DEPLOYMENT"}[5m])', "range": "60 minutes"},
     {"query": 'rate(x{service="checkout"}[5m])', "range": "1h"}),
    ("block_ip", {"cidr": "203.0.113.7"}, {"cidr": "203.0.113.7/32"}),
    ("silence_alert", {"matchers": ["alertname=$ALERTNAME"], "duration": "2 hours", "comment": "maint"},
     {"matchers": ["alertname=HighHTTP5xxRate"], "duration": "2h", "comment": "maint"}),
    ("get_logs", {"namespace": "$NAMESPACE", "pod": "$POD_NAME", "container": "$CONTAINER"},
     {"namespace": "shop", "pod": "checkout-7d9f8b6c5d-x2x9k"}),  # optional unbound arg dropped
    ("describe_pod", {"namespace": "$KMP_NAMESPACE", "pod": "$YOUR_POD"},
     {"namespace": "shop", "pod": "checkout-7d9f8b6c5d-x2x9k"}),  # bound by argument name
])
def test_binds_and_canonicalises(catalog: Catalog, tool: str, args: dict[str, Any],
                                 expected: dict[str, Any]) -> None:
    assert Binder(catalog, VALUES, {}).bind(tool, args).args == expected


def test_unbound_required_argument_drops_the_call(catalog: Catalog) -> None:
    binding = Binder(catalog, {"NAMESPACE": "shop"}, {}).bind("delete_pod", {"namespace": "$NAMESPACE",
                                                                             "pod": "$POD"})
    assert binding.args is None
    assert binding.missing == ["pod"]


def test_invalid_value_is_reported_not_raised(catalog: Catalog) -> None:
    binding = Binder(catalog, {}, {}).bind("block_ip", {"cidr": "not-an-ip"})
    assert binding.args is None and binding.error


@pytest.mark.parametrize(("telemetry", "expected"), [
    ({"recommended_max_replicas": 18, "hpa_max_replicas": 10}, 18),
    ({'hpa_max_replicas{hpa="web"}': 10}, 15),  # half again the current maximum
])
def test_numeric_placeholders_from_telemetry(catalog: Catalog, telemetry: dict[str, Any],
                                             expected: int) -> None:
    binding = Binder(catalog, VALUES, telemetry).bind(
        "update_hpa", {"namespace": "$NAMESPACE", "hpa": "web", "max_replicas": "$MAX_REPLICAS"})
    assert binding.args is not None and binding.args["max_replicas"] == expected
    assert binding.used_facts


def test_query_id_from_a_telemetry_key_ending_in_its_name(catalog: Catalog) -> None:
    binding = Binder(catalog, {"DATABASE": "orders"}, {"blocking_query_id": 4242}).bind(
        "kill_query", {"database": "$DATABASE", "query_id": "$QUERY_ID"})
    assert binding.args == {"database": "orders", "query_id": "4242"}


def test_query_id_from_a_backend_pid_in_telemetry(catalog: Catalog) -> None:
    """PostgreSQL runbooks cancel a backend by ``<pid>``: a ``*_pid`` fact is the query id."""
    binding = Binder(catalog, {"DATABASE": "main"}, {"long_running_transaction_pid": 3889825}).bind(
        "kill_query", {"database": "$DATABASE", "query_id": "$QUERY_ID"})
    assert binding.args == {"database": "main", "query_id": "3889825"}
    assert binding.used_facts == ["long_running_transaction_pid"]
    assert Binder(catalog, {"DATABASE": "main"}, {}).bind(
        "kill_query", {"database": "$DATABASE", "query_id": "$QUERY_ID"}).args is None


@pytest.mark.parametrize(("raw", "bound"), [
    ("klusterlet-<cluster ID>", "klusterlet-4f2a9c"),  # a spaced placeholder, left as written by ingestion
    ("klusterlet-$CLUSTER_ID", "klusterlet-4f2a9c"),  # the bound namespace has the template's shape
    ("$KMP_NAMESPACE", "klusterlet-4f2a9c"),
    ("other-<cluster ID>", None),  # another shape: not this namespace
])
def test_templated_namespace_takes_the_bound_one_of_that_shape(catalog: Catalog, raw: str,
                                                               bound: str | None) -> None:
    binding = Binder(catalog, {"NAMESPACE": "klusterlet-4f2a9c"}, {}).bind(
        "restart_deployment", {"namespace": raw, "deployment": "configuration-policy-controller"})
    assert (binding.args or {}).get("namespace") == bound


@pytest.mark.parametrize(("query", "labels", "expected"), [
    ('kubelet_volume_stats_inodes_used{namespace="openshift-monitoring", persistentvolumeclaim="db-0"}',
     {"namespace": "openshift-monitoring", "persistentvolumeclaim": "db-1"},
     'kubelet_volume_stats_inodes_used{namespace="openshift-monitoring", persistentvolumeclaim="db-1"}'),
    ('node_filesystem_files_free{instance="<value of instance label>", mountpoint="<mountpoint>"}',
     {"instance": "ip-1"}, 'node_filesystem_files_free{instance="ip-1"}'),
    ("rate(node_network_transmit_bytes_total{...}) * 8", {}, "rate(node_network_transmit_bytes_total) * 8"),
    ('up{job="$JOB"} == 0', {"job": "etcd"}, 'up{job="etcd"} == 0'),  # the alert's own label
    ('x{alertname="Foo"}', {"alertname": "Bar"}, 'x{alertname="Foo"}'),
])
def test_scope_query_with_alert_labels(query: str, labels: dict[str, str], expected: str) -> None:
    assert scope_query(query, labels) == expected


@pytest.mark.parametrize("tool_args", [
    ("rotate_secret", {"secret": "$SECRET", "system": "vault"}),
    ("restart_deployment", {"namespace": "shop", "deployment": "$DEPLOYMENT"}),
])
def test_a_masked_value_never_binds_a_target(catalog: Catalog, tool_args: tuple[str, dict[str, str]]) -> None:
    tool, args = tool_args
    telemetry = {"target_secret": "[REDACTED:secret]", "target_deployment": "[REDACTED:token]"}
    binding = Binder(catalog, {}, telemetry).bind(tool, args)
    assert binding.args is None and binding.missing
