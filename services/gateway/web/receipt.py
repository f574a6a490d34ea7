"""The recipient office's pages: the consignments on their way to the offices an official
(or the office's enrolled device) may sign for, and the receipt of one: each laptop's
condition (B / RR / RB) with a note, the ones that did not arrive, the official who signs,
the receipt code from the manifest, and then the BAST.

The form posts to this page, which sends the API's own receipt route what a program
would send (``api.consignments.confirm_receipt``): the same checks, the same command, the
same decision. The receipt's id is made when the form is shown, so sending the form twice
(a double tap, a retry on a bad link) is one receipt."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import ValidationError

from events import offices
from events.catalog import CONDITIONS, Official, ReceiptLine
from services.gateway.api import consignments as consignments_api
from services.gateway.api import scope
from services.gateway.api.consignments import ConsignmentId
from services.gateway.api.requests import ReceiptRequest
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, RecipientForm, RecipientPage
from services.gateway.errors import ApiError
from services.gateway.web import as_page, forms, render
from services.gateway.web.forms import TypedConsignment

router = APIRouter(include_in_schema=False)


@router.get("/penerimaan")
async def arriving(who: RecipientPage, request: Request, gw: GW) -> HTMLResponse:
    """Consignments dispatched to an office this official signs for, not yet (fully) received."""
    async with as_page():
        rows = [
            c
            for c in await consignments_api.unconfirmed(who, gw)
            if c.get("office_code") and who.may(Role.RECIPIENT, c["office_code"])
        ]
    # The offices this official signs for by name: each has its staff list and its transfers.
    mine = sorted(o for o in who.scopes(Role.RECIPIENT) if offices.get(o) is not None and "." in o)
    return render(request, "receipt_list.html", rows=rows, my_offices=mine)


@router.get("/penerimaan/buka")
async def open_by_id(who: RecipientPage, consignment_id: TypedConsignment) -> RedirectResponse:
    """The list's "open by number" form: the number as printed on the manifest."""
    return RedirectResponse(f"/penerimaan/{consignment_id.strip()}", status_code=303)


@router.get("/penerimaan/{consignment_id}")
async def receipt_form(who: RecipientPage, request: Request, gw: GW, consignment_id: ConsignmentId) -> HTMLResponse:
    return await _form(request, gw, who, consignment_id)


@router.post("/penerimaan/{consignment_id}")
async def confirm(who: RecipientForm, request: Request, gw: GW, consignment_id: ConsignmentId) -> HTMLResponse:
    form = await request.form()

    def field(name: str) -> str:
        return forms.field(form, name)

    async with as_page():
        await _summary(gw, who, consignment_id)
    # The laptops the form showed (not what is in transit now): the same form sent again is
    # the same receipt, answered with its first decision.
    shown = [a for a in form.getlist("asset") if isinstance(a, str)][:5000]
    lines, missing = [], []
    for asset in dict.fromkeys(shown):
        if field(f"missing-{asset}"):
            missing.append(asset)
        else:
            lines.append(
                {"asset_id": asset, "condition": field(f"condition-{asset}") or "B", "note": field(f"note-{asset}")}
            )
    officials = {o["nip"]: o for o in await _officials(gw, consignment_id)}
    sent = {"lines": lines, "missing": missing, "official": field("official"), "receipt_code": field("receipt_code")}
    try:
        body = _receipt(field, officials.get(field("official")), lines, missing)
        decision = await forms.send(consignments_api.confirm_receipt(who, consignment_id, body, gw))
    except forms.Refused as refused:
        return await _form(request, gw, who, consignment_id, sent=sent, **refused.shown())
    return render(request, "receipt_done.html", consignment_id=consignment_id, decision=decision, missing=missing)


def _receipt(
    field: Callable[[str], str], official: dict[str, Any] | None, lines: list[dict[str, str]], missing: list[str]
) -> ReceiptRequest:
    """The receipt the form describes, as the API takes it."""
    if official is None:
        raise forms.Refused(422, "official_required", "Choose the official who signs the BAST.")
    try:
        return ReceiptRequest(
            receipt_id=field("receipt_id") or f"web-{uuid.uuid4()}",
            official=Official.model_validate(official),
            receipt_code=field("receipt_code") or "-",
            lines=[ReceiptLine.model_validate(line) for line in lines],
            missing=missing,
        )
    except ValidationError as exc:
        raise forms.invalid(exc) from exc


async def _summary(gw: Gateway, who: Principal, consignment_id: str) -> dict[str, Any]:
    summary = await gw.consignments.summary(consignment_id)
    if summary is None:
        raise ApiError(404, "unknown_consignment", f"Consignment {consignment_id} is not planned: check the manifest.")
    scope.act_for(who, Role.RECIPIENT, summary.get("office_code"), consignment_id)
    return summary


async def _officials(gw: Gateway, consignment_id: str) -> list[dict[str, Any]]:
    plan = await gw.consignments.plan(consignment_id)
    return list((plan or {}).get("officials", []))


async def _form(
    request: Request,
    gw: Gateway,
    who: Principal,
    consignment_id: str,
    *,
    problem: str | None = None,
    code: str | None = None,
    sent: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with as_page():
        summary = await _summary(gw, who, consignment_id)
    officials = await _officials(gw, consignment_id)
    if who.kind == "person":  # a person signs only as themselves
        officials = [o for o in officials if o.get("nip") == who.nip]
    csrf = await forms.session_csrf(request, gw, who)
    return render(
        request,
        "receipt_form.html",
        status=status,
        consignment_id=consignment_id,
        summary=summary,
        officials=officials,
        conditions=CONDITIONS,
        csrf=csrf,
        receipt_id=f"web-{uuid.uuid4()}",
        problem=problem,
        code=code,
        sent=sent or {},
        # What was entered before a refusal, kept: each laptop's condition and note.
        chosen={line["asset_id"]: line["condition"] for line in (sent or {}).get("lines", [])},
        notes={line["asset_id"]: line["note"] for line in (sent or {}).get("lines", [])},
    )
