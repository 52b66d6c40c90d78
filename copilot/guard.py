"""The guard: a proposed ToolCall and a Principal in, a Decision with reasons out. Pure.

Pipeline: unknown tool -> schema -> risk escalation -> policy (Cedar: roles, environments,
limits, freeze) -> blast radius -> grounding -> approvals. Every failing step adds a
reason; any reason from those steps makes the outcome ``deny``.

An unknown tool is a ``deny`` decision, not an exception: the caller asked a question
and gets an answer (the CLI exits 0; only a malformed call is exit 2).

Invariant 3: only the typed call (tool, args), the principal and the presence of
grounding count. ``rationale`` and the text of citations / evidence are never read.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from copilot.blast_radius import blast_radius
from copilot.catalog import Catalog
from copilot.domain import RISK_ORDER, Decision, Principal, Risk, ToolCall, ToolSpec
from copilot.errors import UserInputError
from copilot.policy import Policy, Requirements


class Guard:
    """Decides on one call at a time. Holds the catalog and the compiled policy; no I/O."""

    def __init__(
        self, catalog: Catalog, policy: Policy, runbook_risks: Mapping[str, Risk] | None = None
    ) -> None:
        """``runbook_risks`` maps a runbook reference (doc id, file name with or without .md,
        title; any case) to the risk the runbook declares; ``run_runbook`` takes that risk."""
        self.catalog = catalog
        self.policy = policy
        self.runbook_risks: dict[str, Risk] = {}
        for ref, risk in (runbook_risks or {}).items():
            known = self.runbook_risks.get(runbook_key(ref))
            if known is None or RISK_ORDER[risk] > RISK_ORDER[known]:  # one reference, two runbooks
                self.runbook_risks[runbook_key(ref)] = risk

    def check(
        self,
        call: ToolCall,
        principal: Principal,
        *,
        inflight: Sequence[ToolCall] = (),
        require_grounding: bool = False,
    ) -> Decision:
        """The decision for ``call`` by ``principal``, given the calls already in flight."""
        try:
            spec = self.catalog.get(call.tool)
        except UserInputError as exc:
            return Decision(outcome="deny", reasons=(str(exc),), tool=call.tool)
        try:
            args = self.catalog.validate_args(spec.name, call.args)
        except UserInputError as exc:
            return Decision(
                outcome="deny", reasons=(str(exc),), tool=spec.name, mutating=spec.mutating, risk=spec.risk
            )
        facts = self._facts(spec, args)
        verdict = self.policy.authorize("request", principal, spec.name, facts.context)
        denied = [] if verdict.allowed else self._policy_reasons(principal, spec, facts, verdict.reasons)
        production = self.policy.is_production(facts.environment)
        denied += blast_radius(
            spec, args, facts.target, production, facts.environment, self._normalized(inflight)
        )
        if require_grounding and spec.mutating and not call.grounded:
            denied.append(
                f"ungrounded mutating call: {spec.name} cites no runbook passage and no telemetry "
                "evidence; attach a citation or evidence before it can be approved"
            )
        return _decision(spec, args, facts, verdict.rule_ids, denied)

    def _facts(self, spec: ToolSpec, args: dict[str, Any]) -> _Facts:
        target = self.catalog.target(ToolCall(tool=spec.name, args=args))
        environment = self.policy.environment_for(args.get("namespace"), target)
        risk, risk_reasons = escalate_risk(spec, args)
        if spec.name == "run_runbook":
            risk, risk_reasons = self._runbook_risk(str(args["runbook"]), risk, risk_reasons)
        needs = self.policy.requirements(spec, risk, environment, str(args.get("namespace", "")))
        context = self.policy.context(spec, args, environment=environment, target=target, risk=needs.risk)
        return _Facts(target, environment, needs, tuple(risk_reasons), context)

    def _runbook_risk(self, runbook: str, risk: Risk, reasons: list[str]) -> tuple[Risk, list[str]]:
        """The runbook's declared risk, when it is higher (contract: medium when unset or unknown)."""
        key = runbook_key(runbook)
        declared = self.runbook_risks.get(key)
        if declared is None and "/" in key:  # knowledge/disk-full.md names the file disk-full.md
            declared = self.runbook_risks.get(key.rsplit("/", 1)[-1])
        if declared is None:
            if self.runbook_risks:
                reasons = [*reasons, f"runbook {runbook!r} is not in the knowledge base; risk {risk}"]
            return risk, reasons
        if RISK_ORDER[declared] > RISK_ORDER[risk]:
            return declared, [*reasons, f"risk {declared}: runbook {runbook!r} declares risk: {declared}"]
        return risk, reasons

    def check_approver(
        self,
        call: ToolCall,
        decision: Decision,
        approver: Principal,
        requester: Principal,
        prior_approvers: Sequence[str] = (),
    ) -> list[str]:
        """Why ``approver`` may NOT approve this call now; an empty list means they may.

        Checks: the call was not denied; the approver holds a role that can approve at all
        (viewer never can) and Cedar lets it approve this tool here; nobody approves twice;
        with 2+ approvals the requester may give one, never the final one. With a single
        required approval the requester may confirm their own call if their role may approve.
        The caller re-runs ``check`` first (the policy may have changed) and checks expiry.
        """
        if decision.outcome == "deny":
            return [f"the guard denied this call ({decision.reasons[0]}); it cannot be approved"]
        if decision.tool not in self.catalog:
            return [f"unknown tool {decision.tool!r}; it cannot be approved"]
        spec = self.catalog.get(decision.tool)
        args = decision.normalized_args or self.catalog.validate_args(spec.name, call.args)
        environment = decision.environment or self.policy.doc.environments.default
        reasons: list[str] = []
        roles = sorted(self.policy.effective_roles(approver))
        if not self.policy.can_ever_approve(approver):
            reasons.append(
                f"{approver.name} (roles: {', '.join(roles) or 'none'}) can never approve; "
                "ask someone with an approver role"
            )
        else:
            context = self.policy.context(
                spec, args, environment=environment, target=decision.target or spec.name, risk=decision.risk
            )
            verdict = self.policy.authorize("approve", approver, spec.name, context)
            if not verdict.allowed:
                who = ", ".join(decision.approver_roles) or "nobody"
                reasons.append(
                    f"{approver.name} (roles: {', '.join(roles) or 'none'}) may not approve "
                    f"{spec.name} in {environment}; approvers: {who}"
                )
                reasons += verdict.reasons
        if approver.name in prior_approvers:
            reasons.append(f"{approver.name} already approved this call; another person must approve")
        elif approver.name == requester.name and decision.approvals_required >= 2:
            if len(prior_approvers) + 1 >= decision.approvals_required:
                reasons.append(
                    f"the requester ({requester.name}) cannot give the final approval of a "
                    f"{decision.approvals_required}-person action; another person must approve"
                )
        return reasons

    def _policy_reasons(
        self, principal: Principal, spec: ToolSpec, facts: _Facts, forbids: Sequence[str]
    ) -> list[str]:
        needs, environment = facts.needs, facts.environment
        roles = sorted(self.policy.effective_roles(principal))
        reasons = list(forbids)
        if not forbids or not set(roles) & set(needs.request_roles):
            allowed = ", ".join(needs.request_roles) or "no role"
            reasons.append(
                f"not permitted: {principal.name} (roles: {', '.join(roles) or 'none'}) may not request "
                f"{spec.name} in {environment}; allowed roles here: {allowed}"
            )
        return reasons

    def _normalized(self, calls: Sequence[ToolCall]) -> list[tuple[str, dict[str, Any]]]:
        out = []
        for other in calls:
            if other.tool in self.catalog:
                try:
                    out.append((other.tool, self.catalog.validate_args(other.tool, other.args)))
                except UserInputError:
                    continue  # a malformed in-flight call cannot widen this one's blast radius
        return out


@dataclass(frozen=True)
class _Facts:
    """What the guard derives from a valid call before deciding."""

    target: str
    environment: str
    needs: Requirements
    risk_reasons: tuple[str, ...]
    context: dict[str, Any]


def _decision(
    spec: ToolSpec, args: dict[str, Any], facts: _Facts, rule_ids: Sequence[str], denied: list[str]
) -> Decision:
    needs, environment = facts.needs, facts.environment
    base: dict[str, Any] = {
        "tool": spec.name,
        "mutating": spec.mutating,
        "risk": needs.risk,
        "target": facts.target,
        "environment": environment,
        "normalized_args": args,
    }
    if denied:
        return Decision(outcome="deny", reasons=tuple(denied), **base)
    rules = ", ".join(repr(r) for r in rule_ids)
    if needs.approvals == 0:
        reason = f"allowed at once: {spec.name} needs no approval in {environment} (rule {rules})"
        return Decision(outcome="allow", reasons=(reason,), **base)
    return Decision(
        outcome="needs_approval",
        reasons=(_approval_reason(needs, environment, rules), *facts.risk_reasons),
        approvals_required=needs.approvals,
        approver_roles=needs.approver_roles,
        ttl_seconds=needs.ttl_seconds,
        **base,
    )


def _approval_reason(needs: Requirements, environment: str, rules: str) -> str:
    who = ", ".join(needs.approver_roles) or "nobody (no approve rule applies; fix the policy)"
    plural = "s" if needs.approvals > 1 else ""
    ttl = f" within {needs.ttl_seconds // 60}m" if needs.ttl_seconds else ""
    two = "; two different people, the requester never gives the final one" if needs.approvals >= 2 else ""
    return (
        f"needs {needs.approvals} approval{plural} from {who}{ttl} (risk {needs.risk}, {environment}, "
        f"rule {rules}){two}"
    )


# --------------------------------------------------------------------------- risk


def runbook_key(reference: str) -> str:
    """How runbook references compare: case, outer spaces and a trailing .md do not count."""
    return reference.strip().casefold().removesuffix(".md")


def escalate_risk(spec: ToolSpec, args: Mapping[str, Any]) -> tuple[Risk, list[str]]:
    """The tool's default risk, raised by the catalog's risk rules that match ``args``."""
    risk: Risk = spec.risk
    reasons = []
    for rule in spec.risk_rules:
        if rule.arg in args and _rule_matches(rule.op, args[rule.arg], rule.value):
            if RISK_ORDER[rule.risk] > RISK_ORDER[risk]:
                risk = rule.risk
            reasons.append(f"risk {rule.risk}: {rule.reason or f'{rule.arg} {rule.op} {rule.value}'}")
    return risk, reasons


def _rule_matches(op: str, value: Any, expected: Any) -> bool:
    if op == "eq":
        return bool(value == expected)
    if op == "in":
        return value in expected
    if op == "lte":
        return bool(value <= expected)
    return bool(value >= expected)
