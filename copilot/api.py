"""create_app(): the one composition root for the HTTP service."""

from __future__ import annotations

import logging

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from copilot import __version__
from copilot.catalog import load_catalog
from copilot.settings import Settings

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>copilot</title></head>
<body><h1>copilot {version}</h1><p>Guarded ChatOps copilot. {tools} tools in the catalog.</p>
<p>The web console arrives in a later step; use <code>copilot ask</code> meanwhile.</p></body></html>"""


def create_app(settings: Settings) -> FastAPI:
    """Wire adapters to ports and return the ASGI app. Nothing happens at import time."""
    settings.ensure_home()
    catalog = load_catalog(settings.catalog_dir)
    app = FastAPI(title="copilot", version=__version__)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        return _PAGE.format(version=__version__, tools=len(catalog))

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "version": __version__})

    return app
