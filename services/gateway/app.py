"""The FastAPI application factory. Nothing connects until the lifespan starts."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute

from services.gateway import api, errors, openapi, protection, web
from services.gateway.api import consignments, render
from services.gateway.bootstrap import Gateway, bootstrap
from services.gateway.config import GatewaySettings
from services.gateway.web import audit as audit_pages
from services.gateway.web import custody as custody_pages
from services.gateway.web import docs, pages, receipt, roster, scan, transfer, warehouse

DESCRIPTION = """Serah tracks government-issued laptops from the warehouse to the recipient
office: signed QR identities, dispatch and receipt by scanning, a tamper-evident history.

Every scan is sent to Kafka and decided by the owning service; the answer says
`accepted`, `rejected` (with a stable `code` and a sentence saying what to do) or
`pending` (202: the command is safely stored and will be decided; ask its
`status_url`). Errors are RFC 9457 problem+json."""


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
    web.install(app)
    docs.install(app)
    app.add_middleware(errors.BodyLimit, limit=settings.max_body_bytes, routes=consignments.body_limits(settings))
    for router in api.routers():
        app.include_router(router)
    app.include_router(pages.router)
    app.include_router(audit_pages.router)
    app.include_router(receipt.router)
    app.include_router(warehouse.router)
    app.include_router(scan.router)
    app.include_router(custody_pages.router)
    app.include_router(transfer.router)
    app.include_router(roster.router)
    render.declare_who_may_call(routes(app))

    openapi.install(app)
    app.add_middleware(openapi.LiteralPaths, api=app)
    protection.install(app, settings)  # last: rate limits, CORS and headers wrap everything above
    return app


def routes(app: FastAPI) -> list[APIRoute]:
    """Every route of the app, those of included routers too."""

    def walk(items: list[Any]) -> list[APIRoute]:
        found: list[APIRoute] = []
        for r in items:
            if isinstance(r, APIRoute):
                found.append(r)
            elif hasattr(r, "original_router"):
                found += walk(r.original_router.routes)
        return found

    return walk(list(app.routes))
