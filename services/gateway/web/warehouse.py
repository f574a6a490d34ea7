"""The warehouse's pages: a consignment's pick view (expected, scanned, still missing),
the link to scan laptops into it, its label sheet and dispatch manifest, and closing it
with a confirmation that says what leaves.

Closing posts to this page, which calls the API's own close route
(``api.consignments.close``) with an idempotency key made when the page was shown: the
same confirmation sent twice is one dispatch. A signed-in person dispatches as themselves
(the BAST's PIHAK PERTAMA); the warehouse's shared device names the official on shift."""

from __future__ import annotations

import uuid
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from services.gateway.api import consignments as consignments_api
from services.gateway.api import manifest as manifest_api
from services.gateway.api.consignments import ConsignmentId
from services.gateway.api.requests import CloseRequest, ManifestRequest
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, WarehouseForm, WarehousePage
from services.gateway.web import as_page, forms, render
from services.gateway.web.forms import TypedConsignment

router = APIRouter(include_in_schema=False)
DISPATCHING = "Name the dispatching official: name, 18-digit NIP and jabatan."


@router.get("/gudang")
async def warehouse(who: WarehousePage, request: Request, gw: GW) -> HTMLResponse:
    """The consignments being picked, the ones on their way, and opening one by its number."""
    async with as_page():
        moving = await consignments_api.unconfirmed(who, gw)
    picking = sorted(await gw.consignments.being_picked(), key=lambda c: c["consignment_id"])
    return render(request, "warehouse.html", moving=moving, picking=picking)


@router.get("/gudang/buka")
async def open_by_id(who: WarehousePage, consignment_id: TypedConsignment) -> RedirectResponse:
    return RedirectResponse(f"/gudang/{consignment_id.strip()}", status_code=303)


@router.get("/gudang/{consignment_id}")
async def pick(who: WarehousePage, request: Request, gw: GW, consignment_id: ConsignmentId) -> HTMLResponse:
    return await _pick(request, gw, who, consignment_id)


@router.post("/gudang/{consignment_id}/kirim")
async def dispatch(who: WarehouseForm, request: Request, gw: GW, consignment_id: ConsignmentId) -> HTMLResponse:
    """Close the consignment: every laptop scanned in leaves now."""
    form = await request.form()

    def field(name: str) -> str:
        return forms.field(form, name)

    try:
        official = forms.named_official(who, field, "dispatcher_required", DISPATCHING)
        body = CloseRequest(dispatcher=official) if official else None
        key = field("close_id") or f"web-close-{uuid.uuid4()}"
        decision = await forms.send(consignments_api.close(who, consignment_id, gw, body, key))
    except forms.Refused as refused:
        return await _pick(request, gw, who, consignment_id, **refused.shown())
    return await _pick(request, gw, who, consignment_id, dispatched=decision)


@router.post("/gudang/{consignment_id}/manifest")
async def manifest(who: WarehouseForm, request: Request, gw: GW, consignment_id: ConsignmentId) -> Response:
    """The dispatch manifest PDF, with the receipt code printed if it is given (and right)."""
    code = forms.field(await request.form(), "receipt_code")
    body = ManifestRequest(receipt_code=code or None)
    async with as_page():
        pdf = await manifest_api.manifest_pdf(who, consignment_id, body, gw)
    # From the page it is a file to keep and print, not a page to open in its place.
    pdf.headers["Content-Disposition"] = pdf.headers["Content-Disposition"].replace("inline", "attachment")
    return pdf


async def _pick(
    request: Request,
    gw: Gateway,
    who: Principal,
    consignment_id: str,
    *,
    problem: str | None = None,
    code: str | None = None,
    dispatched: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with as_page():
        summary = await consignments_api.get_consignment(who, consignment_id, gw)
    csrf = await forms.session_csrf(request, gw, who)
    return render(
        request,
        "warehouse_pick.html",
        status=status,
        c=summary,
        csrf=csrf,
        close_id=f"web-close-{uuid.uuid4()}",
        problem=problem,
        code=code,
        dispatched=dispatched,
        shared_device=who.kind != "person",
        prints_labels=who.may(Role.OPERATOR),  # label sheets are the operator's
    )
