"""`copilot audit` commands: verify the hash chain, export the log."""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from copilot.cli.common import cli_errors, console, err_console
from copilot.errors import UserInputError
from copilot.settings import load_settings
from copilot.store import HeadAnchor, SqlStore

app = typer.Typer(no_args_is_help=True)


class ExportFormat(enum.StrEnum):
    JSONL = "jsonl"


def _open_store() -> SqlStore:
    return SqlStore.from_settings(load_settings())


@app.command("verify")
def verify(
    expect_head: Annotated[str | None, typer.Option(
        "--expect-head", metavar="SEQ:HASH",
        help="a head an earlier verify printed (or an external record of it); fail if that record is "
             "gone or changed, which catches a deleted tail whose head row was rewound")] = None,
) -> None:
    """Check every record's hash and link; exit 1 naming the first bad record (seq) on any tampering.

    On success prints the head (SEQ:HASH): keep it outside the database and pass it back with
    --expect-head next time.
    """
    with cli_errors():
        anchor = HeadAnchor.parse(expect_head) if expect_head is not None else None
        store = _open_store()
        try:
            report = store.verify_audit(expect_head=anchor)
        finally:
            store.close()
    if not report.ok:
        err_console.print(f"[bold red]FAIL[/] {report.describe()}", highlight=False, soft_wrap=True)
        raise typer.Exit(1)
    console.print(f"[green]OK[/] {report.describe()}", highlight=False, soft_wrap=True)


@app.command("export")
def export(
    format_: Annotated[ExportFormat, typer.Option("--format", help="output format")] = ExportFormat.JSONL,
    output: Annotated[Path | None, typer.Option("--output", "-o", help="write to this file")] = None,
    action: Annotated[str | None, typer.Option("--action", help="only the records of this action id")] = None,
) -> None:
    """Write the audit log as JSON Lines, one record per line, oldest first."""
    with cli_errors():
        store = _open_store()
        try:
            lines = [event.model_dump_json() for event in store.audit_events(action_id=action)]
        finally:
            store.close()
        text = "".join(f"{line}\n" for line in lines)
        if output is None:
            typer.echo(text, nl=False)
            return
        _write_export(output, text)
    err_console.print(f"wrote {len(lines)} audit records to {output}", highlight=False)


def _write_export(output: Path, text: str) -> None:
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise UserInputError(f"cannot write the audit export to {output}: {exc.strerror or exc}; "
                             "pass --output a path in a folder you can write to") from None
