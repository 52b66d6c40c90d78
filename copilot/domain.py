"""Pure domain types. Imports stdlib and pydantic only; no I/O.

These cross every port. Adapters translate their own formats into these.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Risk = Literal["low", "medium", "high"]
RISK_ORDER: dict[str, int] = {"low": 0, "medium": 1, "high": 2}
ArgType = Literal["str", "int", "bool", "duration", "cidr", "size", "list[str]", "matchers"]
JsonValue = Any


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


# --------------------------------------------------------------------------- identity


class Principal(_Frozen):
    """Who is asking or approving: a Slack user, web session or API token, with roles."""

    name: str
    roles: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()

    @classmethod
    def oncall(cls, name: str = "oncall-engineer") -> Principal:
        return cls(name=name, roles=frozenset({"oncall"}))


# --------------------------------------------------------------------------- catalog


class ArgSpec(_Frozen):
    """One typed argument of a tool."""

    name: str
    type: ArgType
    required: bool = True
    description: str = ""
    minimum: int | None = None
    maximum: int | None = None
    pattern: str | None = None
    choices: tuple[str, ...] | None = None
    max_items: int | None = None


class RiskRule(_Frozen):
    """Raise a tool's risk when an argument has a value, e.g. replicas == 0 -> high."""

    arg: str
    op: Literal["eq", "lte", "gte", "in"] = "eq"
    value: JsonValue
    risk: Risk
    reason: str = ""


class CommandPattern(_Frozen):
    """A runbook command shape that maps onto this tool.

    ``words`` are positional tokens after flags are removed: a literal with
    alternatives (``kubectl|oc``), or a placeholder ``{arg}``; a token may join a
    literal and a placeholder (``deployment/{deployment}``). ``flags`` maps an
    argument name to the flags that carry it (``namespace: [-n, --namespace]``).
    ``bool_flags`` maps a boolean argument to its switches. ``fixed`` binds
    arguments to constants when the pattern matches.

    Matcher details (copilot/retrieval/command_map.py):
    - The command must have exactly as many positional words as the pattern,
      unless the last word is a rest slot ``{arg...}``, which binds the
      remaining words (zero or more) as a list (``amtool silence add {matchers...}``).
    - In a word, ``*`` matches any text (``*/zones/{zone}/purge_cache``);
      ``{arg=GLOB}`` binds the text matching a shell glob, prefix included
      (``{workload=deployment/*}`` binds ``deployment/api``); ``{arg~REGEX}``
      binds text matching a regex without ``}``. A plain ``{arg}`` never binds
      text containing ``=`` (that is a flag value or selector, not a name); use
      ``{arg~.+}`` for free text such as a PromQL query. Arguments named ``_x``
      match but are not kept. A subshell (``$(...)``) or ``...`` value becomes
      the argument's placeholder.
    - A flag entry ``-p=TEMPLATE`` requires that flag with a value matching the
      template, whose slots bind arguments
      (``max_replicas: ['-p=*"maxReplicas":{max_replicas~[0-9]+}*']``);
      when an entry lists several such flags, one of them must match.
    - Which flags take a value comes from the pattern plus a per-program table
      (kubectl/oc, amtool, curl, patronictl, ...); for aws every ``--flag``
      takes one. ``--f=v``, ``-fv`` and ``-f v`` are the same.
    - The most specific matching pattern wins (literal words over slots).
    - Placeholders become ``$UPPER_SNAKE``; a required argument the command
      leaves out becomes its own placeholder (``$NAMESPACE``).
    """

    words: tuple[str, ...]
    flags: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    bool_flags: dict[str, tuple[str, ...]] = Field(default_factory=dict)
    fixed: dict[str, JsonValue] = Field(default_factory=dict)


class ToolSpec(_Frozen):
    """A tool of the catalog: name, typed args, mutating flag, default risk, target."""

    name: str
    toolset: str
    description: str
    mutating: bool
    risk: Risk
    args: tuple[ArgSpec, ...]
    target: str | None = None
    risk_rules: tuple[RiskRule, ...] = ()
    commands: tuple[CommandPattern, ...] = ()
    keywords: tuple[str, ...] = ()

    def arg(self, name: str) -> ArgSpec | None:
        return next((a for a in self.args if a.name == name), None)


# --------------------------------------------------------------------------- proposals


class Citation(_Frozen):
    """Points at the exact runbook passage behind a proposal."""

    chunk_id: str
    doc_id: str
    source_path: str
    title: str = ""
    section: str = ""
    line_start: int | None = None
    line_end: int | None = None
    quote: str = ""


class Evidence(_Frozen):
    """A telemetry fact behind a proposal (metric, alert label, event, deploy)."""

    key: str
    value: JsonValue = None
    source: str = "telemetry"


class ToolCall(BaseModel):
    """A typed call proposed by a planner or typed by a human. Args are validated by the catalog."""

    model_config = ConfigDict(extra="forbid")

    tool: str
    args: dict[str, JsonValue] = Field(default_factory=dict)
    citations: list[Citation] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    rationale: str = ""

    @property
    def grounded(self) -> bool:
        return bool(self.citations or self.evidence)

    def key(self) -> tuple[str, str]:
        """Identity for dedupe: tool plus canonical args."""
        import json

        return self.tool, json.dumps(self.args, sort_keys=True, default=str)


Outcome = Literal["allow", "needs_approval", "deny"]


class Decision(_Frozen):
    """What the guard decided for one call, always with reasons."""

    outcome: Outcome
    reasons: tuple[str, ...]
    tool: str
    mutating: bool = False
    risk: Risk = "low"
    approvals_required: int = 0
    approver_roles: tuple[str, ...] = ()
    ttl_seconds: int | None = None
    target: str | None = None
    environment: str | None = None
    normalized_args: dict[str, JsonValue] = Field(default_factory=dict)

    @property
    def allowed_now(self) -> bool:
        return self.outcome == "allow"


class ProposedCall(BaseModel):
    """A call inside a suggestion, with the guard's decision attached."""

    call: ToolCall
    mutating: bool = False
    decision: Decision | None = None
    source: str = "runbook"  # which planner proposed it
    rank: float = 0.0


class Usage(BaseModel):
    input_tokens: int = 0
    output_tokens: int = 0
    requests: int = 0
    cost_usd: float = 0.0


class Suggestion(BaseModel):
    """A planner's answer: summary, typed calls, grounding and confidence."""

    summary: str
    calls: list[ProposedCall] = Field(default_factory=list)
    citations: list[Citation] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
    confidence: float = 0.0
    planner: str = "runbook"
    model: str | None = None
    prompt_hash: str | None = None
    notes: list[str] = Field(default_factory=list)  # e.g. "LLM timed out; fell back to runbook planner"
    dropped: list[str] = Field(default_factory=list)  # calls removed (ungrounded, unknown tool, ...)
    usage: Usage = Field(default_factory=Usage)
    latency_ms: float = 0.0


# --------------------------------------------------------------------------- knowledge


class CandidateCall(_Frozen):
    """A typed call parsed from a runbook command; placeholders kept as ``$NAME``."""

    tool: str
    args: dict[str, JsonValue] = Field(default_factory=dict)
    command: str = ""
    line: int | None = None


class RunbookStep(_Frozen):
    """A front-matter step mapped to a catalog tool."""

    tool: str
    args: dict[str, JsonValue] = Field(default_factory=dict)
    when: str | None = None
    phase: Literal["diagnose", "mitigate", "notify"] | None = None
    title: str = ""


class RetrievedChunk(_Frozen):
    """One hybrid-search hit."""

    chunk_id: str
    doc_id: str
    source_path: str
    title: str
    section: str
    heading_path: tuple[str, ...] = ()
    line_start: int = 0
    line_end: int = 0
    text: str
    score: float = 0.0
    alert_names: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    candidate_calls: tuple[CandidateCall, ...] = ()

    def citation(self, quote: str = "") -> Citation:
        return Citation(
            chunk_id=self.chunk_id,
            doc_id=self.doc_id,
            source_path=self.source_path,
            title=self.title,
            section=self.section,
            line_start=self.line_start,
            line_end=self.line_end,
            quote=quote or self.text[:200],
        )


class RunbookDoc(_Frozen):
    """A whole runbook as ingested: metadata plus its chunks in order."""

    doc_id: str
    source_path: str
    title: str
    alert_names: tuple[str, ...] = ()
    services: tuple[str, ...] = ()
    risk: Risk | None = None
    steps: tuple[RunbookStep, ...] = ()
    front_matter: dict[str, JsonValue] = Field(default_factory=dict)
    chunks: tuple[RetrievedChunk, ...] = ()


# --------------------------------------------------------------------------- alerts, incidents


class Alert(BaseModel):
    """One alert in Alertmanager's webhook (v4) form."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    status: Literal["firing", "resolved"] = "firing"
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    startsAt: datetime | None = None  # noqa: N815 - wire name
    endsAt: datetime | None = None  # noqa: N815
    generatorURL: str | None = None  # noqa: N815
    fingerprint: str | None = None

    @property
    def name(self) -> str:
        return self.labels.get("alertname", "")


class PlanRequest(BaseModel):
    """Everything a planner sees: already redacted by the context builder."""

    text: str = ""
    alert: Alert | None = None
    telemetry: dict[str, JsonValue] = Field(default_factory=dict)
    principal: Principal = Field(default_factory=Principal.oncall)
    history: list[str] = Field(default_factory=list)


class IncidentStatus(enum.StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"


class Incident(BaseModel):
    id: str
    group_key: str
    status: IncidentStatus = IncidentStatus.OPEN
    alerts: list[Alert] = Field(default_factory=list)
    opened_at: datetime
    resolved_at: datetime | None = None
    summary: str = ""


# --------------------------------------------------------------------------- approvals, execution, audit


class ActionState(enum.StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"  # enough approvals gathered, waiting for execution
    REJECTED = "rejected"
    EXPIRED = "expired"
    EXECUTING = "executing"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    UNKNOWN = "unknown"  # crashed mid-execution: needs a human check, never re-run blindly


TERMINAL_STATES = frozenset(
    {ActionState.REJECTED, ActionState.EXPIRED, ActionState.SUCCEEDED, ActionState.FAILED,
     ActionState.UNKNOWN}
)


class Approval(_Frozen):
    action_id: str
    approver: str
    approver_roles: frozenset[str] = frozenset()
    at: datetime
    idempotency_key: str


class Action(BaseModel):
    """A proposed call's lifecycle record (what becomes an approvable card)."""

    id: str
    call: ToolCall
    requester: Principal
    decision: Decision
    state: ActionState = ActionState.PROPOSED
    created_at: datetime
    expires_at: datetime | None = None
    approvals: list[Approval] = Field(default_factory=list)
    planner: str | None = None
    prompt_hash: str | None = None
    result: dict[str, JsonValue] | None = None
    suggestion_id: str | None = None  # the recorded suggestion this call came from, if any
    # What that suggestion answered, redacted: request, alert, telemetry, principal, plus its planner,
    # prompt hash, summary and every call it proposed (layout: copilot.store.suggestions).
    context: dict[str, JsonValue] | None = None


class ExecutionResult(BaseModel):
    ok: bool
    output: dict[str, JsonValue] = Field(default_factory=dict)
    dry_run: bool = False
    error: str | None = None


class AuditEvent(BaseModel):
    """One hash-chained audit record."""

    seq: int
    at: datetime
    kind: str  # proposed | decision | approved | rejected | expired | executing | executed | result | ...
    principal: str | None = None
    action_id: str | None = None
    payload: dict[str, JsonValue] = Field(default_factory=dict)
    prev_hash: str
    hash: str
