"""Consignments — plan, scan into, close, confirm receipt, the BAST.

Every decision comes from the deciding service through Kafka (``submit``); reads
come from the consignment documents the allocation and handover services keep,
by _id. The receipt code is made here, shown once, and only its SHA-256 travels."""

from __future__ import annotations

import hashlib
import json
import secrets
import uuid
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator
from starlette.datastructures import UploadFile

from events import labels
from events.catalog import (
    CONSIGNMENT_ID,
    MAX_CONSIGNMENT_UNITS,
    CloseConsignment,
    ConfirmReceipt,
    IsoDateTime,
    LegalBasis,
    Location,
    Official,
    PlanConsignment,
    ReceiptLine,
    ReissueReceiptCode,
    RejectionReason,
    ScanIntoConsignment,
    laptops_or_a_count,
)
from events.envelope import SAFE_ID
from events.text import Text, TextChecked
from services.gateway import bast_page as bast_page_html
from services.gateway.answers import binary, command_answers, html_page, problems
from services.gateway.api import ERRORS, GW
from services.gateway.bootstrap import Gateway
from services.gateway.commands import command, named_by_content, submit
from services.gateway.config import GatewaySettings
from services.gateway.errors import ApiError
from services.gateway.models import DecisionResponse

router = APIRouter()
ConsignmentId = Annotated[str, Path(pattern=CONSIGNMENT_ID, examples=["KSB-73.71-001"])]
BastSeq = Annotated[int, Query(ge=1, le=10_000, description="Which receipt's BAST: 1 for the first.")]
# A plan or receipt of MAX_CONSIGNMENT_UNITS laptops is far over the default body limit
# (5,000 receipt lines are ~275 KiB); it travels as one Kafka command, so it stays under
# one Kafka message (1 MiB) with room for the envelope.
CONSIGNMENT_BODY_BYTES = 768 * 1024
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I/L: read aloud and typed on phones


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
        (r"/api/v1/consignments", CONSIGNMENT_BODY_BYTES, units),
        (r"/api/v1/consignments/[^/]+/receipt", CONSIGNMENT_BODY_BYTES, units),
    ]


PDF_UPLOAD = {
    "required": True,
    "description": "The PDF file itself, or a form with the file in field `file`.",
    "content": {
        "application/pdf": {"schema": {"type": "string", "format": "binary", "minLength": 1}},
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {"file": {"type": "string", "format": "binary", "minLength": 1}},
            }
        },
    },
}

# The page's form: without a file the page comes back asking for one.
PAGE_UPLOAD = {
    "required": False,
    "description": "The form with the PDF file in field `file` (or the file itself).",
    "content": {
        "multipart/form-data": {
            "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
        },
        "application/pdf": {"schema": {"type": "string", "format": "binary"}},
    },
}


class Strict(TextChecked):
    model_config = ConfigDict(extra="forbid")


class PlanRequest(Strict):
    consignment_id: str = Field(pattern=CONSIGNMENT_ID)
    office_code: str = Field(pattern=r"^[0-9]{2}(\.[0-9]{2})?$")
    officials: list[Official] = Field(min_length=1, max_length=10)
    legal_basis: LegalBasis
    # Exactly one of the two, said in the schema as well as checked below.
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "oneOf": [
                {
                    "required": ["expected"],
                    "properties": {"expected": {"minItems": 1}, "expected_count": {"type": "null"}},
                },
                {
                    "required": ["expected_count"],
                    "properties": {"expected": {"maxItems": 0}, "expected_count": {"type": "integer"}},
                },
            ]
        },
    )
    expected: list[Annotated[str, Field(pattern=labels.ASSET_ID.pattern)]] = Field(
        default_factory=list,
        max_length=MAX_CONSIGNMENT_UNITS,
        description="The laptops (asset ids) of the consignment; or leave it out and give `expected_count`.",
    )
    expected_count: StrictInt | None = Field(
        default=None,
        ge=1,
        le=MAX_CONSIGNMENT_UNITS,
        description="A number of laptops, filled at picking: any unallocated laptop scanned in counts. "
        "Give this or `expected`, not both.",
    )

    @model_validator(mode="after")
    def _laptops_or_a_count(self) -> PlanRequest:
        laptops_or_a_count(self.expected, self.expected_count)  # the command's own rule, checked at the door
        return self


class PlanResponse(DecisionResponse):
    consignment_id: str
    receipt_code: str | None = Field(
        description="Shown once: print it on the manifest for the driver. None when the plan was a replay."
    )
    replayed: bool | None = Field(default=None, description="True when this consignment was planned before.")


class ReceiptCodeResponse(DecisionResponse):
    receipt_code: str | None = Field(description="The new code, shown once. None when the request was a replay.")
    replayed: bool | None = None


class BastCheck(BaseModel):
    matches: bool = Field(description="Whether the file is, byte for byte, the recorded BAST.")
    sha256: str
    recorded_sha256: str
    number: str


class ConsignmentScanRequest(Strict):
    scan_id: str = Field(pattern=SAFE_ID)
    RAW_TEXT = frozenset({"label"})  # judged by events.labels.parse, which names the reason
    label: str = Field(min_length=1, max_length=512)
    location: Location | None = None
    actor: str = Field(default="anonymous", pattern=SAFE_ID)
    scanned_at: IsoDateTime | None = None


class ReceiptRequest(Strict):
    receipt_id: str = Field(pattern=SAFE_ID, description="Made by the device; the same id is the same receipt.")
    official: Official
    receipt_code: str = Field(min_length=1, max_length=64)
    lines: list[ReceiptLine] = Field(min_length=1, max_length=5000)
    missing: list[str] = Field(default_factory=list, max_length=5000)


async def _decided(gw: Gateway, cmd: Any, accepted_status: int = 200) -> JSONResponse:
    response = await submit(gw, cmd, accepted_status)
    if response.status_code >= 400:
        body = json.loads(bytes(response.body))
        if body.get("code") == RejectionReason.ALREADY_IN_CONSIGNMENT:
            # A duplicate scan is harmless: a 200 that says so, not an error.
            duplicate = DecisionResponse(
                decision="duplicate",
                scan_id=body["scan_id"],
                asset_id=body["asset_id"],
                reason=body["code"],
                detail=body["detail"],
                event=body.get("event"),
                status_url=body["status_url"],
            )
            return JSONResponse(duplicate.model_dump(mode="json"))
    return response


@router.post(
    "/api/v1/consignments",
    tags=["consignments"],
    status_code=201,
    response_model=PlanResponse,
    responses=command_answers(404, 409, 422, accepted=201, model=PlanResponse),
    summary="Plan a consignment for one office",
)
async def plan_consignment(body: PlanRequest, gw: GW) -> JSONResponse:
    """Who may sign (`officials`), on what legal basis, and either the laptops (`expected`) or
    how many (`expected_count`). The answer carries the receipt code once; re-posting the same
    consignment id replays the first plan without a code. `422 unknown_office`, `409 consignment_exists`."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    cmd = command(
        PlanConsignment(
            office_code=body.office_code,
            officials=body.officials,
            legal_basis=body.legal_basis,
            expected=body.expected,
            expected_count=body.expected_count,
            receipt_code_hash=hashlib.sha256(code.encode()).hexdigest(),
        ),
        command_id="plan",
        subject=body.consignment_id,
        actor="operator",
        gw=gw,
    )
    # Re-posting the same plan replays it (and its first code stands); a changed
    # plan for the same consignment is a new command (refused if one was accepted).
    cmd = named_by_content(cmd, "plan")
    response = await _decided(gw, cmd, accepted_status=201)
    if response.status_code == 201:
        answer = json.loads(bytes(response.body))
        recorded = answer.get("event", {}).get("data", {}).get("receipt_code_hash")
        if recorded == hashlib.sha256(code.encode()).hexdigest():
            answer["receipt_code"] = code  # shown once; print it on the manifest for the driver
        else:
            # A replay of an earlier plan: its first code stands and is only stored hashed,
            # so no code is shown (showing the new one would give the driver a code that fails).
            answer["receipt_code"] = None
            answer["replayed"] = True
            answer["detail"] = "This consignment was planned before; use the receipt code shown then."
        answer["consignment_id"] = body.consignment_id
        return JSONResponse(answer, status_code=201)
    return response


@router.post(
    "/api/v1/consignments/{consignment_id}/scans",
    tags=["consignments"],
    response_model=DecisionResponse,
    responses=command_answers(404, 409, 422),
    summary="Scan a laptop into an open consignment",
)
async def scan_into(consignment_id: ConsignmentId, body: ConsignmentScanRequest, gw: GW) -> JSONResponse:
    """A second scan of the same laptop answers 200 with `decision: duplicate`; a laptop of another
    consignment is `409 belongs_to_other_consignment`, a full count plan `409 consignment_full`."""
    try:
        # Refused here, before Kafka; the command carries the canonical spelling.
        label = labels.parse(body.label).text
    except labels.LabelError as exc:
        raise ApiError(422, exc.reason.value, exc.detail) from None
    data = ScanIntoConsignment(label=label, location=body.location)
    cmd = command(data, command_id=body.scan_id, subject=consignment_id, actor=body.actor, gw=gw, time=body.scanned_at)
    return await _decided(gw, cmd)


@router.post(
    "/api/v1/consignments/{consignment_id}/close",
    tags=["consignments"],
    response_model=DecisionResponse,
    responses=command_answers(404, 409, 422),
    summary="Close the consignment: it leaves now",
)
async def close(
    consignment_id: ConsignmentId, gw: GW, idempotency_key: Annotated[str | None, Header(pattern=SAFE_ID)] = None
) -> JSONResponse:
    """Every laptop scanned in is dispatched; an empty consignment is `409 consignment_empty`.
    Send an `Idempotency-Key` so a retry is not a second close."""
    cmd = command(
        CloseConsignment(),
        command_id=idempotency_key or f"close-{uuid.uuid4()}",
        subject=consignment_id,
        actor="operator",
        gw=gw,
    )
    return await _decided(gw, cmd)


@router.post(
    "/api/v1/consignments/{consignment_id}/receipt",
    tags=["consignments"],
    response_model=DecisionResponse,
    responses=command_answers(403, 404, 409, 422),
    summary="Confirm receipt; issues the BAST",
)
async def confirm_receipt(consignment_id: ConsignmentId, body: ReceiptRequest, gw: GW) -> JSONResponse:
    """The official must be one named in the plan and give the receipt code (`403
    official_not_authorised`, `403 receipt_code_invalid`); every line must be a laptop of the
    consignment (`422 not_expected`). The accepted event carries the BAST number and its SHA-256."""
    data = ConfirmReceipt(
        official=body.official, receipt_code=body.receipt_code, lines=body.lines, missing=body.missing
    )
    cmd = command(data, command_id=body.receipt_id, subject=consignment_id, actor=body.official.nip, gw=gw)
    return await _decided(gw, cmd)


class ReissueCodeRequest(Strict):
    request_id: str = Field(pattern=SAFE_ID, description="Made by the client; the same id is the same re-issue.")
    reason: Text = Field(min_length=1, max_length=500, examples=["the driver lost the manifest"])


@router.post(
    "/api/v1/consignments/{consignment_id}/receipt-code",
    tags=["consignments"],
    response_model=ReceiptCodeResponse,
    responses=command_answers(404, 409, 422, model=ReceiptCodeResponse),
    summary="Issue a new receipt code; the old one stops working",
)
async def reissue_receipt_code(consignment_id: ConsignmentId, body: ReissueCodeRequest, gw: GW) -> JSONResponse:
    """The new code is shown once, like at planning; print a new manifest with it
    (`POST …/manifest.pdf` with `receipt_code`). The same `request_id` replays the first re-issue."""
    code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))
    digest = hashlib.sha256(code.encode()).hexdigest()
    cmd = command(
        ReissueReceiptCode(receipt_code_hash=digest, reason=body.reason),
        command_id=body.request_id,
        subject=consignment_id,
        actor="operator",
        gw=gw,
    )
    response = await _decided(gw, cmd)
    if response.status_code != 200:
        return response
    answer = json.loads(bytes(response.body))
    if answer.get("event", {}).get("data", {}).get("receipt_code_hash") == digest:
        answer["receipt_code"] = code  # shown once
    else:  # a replay of an earlier request: its code stands and is stored only hashed
        answer |= {
            "receipt_code": None,
            "replayed": True,
            "detail": "This re-issue was made before; use the code shown then, or send a new request_id.",
        }
    return JSONResponse(answer)


@router.get(
    "/api/v1/consignments/unconfirmed",
    tags=["consignments"],
    summary="Dispatched, not (fully) received, with age in days",
)
async def unconfirmed(gw: GW) -> list[dict[str, Any]]:
    """Oldest first, with the late-receipt reminders raised so far."""
    now = gw.clock()
    out = []
    for doc in await gw.consignments.in_transit():
        s = doc["summary"]
        age = (
            (now - datetime.fromisoformat(s["dispatched_at"])).total_seconds() / 86400
            if s.get("dispatched_at")
            else None
        )
        out.append(
            {
                "consignment_id": doc["_id"],
                "office_code": s.get("office_code"),
                "status": s["status"],
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
    responses=ERRORS,
    summary="Expected vs scanned, receipt state",
)
async def get_consignment(consignment_id: ConsignmentId, gw: GW) -> dict[str, Any]:
    """For a plan by count, `expected` is empty and `missing_count` says how many are still to be picked;
    `basts` links every BAST issued so far."""
    alloc = await gw.consignments.allocation(consignment_id)
    if alloc is None:
        raise ApiError(404, "unknown_consignment", f"consignment {consignment_id} is not planned: check the id.")
    hand = await gw.consignments.handover(consignment_id)
    s, h = alloc["summary"], (hand or {}).get("summary", {})
    basts = [f"/api/v1/consignments/{consignment_id}/bast.pdf?seq={n}" for n in range(1, h.get("receipts", 0) + 1)]
    return {
        "consignment_id": consignment_id,
        "status": h.get("status") if h.get("receipts") else s["status"],
        "office_code": s["office_code"],
        "office_name": s["office_name"],
        "expected": s["expected"],
        "scanned": s["scanned"],
        "missing": s["missing"],
        "expected_count": s.get("expected_count"),
        "missing_count": s.get("missing_count", len(s["missing"])),
        "received": h.get("received", []),
        "in_transit": h.get("in_transit", []),
        "basts": basts,
        "reminders": h.get("reminders", []),
        "receipt_code_generation": h.get("receipt_code_generation", 1),
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
async def bast_pdf(consignment_id: ConsignmentId, gw: GW, seq: BastSeq = 1) -> Response:
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
    responses={**ERRORS, **problems(400)},
    summary="Does this PDF match the recorded BAST?",
    openapi_extra={"requestBody": PDF_UPLOAD},
)
async def verify_bast(consignment_id: ConsignmentId, request: Request, gw: GW, seq: BastSeq = 1) -> dict[str, Any]:
    """Hashes the file as it arrives (up to the BAST upload limit) and compares it with the recorded
    SHA-256; `400 empty_file` when nothing was sent."""
    doc = await _bast(gw, consignment_id, seq)
    sha = await _hash_upload(request)
    if sha is None:
        raise ApiError(400, "empty_file", "Send the PDF file as the request body or as form field 'file'.")
    return {
        "matches": sha == doc["recorded_sha256"],
        "sha256": sha,
        "recorded_sha256": doc["recorded_sha256"],
        "number": doc["number"],
    }


async def _hash_upload(request: Request) -> str | None:
    """SHA-256 of the uploaded PDF (raw body or form field ``file``), None if empty.
    Hashed as it arrives: a PDF may be up to max_bast_upload_bytes, so it is never held whole."""
    h, size = hashlib.sha256(), 0
    if request.headers.get("content-type", "").startswith("multipart/form-data"):
        form = await request.form()  # file parts over 1 MiB are spooled to disk by starlette
        upload = form.get("file")
        while isinstance(upload, UploadFile) and (chunk := await upload.read(256 * 1024)):
            h.update(chunk)
            size += len(chunk)
    else:
        async for chunk in request.stream():
            h.update(chunk)
            size += len(chunk)
    return h.hexdigest() if size else None


@router.get(
    "/bast/{consignment_id}",
    tags=["pages"],
    response_class=HTMLResponse,
    responses=html_page("The record page (Bahasa Indonesia with English); says so when there is no such BAST yet."),
    summary="The BAST record page a BAST's QR code opens",
)
async def bast_page(consignment_id: ConsignmentId, gw: GW, seq: BastSeq = 1) -> HTMLResponse:
    """What the BAST records (number, date, office, officials, legal basis, laptops with links to
    their pages, the PDF's SHA-256), a link to the PDF and a form to check a PDF file."""
    doc = await gw.consignments.bast(consignment_id, seq)
    return bast_page_html.render(consignment_id, seq, doc, await bast_page_html.facts(gw, consignment_id, seq, doc))


@router.post(
    "/bast/{consignment_id}",
    tags=["pages"],
    response_class=HTMLResponse,
    responses={
        **html_page("The record page with the verdict on the file sent."),
        404: {"description": "No such BAST.", "content": {"text/html": {"schema": {"type": "string"}}}},
    },
    summary="Check a PDF file on the BAST record page",
    openapi_extra={"requestBody": PAGE_UPLOAD},
)
async def bast_page_check(consignment_id: ConsignmentId, request: Request, gw: GW, seq: BastSeq = 1) -> HTMLResponse:
    """The record page's form posts here and gets the page back with the verdict
    (the JSON verify endpoint is for programs; a person wants a sentence)."""
    doc = await gw.consignments.bast(consignment_id, seq)
    sha = await _hash_upload(request) if doc is not None else None
    facts = await bast_page_html.facts(gw, consignment_id, seq, doc)
    page = bast_page_html.render(consignment_id, seq, doc, facts, checked=sha if doc is not None else None, tried=True)
    page.status_code = 200 if doc is not None else 404
    return page
