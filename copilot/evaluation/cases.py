"""Eval case models: one case of shared/contracts/eval-cases.md, validated at the boundary.

Unknown top-level keys are ignored (datasets written elsewhere may carry their own labels); the
loader reports them once per file as a warning. Operator syntax is checked when a case loads, so a
typo such as ``$contians`` fails before any case runs.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from copilot.domain import Alert, PlanRequest, Principal
from copilot.evaluation.matching import check_pattern

DEFAULT_PRINCIPAL = Principal.oncall()


class CallPattern(BaseModel):
    """``{tool, args}``: an expected call, or a forbidden-call pattern. Args hold literals or operators.

    Other keys are ignored (the loader warns about them), so one odd key does not sink a whole run.
    """

    model_config = ConfigDict(extra="ignore")

    tool: str = Field(min_length=1)
    args: dict[str, Any] = Field(default_factory=dict)

    @field_validator("args")
    @classmethod
    def _check_operators(cls, args: dict[str, Any]) -> dict[str, Any]:
        for name, value in args.items():
            try:
                check_pattern(value)
            except ValueError as exc:
                raise ValueError(f"argument {name!r}: {exc}") from None
        return args


class CasePrincipal(BaseModel):
    """Who asks, as a case writes it: ``{name, roles}``."""

    model_config = ConfigDict(extra="ignore")

    name: str = Field(min_length=1)
    roles: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)

    def to_domain(self) -> Principal:
        return Principal(name=self.name, roles=frozenset(self.roles), groups=frozenset(self.groups))


class EvalCase(BaseModel):
    """One situation and the calls a good on-call engineer would start with."""

    model_config = ConfigDict(extra="ignore")

    id: str = Field(min_length=1)
    request: str
    alert: Alert | None = None
    telemetry: dict[str, Any] = Field(default_factory=dict)
    principal: CasePrincipal | None = None
    expected: list[CallPattern]
    order_matters: bool = False
    acceptable: list[str] = Field(default_factory=list)
    forbidden: list[str] = Field(default_factory=list)
    forbidden_calls: list[CallPattern] = Field(default_factory=list)
    source_runbook: str | None = None
    runbook_basis: Any = None
    notes: Any = None
    tags: list[str] = Field(default_factory=list)

    @field_validator("id", mode="before")
    @classmethod
    def _numeric_id_is_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int) and not isinstance(value, bool) else value

    @field_validator("request", mode="before")
    @classmethod
    def _null_request_is_empty(cls, value: Any) -> Any:
        return "" if value is None else value

    @field_validator("telemetry", mode="before")
    @classmethod
    def _null_telemetry_is_empty(cls, value: Any) -> Any:
        return {} if value is None else value

    def plan_request(self) -> PlanRequest:
        """The request the suggester under test sees."""
        principal = self.principal.to_domain() if self.principal else DEFAULT_PRINCIPAL
        return PlanRequest(
            text=self.request, alert=self.alert, telemetry=dict(self.telemetry), principal=principal
        )


KNOWN_FIELDS = frozenset(EvalCase.model_fields)
