"""A laptop's life after receipt: its holder (hand out, confirm, give back), repair,
loss and recovery, the return to the warehouse, write-off (propose, approve, decline),
and an office's list of staff. Every decision is handover's (services/handover/lifecycle.py);
a route checks who may ask for which office and names who signs, then waits for it.

Who may ask: an office's recipient officials act for their office's laptops (its
laptops as the audit's view places them); an operator also reports losses and proposes
write-offs anywhere; only an operator, signed in as themselves, decides a write-off
(the service refuses the proposer's own approval); the holder confirms holding a laptop
signed in as themselves; the warehouse scans a laptop back into stock."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse

from events.catalog import (
    OFFICE_CODE,
    ApproveWriteOff,
    AssignLaptop,
    ConfirmAssignment,
    DeclineWriteOff,
    OfficeRosterRecorded,
    Payload,
    ProposeWriteOff,
    RecordOfficeRoster,
    RecoverLaptop,
    ReportLoss,
    ReturnFromHolder,
    ReturnFromRepair,
    ReturnToWarehouse,
    SendForRepair,
)
from services.gateway.api import scope
from services.gateway.api.laptops import LAPTOP_REFUSALS, AssetId
from services.gateway.api.render import answer, command_answers, problems
from services.gateway.api.requests import (
    AssignRequest,
    HolderConfirmScanRequest,
    HolderReturnScanRequest,
    LossReportRequest,
    RecoveryScanRequest,
    RepairBackScanRequest,
    RepairOutScanRequest,
    RosterRequest,
    ScanRequest,
    WarehouseReturnScanRequest,
    WriteOffApprovalRequest,
    WriteOffDeclineRequest,
    WriteOffProposalRequest,
)
from services.gateway.api.responses import DecisionResponse, RosterPublic
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.decisions import command, named_by_content, scan, submit
from services.gateway.deps import GW, Custodian, HolderOnly, Operator, Recipient, Warehouse
from services.gateway.errors import ApiError

router = APIRouter(prefix="/api/v1")
OfficeCode = Annotated[str, Path(pattern=OFFICE_CODE, examples=["73.71"])]
OFFICE_REFUSALS = (403, *LAPTOP_REFUSALS)
# More laptops than one office holds (an office of a province holds some hundreds).
OFFICE_LAPTOPS = 20_000


async def _scan_for_office(gw: Gateway, who: Principal, body: ScanRequest, data: Payload, *roles: Role) -> JSONResponse:
    cmd = scan(gw, data, scan_id=body.scan_id, label=body.label, actor=who.actor, scanned_at=body.scanned_at)
    scope.act_for_any(who, roles, await scope.laptop_office(gw, cmd.subject), cmd.subject)
    return answer(await submit(gw, cmd))


async def _for_office(gw: Gateway, who: Principal, asset_id: str, data: Payload, request_id: str) -> JSONResponse:
    """A desk act about a laptop: by its office's recipient official, or an operator."""
    scope.act_for_any(who, (Role.RECIPIENT, Role.OPERATOR), await scope.laptop_office(gw, asset_id), asset_id)
    cmd = command(data, command_id=request_id, subject=asset_id, actor=who.actor, gw=gw)
    return answer(await submit(gw, cmd))


# --- the holder ---


@router.post(
    "/laptops/{asset_id}/holder",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="Hand a laptop to a holder (pemegang); issues the berita acara",
)
async def assign_holder(who: Recipient, asset_id: AssetId, body: AssignRequest, gw: GW) -> JSONResponse:
    """The laptop must be at the office, held by no one (`409 held_by_holder`, `409 in_repair`, …). The
    official who hands it over is the signed-in person (a device names them in `assigned_by`); the accepted
    event carries the berita acara's number and SHA-256 (`GET /api/v1/documents/{document_id}`). The holder
    then confirms by scanning (`POST /api/v1/scans/assignment`)."""
    scope.act_for(who, Role.RECIPIENT, await scope.laptop_office(gw, asset_id), asset_id)
    data = AssignLaptop(
        holder=body.holder,
        assigned_by=scope.signing_official(who, body.assigned_by, "hands the laptop over", "assigned_by"),
        condition=body.condition,
        note=body.note,
    )
    cmd = command(data, command_id=body.request_id, subject=asset_id, actor=who.actor, gw=gw)
    return answer(await submit(gw, cmd))


@router.post(
    "/scans/assignment",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="The holder confirms holding the laptop by scanning its label",
)
async def confirm_holder(who: HolderOnly, body: HolderConfirmScanRequest, gw: GW) -> JSONResponse:
    """Signed in as themselves (`403 person_required` for a device): only the holder named at the
    handing over confirms (`403 not_the_holder`)."""
    person = scope.in_person(who, "confirms holding a laptop")
    data = ConfirmAssignment(label=body.label, holder_nip=person.nip, location=body.location)
    return await _scan_for_office(gw, who, body, data, Role.HOLDER)


@router.post(
    "/scans/holder-return",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="The holder gives the laptop back; the office's official scans it",
)
async def holder_return(who: Recipient, body: HolderReturnScanRequest, gw: GW) -> JSONResponse:
    """In the condition it came back in; `409 not_assigned` when no one holds it."""
    data = ReturnFromHolder(label=body.label, condition=body.condition, note=body.note, location=body.location)
    return await _scan_for_office(gw, who, body, data, Role.RECIPIENT)


# --- repair ---


@router.post(
    "/scans/repair-out",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="Send the laptop out for repair",
)
async def repair_out(who: Recipient, body: RepairOutScanRequest, gw: GW) -> JSONResponse:
    """To `vendor`, for `reason`, in the condition it leaves in; while it is out it cannot be handed out,
    attested or moved (`409 in_repair`). A held laptop comes back from its holder first (`409 held_by_holder`)."""
    data = SendForRepair(
        label=body.label, vendor=body.vendor, reason=body.reason, condition=body.condition, location=body.location
    )
    return await _scan_for_office(gw, who, body, data, Role.RECIPIENT)


@router.post(
    "/scans/repair-back",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="The laptop is back from repair",
)
async def repair_back(who: Recipient, body: RepairBackScanRequest, gw: GW) -> JSONResponse:
    """In the condition it came back in (RB: beyond repair, which a write-off may follow)."""
    data = ReturnFromRepair(label=body.label, condition=body.condition, note=body.note, location=body.location)
    return await _scan_for_office(gw, who, body, data, Role.RECIPIENT)


# --- loss and recovery ---


@router.post(
    "/laptops/{asset_id}/loss",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="Report the laptop lost or stolen",
)
async def report_loss(who: Custodian, asset_id: AssetId, body: LossReportRequest, gw: GW) -> JSONResponse:
    """With the police report's number where there is one. From then on any scan of its label is refused
    (`409 lost`) and raised as an anomaly; it is recovered by scanning it (`POST /api/v1/scans/recovery`)."""
    data = ReportLoss(
        kind=body.kind, circumstances=body.circumstances, police_report=body.police_report, lost_on=body.lost_on
    )
    return await _for_office(gw, who, asset_id, data, body.request_id)


@router.post(
    "/scans/recovery",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="A lost laptop turned up: scan it back to its office",
)
async def recovery(who: Recipient, body: RecoveryScanRequest, gw: GW) -> JSONResponse:
    """In the condition it was found in; it is back at its office, held by no one (`409 not_lost` otherwise)."""
    data = RecoverLaptop(label=body.label, condition=body.condition, note=body.note, location=body.location)
    return await _scan_for_office(gw, who, body, data, Role.RECIPIENT)


# --- back to the warehouse ---


@router.post(
    "/scans/warehouse-return",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="The warehouse scans a laptop an office sent back into stock",
)
async def warehouse_return(who: Warehouse, body: WarehouseReturnScanRequest, gw: GW) -> JSONResponse:
    """It leaves its office's books and is in stock again, to be allocated or written off. A grant of one
    warehouse names it in `warehouse` (`403 not_your_warehouse` otherwise)."""
    scope.receives_at(who, body.warehouse)
    data = ReturnToWarehouse(
        label=body.label, condition=body.condition, note=body.note, warehouse=body.warehouse, location=body.location
    )
    cmd = scan(gw, data, scan_id=body.scan_id, label=body.label, actor=who.actor, scanned_at=body.scanned_at)
    return answer(await submit(gw, cmd))


# --- write-off ---


@router.post(
    "/laptops/{asset_id}/write-off",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="Propose writing the laptop off (penghapusan BMN); issues the proposal",
)
async def propose_write_off(who: Custodian, asset_id: AssetId, body: WriteOffProposalRequest, gw: GW) -> JSONResponse:
    """`reason`: `beyond_repair` (its condition must be RB), `lost` (it must be reported lost) or `obsolete`
    (`422 write_off_reason_invalid` otherwise). The proposer is the signed-in person (a device names them in
    `proposer`); the accepted event carries the proposal's number and SHA-256. Another official decides it."""
    if await scope.laptop_office(gw, asset_id) is None and not who.may(Role.OPERATOR):
        raise ApiError(
            403,
            "not_your_office",
            f"{asset_id} is at no office (in the warehouse, or not yet placed): an operator proposes its write-off.",
        )
    data = ProposeWriteOff(
        reason=body.reason,
        proposer=scope.signing_official(who, body.proposer, "proposes the write-off", "proposer"),
        note=body.note,
    )
    return await _for_office(gw, who, asset_id, data, body.request_id)


@router.post(
    "/laptops/{asset_id}/write-off/approval",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="Approve the proposed write-off; the laptop's label is revoked",
)
async def approve_write_off(who: Operator, asset_id: AssetId, body: WriteOffApprovalRequest, gw: GW) -> JSONResponse:
    """By an operator signed in as themselves (`403 person_required` for a device), who is not the proposer
    (`403 same_official`). The laptop is written off and every label of it revoked: a later scan is refused
    (`422 label_revoked`) and raised as an anomaly."""
    data = ApproveWriteOff(
        approver=scope.in_person(who, "approves a write-off"), decree_number=body.decree_number, note=body.note
    )
    cmd = command(data, command_id=body.request_id, subject=asset_id, actor=who.actor, gw=gw)
    return answer(await submit(gw, cmd))


@router.post(
    "/laptops/{asset_id}/write-off/decline",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(*OFFICE_REFUSALS),
    summary="Decline the proposed write-off; the laptop returns where it was",
)
async def decline_write_off(who: Operator, asset_id: AssetId, body: WriteOffDeclineRequest, gw: GW) -> JSONResponse:
    """By an operator signed in as themselves, saying why (`409 not_proposed` without a proposal)."""
    data = DeclineWriteOff(official=scope.in_person(who, "declines a write-off"), reason=body.reason)
    cmd = command(data, command_id=body.request_id, subject=asset_id, actor=who.actor, gw=gw)
    return answer(await submit(gw, cmd))


# --- an office's list of staff ---


@router.post(
    "/offices/{code}/roster",
    tags=["custody"],
    response_model=DecisionResponse,
    responses=command_answers(403, 409, 422),
    summary="Record the office's list of staff who may hold its laptops",
)
async def record_roster(who: Custodian, code: OfficeCode, body: RosterRequest, gw: GW) -> JSONResponse:
    """Replaces the office's previous list. A laptop held by someone not on it is raised as an anomaly
    (`holder_not_on_office_list`). Sending the same list again is the same command."""
    scope.act_for_any(who, (Role.RECIPIENT, Role.OPERATOR), code, f"office {code}")
    data = RecordOfficeRoster(office_code=code, members=body.members)
    cmd = command(data, command_id="roster", subject=f"office:{code}", actor=who.actor, gw=gw)
    return answer(await submit(gw, named_by_content(cmd, "roster")))


@router.get(
    "/offices/{code}/roster",
    tags=["custody"],
    response_model=RosterPublic,
    responses=problems(403),
    summary="The office's list of staff, and who holds which of its laptops",
)
async def get_roster(who: Custodian, code: OfficeCode, gw: GW) -> RosterPublic:
    """By the office's recipient officials or an operator: the list as last recorded (empty, with
    `recorded_at` null, if none was), and the office's laptops each holder holds, so a laptop held by
    someone no longer on the list shows."""
    scope.act_for_any(who, (Role.RECIPIENT, Role.OPERATOR), code, f"office {code}")
    members, recorded_at, _ = await office_roster(gw, code)
    return RosterPublic(office_code=code, members=members, recorded_at=recorded_at, laptops=await held_at(gw, code))


async def office_roster(gw: Gateway, code: str) -> tuple[list[dict[str, Any]], str | None, str | None]:
    """The office's list as the audit last chained it, when, and the id of the event that recorded it."""
    for link in reversed(await gw.reads.history(f"office:{code}")):
        event = link["event"]
        if event["type"] == OfficeRosterRecorded.TYPE:
            return list(event["data"]["members"]), str(event["time"]), str(event["id"])
    return [], None, None


async def held_at(gw: Gateway, code: str) -> dict[str, list[str]]:
    """The asset ids of the office's laptops by the NIP of who holds them."""
    held: dict[str, list[str]] = {}
    for view in await gw.reads.label_views({"office_code": code}, OFFICE_LAPTOPS):
        if view.get("holder_nip"):
            held.setdefault(view["holder_nip"], []).append(view["_id"])
    return held
