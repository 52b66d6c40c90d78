"""`copilot policy` commands: validate the policy, show who may do what, print the compiled Cedar."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from copilot.catalog import load_catalog
from copilot.cli.common import cli_errors, console
from copilot.policy import Policy, load_policy
from copilot.policy_cedar import build_schema
from copilot.settings import load_settings

app = typer.Typer(no_args_is_help=True)

FileArg = Annotated[
    Path | None, typer.Argument(help="policy file (default COPILOT_POLICY_FILE, ./policy.yaml)")
]
CatalogOpt = Annotated[
    Path | None, typer.Option("--catalog", help="tool catalog dir (default COPILOT_CATALOG_DIR)")
]


def _load(file: Path | None, catalog: Path | None) -> Policy:
    settings = load_settings()
    return load_policy(file or settings.policy_file, load_catalog(catalog or settings.catalog_dir))


def who_may_table(policy: Policy) -> Table:
    table = Table(title=f"{policy.source}: who may do what", show_lines=False)
    table.add_column("tool", no_wrap=True)
    table.add_column("kind", no_wrap=True)
    for column in ("request", "approve", "approvals", "limits", "forbidden"):
        table.add_column(column, overflow="fold")
    for row in policy.summary():
        table.add_row(
            row.tool,
            row.kind,
            "; ".join(row.request) or "-",
            "; ".join(row.approve) or "-",
            row.approvals,
            "; ".join(row.limits) or "-",
            "; ".join(row.forbidden) or "-",
        )
    return table


@app.command("check")
def check(file: FileArg = None, catalog: CatalogOpt = None) -> None:
    """Validate the policy (exit 2 with one line naming file, line and fix) and print who may do what."""
    with cli_errors():
        policy = _load(file, catalog)
        console.print(who_may_table(policy))
        freeze = "ON" if policy.freeze else "off"
        console.print(
            f"policy OK: {len(policy.doc.rules)} rules -> {policy.rule_count} Cedar policies; "
            f"roles: {', '.join(policy.roles)}; freeze {freeze}",
            highlight=False,
        )


@app.command("cedar")
def cedar(
    file: FileArg = None,
    catalog: CatalogOpt = None,
    schema: Annotated[
        bool, typer.Option("--schema", help="print the generated Cedar schema (JSON) instead")
    ] = False,
) -> None:
    """Print the Cedar policies the YAML compiles to (or the schema they are validated against)."""
    with cli_errors():
        policy = _load(file, catalog)
        text = json.dumps(build_schema(policy.catalog), indent=2) if schema else policy.cedar_text
        typer.echo(text)
