"""`copilot serve`: run the HTTP service."""

from __future__ import annotations

from typing import Annotated

import typer

from copilot.cli.common import console, run
from copilot.settings import Settings, load_settings


def serve_app(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Build the app from settings and serve it until interrupted."""
    import uvicorn

    from copilot.api import create_app

    bind_host = host or settings.host
    bind_port = port or settings.port
    fastapi_app = run(lambda: create_app(settings))
    console.print(f"copilot is serving on [bold]http://{bind_host}:{bind_port}/[/] (Ctrl-C to stop)")
    uvicorn.run(fastapi_app, host=bind_host, port=bind_port, log_level="warning")


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: Annotated[str | None, typer.Option(help="bind address (default COPILOT_HOST)")] = None,
        port: Annotated[int | None, typer.Option(help="port (default COPILOT_PORT, 8080)")] = None,
    ) -> None:
        """Start the copilot HTTP service."""
        serve_app(run(load_settings), host, port)
