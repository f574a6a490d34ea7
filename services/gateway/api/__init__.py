"""The JSON API (``/api/v1``), one module per resource. Bodies: ``requests`` (what
is accepted) and ``responses`` (what is answered); ``render`` turns a decision
into its HTTP answer."""

from __future__ import annotations

from fastapi import APIRouter


def routers() -> list[APIRouter]:
    """Every router of the API, in the order the OpenAPI document lists them."""
    from services.gateway.api import (
        audit,
        consignments,
        custody,
        documents,
        health,
        identity,
        imports,
        label_sheets,
        labels,
        laptops,
        manifest,
        offices,
        scans,
        transfers,
    )

    return [
        laptops.router,
        imports.router,
        scans.router,
        custody.router,
        offices.router,
        labels.router,
        label_sheets.router,
        consignments.router,
        transfers.router,
        manifest.router,
        documents.router,
        audit.router,
        identity.router,
        health.router,
    ]
