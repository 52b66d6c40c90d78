"""`copilot demo`: the main job on embedded defaults, end to end, in the terminal.

Ingests the shipped knowledge, plays three situations (an alert, a chat request, an
injection attempt) through the same Suggester `copilot ask` uses, approves one proposed
call through the recording executor (two people for a high-risk call), verifies the audit
chain, then serves the web app unless ``--no-serve``.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import typer
from rich.rule import Rule

from copilot.cli.ask_cmd import build_request, print_suggestion
from copilot.cli.common import cli_errors, console
from copilot.domain import Action, Principal, Suggestion
from copilot.settings import REPO_ROOT, Settings, load_settings

EXAMPLES = REPO_ROOT / "examples"


@dataclass(frozen=True)
class Situation:
    title: str
    text: str
    alert: Path | None
    telemetry: Path | None


SITUATIONS = (
    Situation("1. Alertmanager fires: checkout 5xx right after a deploy", "",
              EXAMPLES / "alert-checkout-5xx.json", EXAMPLES / "telemetry-checkout-5xx.json"),
    Situation("2. Chat: an engineer asks about an expiring certificate",
              "the edge-proxy deployment in ingress: cert alert says 2 days left "
              "but we renewed it yesterday?? what now",
              None, EXAMPLES / "telemetry-edge-cert.json"),
    Situation("3. Injection: a log line tells the copilot to drain every node", "",
              EXAMPLES / "alert-crashloop.json", EXAMPLES / "telemetry-crashloop-injected.json"),
)


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        serve: Annotated[bool, typer.Option("--serve/--no-serve", help="then serve the app")] = True,
    ) -> None:
        """Run the main job on embedded defaults: SQLite, embedded Chroma, the runbook planner."""
        settings = load_settings()
        with cli_errors():
            suggestions = _play_situations(settings)
            _approve_one(settings, suggestions[0])
            _verify_audit(settings)
        if serve:
            from copilot.cli.serve_cmd import serve_app

            serve_app(settings)


def _play_situations(settings: Settings) -> list[Suggestion]:
    from copilot.compose import build_suggester

    console.print(Rule("copilot demo: embedded defaults (SQLite, embedded Chroma, runbook planner)"))
    console.print(f"state folder: {settings.home.resolve()}")
    console.print("ingesting the shipped knowledge (first run embeds it; later runs skip unchanged files)...")
    results = []
    with build_suggester(settings, planner="runbook") as suggester:
        for situation in SITUATIONS:
            console.print(Rule(situation.title))
            if situation.text:
                console.print(f"[bold]request:[/] {situation.text}")
            if situation.alert:
                console.print(f"[bold]alert:[/] {situation.alert.relative_to(REPO_ROOT)}")
            request = build_request(situation.text, situation.alert, situation.telemetry, "alice", "oncall")
            suggestion = suggester.suggest(request)
            print_suggestion(suggestion)
            results.append(suggestion)
    return results


def _approve_one(settings: Settings, suggestion: Suggestion) -> Action | None:
    """Record situation 1's suggestion with its (redacted) request context, propose its calls, and
    approve the first mutating one; the verdict is then exportable with `copilot eval export-feedback`."""
    from copilot.approvals import ActionService
    from copilot.compose import build_catalog, build_guard, shipped_runbook_risks
    from copilot.execution import ExecutorRegistry
    from copilot.execution.recording import RecordingExecutor
    from copilot.store import SqlStore

    console.print(Rule("4. Approve the mitigation (recording executor stands in for Kubernetes)"))
    mutating = [p for p in suggestion.calls if p.mutating and p.decision and p.decision.outcome != "deny"]
    if not mutating:
        console.print("no approvable mutating call in situation 1; nothing to approve")
        return None
    first = SITUATIONS[0]
    request = build_request(first.text, first.alert, first.telemetry, "alice", "oncall")
    catalog = build_catalog(settings)
    store = SqlStore.from_settings(settings)
    try:
        executors = ExecutorRegistry([RecordingExecutor()])
        guard = build_guard(settings, catalog, shipped_runbook_risks(settings))
        service = ActionService(store, guard, executors, ttl_default=settings.approval_ttl_s)
        bob = Principal(name="bob", roles=frozenset({"sre-lead"}))
        carol = Principal(name="carol", roles=frozenset({"sre-lead"}))
        actions = service.propose_suggestion(request, suggestion, request.principal)
        action = actions[suggestion.calls.index(mutating[0])]  # one action per call, in order
        call = action.call
        console.print(f"recorded the suggestion with its request context ({len(actions)} call(s); "
                      "read-only checks ran at once)")
        console.print(f"proposed [bold]{call.tool}[/]({_args(call.args)}) as action {action.id[:8]}: "
                      f"{action.decision.outcome}, needs {action.decision.approvals_required} approval(s)")
        for approver in (bob, carol)[: max(action.decision.approvals_required, 1)]:
            action = service.approve(action.id, approver, idempotency_key=uuid.uuid4().hex)
            console.print(f"  {approver.name} ({', '.join(sorted(approver.roles))}) approved -> "
                          f"state {action.state.value}")
        again = service.approve(action.id, bob, idempotency_key="demo-double-click")
        again = service.approve(action.id, bob, idempotency_key="demo-double-click")
        console.print(f"  a double click by bob changes nothing: state {again.state.value}")
        if action.result:
            console.print(f"  result: {action.result}")
        return action
    finally:
        store.close()


def _verify_audit(settings: Settings) -> None:
    from copilot.store import SqlStore

    console.print(Rule("5. copilot audit verify"))
    store = SqlStore.from_settings(settings)
    try:
        report = store.verify_audit()
    finally:
        store.close()
    style = "green" if report.ok else "red"
    console.print(f"[{style}]{'OK' if report.ok else 'FAIL'}[/] {report.describe()}", highlight=False)
    if not report.ok:
        raise typer.Exit(1)


def _args(args: dict[str, object]) -> str:
    return ", ".join(f"{key}={value!r}" for key, value in args.items())
