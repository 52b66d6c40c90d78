"""`copilot serve`: run the HTTP service."""

from __future__ import annotations

import typer

from copilot.cli.common import console, run
from copilot.settings import load_settings


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option(None, help="bind address (default COPILOT_HOST, 127.0.0.1)"),
        port: int = typer.Option(None, help="port (default COPILOT_PORT, 8080)"),
    ) -> None:
        """Start the copilot HTTP service (web console, webhooks, Slack)."""
        import uvicorn

        from copilot.api import create_app

        settings = run(load_settings)
        bind_host = host or settings.host
        bind_port = port or settings.port
        fastapi_app = run(lambda: create_app(settings))
        console.print(f"copilot listening on http://{bind_host}:{bind_port}/")
        uvicorn.run(fastapi_app, host=bind_host, port=bind_port, log_level="info")
