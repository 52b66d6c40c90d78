"""Diagnosis targets from the evidence: pods telemetry shows Pending or crashing, nodes NotReady.

Also the generic first checks when no runbook step applies: the alert's pod,
node or namespace. All read-only.
"""

from __future__ import annotations

import re
from typing import Any

from copilot.domain import Evidence
from copilot.planning.context import PlanContext
from copilot.planning.steps import StepCandidate

_LABEL = re.compile(r'(\w+)\s*=~?\s*"([^"]*)"')
_POD_LISTS = {"pods_pending": False, "pods_crashlooping": True, "pods_not_ready": False,
              "pods_oomkilled": True, "pods_failed": True}  # True: crashed, read previous logs
_NODE_LISTS = ("nodes_not_ready", "nodes_cordoned", "nodes_under_pressure")
_MAX_TARGETS = 2


def evidence_steps(ctx: PlanContext) -> list[StepCandidate]:
    """describe_pod / get_logs(previous) for listed pods, describe_node for listed nodes."""
    out: list[StepCandidate] = []
    for key, value in ctx.telemetry.items():
        name, _, label_text = str(key).partition("{")
        items = _names(value)
        if not items:
            continue
        labels = dict(_LABEL.findall(label_text))
        evidence = [Evidence(key=str(key), value=value, source="telemetry")]
        if name in _POD_LISTS:
            namespace = labels.get("namespace") or ctx.entities.namespace
            if namespace:
                out += _pod_steps(str(key), items, namespace, crashed=_POD_LISTS[name], evidence=evidence)
        elif name in _NODE_LISTS:
            for node in items[:_MAX_TARGETS]:
                out.append(_step("describe_node", {"node": node}, f"{key} lists node {node}", evidence))
        elif name in ("events", "logs") and ctx.entities.namespace:
            out.append(_tail_step(name, str(key), ctx, evidence))
    return out + _alert_pod_steps(ctx)


def _tail_step(name: str, key: str, ctx: PlanContext, evidence: list[Evidence]) -> StepCandidate:
    """A log or event tail in telemetry: read the whole thing."""
    namespace = ctx.entities.namespace
    if name == "events":
        return _step("get_events", {"namespace": namespace}, f"{key} has warnings; read all events", evidence)
    args = {"namespace": namespace, **({"pod": ctx.entities.pod} if ctx.entities.pod else {})}
    return _step("get_logs", args, f"{key} shows errors; read the full logs", evidence)


def _alert_pod_steps(ctx: PlanContext) -> list[StepCandidate]:
    """The pod the alert or the request names is always worth a describe."""
    entities = ctx.entities
    source = entities.sources.get("pod")
    if not entities.pod or not entities.namespace or source not in ("alert", "request"):
        return []
    value = ctx.alert.labels.get("pod") if source == "alert" and ctx.alert else ctx.request.text[:200]
    evidence = [Evidence(key="alert.pod" if source == "alert" else "request", value=value, source=source)]
    args = {"namespace": entities.namespace, "pod": entities.pod}
    return [_step("describe_pod", args, f"the pod the {source} names", evidence)]


def _pod_steps(key: str, pods: list[str], namespace: str, *, crashed: bool,
               evidence: list[Evidence]) -> list[StepCandidate]:
    out = []
    for pod in pods[:_MAX_TARGETS]:
        why = f"{key} lists pod {pod}"
        out.append(_step("describe_pod", {"namespace": namespace, "pod": pod}, why, evidence))
        if crashed:
            out.append(_step("get_logs", {"namespace": namespace, "pod": pod, "previous": True},
                             f"{key} lists pod {pod}: read its previous container's logs", evidence))
    return out


def fallback_steps(ctx: PlanContext, namespace: str | None) -> list[StepCandidate]:
    """First read-only checks on the object the alert or request names, when the runbook gives none."""
    entities = ctx.entities
    out: list[StepCandidate] = []
    labels = ctx.alert.labels if ctx.alert else {}
    evidence = [Evidence(key=f"alert.{k}", value=v, source="alert")
                for k, v in labels.items() if k in ("alertname", "pod", "node", "instance", "namespace")]
    if not evidence and ctx.request.text.strip():
        evidence = [Evidence(key="request", value=ctx.request.text[:200], source="request")]
    if entities.pod and namespace:
        out.append(_step("describe_pod", {"namespace": namespace, "pod": entities.pod},
                         "status and events of the affected pod", evidence))
        out.append(_step("get_logs", {"namespace": namespace, "pod": entities.pod},
                         "logs of the affected pod", evidence))
    if entities.node:
        out.append(_step("describe_node", {"node": entities.node}, "the node's conditions", evidence))
    if namespace and not entities.pod:
        out.append(_step("list_pods", {"namespace": namespace}, "which pods run and in what state", evidence))
        out.append(_step("get_events", {"namespace": namespace}, "recent events", evidence))
    if ctx.alert is not None and ctx.alert.name:
        out.append(_step("get_active_alerts", {"matchers": [f"alertname={ctx.alert.name}"]},
                         "what else is firing with this alert", evidence))
    return out


def _names(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(v).split()[0] for v in value if isinstance(v, str) and v.strip()]
    return []


def _step(tool: str, args: dict[str, Any], why: str, evidence: list[Evidence]) -> StepCandidate:
    return StepCandidate(tool, args, "diagnose", "evidence", None, quote=why, extra={"evidence": evidence})
