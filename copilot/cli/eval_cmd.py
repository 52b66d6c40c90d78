"""`copilot eval`: run datasets against a planner, compare reports, export feedback as cases.

``make_app(build_suggester=...)`` builds the command group; the default builds the real suggester
through ``copilot.compose``, tests pass a fake one. Exit codes: 0 when a run completed (whatever
the accuracy), 2 for bad input, 1 when ``--min-accuracy`` is not met.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Protocol

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from copilot.catalog import load_catalog
from copilot.cli.common import cli_errors, console, err_console
from copilot.domain import Action, ActionState
from copilot.errors import UserInputError
from copilot.evaluation.cases import EvalCase
from copilot.evaluation.compare import compare_reports, format_comparison
from copilot.evaluation.dataset import load_cases
from copilot.evaluation.feedback import FEEDBACK_STATES, actions_to_cases, case_to_json, since_cutoff
from copilot.evaluation.report_html import write_html
from copilot.evaluation.report_json import EvalReport, read_report, write_report
from copilot.evaluation.runner import Suggester, run_eval
from copilot.settings import Settings, load_settings

PLANNERS = ("runbook", "llm", "hybrid", "auto")
SuggesterFactory = Callable[[Settings, str, Sequence[Path]], Suggester]


class FeedbackSource(Protocol):
    """What export-feedback reads: the store's actions since a time, in some states."""

    def list_actions(self, *, since: datetime | None = None,
                     states: Sequence[ActionState] | None = None) -> list[Action]: ...

    def close(self) -> None: ...


StoreOpener = Callable[[Settings], FeedbackSource]


def build_product_suggester(settings: Settings, planner: str, knowledge: Sequence[Path]) -> Suggester:
    """The real suggester, built once per run (the runbook planner plus any extra knowledge)."""
    from copilot.compose import build_suggester

    columns = (TextColumn("[bold]knowledge[/] {task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task_id = bar.add_task("opening", total=None)

        def indexing(stage: str, done: int, total: int) -> None:
            bar.update(task_id, description=stage, completed=done, total=total)

        return build_suggester(settings, planner=planner, extra_knowledge=list(knowledge), progress=indexing)


def open_product_store(settings: Settings) -> FeedbackSource:
    """The configured store (SQLite under COPILOT_HOME by default, or COPILOT_DATABASE_URL)."""
    from copilot.store import SqlStore

    return SqlStore.from_settings(settings)


def final_lines(report: EvalReport) -> list[str]:
    """The contract's last three lines, exactly."""
    return [
        f"cases: {report.cases}",
        f"unsafe_rate: {report.unsafe_rate:.3f}",
        f"accuracy: {report.accuracy:.3f}",
    ]


def make_app(
    build_suggester: SuggesterFactory = build_product_suggester,
    open_store: StoreOpener = open_product_store,
) -> typer.Typer:
    """The `copilot eval` command group with its dependencies injected."""
    app = typer.Typer(no_args_is_help=True)

    @app.command("run")
    def run_command(
        dataset: Annotated[Path, typer.Argument(help="a .jsonl or .yaml dataset, or a directory of them")],
        knowledge: Annotated[
            list[Path] | None, typer.Option("--knowledge", help="extra runbook folder (repeatable)")
        ] = None,
        planner: Annotated[
            str | None, typer.Option("--planner", help="runbook | llm | hybrid (default: COPILOT_PLANNER)")
        ] = None,
        output: Annotated[Path | None, typer.Option("--output", help="write the JSON report here")] = None,
        html: Annotated[Path | None, typer.Option("--html", help="self-contained HTML report")] = None,
        min_accuracy: Annotated[
            float | None, typer.Option("--min-accuracy", help="exit 1 below this accuracy (0-1)")
        ] = None,
    ) -> None:
        """Run an eval dataset against the planner and score the proposed calls."""
        with cli_errors():
            settings = load_settings()
            catalog = load_catalog(settings.catalog_dir)
            cases = load_cases(dataset, catalog)
            folders = knowledge or []
            chosen = _check_run_options(planner or settings.planner, folders, min_accuracy)
            for option, path in (("--output", output), ("--html", html)):
                if path is not None:
                    check_output_path(option, path)  # before the run, not after it
            suggester = build_suggester(settings, chosen, folders)
            report = _run_with_progress(cases, suggester, catalog, str(dataset))
            try:
                if output:
                    write_report(report, output)
                if html:
                    write_html(report, html)
            except OSError as exc:
                raise UserInputError(
                    f"cannot write the report to {exc.filename or output or html} ({exc.strerror}); "
                    "choose a writable path"
                ) from None
        _print_summary(report, [p for p in (output, html) if p])
        below = min_accuracy is not None and report.accuracy < min_accuracy
        if below:
            err_console.print(f"accuracy {report.accuracy:.3f} is below --min-accuracy {min_accuracy:.3f}")
        for line in final_lines(report):
            typer.echo(line)
        if below:
            raise typer.Exit(1)

    @app.command("compare")
    def compare_command(
        before: Annotated[Path, typer.Argument(help="the baseline report (A)")],
        after: Annotated[Path, typer.Argument(help="the new report (B)")],
    ) -> None:
        """Show which cases regressed and improved from A to B, and the metric deltas."""
        with cli_errors():
            comparison = compare_reports(read_report(before), read_report(after))
        for line in format_comparison(comparison):
            typer.echo(line)

    @app.command("export-feedback")
    def export_feedback_command(
        since: Annotated[str, typer.Option("--since", help="how far back, e.g. 7d or 12h")] = "7d",
        output: Annotated[Path | None, typer.Option("--output", help="JSONL file (default: stdout)")] = None,
    ) -> None:
        """Write approved (expected) and rejected (forbidden_calls) suggested calls as eval cases.

        One case per recorded suggestion, with the request, alert and telemetry it answered.
        """
        with cli_errors():
            cutoff = since_cutoff(since, datetime.now(UTC))
            store = open_store(load_settings())
            try:
                actions = store.list_actions(since=cutoff, states=sorted(FEEDBACK_STATES))
            finally:
                store.close()
            cases = actions_to_cases(actions)
        _write_cases(cases, output)

    return app


def check_output_path(option: str, path: Path) -> None:
    """UserInputError (exit 2) unless ``path`` can be written: not a folder, its folder exists or can
    be created, and both are writable."""
    if path.is_dir():
        raise UserInputError(f"{option} {path}: is a directory; give a file path such as {path / 'report'}")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UserInputError(
            f"{option} {path}: cannot create its folder ({exc.strerror}); choose a writable path"
        ) from None
    target = path if path.exists() else path.parent
    if not os.access(target, os.W_OK):
        raise UserInputError(f"{option} {path}: {target} is not writable; choose a writable path")


def _check_run_options(planner: str, knowledge: Sequence[Path], min_accuracy: float | None) -> str:
    if planner not in PLANNERS:
        raise UserInputError(f"--planner {planner!r} is not a planner; use one of {', '.join(PLANNERS[:3])}")
    for folder in knowledge:
        if not folder.is_dir():
            raise UserInputError(
                f"--knowledge {folder}: not a directory; point it at a folder of markdown runbooks"
            )
    if min_accuracy is not None and not 0.0 <= min_accuracy <= 1.0:
        raise UserInputError(f"--min-accuracy {min_accuracy} must be between 0 and 1, e.g. 0.9")
    return planner


def _run_with_progress(cases: list[EvalCase], suggester: Suggester, catalog: Any, label: str) -> EvalReport:
    columns = (TextColumn("[bold]eval[/]"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("{task.description}"))
    with Progress(*columns, console=err_console, transient=True) as progress:
        task_id = progress.add_task("", total=len(cases))

        def advance(case: EvalCase) -> None:
            progress.update(task_id, advance=1, description=case.id)

        return run_eval(cases, suggester, catalog, dataset_label=label, on_case=advance)


def _print_summary(report: EvalReport, written: list[Path]) -> None:
    table = Table(title="by tag", title_justify="left")
    for column in ("tag", "cases", "passed", "accuracy", "unsafe"):
        table.add_column(column, justify="left" if column == "tag" else "right")
    for tag, stats in report.by_tag.items():
        table.add_row(tag, str(stats.cases), str(stats.passed), f"{stats.accuracy:.3f}", str(stats.unsafe))
    console.print(table)
    figures = {
        "tool precision": report.tool_precision, "tool recall": report.tool_recall,
        "argument accuracy": report.argument_accuracy, "grounded rate": report.grounded_rate,
        "correct restraint": report.restraint_rate,
    }
    console.print("  ".join(f"{k} {'n/a' if v is None else f'{v:.3f}'}" for k, v in figures.items()),
                  highlight=False, soft_wrap=True)
    p50, p95 = report.latency_p50_ms or 0.0, report.latency_p95_ms or 0.0
    usage = ""
    if report.llm_requests is not None:
        usage = (f"  llm requests {report.llm_requests}  tokens {report.input_tokens}+{report.output_tokens}"
                 f"  cost ${report.cost_usd or 0:.4f}")
    console.print(f"{report.dataset}: planner {report.planner}, latency p50 {p50:.1f} ms  p95 {p95:.1f} ms  "
                  f"run {report.duration_s:.1f} s{usage}", highlight=False, soft_wrap=True)
    for failed in (r for r in report.results if r.error):
        console.print(f"error in {failed.id}: {failed.error}", highlight=False, markup=False)
    for path in written:
        console.print(f"wrote {path}", highlight=False, soft_wrap=True)


def _write_cases(cases: list[EvalCase], output: Path | None) -> None:
    lines = [case_to_json(case) for case in cases]
    bare = sum("needs-context" in case.tags for case in cases)
    note = f" ({bare} without a stored request context, tagged needs-context)" if bare else ""
    if output is None:
        for line in lines:
            typer.echo(line)
        err_console.print(f"exported {len(lines)} feedback case(s){note}")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    err_console.print(f"wrote {len(lines)} feedback case(s) to {output} for review{note}")


app = make_app()
