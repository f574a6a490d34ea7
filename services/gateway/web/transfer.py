"""The giving office's pages for a transfer (mutasi): plan one (the office it goes to, the
official there who will sign its receipt, the legal basis, the laptops from this office's
list that are free to leave), follow it (expected, scanned, still missing), scan its
laptops out on the scanning page's transfer mode, and close it, which dispatches them.

The receiving office receives it on the receipt pages like any consignment
(``/penerimaan/{consignment_id}``, with the receipt code shown here once, at planning); the
laptops become that office's on its receipt, and its BAST is linked here after.

Each form posts to these pages, which call the API's own transfer routes
(``api.transfers``) with what a program would send: the same checks, the same command,
the same decision. The plan's consignment id and the close's idempotency key are made
when the form is shown, so the same form sent twice is one plan, one dispatch. A form's
route asks for the role its API route asks for."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from events import offices
from events.catalog import LEGAL_KINDS
from services.common.indonesian import WIB
from services.gateway.api import consignments as consignments_api
from services.gateway.api import scope
from services.gateway.api import transfers as transfers_api
from services.gateway.api.consignments import ConsignmentId
from services.gateway.api.custody import OFFICE_LAPTOPS, OfficeCode
from services.gateway.api.requests import CloseRequest, TransferRequest
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, page_allow, page_form
from services.gateway.errors import ApiError
from services.gateway.web import as_page, forms, render

router = APIRouter(include_in_schema=False)
HANDING_OVER = "Name the official who hands the laptops over: name, 18-digit NIP and jabatan."
PAGE = "/kantor/{code}/mutasi"

OfficePage = Annotated[Principal, Depends(page_allow(Role.RECIPIENT, Role.OPERATOR))]
PlanForm = Annotated[Principal, Depends(page_form(Role.RECIPIENT, Role.OPERATOR))]
GiverForm = Annotated[Principal, Depends(page_form(Role.RECIPIENT))]

# The laptops a transfer may take: at the office, received, held by no one, not already leaving.
# (The service decides; the page offers only these so the form is not a list of refusals.)
FREE_TO_LEAVE = "received"


@router.get(PAGE)
async def transfers(who: OfficePage, request: Request, gw: GW, code: OfficeCode) -> HTMLResponse:
    """The office's transfers under way, and the form to plan one."""
    return await _office_page(request, gw, who, code)


@router.post(PAGE)
async def plan(who: PlanForm, request: Request, gw: GW, code: OfficeCode) -> HTMLResponse:
    """Plan the transfer the form describes; its page, with the receipt code shown once."""
    form = await request.form()

    def field(name: str) -> str:
        return forms.field(form, name)

    chosen = [a for a in dict.fromkeys(form.getlist("asset")) if isinstance(a, str)]
    sent = {
        "consignment_id": field("consignment_id"),
        "office_code": field("office_code"),
        "official_name": field("official_name"),
        "official_nip": field("official_nip"),
        "official_jabatan": field("official_jabatan"),
        "legal_kind": field("legal_kind"),
        "legal_number": field("legal_number"),
        "legal_date": field("legal_date"),
        "assets": chosen,
    }
    async with as_page():
        scope.office_acted_for(who, code)
    try:
        body = _plan(code, sent)
        decision = await forms.send(transfers_api.plan_transfer(who, body, gw))
    except forms.Refused as refused:
        return await _office_page(request, gw, who, code, sent=sent, **refused.shown())
    return await _transfer_page(request, gw, who, code, body.consignment_id, planned=decision)


def _plan(code: str, sent: dict[str, Any]) -> TransferRequest:
    """The transfer the form describes, as the API takes it."""
    if not sent["assets"]:
        raise forms.Refused(422, "no_laptops", "Choose at least one laptop that moves.")
    if sent["office_code"] == code:
        raise forms.Refused(422, "same_office", "A transfer goes to another office: choose where the laptops go.")
    try:
        # As one body, so a refusal names the field as the API does (``officials.0.nip``).
        return TransferRequest.model_validate(
            {
                "consignment_id": sent["consignment_id"],
                "from_office": code,
                "office_code": sent["office_code"],
                "officials": [
                    {"name": sent["official_name"], "nip": sent["official_nip"], "jabatan": sent["official_jabatan"]}
                ],
                "legal_basis": {"kind": sent["legal_kind"], "number": sent["legal_number"], "date": sent["legal_date"]},
                "expected": sent["assets"],
            }
        )
    except ValidationError as exc:
        raise forms.invalid(exc, "invalid_form") from exc


@router.get(PAGE + "/{consignment_id}")
async def transfer(
    who: OfficePage, request: Request, gw: GW, code: OfficeCode, consignment_id: ConsignmentId
) -> HTMLResponse:
    return await _transfer_page(request, gw, who, code, consignment_id)


@router.post(PAGE + "/{consignment_id}/kirim")
async def dispatch(
    who: GiverForm, request: Request, gw: GW, code: OfficeCode, consignment_id: ConsignmentId
) -> HTMLResponse:
    """Close the transfer: every laptop scanned into it leaves for the receiving office now."""
    form = await request.form()

    def field(name: str) -> str:
        return forms.field(form, name)

    async with as_page():
        await _giving(gw, who, code, consignment_id)
    try:
        official = forms.named_official(who, field, "dispatcher_required", HANDING_OVER)
        body = CloseRequest(dispatcher=official) if official else None
        key = field("close_id") or f"web-close-{uuid.uuid4()}"
        decision = await forms.send(transfers_api.close_transfer(who, consignment_id, gw, body, key))
    except forms.Refused as refused:
        return await _transfer_page(request, gw, who, code, consignment_id, **refused.shown())
    return await _transfer_page(request, gw, who, code, consignment_id, dispatched=decision)


# --- the pages ---


async def _giving(gw: Gateway, who: Principal, code: str, consignment_id: str) -> dict[str, Any]:
    """The plan of a transfer leaving office ``code`` (another consignment is not this page's)."""
    scope.office_acted_for(who, code)
    plan = await gw.consignments.plan(consignment_id)
    if plan is None or plan.get("from_office") != code:
        raise ApiError(
            404,
            "unknown_transfer",
            f"No transfer {consignment_id} leaves office {code}: check its number on the office's transfer page.",
        )
    return plan


def suggested_id(code: str, now: datetime) -> str:
    """A transfer number that says where from and when, unique enough to plan without asking."""
    return f"MUT-{code}-{now.astimezone(WIB):%Y%m%d}-{secrets.token_hex(2).upper()}"


def free_to_leave(views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The office's laptops a transfer may take, in asset-id order."""
    return [
        v for v in views if v.get("status") == FREE_TO_LEAVE and not v.get("holder_nip") and not v.get("transfer_to")
    ]


def leaving(summaries: list[dict[str, Any]], code: str) -> list[dict[str, Any]]:
    """The transfers from office ``code`` among consignment summaries, by number."""
    mine = [s for s in summaries if (s.get("plan") or {}).get("from_office") == code]
    return sorted(mine, key=lambda s: s["consignment_id"])


async def _office_page(
    request: Request,
    gw: Gateway,
    who: Principal,
    office_code: str,
    *,
    sent: dict[str, Any] | None = None,
    problem: str | None = None,
    code: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with as_page():
        office = scope.office_acted_for(who, office_code)
    picking = await gw.consignments.being_picked()
    moving = await gw.consignments.unconfirmed()
    views = await gw.reads.label_views({"office_code": office_code}, OFFICE_LAPTOPS)
    return render(
        request,
        "transfers.html",
        status=status,
        office=office,
        laptops=free_to_leave(views),
        picking=leaving(picking, office_code),
        moving=leaving(moving, office_code),
        destinations=[o for o in offices.all_offices() if o.code != office_code],
        legal_kinds=LEGAL_KINDS,
        csrf=await forms.session_csrf(request, gw, who),
        new_id=suggested_id(office_code, datetime.now(UTC)),
        sent=sent or {},
        problem=problem,
        code=code,
    )


async def _transfer_page(
    request: Request,
    gw: Gateway,
    who: Principal,
    office_code: str,
    consignment_id: str,
    *,
    planned: dict[str, Any] | None = None,
    dispatched: dict[str, Any] | None = None,
    problem: str | None = None,
    code: str | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with as_page():
        office = scope.office_acted_for(who, office_code)
        if planned is None:
            await _giving(gw, who, office_code, consignment_id)
        summary = await _summary(gw, who, consignment_id, planned)
    return render(
        request,
        "transfer.html",
        status=status,
        office=office,
        c=summary,
        planned=planned,
        dispatched=dispatched,
        csrf=await forms.session_csrf(request, gw, who),
        close_id=f"web-close-{uuid.uuid4()}",
        problem=problem,
        code=code,
        shared_device=who.kind != "person",
        gives=who.may(Role.RECIPIENT, office_code),  # scanning and closing are the giving office's own
    )


async def _summary(gw: Gateway, who: Principal, consignment_id: str, planned: dict[str, Any] | None) -> dict[str, Any]:
    """The transfer's summary; just planned, the plan's own event until the views catch up."""
    try:
        return await consignments_api.get_consignment(who, consignment_id, gw)
    except ApiError:
        if planned is None:
            raise
    data = (planned.get("event") or {}).get("data", {})
    expected = list(data.get("expected", []))
    return {
        "consignment_id": consignment_id,
        "status": "open",
        "office_code": data.get("office_code"),
        "office_name": data.get("office_name"),
        "expected": expected,
        "scanned": [],
        "missing": expected,
        "expected_count": None,
        "missing_count": len(expected),
        "in_transit": [],
        "received": [],
        "basts": [],
    }
