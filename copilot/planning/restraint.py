"""Restraint rules as data: conditions under which tools must not be proposed.

Rules live in ``restraint_rules.yaml`` (or a file given by path). Each holds a
``when`` condition, the tools it ``blocks`` (``mutating`` means every mutating
tool) and a ``reason``. Loaded and compiled once per RestraintRules instance.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from copilot.catalog import Catalog
from copilot.errors import ConfigError
from copilot.planning.conditions import compile_condition, condition_keys, snapshot_lookup

DEFAULT_RULES_PATH = Path(__file__).with_name("restraint_rules.yaml")
DEFAULT_TRIGGERS_PATH = Path(__file__).with_name("triggers.yaml")


class RestraintRule(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str
    blocks: list[str] = Field(min_length=1)
    when: str
    reason: str


@dataclass(frozen=True)
class Blocked:
    """A rule that blocks a tool here, with the facts it read."""

    rule: RestraintRule
    facts: dict[str, Any]

    def describe(self, tool: str) -> str:
        return f"{tool} held back ({self.rule.id}): {self.rule.reason}"


class RestraintRules:
    """The loaded rule set; ``blocking(tool, facts)`` says which rules forbid a tool."""

    def __init__(self, rules: Iterable[RestraintRule], catalog: Catalog) -> None:
        self.rules = tuple(rules)
        self._catalog = catalog
        for rule in self.rules:
            compile_condition(rule.when)
            for tool in rule.blocks:
                if tool != "mutating" and tool not in catalog:
                    raise ConfigError(f"restraint rule {rule.id!r} blocks unknown tool {tool!r}; "
                                      f"use a catalog tool or `mutating`")

    @classmethod
    def load(cls, catalog: Catalog, path: Path | None = None) -> RestraintRules:
        source = path or DEFAULT_RULES_PATH
        try:
            data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
            rules = [RestraintRule.model_validate(raw) for raw in data.get("rules", [])]
        except (OSError, yaml.YAMLError) as exc:
            raise ConfigError(f"{source}: cannot read restraint rules ({exc}); fix the file or its path") \
                from None
        except ValidationError as exc:
            raise ConfigError(f"{source}: bad restraint rule ({exc.errors()[0]['msg']}); each rule needs "
                              "id, blocks, when, reason") from None
        return cls(rules, catalog)

    def blocking(self, tool: str, facts: Mapping[str, Any], prefer: Iterable[str] = ()) -> Blocked | None:
        """The first rule that forbids ``tool`` given ``facts``, or None."""
        mutating = tool in self._catalog and self._catalog.get(tool).mutating
        lookup = snapshot_lookup(facts, prefer)
        for rule in self.rules:
            if tool not in rule.blocks and not ("mutating" in rule.blocks and mutating):
                continue
            if compile_condition(rule.when)(lookup, False) is True:
                used = {key: facts[key] for key in condition_keys(rule.when) if key in facts}
                return Blocked(rule, used)
        return None


def load_triggers(catalog: Catalog, path: Path | None = None) -> dict[str, str]:
    """Implied triggers (tool -> `when` condition) for runbooks that state preconditions only in prose."""
    source = path or DEFAULT_TRIGGERS_PATH
    try:
        data = yaml.safe_load(source.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{source}: cannot read triggers ({exc}); fix the file or its path") from None
    triggers = {str(tool): str(when) for tool, when in (data.get("triggers") or {}).items()}
    for tool, when in triggers.items():
        if tool not in catalog:
            raise ConfigError(f"{source}: trigger for unknown tool {tool!r}; use a catalog tool name")
        compile_condition(when)
    return triggers
