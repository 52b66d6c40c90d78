"""`copilot guard` commands: ask the guard for a decision on one typed call."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import ValidationError

from copilot.catalog import load_catalog
from copilot.cli.common import cli_errors
from copilot.compose import shipped_runbook_risks
from copilot.domain import Principal, ToolCall
from copilot.errors import UserInputError
from copilot.guard import Guard
from copilot.policy import load_policy
from copilot.settings import load_settings

app = typer.Typer(no_args_is_help=True)

_EXAMPLE = '{"tool": "get_logs", "args": {"namespace": "shop"}}'


def parse_call(text: str) -> ToolCall:
    """A JSON call -> ToolCall; anything malformed is a UserInputError (exit 2) naming the fix."""
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError as exc:
        raise UserInputError(
            f"the call is not JSON ({exc.msg} at column {exc.colno}); write it like {_EXAMPLE}"
        ) from None
    if not isinstance(data, dict):
        raise UserInputError(
            f"the call must be a JSON object, got {type(data).__name__}; write it like {_EXAMPLE}"
        )
    if not isinstance(data.get("tool"), str) or not data["tool"]:
        raise UserInputError(f'the call needs a "tool" name (a string); write it like {_EXAMPLE}')
    try:
        return ToolCall.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "call"
        hint = "remove it" if err["type"] == "extra_forbidden" else err["msg"]
        raise UserInputError(
            f"the call is malformed at {where!r}: {hint}; allowed keys: tool, args, "
            f"citations, evidence, rationale (e.g. {_EXAMPLE})"
        ) from None


def _names(csv: str) -> frozenset[str]:
    return frozenset(part.strip() for part in csv.split(",") if part.strip())


@app.command("check")
def check(
    call: Annotated[str, typer.Argument(metavar="JSON_CALL", help=f"e.g. '{_EXAMPLE}'")],
    as_: Annotated[str, typer.Option("--as", help="principal name (user bindings apply)")],
    roles: Annotated[str, typer.Option("--roles", help="comma-separated roles, e.g. oncall,sre-lead")] = "",
    groups: Annotated[
        str, typer.Option("--groups", help="comma-separated groups (group bindings apply)")
    ] = "",
    policy: Annotated[
        Path | None, typer.Option("--policy", help="policy file (default COPILOT_POLICY_FILE)")
    ] = None,
    catalog: Annotated[Path | None, typer.Option("--catalog", help="tool catalog dir")] = None,
    require_grounding: Annotated[
        bool, typer.Option(help="deny mutating calls without citations/evidence")
    ] = False,
) -> None:
    """Print the guard's decision on JSON_CALL as JSON.

    Exits 0 whatever the outcome (an unknown tool is a deny decision); 2 if the call is malformed.
    """
    with cli_errors():
        tool_call = parse_call(call)
        settings = load_settings()
        tools = load_catalog(catalog or settings.catalog_dir)
        rules = load_policy(policy or settings.policy_file, tools)
        principal = Principal(name=as_, roles=_names(roles), groups=_names(groups))
        guard = Guard(tools, rules, shipped_runbook_risks(settings))
        decision = guard.check(tool_call, principal, require_grounding=require_grounding)
        typer.echo(decision.model_dump_json(indent=2))
