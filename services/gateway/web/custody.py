"""The office's desk for one laptop after receipt: hand it to a holder (pemegang), report
it lost or stolen, propose its write-off (penghapusan BMN), and, for an operator signed
in as themselves, approve or decline that proposal. What needs the laptop in hand
(the holder's confirmation, repair, recovery, the return to the warehouse) is a scan:
the scanning page's modes.

Each form posts to this page, which calls the API's own route function with what a
program would send: the same checks, the same command, the same decision. Each form's
request id is made when the page is shown, so the same form sent twice is one command.
A form's route asks for the role its API route asks for (the API states its roles in
its dependencies, which a direct call does not run)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import BaseModel, ValidationError

from events.catalog import CONDITIONS, Holder, LossKind, Official, WriteOffReason
from services.gateway.api import custody as custody_api
from services.gateway.api import laptops as laptops_api
from services.gateway.api import scope
from services.gateway.api.laptops import AssetId
from services.gateway.api.requests import (
    AssignRequest,
    LossReportRequest,
    WriteOffApprovalRequest,
    WriteOffDeclineRequest,
    WriteOffProposalRequest,
)
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.deps import GW, page_allow, page_form
from services.gateway.web import as_page, forms, render

router = APIRouter(include_in_schema=False)
Body = TypeVar("Body", bound=BaseModel)
PAGE = "/kantor/laptop"

DeskPage = Annotated[Principal, Depends(page_allow(Role.RECIPIENT, Role.OPERATOR))]
RecipientForm = Annotated[Principal, Depends(page_form(Role.RECIPIENT))]
CustodianForm = Annotated[Principal, Depends(page_form(Role.RECIPIENT, Role.OPERATOR))]
OperatorForm = Annotated[Principal, Depends(page_form(Role.OPERATOR))]

LOSS_KINDS = {LossKind.LOST: ("Hilang", "Lost"), LossKind.STOLEN: ("Dicuri", "Stolen")}
WRITE_OFF_REASONS = {
    WriteOffReason.BEYOND_REPAIR: ("Rusak berat, tidak dapat diperbaiki", "Damaged beyond repair"),
    WriteOffReason.LOST: ("Hilang (sudah dilaporkan)", "Lost (already reported)"),
    WriteOffReason.OBSOLETE: ("Usang", "Obsolete"),
}
# What each form is called when the page reports its decision.
DONE = {
    "holder": ("Laptop diserahkan kepada pemegang", "The laptop was handed to its holder"),
    "loss": ("Kehilangan dilaporkan", "The loss was reported"),
    "write-off": ("Penghapusan diusulkan", "The write-off was proposed"),
    "approval": ("Penghapusan disetujui: label laptop dicabut", "The write-off was approved: its labels are revoked"),
    "decline": ("Usulan penghapusan ditolak", "The write-off proposal was declined"),
}


@router.get(PAGE)
async def find(who: DeskPage, asset_id: Annotated[str, Query(pattern=r"^\s*[A-Za-z0-9]{13}\s*$")]) -> RedirectResponse:
    """The "open a laptop" form: its asset id as typed from its sticker, in any case."""
    return RedirectResponse(f"{PAGE}/{asset_id.strip().upper()}", status_code=303)


@router.get(PAGE + "/{asset_id}")
async def desk(who: DeskPage, request: Request, gw: GW, asset_id: AssetId) -> HTMLResponse:
    return await _desk(request, gw, who, asset_id)


@router.post(PAGE + "/{asset_id}/pemegang")
async def hand_out(who: RecipientForm, request: Request, gw: GW, asset_id: AssetId) -> HTMLResponse:
    field = await _fields(request)

    def body() -> AssignRequest:
        holder = Holder(
            name=field("holder_name"),
            nip=field("holder_nip"),
            jabatan=field("holder_jabatan"),
            unit=field("holder_unit"),
        )
        return AssignRequest(
            request_id=field("request_id") or f"web-{uuid.uuid4()}",
            holder=holder,
            condition=field("condition") or "B",
            note=field("note"),
            assigned_by=_official(who, field),
        )

    return await _act(
        request, gw, who, asset_id, "holder", body, lambda b: custody_api.assign_holder(who, asset_id, b, gw)
    )


@router.post(PAGE + "/{asset_id}/kehilangan")
async def report_loss(who: CustodianForm, request: Request, gw: GW, asset_id: AssetId) -> HTMLResponse:
    field = await _fields(request)

    def body() -> LossReportRequest:
        return LossReportRequest(
            request_id=field("request_id") or f"web-{uuid.uuid4()}",
            kind=field("kind"),
            circumstances=field("circumstances"),
            police_report=field("police_report") or None,
            lost_on=field("lost_on") or None,
        )

    return await _act(request, gw, who, asset_id, "loss", body, lambda b: custody_api.report_loss(who, asset_id, b, gw))


@router.post(PAGE + "/{asset_id}/penghapusan")
async def propose_write_off(who: CustodianForm, request: Request, gw: GW, asset_id: AssetId) -> HTMLResponse:
    field = await _fields(request)

    def body() -> WriteOffProposalRequest:
        return WriteOffProposalRequest(
            request_id=field("request_id") or f"web-{uuid.uuid4()}",
            reason=field("reason"),
            note=field("note"),
            proposer=_official(who, field),
        )

    return await _act(
        request, gw, who, asset_id, "write-off", body, lambda b: custody_api.propose_write_off(who, asset_id, b, gw)
    )


@router.post(PAGE + "/{asset_id}/penghapusan/setuju")
async def approve_write_off(who: OperatorForm, request: Request, gw: GW, asset_id: AssetId) -> HTMLResponse:
    field = await _fields(request)

    def body() -> WriteOffApprovalRequest:
        return WriteOffApprovalRequest(
            request_id=field("request_id") or f"web-{uuid.uuid4()}",
            decree_number=field("decree_number") or None,
            note=field("note"),
        )

    return await _act(
        request, gw, who, asset_id, "approval", body, lambda b: custody_api.approve_write_off(who, asset_id, b, gw)
    )


@router.post(PAGE + "/{asset_id}/penghapusan/tolak")
async def decline_write_off(who: OperatorForm, request: Request, gw: GW, asset_id: AssetId) -> HTMLResponse:
    field = await _fields(request)

    def body() -> WriteOffDeclineRequest:
        return WriteOffDeclineRequest(request_id=field("request_id") or f"web-{uuid.uuid4()}", reason=field("reason"))

    return await _act(
        request, gw, who, asset_id, "decline", body, lambda b: custody_api.decline_write_off(who, asset_id, b, gw)
    )


# --- the page ---


async def _fields(request: Request) -> Callable[[str], str]:
    form = await request.form()
    return lambda name: forms.field(form, name)


def _official(who: Principal, field: Callable[[str], str]) -> Official | None:
    """A signed-in official acts as themselves; an office's shared device names them."""
    if who.kind == "person":
        return None
    return Official(name=field("official_name"), nip=field("official_nip"), jabatan=field("official_jabatan"))


async def _act(
    request: Request,
    gw: Gateway,
    who: Principal,
    asset_id: str,
    form: str,
    body: Callable[[], Body],
    send: Callable[[Body], Any],
) -> HTMLResponse:
    """Read the form into the API's body, send it, and show the decision (or why not)."""
    try:
        try:
            made = body()
        except ValidationError as exc:
            raise forms.invalid(exc, "invalid_form") from exc
        decision = await forms.send(send(made))
    except forms.Refused as refused:
        return await _desk(request, gw, who, asset_id, form=form, **refused.shown())
    return await _desk(request, gw, who, asset_id, form=form, decision=decision)


async def _desk(
    request: Request,
    gw: Gateway,
    who: Principal,
    asset_id: str,
    *,
    form: str | None = None,
    problem: str | None = None,
    code: str | None = None,
    decision: dict[str, Any] | None = None,
    status: int = 200,
) -> HTMLResponse:
    async with as_page():
        laptop = await laptops_api.get_laptop(who, asset_id, gw)
        # Another office's laptop is not this desk's (an operator's desk is every office).
        scope.act_for_any(who, (Role.RECIPIENT, Role.OPERATOR), laptop.office_code, asset_id)
    document = ((decision or {}).get("event") or {}).get("data", {}).get("document")
    return render(
        request,
        "custody.html",
        status=status,
        laptop=laptop,
        csrf=await forms.session_csrf(request, gw, who),
        ids={name: f"web-{name}-{uuid.uuid4()}" for name in DONE},
        form=form,
        problem=problem,
        code=code,
        decision=decision,
        done=DONE,
        document=document,
        shared_device=who.kind != "person",
        hands_out=who.may(Role.RECIPIENT, laptop.office_code) if laptop.office_code else False,
        decides=who.may(Role.OPERATOR) and who.kind == "person",
        conditions=CONDITIONS,
        loss_kinds=LOSS_KINDS,
        reasons=WRITE_OFF_REASONS,
    )
