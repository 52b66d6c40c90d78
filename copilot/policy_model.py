"""The shape of ``policy.yaml``: its models, parsing with line numbers. Pure apart from reading one
text. The cross-reference checks live in ``policy_checks``.

Every mistake becomes one ConfigError line: ``FILE:LINE: what is wrong; the fix``.
Line numbers come from ``yaml.compose`` node marks, so they point at the key that is wrong.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

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
