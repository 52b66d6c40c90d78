"""Placeholder binding: ``$NAMESPACE`` -> ``shop``, then canonical args through the catalog.

Values come from the entities first, then from telemetry facts named like the
placeholder (``$QUERY_ID`` <- ``blocking_query_id``; ``$MAX_REPLICAS`` <-
``recommended_max_replicas``, else half again the current maximum). A required
argument that stays unbound drops the call; an optional one is removed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from copilot.catalog import Catalog
from copilot.errors import ArgumentError, UnknownToolError

_PLACEHOLDER = re.compile(r"\$\{?([A-Z][A-Z0-9_]*)\}?")
_WHOLE = re.compile(r"^\$\{?([A-Z][A-Z0-9_]*)\}?$")
_ANGLE = re.compile(r"<([A-Za-z][\w .-]*)>")  # `<cluster ID>`: a placeholder ingestion left as written
_PREFIXES = ("YOUR_", "MY_", "THE_", "AFFECTED_", "TARGET_", "FAILING_", "FAILED_")
# A whole-value placeholder the entities do not know, in an argument of this name, takes this entity.
_ARG_ENTITY = {"namespace": "NAMESPACE", "pod": "POD", "node": "NODE", "deployment": "DEPLOYMENT",
               "pvc": "PVC",
               "job": "JOB", "secret": "SECRET", "hpa": "HPA", "cluster": "CLUSTER", "zone": "ZONE",
               "function": "FUNCTION", "flag": "FLAG", "database": "DATABASE", "container": "CONTAINER",
               "cidr": "CIDR"}
_NAME_ARGS = frozenset({*_ARG_ENTITY, "target", "query_id", "system", "runbook"})
_REDACTED = "[REDACTED:"
_SYNONYMS = {"QUERY_ID": ("PID", "BACKEND_PID", "SESSION_ID"), "PID": ("QUERY_ID", "BACKEND_PID")}
_TARGET_PREFIXES = ("recommended_", "target_", "desired_", "suggested_", "new_")
# Scale-up values derivable from a current figure when no target is given: "raise it by about half".
_GROWTH = {"max_replicas": ("hpa_max_replicas", "max_replicas", "current_max_replicas"),
           "replicas": ("current_replicas", "replicas", "deployment_replicas", "ready_replicas"),
           "size": ("pvc_capacity_gi", "pvc_size_gi", "capacity_gi", "volume_size_gi")}


@dataclass
class Binding:
    """The outcome of binding one call: canonical args, or why it cannot be proposed."""

    args: dict[str, Any] | None
    missing: list[str] = field(default_factory=list)
    error: str | None = None
    used_facts: list[str] = field(default_factory=list)


class Binder:
    """Binds placeholders from entity values and telemetry, then validates through the catalog."""

    def __init__(self, catalog: Catalog, values: Mapping[str, str], telemetry: Mapping[str, Any]) -> None:
        self._catalog = catalog
        self._values = dict(values)
        self._telemetry = telemetry
        self._by_name: dict[str, str] = {}
        for key in telemetry:
            self._by_name.setdefault(str(key).split("{", 1)[0].strip().lower(), key)

    def bind(self, tool: str, args: Mapping[str, Any]) -> Binding:
        try:
            spec = self._catalog.get(tool)
        except UnknownToolError as exc:
            return Binding(None, error=str(exc))
        bound: dict[str, Any] = {}
        missing: list[str] = []
        used: list[str] = []
        for name, raw in args.items():
            arg = spec.arg(name)
            if arg is None:
                continue
            if isinstance(raw, str) and name != "query":
                raw = _ANGLE.sub(lambda m: "$" + re.sub(r"\W+", "_", m.group(1).strip()).upper(), raw)
            value = self._substitute(raw, used)
            if value is None and name in _ARG_ENTITY:
                value = self._entity_for(_ARG_ENTITY[name], str(raw).strip())
            if name in _NAME_ARGS and isinstance(value, str) and _REDACTED in value:
                value = None  # a masked secret is no object's name: never a target
            if value is None:
                if arg.required:
                    missing.append(name)
                continue
            if arg.type == "str" and isinstance(value, int | float) and not isinstance(value, bool):
                value = str(value)  # a pid from telemetry is a number; the tool takes a string
            bound[name] = value
        missing += [a.name for a in spec.args if a.required and a.name not in bound and a.name not in missing]
        if missing:
            return Binding(None, missing=missing, used_facts=used)
        try:
            return Binding(self._catalog.validate_args(tool, bound), used_facts=used)
        except ArgumentError as exc:
            return Binding(None, error=str(exc), used_facts=used)

    def _entity_for(self, entity: str, raw: str) -> Any:
        """An unbound ``$KMP_NAMESPACE`` as a namespace is the namespace; ``klusterlet-$CLUSTER_ID`` is the
        namespace when the bound one has that shape (``klusterlet-4f2a9c``)."""
        value = self._values.get(entity)
        if value is None or _WHOLE.match(raw):
            return value
        pattern = "".join(".+" if part.startswith("$") else re.escape(part)
                          for part in re.split(r"(\$\{?[A-Z][A-Z0-9_]*\}?)", raw) if part)
        return value if re.fullmatch(pattern, value) else None

    def resolve(self, name: str, used: list[str] | None = None) -> Any:
        """The value of placeholder ``name`` (``NAMESPACE``), or None; then its synonyms (a query id is
        the backend's ``PID`` in PostgreSQL runbooks)."""
        for alias in (name, *_SYNONYMS.get(name, ())):
            for candidate in _spellings(alias):
                if candidate in self._values:
                    return self._values[candidate]
            fact = self._fact(alias.lower())
            if fact is not None:
                if used is not None:
                    used.append(fact[0])
                return fact[1]
        return None

    def _substitute(self, raw: Any, used: list[str]) -> Any:
        if isinstance(raw, list):
            items = [self._substitute(item, used) for item in raw]
            return None if any(item is None for item in items) else items
        if not isinstance(raw, str):
            return raw
        whole = _WHOLE.match(raw.strip())
        if whole:
            return self.resolve(whole.group(1), used)
        unbound: list[str] = []

        def replace(match: re.Match[str]) -> str:
            value = self.resolve(match.group(1), used)
            if value is None:
                unbound.append(match.group(1))
                return match.group(0)
            return str(value)

        text = _PLACEHOLDER.sub(replace, raw)
        return None if unbound else text

    def _fact(self, name: str) -> tuple[str, Any] | None:
        for prefix in _TARGET_PREFIXES:
            key = self._by_name.get(prefix + name)
            if key is not None and _scalar(self._telemetry[key]):
                return key, self._telemetry[key]
        if name in _GROWTH:
            for current in _GROWTH[name]:
                key = self._by_name.get(current)
                if key is not None and isinstance(self._telemetry[key], int | float):
                    return key, _grow(name, self._telemetry[key])
            return None
        key = self._by_name.get(name)
        if key is None:
            key = next((k for n, k in self._by_name.items() if n.endswith("_" + name)), None)
        if key is not None and _scalar(self._telemetry[key]):
            return key, self._telemetry[key]
        return None


def _grow(name: str, current: float) -> Any:
    grown = max(math.ceil(current * 1.5), int(current) + 1)
    return f"{grown}Gi" if name == "size" else grown


def _scalar(value: Any) -> bool:
    return isinstance(value, str | int | float) and not isinstance(value, bool)


def _spellings(name: str) -> list[str]:
    out = [name]
    stripped = name
    for prefix in _PREFIXES:
        if stripped.startswith(prefix):
            stripped = stripped[len(prefix):]
    if stripped != name:
        out.append(stripped)
    if stripped.endswith("_NAME"):
        out.append(stripped[: -len("_NAME")])
    return out


def placeholders_in(value: Any) -> list[str]:
    """Every ``$NAME`` inside a (nested) arg value."""
    if isinstance(value, str):
        return _PLACEHOLDER.findall(value)
    if isinstance(value, list):
        return [name for item in value for name in placeholders_in(item)]
    if isinstance(value, dict):
        return [name for item in value.values() for name in placeholders_in(item)]
    return []


_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"([^"]*)"')
_UNSCOPED_LABELS = frozenset({"alertname", "severity", "prometheus", "receiver"})


def scope_query(query: str, labels: Mapping[str, str]) -> str:
    """Scope a runbook's example PromQL with the alert's labels.

    ``namespace="openshift-monitoring"`` takes the alert's namespace; a matcher whose value is an
    example placeholder (``"<value of instance label>"``, ``...``) takes the alert's label or is
    removed; ``$PLACEHOLDER`` values are left for the binder.
    """
    def rewrite(match: re.Match[str]) -> str:
        name, op, value = match.groups()
        wanted = labels.get(name)
        if wanted and value.strip("${}").upper() == name.upper() and value.startswith("$"):
            return f'{name}{op}"{wanted}"'  # job="$JOB": the alert's own label
        if wanted and op == "=" and name not in _UNSCOPED_LABELS and "$" not in value:
            return f'{name}="{wanted}"'
        if value.startswith("<") or value in ("...", "…"):
            return f'{name}="{wanted}"' if wanted else ""
        return match.group(0)

    scoped = _MATCHER.sub(rewrite, query)
    scoped = re.sub(r"\{\s*\.\.\.\s*\}", "", scoped)
    scoped = re.sub(r"\{[\s,]*\}", "", scoped)
    scoped = re.sub(r"\{\s*,\s*", "{", scoped)
    scoped = re.sub(r",\s*,", ",", scoped)
    return re.sub(r",\s*\}", "}", scoped)
