"""The tool catalog: ``tools/*.yaml`` -> ToolSpecs and typed argument models.

A broken catalog fails at load with one line naming file, line and fix.
Loading reads files; everything after that (validation, normalisation) is pure.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Annotated, Any, cast

import yaml
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, create_model

from copilot import argtypes
from copilot.domain import RISK_ORDER, ArgSpec, CommandPattern, Risk, RiskRule, ToolCall, ToolSpec
from copilot.errors import ArgumentError, ConfigError, UnknownToolError
from copilot.yaml_source import parse_yaml

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ARG_TYPES: dict[str, Any] = {
    "str": str,
    "int": int,
    "bool": bool,
    "duration": Annotated[str | int, AfterValidator(argtypes.canonical_duration)],
    "cidr": Annotated[str, AfterValidator(argtypes.canonical_cidr)],
    "size": Annotated[str | int, AfterValidator(argtypes.canonical_size)],
    "list[str]": list[str],
    "matchers": Annotated[str | list[str], AfterValidator(argtypes.canonical_matchers)],
}


class _ToolFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    toolset: str
    tools: list[dict[str, Any]]


class _ToolEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    description: str
    mutating: bool
    risk: str
    args: dict[str, dict[str, Any]] = Field(default_factory=dict)
    target: str | None = None
    risk_rules: list[RiskRule] = Field(default_factory=list)
    commands: list[CommandPattern] = Field(default_factory=list)
    keywords: list[str] = Field(default_factory=list)


class Catalog:
    """The loaded catalog. Look up tools, validate and normalise call arguments."""

    def __init__(self, specs: Iterable[ToolSpec]) -> None:
        self._specs: dict[str, ToolSpec] = {}
        for spec in specs:
            if spec.name in self._specs:
                raise ConfigError(f"tool {spec.name!r} is defined twice; keep one definition")
            self._specs[spec.name] = spec
        self._models = {name: _args_model(spec) for name, spec in self._specs.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._specs

    def __iter__(self) -> Iterator[ToolSpec]:
        return iter(self._specs.values())

    def __len__(self) -> int:
        return len(self._specs)

    @property
    def names(self) -> list[str]:
        return sorted(self._specs)

    def get(self, name: str) -> ToolSpec:
        spec = self._specs.get(name)
        if spec is None:
            close = [n for n in self._specs if n.split("_")[0] in name or name.split("_")[0] in n][:5]
            known = ", ".join(self.names)
            hint = f"; did you mean {', '.join(close)}?" if close else f"; known tools: {known}"
            raise UnknownToolError(f"unknown tool {name!r}{hint}")
        return spec

    def args_model(self, name: str) -> type[BaseModel]:
        self.get(name)
        return self._models[name]

    def validate_args(self, name: str, args: Mapping[str, Any]) -> dict[str, Any]:
        """Validate and normalise args; returns canonical args without absent optionals."""
        model = self.args_model(name)
        try:
            parsed = model.model_validate(dict(args))
        except ValidationError as exc:
            raise ArgumentError(_explain(name, exc)) from None
        return parsed.model_dump(exclude_none=True)

    def normalize(self, call: ToolCall) -> ToolCall:
        """A copy of ``call`` with canonical args (raises UnknownToolError / ArgumentError)."""
        return call.model_copy(update={"args": self.validate_args(call.tool, call.args)})

    def target(self, call: ToolCall) -> str:
        """The lock / blast-radius target, e.g. ``shop/checkout``; defaults to the tool name."""
        spec = self.get(call.tool)
        if not spec.target:
            return spec.name
        values = {k: (",".join(map(str, v)) if isinstance(v, list) else v) for k, v in call.args.items()}
        return re.sub(r"\{(\w+)\}", lambda m: str(values.get(m.group(1), "*")), spec.target)


def _explain(tool: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        loc = ".".join(str(p) for p in err["loc"]) or "args"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "not an argument of this tool; remove it"
        elif err["type"] == "missing":
            msg = "required; add it"
        parts.append(f"{loc}: {msg}")
    return f"bad arguments for {tool}: " + "; ".join(parts)


def _args_model(spec: ToolSpec) -> type[BaseModel]:
    fields: dict[str, Any] = {}
    for arg in spec.args:
        base = _ARG_TYPES[arg.type]
        constraints: dict[str, Any] = {"description": arg.description or None}
        if arg.minimum is not None:
            constraints["ge"] = arg.minimum
        if arg.maximum is not None:
            constraints["le"] = arg.maximum
        if arg.pattern:
            constraints["pattern"] = arg.pattern
        if arg.max_items is not None:
            constraints["max_length"] = arg.max_items
        if arg.type == "str" and not arg.pattern:
            constraints["min_length"] = 1
            constraints["max_length"] = 4000
        if arg.choices:
            from typing import Literal

            base = Literal[tuple(arg.choices)]
        if arg.required:
            fields[arg.name] = (base, Field(**constraints))
        else:
            fields[arg.name] = (base | None, Field(None, **constraints))
    model_name = "".join(p.title() for p in spec.name.split("_")) + "Args"
    config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)
    return create_model(model_name, __config__=config, **fields)


# --------------------------------------------------------------------------- loading


def load_catalog(directory: Path) -> Catalog:
    """Load every ``*.yaml`` under ``directory``. Raises ConfigError naming file, line and fix."""
    files = sorted(Path(directory).glob("*.yaml"))
    if not files:
        raise ConfigError(f"{directory}: no tool catalog files (*.yaml); point COPILOT_CATALOG_DIR at tools/")
    specs: list[ToolSpec] = []
    seen: dict[str, str] = {}
    for path in files:
        for spec, where in _load_file(path):
            if spec.name in seen:
                raise ConfigError(f"{where}: tool {spec.name!r} is already defined in {seen[spec.name]}; "
                                  "rename or remove one")
            seen[spec.name] = where
            specs.append(spec)
    return Catalog(specs)


def _load_file(path: Path) -> list[tuple[ToolSpec, str]]:
    root, data = parse_yaml(path.read_text(encoding="utf-8"), str(path), ConfigError)
    try:
        parsed = _ToolFile.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{path}:1: {_first_error(exc)}; a catalog file has `toolset:` "
                          "and a `tools:` list") from None
    out = []
    tool_nodes = _tool_nodes(root)
    for index, raw in enumerate(parsed.tools):
        line_no = tool_nodes[index] if index < len(tool_nodes) else 1
        where = f"{path}:{line_no}"
        out.append((_build_spec(raw, parsed.toolset, where), where))
    return out


def _tool_nodes(root: yaml.Node | None) -> list[int]:
    if not isinstance(root, yaml.MappingNode):
        return []
    for key, value in root.value:
        if key.value == "tools" and isinstance(value, yaml.SequenceNode):
            return [item.start_mark.line + 1 for item in value.value]
    return []


def _first_error(exc: ValidationError) -> str:
    errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")  # a typo explains a "missing"
    err = errors[0]
    loc = ".".join(str(p) for p in err["loc"])
    if err["type"] == "extra_forbidden":
        return f"unknown key {loc!r}"
    if err["type"] == "missing":
        return f"missing key {loc!r}"
    return f"{loc}: {err['msg']}"


def _build_spec(raw: dict[str, Any], toolset: str, where: str) -> ToolSpec:
    name = raw.get("name", "?")
    try:
        entry = _ToolEntry.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}: tool {name!r}: {_first_error(exc)}; allowed keys: "
                          f"{', '.join(_ToolEntry.model_fields)}") from None
    if not _NAME.match(entry.name):
        raise ConfigError(f"{where}: tool name {entry.name!r} must be snake_case (a-z, 0-9, _)")
    if entry.risk not in RISK_ORDER:
        raise ConfigError(f"{where}: tool {entry.name!r}: risk {entry.risk!r} must be low, medium or high")
    args = tuple(_build_arg(entry.name, arg_name, arg, where) for arg_name, arg in entry.args.items())
    arg_names = {a.name for a in args}
    for placeholder in re.findall(r"\{(\w+)\}", entry.target or ""):
        if placeholder not in arg_names:
            raise ConfigError(f"{where}: tool {entry.name!r}: target uses {{{placeholder}}} which is not an "
                              f"argument; use one of {sorted(arg_names)}")
    for rule in entry.risk_rules:
        if rule.arg not in arg_names:
            raise ConfigError(f"{where}: tool {entry.name!r}: risk rule names unknown argument {rule.arg!r}")
    return ToolSpec(
        name=entry.name, toolset=toolset, description=entry.description.strip(), mutating=entry.mutating,
        risk=cast(Risk, entry.risk),
        args=args, target=entry.target, risk_rules=tuple(entry.risk_rules),
        commands=tuple(entry.commands), keywords=tuple(entry.keywords),
    )


def _build_arg(tool: str, name: str, raw: dict[str, Any], where: str) -> ArgSpec:
    if not isinstance(raw, dict):
        raise ConfigError(f"{where}: tool {tool!r}: argument {name!r} must be a mapping like {{type: str}}")
    raw = dict(raw)
    if "min" in raw:
        raw["minimum"] = raw.pop("min")
    if "max" in raw:
        raw["maximum"] = raw.pop("max")
    if raw.get("type") not in _ARG_TYPES:
        raise ConfigError(f"{where}: tool {tool!r}: argument {name!r} has type {raw.get('type')!r}; "
                          f"use one of {', '.join(_ARG_TYPES)}")
    try:
        return ArgSpec(name=name, **raw)
    except ValidationError as exc:
        raise ConfigError(f"{where}: tool {tool!r}: argument {name!r}: {_first_error(exc)}") from None
