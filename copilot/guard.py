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

import functools
import ipaddress
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import regex  # not `re`: it has a match timeout

from copilot.argtypes import is_bulk_name
from copilot.catalog import Catalog
from copilot.domain import RISK_ORDER, Decision, Principal, Risk, ToolCall, ToolSpec
from copilot.errors import UserInputError
from copilot.policy import Policy, Requirements

_NODE_TOOLS = ("drain_node", "cordon_node")
# Target arguments that are not object names: a network, alert matchers, a runbook reference.
_NOT_NAMES = frozenset({"cidr", "matchers", "runbook"})
_WILDCARD_PATHS = re.compile(r"^/?\*+(/\*+)*$|^/$")
_WIDEST_IPV4, _WIDEST_IPV6 = 8, 32
# IPv6 prefixes whose last 32 bits are an IPv4 address: IPv4-mapped, NAT64 well-known, IPv4-compatible
_IPV4_EMBEDDINGS = tuple(ipaddress.IPv6Network(n) for n in ("::ffff:0:0/96", "64:ff9b::/96", "::/96"))
_MAX_REGEX_CHARS = 256
_PROBE_TIMEOUT_S = 0.02  # per probe; a regex that needs longer is refused (the guard must stay fast)
# Label values of every shape: a regex that fully matches all of them (and so nearly any value) is a
# wildcard. Short and varied, so even a backtracking-prone regex stays cheap on them.
_PROBE_VALUES = ("KubePodCrashLooping", "x", "TargetDown", "node_exporter", "Q7", "9", "a-b.c", "zz z", "_")
_MATCHER = re.compile(r'^([a-zA-Z_][a-zA-Z0-9_]*)(=~|!~|!=|=)"?(.*?)"?$')


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


# --------------------------------------------------------------------------- blast radius


def blast_radius(
    spec: ToolSpec,
    args: Mapping[str, Any],
    target: str,
    production: bool,
    environment: str,
    inflight: Sequence[tuple[str, Mapping[str, Any]]],
) -> list[str]:
    """Reasons a call reaches too far: many objects at once, whole services down, whole zones, huge
    networks, many nodes."""
    name = spec.name
    bulk = _bulk_names(spec, args)
    if bulk:
        return bulk
    if name == "scale_deployment" and args.get("replicas") == 0 and production:
        return [
            f"blast radius: scaling {target} to 0 in {environment} takes the service down; "
            "scale to at least 1 replica"
        ]
    if name in _NODE_TOOLS:
        return _node_radius(name, str(args["node"]), inflight)
    if name == "purge_cdn_cache":
        paths = list(args.get("paths", []))
        if not paths:
            return ["purge_cdn_cache needs at least one path; list the paths to purge"]
        if any(_WILDCARD_PATHS.match(p.strip()) for p in paths):
            return [
                f"blast radius: purging every path of zone {args['zone']} empties the whole cache; "
                "list the paths that are stale instead"
            ]
    if name == "block_ip":
        return _network_radius(ipaddress.ip_network(str(args["cidr"]), strict=False))
    if name == "silence_alert":
        return _silence_radius([str(m) for m in args.get("matchers", [])])
    if name == "update_hpa" and args.get("min_replicas", 0) > args.get("max_replicas", 10**9):
        return [
            f"min_replicas ({args['min_replicas']}) is above max_replicas ({args['max_replicas']}); "
            "swap them or raise max_replicas"
        ]
    return []


def _bulk_names(spec: ToolSpec, args: Mapping[str, Any]) -> list[str]:
    """A changing call's target names ("*", "all", "web-.*", "a,b") that would reach many objects."""
    if not spec.mutating:
        return []
    names = [n for n in re.findall(r"\{(\w+)\}", spec.target or "") if n not in _NOT_NAMES]
    return [
        f"blast radius: {spec.name} {name}={args[name]!r} names many objects, or none; name exactly one"
        for name in names
        if isinstance(args.get(name), str) and is_bulk_name(args[name])
    ]


def _node_radius(name: str, node: str, inflight: Sequence[tuple[str, Mapping[str, Any]]]) -> list[str]:
    blocking = ("drain_node", "cordon_node") if name == "drain_node" else ("drain_node",)
    others = sorted(
        {str(a.get("node")) for tool, a in inflight if tool in blocking and a.get("node") != node}
    )
    if not others:
        return []
    return [
        f"blast radius: {', '.join(others)} is already being drained or cordoned; {name} one node at a "
        "time, after the other finishes"
    ]


def _network_radius(net: ipaddress.IPv4Network | ipaddress.IPv6Network) -> list[str]:
    """IPv4 wider than /8 or IPv6 wider than /32; IPv4 embedded in IPv6 (mapped, NAT64) counts as IPv4.

    6to4 (2002::/16) needs no rule of its own: a 6to4 prefix as wide as IPv4 /8 is IPv6 /24, already
    wider than /32.
    """
    for embedding in _IPV4_EMBEDDINGS:
        if net.version == 6 and net.prefixlen >= 96 and net.subnet_of(embedding):
            ipv4 = ipaddress.IPv4Network((int(net.network_address) & 0xFFFFFFFF, net.prefixlen - 96))
            if ipv4.prefixlen <= _WIDEST_IPV4:
                return [
                    f"blast radius: blocking {net} blocks IPv4 {ipv4} (embedded in {embedding}), "
                    f"{net.num_addresses:,} addresses; block a prefix longer than /{96 + _WIDEST_IPV4}"
                ]
            return []
    widest = _WIDEST_IPV4 if net.version == 4 else _WIDEST_IPV6
    if net.prefixlen <= widest:
        return [
            f"blast radius: blocking {net} covers {net.num_addresses:,} addresses; block a prefix "
            f"longer than /{widest}"
        ]
    return []


def _silence_radius(matchers: Sequence[str]) -> list[str]:
    """Invalid regexes, or no matcher that narrows the silence (wildcards, negatives alone)."""
    invalid = [reason for m in matchers if (reason := _invalid_regex(m)) is not None]
    if invalid:
        return invalid
    if any(_specific(m) for m in matchers):
        return []
    return [
        "blast radius: this silence matches every alert; add a positive matcher such as "
        "alertname=X (wildcards and negative matchers alone do not count)"
    ]


def _invalid_regex(matcher: str) -> str | None:
    found = _MATCHER.match(matcher.strip())
    if not found or found.group(2) not in ("=~", "!~"):
        return None
    problem = _regex_problem(found.group(3))
    if problem is None:
        return None
    return f"invalid regex in matcher {matcher!r}: {problem}; fix the regex (Alertmanager uses RE2 syntax)"


def _specific(matcher: str) -> bool:
    """A positive matcher that does not match (nearly) every value. Negative matchers never count:
    ``alertname!="x"`` alone matches every other alert."""
    found = _MATCHER.match(matcher.strip())
    if not found:
        return False
    _name, op, value = found.groups()
    if op == "=":
        return value not in ("", "*")
    if op == "=~":
        return _regex_problem(value) is None and not _regex_matches_nearly_all(value)
    return False


@functools.lru_cache(maxsize=1024)
def _regex_problem(value: str) -> str | None:
    """Why ``value`` is not a usable regex (does not compile, too long, too slow), else None."""
    if len(value) > _MAX_REGEX_CHARS:
        return f"longer than {_MAX_REGEX_CHARS} characters (use exact matchers)"
    try:
        pattern = regex.compile(value)
        for probe in _PROBE_VALUES:
            pattern.fullmatch(probe, timeout=_PROBE_TIMEOUT_S)
    except regex.error as exc:
        return str(exc)
    except TimeoutError:
        return "too slow to evaluate (catastrophic backtracking, e.g. nested repetition)"
    except RecursionError:  # deeply nested groups overflow the compiler
        return "nested too deeply"
    return None


@functools.lru_cache(maxsize=1024)
def _regex_matches_nearly_all(value: str) -> bool:
    """Alertmanager anchors regexes: a regex that fully matches "" or every probe value is a wildcard
    (``.*``, ``..*``, ``.{0,}``, ``(.*)|x``, ``[^x]*``...). Only call it after ``_regex_problem``."""
    pattern = regex.compile(value)
    if pattern.fullmatch("", timeout=_PROBE_TIMEOUT_S) is not None:
        return True
    return all(pattern.fullmatch(probe, timeout=_PROBE_TIMEOUT_S) is not None for probe in _PROBE_VALUES)
