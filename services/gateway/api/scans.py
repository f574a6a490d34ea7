"""Scans of a laptop's label (dispatch, receipt, usage attestation), and the
decision on any command sent earlier, for 202 answers and offline sync."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse

from events import codec
from events.catalog import AttestUsage, DispatchLaptop, Official, Payload, ReceiveLaptop
from events.envelope import SAFE_ID
from services.gateway.api import scope
from services.gateway.api.laptops import LAPTOP_REFUSALS, NOT_FOUND
from services.gateway.api.render import answer, command_answers, record
from services.gateway.api.requests import AttestationScanRequest, DispatchScanRequest, ReceiptScanRequest, ScanRequest
from services.gateway.api.responses import DecisionResponse
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.decisions import held_detail, scan, submit
from services.gateway.deps import GW, Attester, Recipient, SignedIn, Warehouse
from services.gateway.errors import ApiError

router = APIRouter(prefix="/api/v1")
CommandId = Annotated[str, Path(pattern=SAFE_ID)]


async def _scan(gw: Gateway, who: Principal, body: ScanRequest, data: Payload, *office_roles: Role) -> JSONResponse:
    """``office_roles``: the roles of which the caller must hold one for the laptop's office
    (a receipt or an attestation is made at the office the laptop is addressed to)."""
    cmd = scan(gw, data, scan_id=body.scan_id, label=body.label, actor=who.actor, scanned_at=body.scanned_at)
    if office_roles:
        scope.act_for_any(who, office_roles, await scope.laptop_office(gw, cmd.subject), cmd.subject)
    return answer(await submit(gw, cmd))


@router.post(
    "/scans/dispatch",
    tags=["scans"],
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="A warehouse dispatch scan",
)
async def dispatch_scan(who: Warehouse, body: DispatchScanRequest, gw: GW) -> JSONResponse:
    """The label is checked (signature, key, generation) and the laptop must be allocated;
    a laptop planned in a consignment is dispatched by scanning it into the consignment instead.
    A grant of one warehouse dispatches through its consignments only (`403 not_your_warehouse`)."""
    scope.dispatches_alone(who)
    return await _scan(gw, who, body, DispatchLaptop(label=body.label, location=body.location))


@router.post(
    "/scans/receipt",
    tags=["scans"],
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="A recipient-office receipt scan",
)
async def receipt_scan(who: Recipient, body: ReceiptScanRequest, gw: GW) -> JSONResponse:
    """For a laptop sent on its own; a laptop in a consignment is received through
    `POST /api/v1/consignments/{consignment_id}/receipt` with the receipt code."""
    data = ReceiveLaptop(label=body.label, condition=body.condition, note=body.note, location=body.location)
    return await _scan(gw, who, body, data, Role.RECIPIENT)


@router.post(
    "/scans/attestation",
    tags=["audit"],
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="A holder's usage attestation: the laptop is still here (in use, in this condition)",
)
async def attestation_scan(who: Attester, body: AttestationScanRequest, gw: GW) -> JSONResponse:
    """By the office's official or the laptop's holder. Only a laptop at its office can be attested
    (`409 not_received`, `409 in_repair`, `409 lost` otherwise); the attestation records who attested (the
    signed-in person, or whom a device names in `attested_by`), and one by someone other than the laptop's
    holder is raised as an anomaly. Attestations that fall due are listed by `GET /api/v1/audit/attestations`."""
    attester = body.attested_by
    if who.kind == "person":  # a person attests as themselves, named as far as their account names them
        attester = Official(name=who.name, nip=who.nip, jabatan=who.jabatan or "-") if who.nip else None
    data = AttestUsage(
        label=body.label,
        condition=body.condition,
        in_use=body.in_use,
        note=body.note,
        location=body.location,
        attested_by=attester,
    )
    return await _scan(gw, who, body, data, Role.RECIPIENT, Role.HOLDER)


@router.get(
    "/scans/{scan_id}",
    tags=["scans"],
    response_model=DecisionResponse,
    responses=NOT_FOUND,
    summary="The decision on a scan sent earlier (for 202 answers and offline sync)",
)
async def scan_status(who: SignedIn, scan_id: CommandId, request: Request, gw: GW) -> DecisionResponse:
    """200 whatever the decision was (`accepted` or `rejected`, with the recorded event);
    `404 unknown_command` until the deciding service has decided."""
    return await _record(gw, scan_id, request.url.path)


@router.get(
    "/commands/{command_id}",
    tags=["commands"],
    response_model=DecisionResponse,
    responses=NOT_FOUND,
    summary="The decision on any command sent earlier (registration, plan, close, …)",
)
async def command_status(who: SignedIn, command_id: CommandId, request: Request, gw: GW) -> DecisionResponse:
    """Where a 202 answer's `Location` points for commands that are not scans. 200 whatever
    the decision was; `404 unknown_command` until the deciding service has decided."""
    return await _record(gw, command_id, request.url.path)


async def _record(gw: Gateway, command_id: str, url: str) -> DecisionResponse:
    first = await gw.reads.scan(command_id)
    if first is None:
        held = await gw.reads.held(command_id)
        why = held_detail(held) if held else "if you just sent it, ask again in a moment."
        raise ApiError(404, "unknown_command", f"No decision for {command_id} yet: {why}")
    return record(command_id, codec.from_json(first["event"]), url)
