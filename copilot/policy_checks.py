"""Cross-reference checks of a parsed ``policy.yaml``: roles, environments, tools, limits,
approvals; and which catalog tools a rule's selectors pick. Pure.

Every mistake becomes one ConfigError line: ``FILE:LINE: what is wrong; the fix``.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

from copilot import argtypes
from copilot.catalog import Catalog
from copilot.policy_model import (
    GLOB,
    GROUPS,
    LIMIT_TYPES,
    NAME,
    RULE_ID,
    Limit,
    Locator,
    Path_,
    PolicyFile,
    Rule,
)


def did_you_mean(word: str, choices: Sequence[str]) -> str:
    close = [c for c in choices if c.startswith(word) or word.startswith(c)]
    close = close or difflib.get_close_matches(word, choices, n=1)
    return f"did you mean {close[0]!r}? " if close else ""


def duration_value(value: str | int, where: Locator, path: Path_) -> int:
    try:
        return argtypes.duration_seconds(value)
    except ValueError as exc:
        raise where.error(path, f"{exc}") from None


def check_document(doc: PolicyFile, catalog: Catalog, where: Locator) -> None:
    """Cross-reference checks: roles, environments, tools, limits, approvals."""
    roles = list(doc.roles)
    for name in roles:
        if not NAME.match(name):
            raise where.error(
                ("roles", name), f"role name {name!r} must be lower-case letters, digits, - or _"
            )
    _check_roles(doc, roles, where)
    _check_environments(doc, where)
    for index, tool in enumerate(doc.notify):
        path: Path_ = ("notify", index)
        _check_tool_name(tool, catalog, where, path)
        if catalog.get(tool).mutating:
            raise where.error(
                path, f"notify tool {tool!r} is mutating in the catalog; list only non-mutating tools"
            )
    for index, tool in enumerate(doc.freeze.exempt_tools):
        _check_tool_name(tool, catalog, where, ("freeze", "exempt_tools", index))
    for level in ("low", "medium", "high"):
        if level not in doc.defaults.risk:
            raise where.error(("defaults", "risk"), f"defaults.risk needs an entry for {level!r}")
        duration_value(doc.defaults.risk[level].ttl, where, ("defaults", "risk", level, "ttl"))
    seen: dict[str, int] = {}
    for index, rule in enumerate(doc.rules):
        if rule.id in seen:
            raise where.error(
                ("rules", index, "id"),
                f"rule id {rule.id!r} is already used by rules[{seen[rule.id]}]; give each rule its own id",
            )
        seen[rule.id] = index
        check_rule(doc, rule, catalog, where, ("rules", index))


def _check_roles(doc: PolicyFile, roles: list[str], where: Locator) -> None:
    refs: list[tuple[Path_, str]] = []
    for kind in ("users", "groups"):
        for who, names in getattr(doc.bindings, kind).items():
            refs += [(("bindings", kind, who, i), r) for i, r in enumerate(names)]
    refs += [(("freeze", "exempt_roles", i), r) for i, r in enumerate(doc.freeze.exempt_roles)]
    for index, rule in enumerate(doc.rules):
        for key in ("request", "approve", "roles"):
            refs += [(("rules", index, key, i), r) for i, r in enumerate(getattr(rule, key))]
    for path, role in refs:
        if role not in doc.roles:
            raise where.error(
                path,
                f"role {role!r} is not defined; {did_you_mean(role, roles)}defined roles: {', '.join(roles)}",
            )
        if path[2:3] == ("approve",) and not doc.roles[role].can_approve:
            raise where.error(
                path, f"role {role!r} has can_approve: false and can never approve; remove it here"
            )


def _check_environments(doc: PolicyFile, where: Locator) -> None:
    envs = doc.env_names()
    for name in envs:
        if not NAME.match(name):
            raise where.error(
                ("environments",), f"environment name {name!r} must be lower-case letters, digits, -, _"
            )
    for index, match in enumerate(doc.environments.match):
        path: Path_ = ("environments", "match", index)
        if (match.namespace is None) == (match.target is None):
            raise where.error(
                path, "an environment match needs exactly one of namespace: or target: (a glob)"
            )
        glob = match.namespace or match.target or ""
        if not GLOB.match(glob):
            raise where.error(path, f"glob {glob!r} may hold only letters, digits, . _ : / - and *")
    for index, rule in enumerate(doc.rules):
        for i, env in enumerate(rule.environments):
            if env not in envs:
                raise where.error(
                    ("rules", index, "environments", i),
                    f"environment {env!r} is not defined; "
                    f"{did_you_mean(env, envs)}defined environments: {', '.join(envs)}",
                )
        for i, glob in enumerate(rule.namespaces):
            if not GLOB.match(glob):
                raise where.error(
                    ("rules", index, "namespaces", i),
                    f"namespace glob {glob!r} may hold only letters, digits, . _ : / - and *",
                )


def _check_tool_name(tool: str, catalog: Catalog, where: Locator, path: Path_) -> None:
    if tool not in catalog:
        raise where.error(
            path,
            f"tool {tool!r} is not in the catalog; {did_you_mean(tool, catalog.names)}"
            "use a catalog tool name, a group (all, mutating, read-only, notify) or toolset:NAME",
        )


def check_rule(doc: PolicyFile, rule: Rule, catalog: Catalog, where: Locator, path: Path_) -> None:
    if not RULE_ID.match(rule.id):
        raise where.error((*path, "id"), f"rule id {rule.id!r} may hold only letters, digits, . _ : -")
    if not rule.tools:
        raise where.error((*path, "tools"), f"rule {rule.id!r} selects no tools; list tool names or a group")
    if rule.risks and rule.risk is not None:
        raise where.error(
            (*path, "risk"),
            f"rule {rule.id!r} is scoped by risks: and cannot also raise risk: (the floor would decide "
            "its own scope); move risk: to a rule without risks:",
        )
    if rule.effect == "forbid":
        for key in ("request", "approve", "approvals", "ttl", "risk"):
            if getattr(rule, key) not in (None, []):
                raise where.error(
                    (*path, key), f"forbid rule {rule.id!r} cannot set {key}; move it to a permit rule"
                )
    for index, selector in enumerate(rule.tools):
        if selector not in GROUPS and not selector.startswith("toolset:"):
            _check_tool_name(selector, catalog, where, (*path, "tools", index))
        elif selector.startswith("toolset:") and not select_tools(doc, catalog, [selector]):
            raise where.error(
                (*path, "tools", index),
                f"{selector!r} matches no tool; toolsets: {', '.join(sorted({s.toolset for s in catalog}))}",
            )
    tools = select_tools(doc, catalog, rule.tools)
    if rule.approvals == 0:
        mutating = [t for t in tools if catalog.get(t).mutating]
        if mutating:
            raise where.error(
                (*path, "approvals"),
                f"rule {rule.id!r} gives mutating tool {mutating[0]!r} 0 "
                "approvals; every mutating call needs at least 1 approval",
            )
    if rule.ttl is not None:
        duration_value(rule.ttl, where, (*path, "ttl"))
    for arg, limit in rule.limits.items():
        _check_limit(rule, arg, limit, tools, catalog, where, (*path, "limits", arg))


def _check_limit(
    rule: Rule, arg: str, limit: Limit, tools: list[str], catalog: Catalog, where: Locator, path: Path_
) -> None:
    for tool in tools:
        spec = catalog.get(tool).arg(arg)
        if spec is None or spec.type not in LIMIT_TYPES:
            kind = "has no argument" if spec is None else f"has a {spec.type} argument"
            raise where.error(
                path,
                f"rule {rule.id!r} limits {arg!r} but tool {tool!r} {kind} {arg!r}; limits "
                "apply to int or duration arguments only",
            )
    if limit.min is None and limit.max is None:
        raise where.error(path, f"limit on {arg!r} needs min: and/or max:")
    for bound in ("min", "max"):
        value = getattr(limit, bound)
        if value is None:
            continue
        is_duration = catalog.get(tools[0]).arg(arg).type == "duration"  # type: ignore[union-attr]
        if isinstance(value, str) and not is_duration:
            raise where.error((*path, bound), f"limit {arg}.{bound} must be a whole number, got {value!r}")
        if is_duration:
            duration_value(value, where, (*path, bound))


def select_tools(doc: PolicyFile, catalog: Catalog, selectors: Sequence[str]) -> list[str]:
    """Tool names picked by a rule's ``tools:`` selectors, in catalog order."""
    notify = set(doc.notify)
    picked: list[str] = []
    for spec in catalog:
        for selector in selectors:
            if (
                selector == spec.name
                or selector == "all"
                or (selector == "mutating" and spec.mutating)
                or (selector == "notify" and spec.name in notify)
                or (selector == "read-only" and not spec.mutating and spec.name not in notify)
                or selector == f"toolset:{spec.toolset}"
            ):
                picked.append(spec.name)
                break
    return picked
