"""The FastAPI application factory. Nothing connects until the lifespan starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import HTMLResponse

from services.gateway import (
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
    routes_manifest,  # issue 4
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
    )  # issue 4c: the BAST verify route takes a PDF
    app.include_router(api.router)
    app.include_router(routes_labels.router)  # issue 3
    app.include_router(routes_import.router)  # issue 3
    app.include_router(routes_label_sheets.router)  # issue 3
    app.include_router(health.router)
    app.include_router(pages.router)
    app.include_router(routes_audit.router)  # issue 5
    app.include_router(routes_consignments.router)  # issue 4
    app.include_router(routes_manifest.router)  # issue 4: dispatch manifest

    @app.get("/", include_in_schema=False)
    async def index() -> HTMLResponse:
        return HTMLResponse(
            "<!doctype html><html lang='id'><meta charset='utf-8'><title>Serah</title>"
            "<h1>Serah</h1><p>Pelacakan serah terima laptop · Laptop handover tracking</p>"
            "<ul><li><a href='/docs'>API (OpenAPI)</a></li><li><a href='/healthz'>Status</a></li></ul></html>"
        )

    return app
