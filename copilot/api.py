"""create_app(): the one composition root for the HTTP service."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse, JSONResponse

from copilot import __version__
from copilot.approvals import ActionService
from copilot.compose import build_catalog, build_guard, shipped_runbook_risks
from copilot.execution import DEFAULT_LEASE_SECONDS, ExecutorRegistry
from copilot.execution.recording import RecordingExecutor
from copilot.ports import Executor
from copilot.settings import Settings
from copilot.store import SqlStore

log = logging.getLogger(__name__)

_PAGE = """<!doctype html><html><head><meta charset="utf-8"><title>copilot</title></head>
<body><h1>copilot {version}</h1><p>Guarded ChatOps copilot. {tools} tools in the catalog,
{pending} action(s) waiting for approval, {unknown} needing a human check after a crash.</p>
<p>The web console arrives in a later step; use <code>copilot ask</code> meanwhile.</p></body></html>"""


def create_app(settings: Settings, *, executors: list[Executor] | None = None) -> FastAPI:
    """Wire adapters to ports and return the ASGI app. Nothing happens at import time.

    The catalog and policy are loaded (and validated) here, so a broken file stops the
    start-up with its one-line error instead of failing the first request.
    """
    settings.ensure_home()
    catalog = build_catalog(settings)
    guard = build_guard(settings, catalog, shipped_runbook_risks(settings))
    registry = ExecutorRegistry(executors if executors is not None else [RecordingExecutor()])

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        store = SqlStore.from_settings(settings)
        service = ActionService(store, guard, registry, ttl_default=settings.approval_ttl_s)
        # One embedded replica owns every execution; with a shared database another replica's live
        # execution must not be claimed, so only executions older than the lock lease count as lost.
        shared = settings.database_url is not None and not settings.resolved_database_url.startswith("sqlite")
        unknown = service.recover(older_than_seconds=DEFAULT_LEASE_SECONDS if shared else 0)
        if unknown:
            log.warning("recovered %d action(s) left executing by a crash: unknown, needs a human check",
                        len(unknown))
        app.state.store = store
        app.state.actions = service
        try:
            yield
        finally:
            store.close()

    app = FastAPI(title="copilot", version=__version__, lifespan=lifespan)

    @app.get("/", response_class=HTMLResponse)
    def index() -> str:
        from copilot.domain import ActionState

        store: SqlStore = app.state.store
        pending = len(store.list_actions(states=[ActionState.PROPOSED]))
        unknown = len(store.list_actions(states=[ActionState.UNKNOWN]))
        return _PAGE.format(version=__version__, tools=len(catalog), pending=pending, unknown=unknown)

    @app.get("/healthz")
    def healthz() -> JSONResponse:
        return JSONResponse({"ok": True, "version": __version__})

    return app
