"""The FastAPI application factory. Nothing connects until the lifespan starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from services.gateway import (
    answers,
    api,
    docs,
    errors,
    health,
    pages,
    routes_audit,
    routes_consignments,
    routes_import,
    routes_label_sheets,
    routes_labels,
    routes_manifest,
)
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.config import GatewaySettings

DESCRIPTION = """Serah tracks government-issued laptops from the warehouse to the recipient
office: signed QR identities, dispatch and receipt by scanning, a tamper-evident history.

Every scan is sent to Kafka and decided by the owning service; the answer says
`accepted`, `rejected` (with a stable `code` and a sentence saying what to do) or
`pending` (202: the scan is safely stored and will be decided; ask
`GET /api/v1/scans/{scan_id}`). Errors are RFC 9457 problem+json."""


def create_app(settings: GatewaySettings, gateway: Gateway | None = None) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        gw = gateway or bootstrap(settings)
        await gw.start()
        app.state.gateway = gw
        try:
            yield
        finally:
            await gw.stop()

    app = FastAPI(
        title="Serah", version="1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    errors.install(app)
    docs.install(app)
    app.add_middleware(
        errors.BodyLimit, limit=settings.max_body_bytes, routes=routes_consignments.body_limits(settings)
    )
    app.include_router(api.router)
    app.include_router(routes_labels.router)
    app.include_router(routes_import.router)
    app.include_router(routes_label_sheets.router)
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(routes_audit.router)
    app.include_router(routes_consignments.router)
    app.include_router(routes_manifest.router)

    @app.get(
        "/",
        tags=["pages"],
        response_class=HTMLResponse,
        responses=answers.html_page("Links to the API documentation and the service status."),
        summary="The home page",
    )
    async def index() -> HTMLResponse:
        """In Bahasa Indonesia with English."""
        return pages.index()

    answers.install(app)
    app.add_middleware(answers.LiteralPaths, api=app)
    return app
