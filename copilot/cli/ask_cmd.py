"""`copilot ask`: one request (and/or alert) in, typed calls with citations and guard decisions out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.markup import escape

from copilot.cli.common import cli_errors, console
from copilot.domain import Alert, PlanRequest, Principal, ProposedCall, Suggestion
from copilot.errors import UserInputError
from copilot.yaml_source import yaml_error_line

_OUTCOME_STYLE = {"allow": "green", "needs_approval": "yellow", "deny": "red"}


def register(app: typer.Typer) -> None:
    """Add `ask` to the main app."""

    @app.command()
    def ask(
        request: Annotated[str, typer.Argument(
            help="the chat message, e.g. 'checkout 5xx since 10am'")] = "",
        as_json: Annotated[bool, typer.Option("--json", help="print JSON instead of text")] = False,
        alert: Annotated[Path | None, typer.Option(
            "--alert", help="an alert, or an Alertmanager webhook payload (JSON or YAML)")] = None,
        telemetry: Annotated[Path | None, typer.Option(
            "--telemetry", help="a telemetry snapshot: key -> value (JSON or YAML)")] = None,
        knowledge: Annotated[list[Path] | None, typer.Option(
            "--knowledge", help="extra runbook folder, indexed in a throwaway store (repeatable)")] = None,
        as_name: Annotated[str | None, typer.Option(
            "--as", help="ask as this principal (default: an on-call engineer)")] = None,
        roles: Annotated[str, typer.Option("--roles", help="comma-separated roles of --as")] = "oncall",
        planner: Annotated[str | None, typer.Option(
            "--planner", help="runbook | llm | hybrid (default: from settings)")] = None,
    ) -> None:
        """Propose typed tool calls for a request or alert, with citations and guard decisions."""
        from copilot.compose import build_suggester
        from copilot.settings import load_settings

        with cli_errors():
            plan_request = build_request(request, alert, telemetry, as_name, roles)
            with build_suggester(load_settings(), planner=planner,
                                 extra_knowledge=tuple(knowledge or ())) as suggester:
                suggestion = suggester.suggest(plan_request)
        if as_json:
            typer.echo(json.dumps(suggestion_json(suggestion), indent=2, default=str))
        else:
            print_suggestion(suggestion)


def build_request(text: str, alert_file: Path | None, telemetry_file: Path | None,
                  as_name: str | None, roles: str) -> PlanRequest:
    if not text.strip() and alert_file is None:
        raise UserInputError("give a request text or --alert FILE (or both)")
    principal = Principal.oncall()
    if as_name:
        principal = Principal(name=as_name, roles=frozenset(r.strip() for r in roles.split(",") if r.strip()))
    return PlanRequest(
        text=text,
        alert=load_alert(alert_file) if alert_file else None,
        telemetry=load_telemetry(telemetry_file) if telemetry_file else {},
        principal=principal,
    )


def _read_structured(path: Path, what: str) -> Any:
    try:
        return yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UserInputError(f"{what} {path}: cannot read it ({exc.strerror}); check the path") from None
    except UnicodeDecodeError:
        raise UserInputError(f"{what} {path}: not UTF-8 text; save it as UTF-8 JSON or YAML") from None
    except yaml.YAMLError as exc:
        line = yaml_error_line(exc)
        where = f":{line}" if line is not None else ""
        raise UserInputError(f"{what} {path}{where}: not valid JSON or YAML; fix the syntax") from None


def load_alert(path: Path) -> Alert:
    """One alert object, or an Alertmanager webhook payload (its first firing alert)."""
    data = _read_structured(path, "--alert")
    if isinstance(data, dict) and isinstance(data.get("alerts"), list):
        alerts = [a for a in data["alerts"] if isinstance(a, dict)]
        firing = [a for a in alerts if a.get("status", "firing") == "firing"] or alerts
        if not firing:
            raise UserInputError(f"--alert {path}: the webhook payload has no alerts")
        data = firing[0]
    if not isinstance(data, dict) or not isinstance(data.get("labels"), dict):
        raise UserInputError(f"--alert {path}: expected an alert with `labels` (or a webhook payload "
                             "with `alerts`)")
    try:
        return Alert.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise UserInputError(f"--alert {path}: {loc}: {first['msg']}") from None


def load_telemetry(path: Path) -> dict[str, Any]:
    data = _read_structured(path, "--telemetry")
    if not isinstance(data, dict):
        raise UserInputError(f"--telemetry {path}: expected a mapping of key -> value, e.g. "
                             '{"http_5xx_ratio{service=\\"checkout\\"}": 0.12}')
    return {str(key): value for key, value in data.items()}


def suggestion_json(suggestion: Suggestion) -> dict[str, Any]:
    """The stable JSON shape of `copilot ask --json`."""
    return {
        "summary": suggestion.summary,
        "planner": suggestion.planner,
        "prompt_hash": suggestion.prompt_hash,
        "tool_calls": [_call_json(p) for p in suggestion.calls],
        "latency_ms": suggestion.latency_ms,
    }


def _call_json(proposed: ProposedCall) -> dict[str, Any]:
    call = proposed.call
    return {
        "tool": call.tool,
        "args": call.args,
        "mutating": proposed.mutating,
        "decision": proposed.decision.model_dump(mode="json") if proposed.decision else None,
        "citations": [c.model_dump(mode="json") for c in call.citations],
        "evidence": [e.model_dump(mode="json") for e in call.evidence],
        "rationale": call.rationale,
    }


def print_suggestion(suggestion: Suggestion) -> None:
    console.print(f"[bold]{escape(suggestion.summary)}[/]")
    console.print(f"planner: {suggestion.planner}"
                  + (f"  model: {suggestion.model}" if suggestion.model else "")
                  + f"  latency: {suggestion.latency_ms:.0f} ms", style="dim")
    if not suggestion.calls:
        console.print("No calls proposed.")
    for index, proposed in enumerate(suggestion.calls, 1):
        _print_call(index, proposed)
    for note in suggestion.notes:
        console.print(f"note: {escape(note)}", style="yellow")
    for dropped in suggestion.dropped:
        console.print(f"dropped: {escape(dropped)}", style="dim")


def _print_call(index: int, proposed: ProposedCall) -> None:
    call = proposed.call
    args = ", ".join(f"{key}={json.dumps(value)}" for key, value in call.args.items())
    kind = "mutating" if proposed.mutating else "read-only"
    head = f"\n{index}. [bold]{escape(call.tool)}[/]({escape(args)})"
    console.print(f"{head}  [dim]{kind}, from {proposed.source}[/]", soft_wrap=True)
    decision = proposed.decision
    if decision is not None:
        style = _OUTCOME_STYLE.get(decision.outcome, "")
        console.print(f"   decision: [{style}]{decision.outcome}[/] - {escape('; '.join(decision.reasons))}",
                      soft_wrap=True)
    for cite in call.citations:
        span = f":{cite.line_start}-{cite.line_end}" if cite.line_start else ""
        section = f" § {cite.section}" if cite.section else ""
        console.print(f"   cites: {escape(cite.source_path + span + section)}", soft_wrap=True)
    for item in call.evidence:
        value = json.dumps(item.value, default=str)
        console.print(f"   evidence: {escape(item.key)} = {escape(value[:80])}", soft_wrap=True)
    if call.rationale:
        console.print(f"   why: {escape(call.rationale)}", soft_wrap=True)
