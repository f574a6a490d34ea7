"""Consignments — plan, scan into, close, confirm receipt, the BAST.

Every decision comes from the deciding service through Kafka (``submit``); reads
come from the consignment documents the allocation and handover services keep,
by _id. The receipt code is made here, shown once, and only its keyed hash travels."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from events.catalog import (
    CONSIGNMENT_ID,
    CloseConsignment,
    ConfirmReceipt,
    Official,
    PlanConsignment,
    ReissueReceiptCode,
    RejectionReason,
    ScanIntoConsignment,
)
from events.envelope import SAFE_ID, Envelope
from services.gateway.api import scope
from services.gateway.api.laptops import NOT_FOUND
from services.gateway.api.render import answer, binary, command_answers, decision_body, problems
from services.gateway.api.requests import (
    CloseRequest,
    ConsignmentScanRequest,
    PlanRequest,
    ReceiptRequest,
    ReissueCodeRequest,
)
from services.gateway.api.responses import (
    BastCheck,
    ConsignmentPublic,
    DecisionResponse,
    PlanResponse,
    ReceiptCodeResponse,
    UnconfirmedConsignment,
)
from services.gateway.auth.model import Principal, Role
from services.gateway.bootstrap import Gateway
from services.gateway.config import GatewaySettings
from services.gateway.decisions import (
    Accepted,
    Decision,
    Rejected,
    command,
    named_by_content,
    new_receipt_code,
    scan,
    submit,
)
from services.gateway.deps import GW, Anyone, Operator, Recipient, SignedIn, Warehouse
from services.gateway.errors import ApiError
from services.gateway.uploads import PDF_UPLOAD, hash_upload

router = APIRouter()
ConsignmentId = Annotated[str, Path(pattern=CONSIGNMENT_ID, examples=["KSB-73.71-001"])]
BastSeq = Annotated[int, Query(ge=1, le=10_000, description="Which receipt's BAST: 1 for the first.")]
# A plan or receipt of MAX_CONSIGNMENT_UNITS laptops is far over the default body limit
# (5,000 receipt lines are ~275 KiB); it travels as one Kafka command, so it stays under
# one Kafka message (1 MiB) with room for the envelope.
CONSIGNMENT_BODY_BYTES = 768 * 1024


def body_limits(settings: GatewaySettings) -> list[tuple[str, int, str]]:
    """The routes of this module with their own body limit (errors.BodyLimit)."""
    mib = settings.max_bast_upload_bytes / (1024 * 1024)
    pdf = f"a BAST PDF to verify may be at most {mib:g} MiB: send the PDF file itself, nothing else."
    units = (
        f"a plan or receipt may be at most {CONSIGNMENT_BODY_BYTES // 1024} KiB: shorten the notes, "
        "or split the consignment."
    )
    return [
        (r"/api/v1/consignments/[^/]+/bast/verify", settings.max_bast_upload_bytes, pdf),
        (r"/bast/[^/]+", settings.max_bast_upload_bytes, pdf),
        (r"/api/v1/documents/[^/]+/verify", settings.max_bast_upload_bytes, pdf.replace("a BAST", "a document")),
        (r"/api/v1/consignments", CONSIGNMENT_BODY_BYTES, units),
        (r"/api/v1/transfers", CONSIGNMENT_BODY_BYTES, units),
        (r"/api/v1/consignments/[^/]+/receipt", CONSIGNMENT_BODY_BYTES, units),
        (r"/api/v1/offices/[^/]+/roster", CONSIGNMENT_BODY_BYTES, "a list of staff may be at most 768 KiB."),
        # The office's pages: a transfer's form lists its laptops, a staff list comes as a CSV file.
        (r"/kantor/[^/]+/mutasi", CONSIGNMENT_BODY_BYTES, units),
        (r"/kantor/[^/]+/pegawai(/[^/]+)?", CONSIGNMENT_BODY_BYTES, "a list of staff may be at most 768 KiB."),
    ]


async def decided(gw: Gateway, cmd: Envelope) -> JSONResponse:
    """The answer to a consignment command (a duplicate scan is a 200 that says so)."""
    return _answer(await submit(gw, cmd))


def _answer(decision: Decision) -> JSONResponse:
    if isinstance(decision, Rejected) and decision.reason == RejectionReason.ALREADY_IN_CONSIGNMENT:
        # A duplicate scan is harmless: a 200 that says so, not an error.
        duplicate = decision_body(decision).model_copy(update={"decision": "duplicate"})
        return JSONResponse(duplicate.model_dump(mode="json"))
    return answer(decision)


@router.post(
    "/api/v1/consignments",
    tags=["consignments"],
    status_code=201,
    response_model=PlanResponse,
    responses=command_answers(404, 409, 422, accepted=201, model=PlanResponse),
    summary="Plan a consignment for one office",
)
async def plan_consignment(who: Operator, body: PlanRequest, gw: GW) -> JSONResponse:
    """Who may sign (`officials`), on what legal basis, and either the laptops (`expected`) or
    how many (`expected_count`). The answer carries the receipt code once; re-posting the same
    consignment id replays the first plan without a code. `422 unknown_office`, `409 consignment_exists`."""
    code, digest = new_receipt_code(gw.receipt_code_keys)
    data = PlanConsignment(
        office_code=body.office_code,
        officials=body.officials,
        legal_basis=body.legal_basis,
        expected=body.expected,
        expected_count=body.expected_count,
        receipt_code_hash=digest,
        warehouse=body.warehouse,
    )
    return await answer_plan(gw, who, data, body.consignment_id, code)


async def answer_plan(
    gw: Gateway, who: Principal, data: PlanConsignment, consignment_id: str, code: str
) -> JSONResponse:
    """Send a plan (a warehouse's consignment or a transfer) and answer it, with its
    receipt code ``code`` (whose hash ``data`` carries) shown once."""
    cmd = command(data, command_id="plan", subject=consignment_id, actor=who.actor, gw=gw)
    # Re-posting the same plan replays it (and its first code stands); a changed
    # plan for the same consignment is a new command (refused if one was accepted).
    decision = await submit(gw, named_by_content(cmd, "plan"))
    if not isinstance(decision, Accepted):
        return _answer(decision)
    if decision.event.data.get("receipt_code_hash") == data.receipt_code_hash:
        # Shown once; print it on the manifest for the driver.
        return answer(decision, 201, consignment_id=consignment_id, receipt_code=code)
    # A replay of an earlier plan: its first code stands and is only stored hashed,
    # so no code is shown (showing the new one would give the driver a code that fails).
    return answer(
        decision,
        201,
        consignment_id=consignment_id,
        receipt_code=None,
        replayed=True,
        detail="This consignment was planned before; use the receipt code shown then.",
    )


@router.post(
    "/api/v1/consignments/{consignment_id}/scans",
    tags=["consignments"],
    response_model=DecisionResponse,
    responses=command_answers(403, 404, 409, 422),
    summary="Scan a laptop into an open consignment",
)
async def scan_into(
    who: Warehouse, consignment_id: ConsignmentId, body: ConsignmentScanRequest, gw: GW
) -> JSONResponse:
    """A second scan of the same laptop answers 200 with `decision: duplicate`; a laptop of another
    consignment is `409 belongs_to_other_consignment`, a full count plan `409 consignment_full`;
    a consignment of another warehouse `403 not_your_warehouse`."""
    await scope.picks_at(gw, who, consignment_id)
    return await scan_in(gw, who, consignment_id, body)


async def scan_in(
    gw: Gateway, who: Principal, consignment_id: str, body: ConsignmentScanRequest, from_office: str | None = None
) -> JSONResponse:
    """A laptop scanned into a consignment, at the warehouse or (``from_office``) at the giving office."""
    data = ScanIntoConsignment(label=body.label, location=body.location, from_office=from_office)
    cmd = scan(
        gw,
        data,
        scan_id=body.scan_id,
        label=body.label,
        actor=who.actor,
        scanned_at=body.scanned_at,
        subject=consignment_id,
    )
    return await decided(gw, cmd)


@router.post(
    "/api/v1/consignments/{consignment_id}/close",
    tags=["consignments"],
    response_model=DecisionResponse,
    responses=command_answers(403, 404, 409, 422),
    summary="Close the consignment: it leaves now",
)
async def close(
    who: Warehouse,
    consignment_id: ConsignmentId,
    gw: GW,
    body: CloseRequest | None = None,
    idempotency_key: Annotated[str | None, Header(pattern=SAFE_ID)] = None,
) -> JSONResponse:
    """Every laptop scanned in is dispatched; an empty consignment is `409 consignment_empty`.
    Send an `Idempotency-Key` so a retry is not a second close. The dispatching official (the
    BAST's PIHAK PERTAMA) is the signed-in person; a device names them in `dispatcher`
    (`422 dispatcher_required` otherwise), and a person may name only themselves (`403 not_yourself`)."""
    await scope.picks_at(gw, who, consignment_id)
    official = scope.dispatcher(who, body.dispatcher if body else None)
    return await close_as(gw, consignment_id, who, official, idempotency_key)


async def close_as(
    gw: Gateway,
    consignment_id: str,
    who: Principal,
    official: Official,
    idempotency_key: str | None,
    from_office: str | None = None,
) -> JSONResponse:
    """The consignment closed by ``official``, who hands it over. Without an
    ``Idempotency-Key`` each request is a close of its own."""
    cmd = command(
        CloseConsignment(dispatcher=official, from_office=from_office),
        command_id=idempotency_key or f"close-{uuid.uuid4()}",
        subject=consignment_id,
        actor=who.actor,
        gw=gw,
    )
    return await decided(gw, cmd)


@router.post(
    "/api/v1/consignments/{consignment_id}/receipt",
    tags=["consignments"],
    response_model=DecisionResponse,
    responses=command_answers(403, 404, 409, 422),
    summary="Confirm receipt; issues the BAST",
)
async def confirm_receipt(who: Recipient, consignment_id: ConsignmentId, body: ReceiptRequest, gw: GW) -> JSONResponse:
    """The official must be one named in the plan and give the receipt code (`403
    official_not_authorised`, `403 receipt_code_invalid`); every line must be a laptop of the
    consignment (`422 not_expected`). The accepted event carries the BAST number and its SHA-256."""
    scope.act_for(who, Role.RECIPIENT, await scope.consignment_office(gw, consignment_id), consignment_id)
    scope.signs_as_themselves(who, body.official.nip)
    data = ConfirmReceipt(
        official=body.official, receipt_code=body.receipt_code, lines=body.lines, missing=body.missing
    )
    cmd = command(data, command_id=body.receipt_id, subject=consignment_id, actor=who.actor, gw=gw)
    return await decided(gw, cmd)


@router.post(
    "/api/v1/consignments/{consignment_id}/receipt-code",
    tags=["consignments"],
    response_model=ReceiptCodeResponse,
    responses=command_answers(404, 409, 422, model=ReceiptCodeResponse),
    summary="Issue a new receipt code; the old one stops working",
)
async def reissue_receipt_code(
    who: Operator, consignment_id: ConsignmentId, body: ReissueCodeRequest, gw: GW
) -> JSONResponse:
    """The new code is shown once, like at planning; print a new manifest with it
    (`POST …/manifest.pdf` with `receipt_code`). The same `request_id` replays the first re-issue."""
    code, digest = new_receipt_code(gw.receipt_code_keys)
    cmd = command(
        ReissueReceiptCode(receipt_code_hash=digest, reason=body.reason),
        command_id=body.request_id,
        subject=consignment_id,
        actor=who.actor,
        gw=gw,
    )
    decision = await submit(gw, cmd)
    if not isinstance(decision, Accepted):
        return _answer(decision)
    if decision.event.data.get("receipt_code_hash") == digest:
        return answer(decision, receipt_code=code)  # shown once
    # A replay of an earlier request: its code stands and is stored only hashed.
    return answer(
        decision,
        receipt_code=None,
        replayed=True,
        detail="This re-issue was made before; use the code shown then, or send a new request_id.",
    )


@router.get(
    "/api/v1/consignments/unconfirmed",
    tags=["consignments"],
    response_model=list[UnconfirmedConsignment],
    summary="Dispatched, not (fully) received, with age in days",
)
async def unconfirmed(who: SignedIn, gw: GW) -> list[dict[str, Any]]:
    """Oldest first, with the late-receipt reminders raised so far."""
    now = gw.clock()
    out = []
    for s in await gw.consignments.unconfirmed():
        age = (
            (now - datetime.fromisoformat(s["dispatched_at"])).total_seconds() / 86400
            if s.get("dispatched_at")
            else None
        )
        out.append(
            {
                "consignment_id": s["consignment_id"],
                "office_code": s.get("office_code"),
                "from_office": (s.get("plan") or {}).get("from_office"),
                "from_office_name": (s.get("plan") or {}).get("from_office_name"),
                "status": "in_transit" if s["status"] == "dispatched" else s["status"],  # this list calls it in transit
                "in_transit": s["in_transit"],
                "age_days": round(age, 2) if age is not None else None,
                "reminders": s.get("reminders", []),
                "reminded_at": s["reminders"][-1]["raised_at"] if s.get("reminders") else None,
            }
        )
    return sorted(out, key=lambda c: -(c["age_days"] or 0))


@router.get(
    "/api/v1/consignments/{consignment_id}",
    tags=["consignments"],
    response_model=ConsignmentPublic,
    responses=NOT_FOUND,
    summary="Expected vs scanned, receipt state",
)
async def get_consignment(who: SignedIn, consignment_id: ConsignmentId, gw: GW) -> dict[str, Any]:
    """For a plan by count, `expected` is empty and `missing_count` says how many are still to be picked;
    `basts` links every BAST issued so far."""
    s = await gw.consignments.summary(consignment_id)
    if s is None:
        raise ApiError(404, "unknown_consignment", f"consignment {consignment_id} is not planned: check the id.")
    basts = [f"/api/v1/consignments/{consignment_id}/bast.pdf?seq={r['seq']}" for r in s["receipts"]]
    return {
        "consignment_id": consignment_id,
        "status": s["status"],
        "office_code": s["office_code"],
        "office_name": s["office_name"],
        "warehouse": (s.get("plan") or {}).get("warehouse"),
        "expected": s["expected"],
        "scanned": s["scanned"],
        "missing": s["missing"],
        "expected_count": s["expected_count"],
        "missing_count": s["missing_count"],
        "received": s["received"],
        "in_transit": s["in_transit"],
        "basts": basts,
        "reminders": s["reminders"],
        "receipt_code_generation": s["receipt_code_generation"],
    }


async def _bast(gw: Gateway, consignment_id: str, seq: int) -> dict[str, Any]:
    doc = await gw.consignments.bast(consignment_id, seq)
    if doc is None:
        raise ApiError(
            404, "unknown_bast", f"No BAST {seq} for consignment {consignment_id}: has its receipt been confirmed?"
        )
    return doc


@router.get(
    "/api/v1/consignments/{consignment_id}/bast.pdf",
    tags=["consignments"],
    response_class=Response,
    responses=binary("application/pdf", "The BAST exactly as issued (its SHA-256 is recorded).", 404),
    summary="The BAST (Berita Acara Serah Terima) PDF of a receipt",
)
async def bast_pdf(who: SignedIn, consignment_id: ConsignmentId, gw: GW, seq: BastSeq = 1) -> Response:
    """`seq` counts the receipts of the consignment (a partial receipt and the rest make two BASTs)."""
    doc = await _bast(gw, consignment_id, seq)
    name = f"BAST-{consignment_id}-{seq}.pdf"
    return Response(
        bytes(doc["pdf"]), media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@router.post(
    "/api/v1/consignments/{consignment_id}/bast/verify",
    tags=["consignments"],
    response_model=BastCheck,
    responses={**NOT_FOUND, **problems(400)},
    summary="Does this PDF match the recorded BAST?",
    openapi_extra={"requestBody": PDF_UPLOAD},
)
async def verify_bast(
    who: Anyone, consignment_id: ConsignmentId, request: Request, gw: GW, seq: BastSeq = 1
) -> dict[str, Any]:
    """Hashes the file as it arrives (up to the BAST upload limit) and compares it with the recorded
    SHA-256; `400 empty_file` when nothing was sent."""
    doc = await _bast(gw, consignment_id, seq)
    sha = await hash_upload(request)
    if sha is None:
        raise ApiError(400, "empty_file", "Send the PDF file as the request body or as form field 'file'.")
    return {
        "matches": sha == doc["recorded_sha256"],
        "sha256": sha,
        "recorded_sha256": doc["recorded_sha256"],
        "number": doc["number"],
    }
