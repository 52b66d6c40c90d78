"""`copilot knowledge`: ingest runbook folders, search them, show one runbook.

The store is the one the settings name (Chroma under COPILOT_HOME, or COPILOT_CHROMA_URL);
the shipped ``knowledge/`` is brought up to date every time the knowledge base is opened.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from copilot.catalog import load_catalog
from copilot.cli.common import cli_errors, console
from copilot.domain import RetrievedChunk, RunbookDoc
from copilot.settings import load_settings

app = typer.Typer(no_args_is_help=True)


@contextmanager
def _knowledge_base(*, show_progress: bool, shipped: bool = True) -> Iterator[Any]:
    from copilot.retrieval import open_knowledge_base

    settings = load_settings()
    catalog = load_catalog(settings.catalog_dir)
    with _progress_bar(show_progress) as progress:
        kb = open_knowledge_base(settings, catalog, include_shipped=shipped, progress=progress)
    try:
        yield kb
    finally:
        kb.close()


@contextmanager
def _progress_bar(enabled: bool) -> Iterator[Any]:
    if not enabled:
        yield None
        return
    columns = (TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        tasks: dict[str, Any] = {}

        def update(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield update


@app.command()
def ingest(dirs: Annotated[list[Path], typer.Argument(help="Folders of markdown runbooks")]) -> None:
    """Ingest markdown runbooks (unchanged files are skipped; deleted ones removed)."""
    with cli_errors(), _knowledge_base(show_progress=True, shipped=False) as kb, _progress_bar(True) as bar:
        report = kb.ingest(dirs, progress=bar)
    console.print(f"files: {report.files}  chunks: {report.chunks}  added: {report.added}  "
                  f"updated: {report.updated}  unchanged: {report.unchanged}  removed: {report.removed}  "
                  f"skipped: {len(report.skipped)}  seconds: {report.seconds:.2f}",
                  highlight=False, soft_wrap=True)
    for skipped in report.skipped:
        console.print(f"  skipped {skipped.path}: {skipped.reason}", highlight=False, soft_wrap=True)


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for")],
    k: Annotated[int, typer.Option("--k", min=1, max=100, help="How many chunks")] = 5,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, best first")] = False,
    alert: Annotated[str | None, typer.Option("--alert", help="Boost runbooks for this alert name")] = None,
    section: Annotated[str | None, typer.Option("--section", help="Only this section (Diagnosis)")] = None,
    service: Annotated[str | None, typer.Option("--service", help="Only runbooks for this service")] = None,
) -> None:
    """Hybrid search (BM25 + dense) over the ingested runbooks."""
    filters = {key: value for key, value in (("section", section), ("service", service)) if value}
    with cli_errors(), _knowledge_base(show_progress=not as_json) as kb:
        hits = kb.search(query, k, filters=filters or None, alert_name=alert)
    if as_json:
        typer.echo(json.dumps([_hit_json(hit) for hit in hits], indent=2))
        return
    table = Table("score", "runbook", "section", "lines", "calls")
    for hit in hits:
        calls = ", ".join(call.tool for call in hit.candidate_calls)
        lines = f"{hit.line_start}-{hit.line_end}"
        table.add_row(f"{hit.score:.4f}", hit.source_path, hit.section, lines, calls)
    console.print(table)


def _hit_json(hit: RetrievedChunk) -> dict[str, Any]:
    return {
        "doc_id": hit.doc_id, "source_path": hit.source_path, "title": hit.title, "section": hit.section,
        "score": hit.score, "text": hit.text, "line_start": hit.line_start, "line_end": hit.line_end,
        "candidate_calls": [call.model_dump() for call in hit.candidate_calls],
    }


@app.command()
def show(doc_id: Annotated[str, typer.Argument(help="A runbook's doc id (see `knowledge search`)")],
         as_json: Annotated[bool, typer.Option("--json", help="Print the document as JSON")] = False) -> None:
    """Show one ingested runbook: metadata, steps, chunks and their candidate calls."""
    with cli_errors(), _knowledge_base(show_progress=False) as kb:
        doc = kb.get_document(doc_id)
        known = [d.doc_id for d in kb.documents()]
    if doc is None:
        close = [d for d in known if doc_id.lower() in d.lower()][:5]
        hint = f"; did you mean {', '.join(close)}?" if close else "; find ids: `copilot knowledge search`"
        console.print(f"[bold red]error:[/] no runbook {doc_id!r}{hint}", highlight=False)
        raise typer.Exit(2)
    if as_json:
        typer.echo(doc.model_dump_json(indent=2))
        return
    _print_doc(doc)


def _print_doc(doc: RunbookDoc) -> None:
    console.print(f"[bold]{doc.title}[/]  ({doc.source_path})", highlight=False)
    console.print(f"alerts: {', '.join(doc.alert_names) or '-'}   "
                  f"services: {', '.join(doc.services) or '-'}   risk: {doc.risk or '-'}", highlight=False)
    for step in doc.steps:
        console.print(f"  step [{step.phase or '-'}] {step.tool}({json.dumps(step.args)})"
                      + (f" when {step.when}" if step.when else ""), highlight=False)
    for chunk in doc.chunks:
        heading = " > ".join(chunk.heading_path) or chunk.section
        console.rule(f"{heading}  lines {chunk.line_start}-{chunk.line_end}")
        console.print(chunk.text, markup=False, highlight=False)
        for call in chunk.candidate_calls:
            console.print(f"  -> {call.tool}({json.dumps(call.args)})  line {call.line}", highlight=False)
