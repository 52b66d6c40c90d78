"""The policy: ``policy.yaml`` compiled to Cedar, plus the approval requirements per tool.

Cedar (through cedarpy) is the authority on *may this principal request / approve this
tool here*: request and approve permits, numeric limits, forbid rules, the freeze switch
and any hand-written Cedar (``cedar:`` / ``cedar_file:``) all run there. How many
approvals, from which roles and for how long is bookkeeping over the same YAML rules,
done here in Python. Loading reads files; everything after is pure.
"""

from __future__ import annotations

import fnmatch
import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import cedarpy

from copilot import argtypes
from copilot.catalog import Catalog
from copilot.domain import RISK_ORDER, Principal, Risk, ToolSpec
from copilot.errors import ConfigError
from copilot.policy_cedar import (
    PolicyMeta,
    Verdict,
    action_id,
    base_entities,
    build_schema,
    compile_policies,
    context_args,
    raw_policy_meta,
)
from copilot.policy_checks import check_document, select_tools
from copilot.policy_engine import CedarEngine
from copilot.policy_model import Locator, PolicyFile, Rule, parse_document

ActionKind = Literal["request", "approve"]

_MEMO_LIMIT = 10_000

__all__ = ["Policy", "Requirements", "ToolSummary", "Verdict", "load_policy", "parse_policy"]


@dataclass(frozen=True)
class Requirements:
    """What a call of one tool needs in one environment / namespace."""

    risk: Risk
    approvals: int
    approver_roles: tuple[str, ...]
    ttl_seconds: int | None
    request_roles: tuple[str, ...]


@dataclass(frozen=True)
class ToolSummary:
    """One row of `copilot policy check`: who may do what with a tool."""

    tool: str
    kind: str
    request: tuple[str, ...]
    approve: tuple[str, ...]
    approvals: str
    limits: tuple[str, ...]
    forbidden: tuple[str, ...]


class Policy:
    """A loaded policy. Build it with ``load_policy`` or ``parse_policy``."""

    def __init__(
        self, doc: PolicyFile, catalog: Catalog, engine: CedarEngine, source: str, freeze: bool | None = None
    ) -> None:
        self.doc = doc
        self.catalog = catalog
        self.engine = engine
        self.source = source
        self.freeze = doc.freeze.enabled if freeze is None else freeze
        self._rules = {
            name: [r for r in doc.rules if name in select_tools(doc, catalog, r.tools)]
            for name in catalog.names
        }
        self._requirements: dict[tuple[str, str, str, str], Requirements] = {}
        self._roles: dict[tuple[str, frozenset[str], frozenset[str]], frozenset[str]] = {}
        self._environments: dict[str | None, tuple[tuple[tuple[str, str], ...], str]] = {}

    def with_freeze(self, enabled: bool) -> Policy:
        """The same policy with the freeze switch flipped (shares the parsed Cedar handles)."""
        return Policy(self.doc, self.catalog, self.engine, self.source, freeze=enabled)

    @property
    def roles(self) -> list[str]:
        return list(self.doc.roles)

    @property
    def rule_count(self) -> int:
        return self.engine.policy_count

    @property
    def cedar_text(self) -> str:
        return self.engine.text

    # ------------------------------------------------------------------ who, where

    def effective_roles(self, principal: Principal) -> frozenset[str]:
        """The principal's own roles plus its user and group bindings, limited to defined roles."""
        key = (principal.name, principal.roles, principal.groups)
        found = self._roles.get(key)
        if found is None:
            if len(self._roles) >= _MEMO_LIMIT:
                self._roles.clear()
            found = self._roles[key] = self._effective_roles(principal)
        return found

    def _effective_roles(self, principal: Principal) -> frozenset[str]:
        bindings = self.doc.bindings
        roles = set(principal.roles) | set(bindings.users.get(principal.name, ()))
        for group in principal.groups:
            roles |= set(bindings.groups.get(group, ()))
        return frozenset(r for r in roles if r in self.doc.roles)

    def can_ever_approve(self, principal: Principal) -> bool:
        return any(self.doc.roles[r].can_approve for r in self.effective_roles(principal))

    def environment_for(self, namespace: str | None, target: str) -> str:
        """First ``environments.match`` entry that fits the namespace (or the target) wins."""
        found = self._environments.get(namespace)
        if found is None:
            if len(self._environments) >= _MEMO_LIMIT:
                self._environments.clear()
            found = self._environments[namespace] = self._environment_plan(namespace)
        target_rules, env = found
        for pattern, target_env in target_rules:
            if fnmatch.fnmatchcase(target, pattern):
                return target_env
        return env

    def _environment_plan(self, namespace: str | None) -> tuple[tuple[tuple[str, str], ...], str]:
        """For one namespace: the target entries to try in order, then the environment it settles on."""
        target_rules: list[tuple[str, str]] = []
        for match in self.doc.environments.match:
            if (
                match.namespace is not None
                and namespace is not None
                and fnmatch.fnmatchcase(namespace, match.namespace)
            ):
                return tuple(target_rules), match.env
            if match.target is not None:
                target_rules.append((match.target, match.env))
        return tuple(target_rules), self.doc.environments.default

    def is_production(self, environment: str | None) -> bool:
        return environment in self.doc.environments.production

    # ------------------------------------------------------------------ decisions

    def context(
        self, spec: ToolSpec, args: Mapping[str, Any], *, environment: str, target: str, risk: Risk
    ) -> dict[str, Any]:
        """The Cedar context of a call (canonical args expected)."""
        return {
            "environment": environment,
            "namespace": str(args.get("namespace", "")),
            "target": target,
            "risk": risk,
            "mutating": spec.mutating,
            "freeze": self.freeze,
            "args": context_args(spec, args),
        }

    def authorize(
        self,
        kind: ActionKind,
        principal: Principal,
        tool: str,
        context: Mapping[str, Any],
        *,
        use_cache: bool = True,
    ) -> Verdict:
        """Ask Cedar whether ``principal`` may request / approve ``tool`` in ``context``."""
        roles = self.effective_roles(principal)
        return self.engine.authorize(
            principal.name, roles, action_id(kind, tool), tool, context, use_cache=use_cache
        )

    def requirements(self, spec: ToolSpec, risk: Risk, environment: str, namespace: str = "") -> Requirements:
        """Approvals, approver roles and TTL for one call shape; strictest applicable rule wins."""
        key = (spec.name, risk, environment, namespace)
        found = self._requirements.get(key)
        if found is None:
            found = self._requirements[key] = self._compute_requirements(spec, risk, environment, namespace)
        return found

    def _compute_requirements(
        self, spec: ToolSpec, risk: Risk, environment: str, namespace: str
    ) -> Requirements:
        scoped = [
            r for r in self._rules[spec.name] if r.effect == "permit" and _applies(r, environment, namespace)
        ]
        floors = [r.risk for r in scoped if r.risk is not None]  # rules with risks: set no floor
        risk = max([risk, *floors], key=RISK_ORDER.__getitem__)
        rules = [r for r in scoped if not r.risks or risk in r.risks]
        defaults = self.doc.defaults.risk
        explicit = [r.approvals for r in rules if r.approvals is not None]
        if not spec.mutating:
            approvals = max(explicit, default=0)
        else:
            approvals = max(explicit) if explicit else defaults[spec.risk].approvals
            if RISK_ORDER[risk] > RISK_ORDER[spec.risk]:
                approvals = max(approvals, defaults[risk].approvals)
            approvals = max(approvals, 1)
        ttls = [argtypes.duration_seconds(r.ttl) for r in rules if r.ttl is not None]
        ttl = min(ttls) if ttls else argtypes.duration_seconds(defaults[risk].ttl)
        return Requirements(
            risk=risk,
            approvals=approvals,
            approver_roles=self._ordered(r for x in rules for r in x.approve),
            ttl_seconds=ttl if approvals else None,
            request_roles=self._ordered(r for x in rules for r in x.request),
        )

    def _ordered(self, roles: Any) -> tuple[str, ...]:
        wanted = set(roles)
        return tuple(r for r in self.doc.roles if r in wanted)

    # ------------------------------------------------------------------ summary

    def summary(self) -> list[ToolSummary]:
        """Who may do what, per tool, for `copilot policy check`."""
        rows = []
        envs = self.doc.env_names()
        notify = set(self.doc.notify)
        for spec in self.catalog:
            rules = self._rules[spec.name]
            per_env = {e: self.requirements(spec, spec.risk, e).approvals for e in envs}
            approvals = (
                str(next(iter(per_env.values())))
                if len(set(per_env.values())) == 1
                else " ".join(f"{e}:{n}" for e, n in per_env.items())
            )
            rows.append(
                ToolSummary(
                    tool=spec.name,
                    kind="mutating" if spec.mutating else "notify" if spec.name in notify else "read-only",
                    request=tuple(dict.fromkeys(_scoped(r, r.request) for r in rules if r.request)),
                    approve=tuple(dict.fromkeys(_scoped(r, r.approve) for r in rules if r.approve)),
                    approvals=approvals,
                    limits=tuple(_limit_text(r, arg) for r in rules for arg in r.limits),
                    forbidden=tuple(
                        _scoped(r, r.roles or ["everyone"]) for r in rules if r.effect == "forbid"
                    )
                    + (
                        ("during freeze",)
                        if spec.mutating and spec.name not in self.doc.freeze.exempt_tools
                        else ()
                    ),
                )
            )
        return rows


def _applies(rule: Rule, environment: str, namespace: str) -> bool:
    if rule.environments and environment not in rule.environments:
        return False
    return not rule.namespaces or any(fnmatch.fnmatchcase(namespace, g) for g in rule.namespaces)


def _scoped(rule: Rule, roles: list[str]) -> str:
    where = [*rule.environments, *(f"ns {g}" for g in rule.namespaces)]
    if rule.risks:
        where.append(f"risk {'/'.join(rule.risks)}")
    return ", ".join(roles) + (f" ({', '.join(where)})" if where else "")


def _limit_text(rule: Rule, arg: str) -> str:
    limit = rule.limits[arg]
    parts = ([f"{arg} >= {limit.min}"] if limit.min is not None else []) + (
        [f"{arg} <= {limit.max}"] if limit.max is not None else []
    )
    who = f" for {', '.join(rule.roles)}" if rule.roles else ""
    return " and ".join(parts) + who


# --------------------------------------------------------------------------- loading


def load_policy(path: Path, catalog: Catalog) -> Policy:
    """Read and compile ``policy.yaml``. Raises ConfigError: one line with file, line and fix."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(
            f"{path}: cannot read the policy file ({exc.strerror}); set COPILOT_POLICY_FILE or pass the path"
        ) from None
    return parse_policy(text, catalog, source=str(path), base_dir=Path(path).parent)


def parse_policy(
    text: str, catalog: Catalog, *, source: str = "policy.yaml", base_dir: Path | None = None
) -> Policy:
    """Compile policy YAML text (``base_dir`` resolves ``cedar_file:``)."""
    doc, where = parse_document(text, source)
    check_document(doc, catalog, where)
    compiled = compile_policies(doc, catalog)
    texts = [t for t, _ in compiled]
    metas: list[PolicyMeta] = [m for _, m in compiled]
    raw = _raw_cedar(doc, where, base_dir)
    if raw:
        try:
            metas += raw_policy_meta(raw)
        except ValueError as exc:
            raise _cedar_error(doc, where, f"Cedar does not parse: {_first_line(exc)}") from None
        texts.append(raw)
    policies = "\n\n".join(texts)
    schema = build_schema(catalog)
    result = cedarpy.validate_policies(policies, json.dumps(schema))
    if not result.validation_passed:
        first = result.errors[0] if result.errors else "unknown error"
        raise _cedar_error(
            doc,
            where,
            f"Cedar validation failed: {first}; check names against `copilot policy cedar --schema`",
        )
    return Policy(doc, catalog, CedarEngine(policies, schema, base_entities(doc, catalog), metas), source)


def _raw_cedar(doc: PolicyFile, where: Locator, base_dir: Path | None) -> str:
    if doc.cedar and doc.cedar_file:
        raise where.error(("cedar_file",), "use either cedar: or cedar_file:, not both")
    if doc.cedar_file:
        path = (base_dir or Path(".")) / doc.cedar_file
        try:
            return path.read_text(encoding="utf-8")
        except OSError as exc:
            raise where.error(
                ("cedar_file",),
                f"cannot read {path} ({exc.strerror}); fix the path (relative to the policy file)",
            ) from None
    return doc.cedar or ""


def _cedar_error(doc: PolicyFile, where: Locator, message: str) -> ConfigError:
    key = "cedar_file" if doc.cedar_file else "cedar" if doc.cedar else "rules"
    return where.error((key,), message)


def _first_line(exc: Exception) -> str:
    return str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
