"""Entity extraction: names the planner binds into tool arguments.

Sources in priority order: alert labels, then the request text, then telemetry
(metric labels and list-valued facts such as ``pods_pending``). Log and event
tails are never mined for names: they are data that may carry injected text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from copilot.argtypes import is_bulk_name
from copilot.domain import Alert
from copilot.planning.names import as_cidr, workload_from_pod
from copilot.planning.request_text import entities_from_text

ENTITY_FIELDS = (
    "namespace", "pod", "deployment", "node", "service", "cluster", "pvc", "job", "cidr", "secret",
    "container", "hpa", "zone", "function", "flag", "database", "alertname",
)

# Alert / metric label names that carry each entity.
LABEL_ALIASES: dict[str, tuple[str, ...]] = {
    "namespace": ("namespace", "exported_namespace", "kubernetes_namespace", "ns"),
    "pod": ("pod", "pod_name", "exported_pod", "kubernetes_pod_name"),
    "deployment": ("deployment", "exported_deployment", "statefulset", "daemonset", "workload"),
    "node": ("node", "kubernetes_node", "nodename", "node_name"),
    "service": ("service", "app", "app_kubernetes_io_name", "exported_service"),
    "cluster": ("cluster", "db_cluster", "cluster_name", "pg_cluster"),
    "pvc": ("persistentvolumeclaim", "pvc", "claim"),
    "job": ("job_name", "k8s_job"),
    "cidr": ("cidr", "ip", "client_ip", "source_ip", "src_ip", "remote_addr"),
    "secret": ("secret", "secret_name"),
    "container": ("container", "container_name"),
    "hpa": ("horizontalpodautoscaler", "hpa"),
    "zone": ("zone", "cdn_zone", "zone_name"),
    "function": ("function", "function_name", "functionname", "lambda"),
    "flag": ("flag", "feature_flag"),
    "database": ("database", "datname", "db", "db_name"),
    "alertname": ("alertname",),
}
# Scrape-infrastructure services that label an alert but are not the affected workload.
_INFRA_SERVICES = frozenset({"kube-state-metrics", "kubelet", "node-exporter", "prometheus", "apiserver"})
# Scrape ports whose ``instance`` is a node (node-exporter, kubelet); any other port is a workload endpoint.
_NODE_PORTS = frozenset({"9100", "9101", "10250", "10255"})

# Extra placeholder spellings runbooks use for an entity.
_PLACEHOLDER_NAMES: dict[str, tuple[str, ...]] = {
    "namespace": ("NAMESPACE", "NS", "PROJECT", "NAMESPACE_NAME"),
    "pod": ("POD", "POD_NAME", "PODNAME"),
    "deployment": ("DEPLOYMENT", "DEPLOYMENT_NAME", "WORKLOAD", "APP"),
    "node": ("NODE", "NODE_NAME", "NODENAME", "HOST", "HOSTNAME"),
    "service": ("SERVICE", "SERVICE_NAME", "SVC"),
    "cluster": ("CLUSTER", "CLUSTER_NAME", "DB_CLUSTER"),
    "pvc": ("PVC", "PVC_NAME", "PERSISTENTVOLUMECLAIM", "CLAIM"),
    "job": ("JOB", "JOB_NAME"),
    "cidr": ("CIDR", "IP", "IP_ADDRESS", "SOURCE_IP", "CLIENT_IP"),
    "secret": ("SECRET", "SECRET_NAME"),
    "container": ("CONTAINER", "CONTAINER_NAME"),
    "hpa": ("HPA", "HPA_NAME"),
    "zone": ("ZONE", "ZONE_NAME", "CDN_ZONE"),
    "function": ("FUNCTION", "FUNCTION_NAME"),
    "flag": ("FLAG", "FLAG_NAME", "FEATURE_FLAG"),
    "database": ("DATABASE", "DB", "DB_NAME", "DATABASE_NAME"),
    "alertname": ("ALERTNAME", "ALERT_NAME", "ALERT"),
}


# Label names whose meaning entity extraction decides (plus the scrape ``job``, never a Kubernetes Job).
_ENTITY_LABELS = frozenset({"job", *(alias for aliases in LABEL_ALIASES.values() for alias in aliases)})


@dataclass(frozen=True)
class Entities:
    """Names bound from the alert, the request and telemetry; None when unknown."""

    namespace: str | None = None
    pod: str | None = None
    deployment: str | None = None
    node: str | None = None
    service: str | None = None
    cluster: str | None = None
    pvc: str | None = None
    job: str | None = None
    cidr: str | None = None
    secret: str | None = None
    container: str | None = None
    hpa: str | None = None
    zone: str | None = None
    function: str | None = None
    flag: str | None = None
    database: str | None = None
    alertname: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)  # entity -> "alert" | "request" | "telemetry" | ...

    def get(self, name: str) -> str | None:
        value = getattr(self, name, None) if name in ENTITY_FIELDS else None
        return value if isinstance(value, str) else None

    def placeholder_values(self) -> dict[str, str]:
        """``{"NAMESPACE": "shop", "POD_NAME": "...", ...}``; alert labels by upper-cased name too."""
        # Alert labels by name, except those entity extraction rules on: it deliberately leaves out a
        # scrape ``job`` (not a Kubernetes Job) or a ``service`` naming kube-state-metrics.
        values: dict[str, str] = {key.upper(): value for key, value in self.extra.items()
                                  if value and key not in _ENTITY_LABELS}
        for name in ENTITY_FIELDS:
            value = self.get(name)
            if value:
                for spelling in _PLACEHOLDER_NAMES[name]:
                    values[spelling] = value
        if self.cidr:
            values.setdefault("IP", self.cidr.split("/")[0])
        return values

    def as_dict(self) -> dict[str, str]:
        return {f.name: v for f in fields(self) if f.name in ENTITY_FIELDS and (v := getattr(self, f.name))}


# --------------------------------------------------------------------------- extraction


def extract_entities(alert: Alert | None, text: str, telemetry: Mapping[str, Any]) -> Entities:
    """Bind entities: alert labels first, then the request text, then telemetry."""
    found: dict[str, str] = {}
    sources: dict[str, str] = {}
    extra: dict[str, str] = {}
    if alert is not None:
        _merge(found, sources, _from_labels(alert.labels), "alert")
        extra.update({k: v for k, v in alert.labels.items() if isinstance(v, str) and v})
        workload = workload_from_pod(found["pod"]) if "pod" in found and "deployment" not in found else None
        if workload:  # the alert's pod names its workload better than any later source
            found["deployment"], sources["deployment"] = workload, "derived"
    from_text = entities_from_text(text)
    from_telemetry = _from_telemetry(telemetry, found)
    for entity, value in list(from_text.items()):
        # A plain word from free text ("since the deploy like 10 min ago") loses to a telemetry label.
        if entity in from_telemetry and not re.search(r"[-.\d]", value) and value not in str(telemetry):
            from_text.pop(entity)
    _merge(found, sources, from_text, "request")
    _merge(found, sources, from_telemetry, "telemetry")
    _derive(found, sources)
    return Entities(**found, extra=extra, sources=sources)


def _merge(found: dict[str, str], sources: dict[str, str], new: Mapping[str, str], source: str) -> None:
    for key, value in new.items():
        if value and key not in found:
            found[key] = value
            sources[key] = source


def _from_labels(labels: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for entity, aliases in LABEL_ALIASES.items():
        for alias in aliases:
            value = labels.get(alias)
            if isinstance(value, str) and value.strip() and (entity == "cidr" or not is_bulk_name(value)):
                if entity == "service" and (value in _INFRA_SERVICES or value == labels.get("job")):
                    continue
                out[entity] = value.strip()
                break
    if "cidr" in out:
        out["cidr"] = as_cidr(out["cidr"])
    node = _node_from_instance(labels) if "node" not in out else None
    if node:
        out["node"] = node
    return out


def _node_from_instance(labels: Mapping[str, str]) -> str | None:
    """The scrape ``instance`` names a node only for a node-level target: no pod label, no URL, a
    node-exporter/kubelet port (or none) and, when the scrape job is named, a node-level job."""
    instance = labels.get("instance")
    if not isinstance(instance, str) or not instance.strip() or "pod" in labels or "://" in instance:
        return None
    host, _, port = instance.strip().partition(":")
    job = labels.get("job", "")
    if port and port not in _NODE_PORTS:
        return None
    if isinstance(job, str) and job and "node" not in job.lower() and job.lower() != "kubelet":
        return None
    if re.fullmatch(r"[\d.]+", host) or host == "localhost" or is_bulk_name(host):
        return None
    return host


_KEY_LABELS = re.compile(r'(\w+)\s*=~?\s*"([^"]*)"')
_LIST_ENTITIES = {
    "pods_pending": "pod", "pods_crashlooping": "pod", "pods_not_ready": "pod", "pods_failed": "pod",
    "pods_oomkilled": "pod", "pods_evicted": "pod",
    "nodes_not_ready": "node", "nodes_cordoned": "node", "nodes_under_pressure": "node",
    "top_offender_ips": "cidr", "offending_ips": "cidr",
}


def _from_telemetry(telemetry: Mapping[str, Any], known: Mapping[str, str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in telemetry.items():
        name, _, label_text = str(key).partition("{")
        labels = dict(_KEY_LABELS.findall(label_text))
        for entity, label_value in _from_labels(labels).items():
            out.setdefault(entity, label_value)
        listed = _LIST_ENTITIES.get(name)
        if listed and isinstance(value, list) and value and isinstance(value[0], str) and value[0].strip():
            first = value[0].split()[0]
            if listed == "cidr" or not is_bulk_name(first):
                out.setdefault(listed, as_cidr(first) if listed == "cidr" else first)
        elif name in ENTITY_FIELDS and isinstance(value, str) and value.strip() and not is_bulk_name(value):
            out.setdefault(name, value.strip())
    return out


def _derive(found: dict[str, str], sources: dict[str, str]) -> None:
    if "deployment" not in found and "pod" in found:
        workload = workload_from_pod(found["pod"])
        if workload:
            found["deployment"], sources["deployment"] = workload, "derived"
    if "deployment" not in found and "service" in found:
        found["deployment"], sources["deployment"] = found["service"], "derived"
    if "service" not in found and "deployment" in found:
        found["service"], sources["service"] = found["deployment"], "derived"
    if "hpa" not in found and "deployment" in found:
        found["hpa"], sources["hpa"] = found["deployment"], "derived"

