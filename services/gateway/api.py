"""The REST API (``/api/v1``). OpenAPI at /openapi.json, browsable at /docs."""

from __future__ import annotations

import base64
import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from events import codec, labels, offices
from events.catalog import (
    AllocateLaptop,
    DispatchLaptop,
    LabelRef,
    LaptopDescription,
    ReceiveLaptop,
    RegisterLaptop,
)
from events.envelope import SAFE_ID
from services.gateway.adapters import qr
from services.gateway.answers import binary, command_answers, problems
from services.gateway.bootstrap import Gateway
from services.gateway.commands import command, decision_response, named_by_content, submit
from services.gateway.errors import ApiError
from services.gateway.models import (
    AllocationRequest,
    ChainVerdictPublic,
    DecisionResponse,
    DispatchScanRequest,
    HistoryEntry,
    LaptopHistory,
    LaptopPublic,
    OfficePublic,
    PublicKey,
    ReceiptScanRequest,
    RegisterLaptopRequest,
    ScanRequest,
)

router = APIRouter(prefix="/api/v1")
AssetId = Annotated[str, Path(pattern=labels.ASSET_ID.pattern, examples=["SRHPPSKGESNAC"])]
ERRORS = problems(404)  # what a read by id can answer besides 200; 422 and the rest come from answers.finish
LAPTOP_REFUSALS = (404, 409, 422)


def gateway(request: Request) -> Gateway:
    return request.app.state.gateway  # type: ignore[no-any-return]


GW = Annotated[Gateway, Depends(gateway)]


@router.post(
    "/laptops",
    tags=["laptops"],
    status_code=201,
    response_model=DecisionResponse,
    responses=command_answers(409, 422, accepted=201),
    summary="Register a laptop and issue its signed label",
)
async def register_laptop(body: RegisterLaptopRequest, gw: GW) -> JSONResponse:
    """The asset id is derived from the serial, so posting the same laptop again replays the
    first registration (201 with the same event) instead of registering it twice; a serial
    already registered with other details is refused with `409 serial_conflict`. The label
    is at `label_url` of `GET /api/v1/laptops/{asset_id}` once the view has caught up."""
    asset_id = labels.asset_id_for_serial(body.serial)
    laptop = LaptopDescription(
        serial=body.serial,
        brand=body.brand,
        model=body.model,
        specs=body.specs,
        warranty_end=body.warranty_end,
        **({"bmn": body.bmn} if body.bmn else {}),
    )
    cmd = command(
        RegisterLaptop(laptop=laptop, label=gw.issuer.issue(asset_id)),
        command_id="register",
        subject=asset_id,
        actor="operator",
        gw=gw,
    )
    # Posting the same laptop again replays the first registration.
    cmd = named_by_content(cmd, "register")
    return await submit(gw, cmd, accepted_status=201)


@router.get(
    "/laptops/{asset_id}",
    tags=["laptops"],
    response_model=LaptopPublic,
    responses=ERRORS,
    summary="A laptop's current state",
)
async def get_laptop(asset_id: AssetId, gw: GW) -> LaptopPublic:
    """Status, owning office, consignment, condition and the current label, from the
    read model; `404 unknown_laptop` for an asset id that is not registered."""
    view = await _view(gw, asset_id)
    return LaptopPublic(
        asset_id=asset_id,
        serial=view.get("serial"),
        brand=view.get("brand"),
        model=view.get("model"),
        status=view["status"],
        office_code=view.get("office_code"),
        office_name=view.get("office_name"),
        consignment_id=view.get("consignment_id"),
        condition=view.get("condition"),
        label_url=_label_url(gw, asset_id, view),
        qr_svg_url=f"/api/v1/laptops/{asset_id}/qr.svg",
        qr_png_url=f"/api/v1/laptops/{asset_id}/qr.png",
        rejections=view.get("rejections", 0),
        last_event_at=view.get("last_event_at"),
    )


@router.get(
    "/laptops/{asset_id}/history",
    tags=["laptops"],
    response_model=LaptopHistory,
    responses=ERRORS,
    summary="Every event of a laptop, in order, with its chain hashes and whether the chain verifies",
)
async def laptop_history(asset_id: AssetId, gw: GW) -> LaptopHistory:
    """Each entry carries `hash` and `prev_hash` of the laptop's hash chain, and `chain`
    says whether the chain verifies against the signed checkpoint (and where it breaks)."""
    links = await gw.reads.history(asset_id)
    if not links:
        raise ApiError(404, "unknown_laptop", f"No events for {asset_id}: check the asset id.")
    verdict = await gw.audit.verdict(asset_id, links, labels.parse_keyring(gw.settings.audit_public_keys))
    return LaptopHistory(
        asset_id=asset_id,
        chain=ChainVerdictPublic(**dataclasses.asdict(verdict)),
        events=[_entry(link, verdict.verified_at(n)) for n, link in enumerate(links, start=1)],
    )


@router.get(
    "/laptops/{asset_id}/qr.svg",
    tags=["laptops"],
    response_class=Response,
    responses=binary("image/svg+xml", "The laptop's current label as an SVG QR code.", 404),
    summary="The label's QR code as SVG (for printing at any size)",
)
async def laptop_qr_svg(asset_id: AssetId, gw: GW) -> Response:
    """The QR encodes the signed label URL of the laptop's current label generation."""
    url = _label_url(gw, asset_id, await _view(gw, asset_id))
    return Response(qr.svg(url), media_type="image/svg+xml")


@router.get(
    "/laptops/{asset_id}/qr.png",
    tags=["laptops"],
    response_class=Response,
    responses=binary("image/png", "The laptop's current label as a PNG QR code.", 404),
    summary="The label's QR code as PNG",
)
async def laptop_qr_png(
    asset_id: AssetId,
    gw: GW,
    scale: Annotated[int, Query(ge=1, le=40, description="Pixels per QR module.")] = 8,
) -> Response:
    """The QR encodes the signed label URL of the laptop's current label generation."""
    url = _label_url(gw, asset_id, await _view(gw, asset_id))
    return Response(qr.png(url, scale), media_type="image/png")


@router.post(
    "/laptops/{asset_id}/allocation",
    tags=["laptops"],
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="Allocate a laptop to a recipient office",
)
async def allocate_laptop(
    asset_id: AssetId,
    body: AllocationRequest,
    gw: GW,
    idempotency_key: Annotated[str | None, Header(pattern=SAFE_ID)] = None,
) -> JSONResponse:
    """`422 unknown_office` for a region code that is not an office (see `GET /api/v1/offices`);
    `409 already_allocated` once it is allocated. Send an `Idempotency-Key` so a retry is the same command."""
    cmd = command(
        AllocateLaptop(office_code=body.office_code, consignment_id=body.consignment_id),
        command_id=idempotency_key or f"alloc-{uuid.uuid4()}",
        subject=asset_id,
        actor="operator",
        gw=gw,
    )
    return await submit(gw, cmd)


@router.post(
    "/scans/dispatch",
    tags=["scans"],
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="A warehouse dispatch scan",
)
async def dispatch_scan(body: DispatchScanRequest, gw: GW) -> JSONResponse:
    """The label is checked (signature, key, generation) and the laptop must be allocated;
    a laptop planned in a consignment is dispatched by scanning it into the consignment instead."""
    data = DispatchLaptop(label=body.label, location=body.location)
    return await submit(gw, _scan_command(gw, body, data))


@router.post(
    "/scans/receipt",
    tags=["scans"],
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="A recipient-office receipt scan",
)
async def receipt_scan(body: ReceiptScanRequest, gw: GW) -> JSONResponse:
    """For a laptop sent on its own; a laptop in a consignment is received through
    `POST /api/v1/consignments/{consignment_id}/receipt` with the receipt code."""
    data = ReceiveLaptop(label=body.label, condition=body.condition, note=body.note, location=body.location)
    return await submit(gw, _scan_command(gw, body, data))


@router.get(
    "/scans/{scan_id}",
    tags=["scans"],
    response_model=DecisionResponse,
    responses=ERRORS,
    summary="The decision on a scan sent earlier (for 202 answers and offline sync)",
)
async def scan_status(scan_id: Annotated[str, Path(pattern=SAFE_ID)], gw: GW) -> JSONResponse:
    """200 whatever the decision was (`accepted` or `rejected`, with the recorded event);
    `404 unknown_scan` until the deciding service has decided."""
    first = await gw.reads.scan(scan_id)
    if first is None:
        raise ApiError(
            404, "unknown_scan", f"No decision for scan {scan_id} yet: if you just sent it, ask again in a moment."
        )
    return decision_response(scan_id, first["asset_id"], codec.from_json(first["event"]), as_record=True)


@router.get(
    "/offices",
    tags=["offices"],
    response_model=list[OfficePublic],
    summary="Recipient offices (Kesbangpol), by region code",
)
async def list_offices(
    province: Annotated[
        str | None, Query(pattern=r"^[0-9]{2}$", description="Two-digit province code, e.g. 32.")
    ] = None,
) -> list[OfficePublic]:
    """Every office a laptop can be allocated to: the provinces and their regencies and cities."""
    return [_office(o) for o in offices.all_offices() if province is None or o.province_code == province]


@router.get(
    "/offices/{code}",
    tags=["offices"],
    response_model=OfficePublic,
    responses=ERRORS,
    summary="One office by region code",
)
async def get_office(code: Annotated[str, Path(pattern=r"^[0-9]{2}(\.[0-9]{2})?$")]) -> OfficePublic:
    """`404 unknown_office` for a well-formed code that is not a region."""
    office = offices.get(code)
    if office is None:
        raise ApiError(404, "unknown_office", f"{code} is not an official region code; see /api/v1/offices.")
    return _office(office)


@router.get(
    "/label-keys", tags=["labels"], response_model=list[PublicKey], summary="Public keys that verify labels offline"
)
async def label_keys(gw: GW) -> list[PublicKey]:
    """Ed25519 keys by key id; `active` signs new labels, the others still verify older ones."""
    return [
        PublicKey(
            key_id=kid,
            public_key=base64.urlsafe_b64encode(raw).decode().rstrip("="),
            active=kid == gw.issuer.active_key_id,
        )
        for kid, raw in gw.issuer.public_keys().items()
    ]


def _scan_command(gw: GW, body: ScanRequest, data: Any) -> Any:
    try:
        claim = labels.parse(body.label)
    except labels.LabelError as exc:
        # Nothing to key it by: an unreadable label names no laptop.
        raise ApiError(422, exc.reason.value, exc.detail) from None
    # The command carries the label's one canonical spelling, never the bytes as sent.
    data = data.model_copy(update={"label": claim.text})
    return command(data, command_id=body.scan_id, subject=claim.asset_id, actor=body.actor, gw=gw, time=body.scanned_at)


async def _view(gw: Gateway, asset_id: str) -> dict[str, Any]:
    view = await gw.reads.laptop(asset_id)
    if view is None or view.get("status") in (None, "unknown"):
        raise ApiError(404, "unknown_laptop", f"{asset_id} is not registered: check the asset id or register it.")
    return view


def _label_url(gw: Gateway, asset_id: str, view: dict[str, Any]) -> str | None:
    if not view.get("label_generation"):
        return None
    ref = LabelRef(generation=view["label_generation"], key_id=view.get("label_key_id") or gw.issuer.active_key_id)
    return gw.issuer.url(asset_id, ref)


def _entry(link: dict[str, Any], verified: bool) -> HistoryEntry:
    e = link["event"]
    return HistoryEntry(
        seq=link["seq"],
        hash=link["hash"],
        prev_hash=link["prev_hash"],
        chain="verified" if verified else "broken",
        id=e["id"],
        type=e["type"],
        time=e["time"],
        actor=e.get("actor", "system"),
        scan_id=e.get("causationid"),
        source=e["source"],
        data=e["data"],
    )


def _office(o: offices.Office) -> OfficePublic:
    return OfficePublic(
        code=o.code, name=o.name, region_name=o.region_name, level=o.level, province_code=o.province_code
    )
