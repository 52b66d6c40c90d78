"""Compile a checked PolicyFile to Cedar (evaluation: ``policy_engine.CedarEngine``).

Cedar model:
- entity types ``Role``, ``User in [Role]`` and ``Tool`` (attrs: toolset, mutating);
- two actions per tool, ``request:<tool>`` and ``approve:<tool>``, members of the groups
  ``request`` / ``approve``; requests of mutating tools are also in ``mutating``;
- a typed context per tool: environment, namespace, target, risk, mutating, freeze and
  ``args`` (int -> Long, bool -> Boolean, duration -> Long seconds, lists -> Set<String>,
  everything else String; optional arguments are optional attributes).

Cedar names a matched policy by position (``policy7``); ``PolicyMeta`` maps it back to
the rule id and a readable message for the decision's reasons.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cedarpy

from copilot import argtypes
from copilot.catalog import Catalog
from copilot.domain import ToolSpec
from copilot.policy_checks import select_tools
from copilot.policy_model import PolicyFile, Rule

_CEDAR_TYPES = {"int": "Long", "bool": "Boolean", "duration": "Long"}
_SETS = ("list[str]", "matchers")


@dataclass(frozen=True)
class PolicyMeta:
    """What a compiled Cedar policy stands for."""

    rule_id: str
    kind: str  # request | approve | limit | forbid | freeze | cedar
    message: str


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    rule_ids: tuple[str, ...]  # the rules that decided (permits when allowed, forbids when denied)
    reasons: tuple[str, ...]  # readable messages of the forbids that matched (empty when allowed)


def action_id(kind: str, tool: str) -> str:
    return f"{kind}:{tool}"


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


# --------------------------------------------------------------------------- schema


def build_schema(catalog: Catalog) -> dict[str, Any]:
    actions: dict[str, Any] = {"request": {}, "approve": {}, "mutating": {}}
    for spec in catalog:
        applies = {"principalTypes": ["User"], "resourceTypes": ["Tool"], "context": _context_type(spec)}
        groups = [{"id": "request"}] + ([{"id": "mutating"}] if spec.mutating else [])
        actions[action_id("request", spec.name)] = {"memberOf": groups, "appliesTo": applies}
        actions[action_id("approve", spec.name)] = {"memberOf": [{"id": "approve"}], "appliesTo": applies}
    tool_shape = {
        "type": "Record",
        "attributes": {"toolset": {"type": "String"}, "mutating": {"type": "Boolean"}},
    }
    entity_types = {"Role": {}, "User": {"memberOfTypes": ["Role"]}, "Tool": {"shape": tool_shape}}
    return {"": {"entityTypes": entity_types, "actions": actions}}


def _context_type(spec: ToolSpec) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for arg in spec.args:
        if arg.type in _SETS:
            typ: dict[str, Any] = {"type": "Set", "element": {"type": "String"}}
        else:
            typ = {"type": _CEDAR_TYPES.get(arg.type, "String")}
        args[arg.name] = {**typ, "required": arg.required}
    string, boolean = {"type": "String"}, {"type": "Boolean"}
    return {
        "type": "Record",
        "attributes": {
            "environment": string,
            "namespace": string,
            "target": string,
            "risk": string,
            "mutating": boolean,
            "freeze": boolean,
            "args": {"type": "Record", "attributes": args},
        },
    }


def context_args(spec: ToolSpec, args: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical call args in the Cedar context's types."""
    out: dict[str, Any] = {}
    for arg in spec.args:
        if arg.name not in args:
            continue
        value = args[arg.name]
        if arg.type == "duration":
            value = argtypes.duration_seconds(value)
        elif arg.type in _SETS:
            value = [str(v) for v in value]
        elif arg.type not in _CEDAR_TYPES:
            value = str(value)
        out[arg.name] = value
    return out


def base_entities(doc: PolicyFile, catalog: Catalog) -> list[dict[str, Any]]:
    roles = [{"uid": {"type": "Role", "id": name}, "attrs": {}, "parents": []} for name in doc.roles]
    tools = [
        {
            "uid": {"type": "Tool", "id": s.name},
            "attrs": {"toolset": s.toolset, "mutating": s.mutating},
            "parents": [],
        }
        for s in catalog
    ]
    return roles + tools


# --------------------------------------------------------------------------- policies


def compile_policies(doc: PolicyFile, catalog: Catalog) -> list[tuple[str, PolicyMeta]]:
    """Cedar policy texts (one policy each) in evaluation-id order, with what each one means."""
    out: list[tuple[str, PolicyMeta]] = [_freeze_policy(doc, catalog)]
    for rule in doc.rules:
        out += _rule_policies(rule, select_tools(doc, catalog, rule.tools))
    return out


def _actions(kind: str, tools: Sequence[str]) -> str:
    return "[" + ", ".join(f"Action::{_quote(action_id(kind, t))}" for t in tools) + "]"


def _in_roles(roles: Sequence[str]) -> str:
    return "principal in [" + ", ".join(f"Role::{_quote(r)}" for r in roles) + "]"


def _scope_conditions(rule: Rule) -> list[str]:
    conds = []
    if rule.environments:
        conds.append(
            "[" + ", ".join(_quote(e) for e in rule.environments) + "].contains(context.environment)"
        )
    if rule.namespaces:
        conds.append("(" + " || ".join(f"context.namespace like {_quote(g)}" for g in rule.namespaces) + ")")
    if rule.risks:
        conds.append("[" + ", ".join(_quote(r) for r in rule.risks) + "].contains(context.risk)")
    return conds


def _policy(effect: str, annotation: str, kind: str, tools: Sequence[str], conds: Sequence[str]) -> str:
    when = f" when {{ {' && '.join(conds)} }}" if conds else ""
    return (
        f"@id({_quote(annotation)})\n{effect}(principal, action in {_actions(kind, tools)}, resource){when};"
    )


def _rule_policies(rule: Rule, tools: list[str]) -> list[tuple[str, PolicyMeta]]:
    scope = _scope_conditions(rule)
    out: list[tuple[str, PolicyMeta]] = []
    for kind, roles in (("request", rule.request), ("approve", rule.approve)):
        if roles:
            text = _policy("permit", f"{rule.id}/{kind}", kind, tools, [_in_roles(roles), *scope])
            out.append((text, PolicyMeta(rule.id, kind, f"rule {rule.id!r} lets {', '.join(roles)} {kind}")))
    who = [_in_roles(rule.roles)] if rule.roles else []
    if rule.effect == "forbid":
        text = _policy("forbid", rule.id, "request", tools, [*who, *scope])
        message = f"{rule.reason or 'forbidden'} (rule {rule.id!r})"
        out.append((text, PolicyMeta(rule.id, "forbid", message)))
    for arg, limit in rule.limits.items():
        bounds, words = [], []
        if limit.max is not None:
            bounds.append(f"context.args.{arg} > {_bound(limit.max)}")
            words.append(f"at most {limit.max}")
        if limit.min is not None:
            bounds.append(f"context.args.{arg} < {_bound(limit.min)}")
            words.append(f"at least {limit.min}")
        cond = f"context.args has {arg} && ({' || '.join(bounds)})"
        text = _policy("forbid", f"{rule.id}/limit/{arg}", "request", tools, [*who, *scope, cond])
        message = f"{arg} is outside the limit of rule {rule.id!r}; use {' and '.join(words)}"
        if rule.reason:
            message += f" ({rule.reason})"
        out.append((text, PolicyMeta(rule.id, "limit", message)))
    return out


def _bound(value: int | str) -> int:
    return value if isinstance(value, int) else argtypes.duration_seconds(value)


def _freeze_policy(doc: PolicyFile, catalog: Catalog) -> tuple[str, PolicyMeta]:
    freeze = doc.freeze
    tools = [s.name for s in catalog if s.mutating and s.name not in freeze.exempt_tools]
    conds = (
        ["context.freeze"] if tools else ["false"]
    )  # every mutating tool exempt: the freeze blocks nothing
    tools = tools or catalog.names
    if freeze.exempt_roles:
        conds.append(f"!({_in_roles(freeze.exempt_roles)})")
    exempt = f"; exempt roles: {', '.join(freeze.exempt_roles)}" if freeze.exempt_roles else ""
    message = f"change freeze in force ({freeze.reason}); mutating tools are blocked{exempt}"
    return _policy("forbid", "freeze", "request", tools, conds), PolicyMeta("freeze", "freeze", message)


def raw_policy_meta(cedar_text: str) -> list[PolicyMeta]:
    """Meta for hand-written Cedar: @id names the rule, @reason (if any) is the message."""
    parsed = json.loads(cedarpy.policies_to_json_str(cedar_text))["staticPolicies"]
    metas = []
    for pid in sorted(parsed, key=lambda p: int(p.removeprefix("policy"))):
        notes = parsed[pid].get("annotations", {})
        rule_id = notes.get("id") or f"cedar#{pid.removeprefix('policy')}"
        message = notes.get("reason") or f"{parsed[pid]['effect']} by hand-written Cedar policy {rule_id!r}"
        metas.append(PolicyMeta(rule_id, "cedar", message))
    return metas
