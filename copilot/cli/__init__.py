"""The ``copilot`` command. Each command group lives in its own module; this wires them."""

from __future__ import annotations

import typer

from copilot.cli import (
    ask_cmd,
    audit_cmd,
    demo_cmd,
    eval_cmd,
    guard_cmd,
    knowledge_cmd,
    policy_cmd,
    serve_cmd,
)

app = typer.Typer(help="copilot: guarded, grounded ChatOps copilot for on-call engineers.",
                  no_args_is_help=True, pretty_exceptions_enable=False)
app.add_typer(policy_cmd.app, name="policy", help="Validate the policy and show who may do what.")
app.add_typer(guard_cmd.app, name="guard", help="Ask the guard for a decision on one call.")
app.add_typer(audit_cmd.app, name="audit", help="Verify and export the hash-chained audit log.")
app.add_typer(knowledge_cmd.app, name="knowledge", help="Ingest, search and show runbooks.")
app.add_typer(eval_cmd.app, name="eval", help="Score proposals against eval datasets.")
ask_cmd.register(app)
serve_cmd.register(app)
demo_cmd.register(app)


def main() -> None:
    app()
