"""The shape of ``policy.yaml`` and its checks. Pure apart from reading one text.

Every mistake becomes one ConfigError line: ``FILE:LINE: what is wrong; the fix``.
Line numbers come from ``yaml.compose`` node marks, so they point at the key that is wrong.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Sequence
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copilot import argtypes
from copilot.catalog import Catalog
from copilot.domain import Risk
from copilot.errors import ConfigError

NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
RULE_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]*$")
GLOB = re.compile(r"^[A-Za-z0-9*._:/-]+$")
GROUPS = ("all", "mutating", "read-only", "notify")
LIMIT_TYPES = ("int", "duration")

Path_ = tuple[str | int, ...]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RoleSpec(_Strict):
    description: str = ""
    can_approve: bool = True


class Bindings(_Strict):
    users: dict[str, list[str]] = Field(default_factory=dict)
    groups: dict[str, list[str]] = Field(default_factory=dict)


class EnvMatch(_Strict):
    env: str
    namespace: str | None = None
    target: str | None = None


class Environments(_Strict):
    default: str = "prod"
    production: list[str] = Field(default_factory=lambda: ["prod"])
    match: list[EnvMatch] = Field(default_factory=list)


class Freeze(_Strict):
    enabled: bool = False
    reason: str = "change freeze"
    exempt_roles: list[str] = Field(default_factory=list)
    exempt_tools: list[str] = Field(default_factory=list)


class RiskDefault(_Strict):
    approvals: int = Field(ge=0, le=5)
    ttl: str | int


class Defaults(_Strict):
    risk: dict[Risk, RiskDefault]


class Limit(_Strict):
    min: int | str | None = None
    max: int | str | None = None


class Rule(_Strict):
    id: str
    tools: list[str]
    effect: Literal["permit", "forbid"] = "permit"
    request: list[str] = Field(default_factory=list)
    approve: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    environments: list[str] = Field(default_factory=list)
    namespaces: list[str] = Field(default_factory=list)
    risks: list[Risk] = Field(default_factory=list)  # applies only to calls of these (final) risks
    limits: dict[str, Limit] = Field(default_factory=dict)
    approvals: int | None = Field(None, ge=0, le=5)
    ttl: str | int | None = None
    risk: Risk | None = None
    reason: str = ""


class PolicyFile(_Strict):
    version: Literal[1] = 1
    roles: dict[str, RoleSpec]
    bindings: Bindings = Field(default_factory=Bindings)
    environments: Environments = Field(default_factory=Environments)
    freeze: Freeze = Field(default_factory=Freeze)
    defaults: Defaults
    notify: list[str] = Field(default_factory=list)
    rules: list[Rule]
    cedar: str | None = None
    cedar_file: str | None = None

    def env_names(self) -> list[str]:
        envs = self.environments
        return list(dict.fromkeys([envs.default, *envs.production, *(m.env for m in envs.match)]))


# --------------------------------------------------------------------------- locating lines


class Locator:
    """Maps a path of keys / indexes inside the YAML document to a 1-based line."""

    def __init__(self, source: str, root: yaml.Node | None) -> None:
        self.source = source
        self._root = root

    def line(self, path: Path_) -> int:
        node, line = self._root, 1
        for part in path:
            found = _child(node, part)
            if found is None:
                break
            key_node, node = found
            line = (key_node or node).start_mark.line + 1
        return line

    def error(self, path: Path_, message: str) -> ConfigError:
        return ConfigError(f"{self.source}:{self.line(path)}: {message}")


def _child(node: yaml.Node | None, part: str | int) -> tuple[yaml.Node | None, yaml.Node] | None:
    if isinstance(node, yaml.MappingNode) and isinstance(part, str):
        return next(((k, v) for k, v in node.value if k.value == part), None)
    if isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
        return None, node.value[part]
    return None


def _duplicate_keys(node: yaml.Node | None) -> Iterator[yaml.Node]:
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key, value in node.value:
            if key.value in seen:
                yield key
            seen.add(key.value)
            yield from _duplicate_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _duplicate_keys(item)


def parse_document(text: str, source: str) -> tuple[PolicyFile, Locator]:
    """YAML text -> validated PolicyFile (shape only) and a Locator for later errors."""
    try:
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark else 1
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(
            f"{source}:{line}: YAML syntax error ({problem}); fix the indentation or quoting"
        ) from None
    where = Locator(source, root)
    for key in _duplicate_keys(root):
        raise ConfigError(f"{source}:{key.start_mark.line + 1}: key {key.value!r} appears twice; keep one")
    if not isinstance(data, dict):
        raise where.error((), "a policy file is a mapping with roles:, defaults: and rules:; see policy.yaml")
    try:
        return PolicyFile.model_validate(data), where
    except ValidationError as exc:
        raise _shape_error(exc, where) from None


def _shape_error(exc: ValidationError, where: Locator) -> ConfigError:
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
    err = errors[0]
    loc: Path_ = tuple(err["loc"])
    dotted = ".".join(str(p) for p in loc)
    if err["type"] == "extra_forbidden":
        parent = _model_at(loc[:-1])
        allowed = f"; allowed keys here: {', '.join(parent.model_fields)}" if parent else ""
        return where.error(loc, f"unknown key {loc[-1]!r} at {dotted}{allowed}")
    if err["type"] == "missing":
        return where.error(loc[:-1], f"missing key {dotted!r}; add it (see the shipped policy.yaml)")
    return where.error(loc, f"{dotted}: {err['msg']}; got {err.get('input')!r}")


def _model_at(loc: Path_) -> type[BaseModel] | None:
    model: type[BaseModel] | None = PolicyFile
    for part in loc:
        if model is None or isinstance(part, int):
            continue
        field = model.model_fields.get(part)
        if field is None:  # a dict key such as roles.<name> or limits.<arg>: the value type stays
            continue
        model = _model_of(field.annotation)
    return model


def _model_of(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_of(arg)
        if found is not None:
            return found
    return None


# --------------------------------------------------------------------------- meaning checks


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
