"""Laptops: register one, read its state and history, print its QR, allocate it."""

from __future__ import annotations

import dataclasses
import uuid
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query
from fastapi.responses import JSONResponse, Response

from events import labels
from events.catalog import AllocateLaptop
from events.envelope import SAFE_ID
from services.gateway.adapters import qr
from services.gateway.api.render import answer, binary, command_answers, problems
from services.gateway.api.requests import AllocationRequest, RegisterLaptopRequest
from services.gateway.api.responses import (
    ChainVerdictPublic,
    DecisionResponse,
    HistoryEntry,
    LaptopHistory,
    LaptopPublic,
)
from services.gateway.bootstrap import Gateway
from services.gateway.decisions import command, registration, submit
from services.gateway.deps import GW, Operator, SignedIn
from services.gateway.errors import ApiError

router = APIRouter(prefix="/api/v1", tags=["laptops"])
AssetId = Annotated[str, Path(pattern=labels.ASSET_ID.pattern, examples=["SRHPPSKGESNAC"])]
NOT_FOUND = problems(404)  # what a read by id can answer besides 200; 422 and the rest come from openapi.finish
LAPTOP_REFUSALS = (404, 409, 422)


@router.post(
    "/laptops",
    status_code=201,
    response_model=DecisionResponse,
    responses=command_answers(409, 422, accepted=201),
    summary="Register a laptop and issue its signed label",
)
async def register_laptop(who: Operator, body: RegisterLaptopRequest, gw: GW) -> JSONResponse:
    """The asset id is derived from the serial, so the same operator or device posting the same
    laptop again replays the first registration (201 with the same event) instead of
    registering it twice (another's is refused `409 already_registered`); a serial
    already registered with other details is refused with `409 serial_conflict`. The label
    is at `label_url` of `GET /api/v1/laptops/{asset_id}` once the view has caught up."""
    return answer(await submit(gw, registration(gw, body.laptop(), who.actor)), accepted_status=201)


@router.get(
    "/laptops/{asset_id}",
    response_model=LaptopPublic,
    responses=NOT_FOUND,
    summary="A laptop's current state",
)
async def get_laptop(who: SignedIn, asset_id: AssetId, gw: GW) -> LaptopPublic:
    """Status, owning office, consignment, condition and the current label, from the
    read model; `404 unknown_laptop` for an asset id that is not registered."""
    view = await laptop_view(gw, asset_id)
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
        label_url=gw.issuer.current_url(asset_id, view),
        qr_svg_url=f"/api/v1/laptops/{asset_id}/qr.svg",
        qr_png_url=f"/api/v1/laptops/{asset_id}/qr.png",
        rejections=view.get("rejections", 0),
        last_event_at=view.get("last_event_at"),
        kode_barang=view.get("kode_barang"),
        nup=view.get("nup"),
        acquisition_year=view.get("acquisition_year"),
        acquisition_value=view.get("acquisition_value"),
    )


@router.get(
    "/laptops/{asset_id}/history",
    response_model=LaptopHistory,
    responses=NOT_FOUND,
    summary="Every event of a laptop, in order, with its chain hashes and whether the chain verifies",
)
async def laptop_history(who: SignedIn, asset_id: AssetId, gw: GW) -> LaptopHistory:
    """Each entry carries `hash` and `prev_hash` of the laptop's hash chain, and `chain`
    says whether the chain verifies against the signed checkpoint (and where it breaks)."""
    links = await gw.reads.history(asset_id)
    if not links:
        raise ApiError(404, "unknown_laptop", f"No events for {asset_id}: check the asset id.")
    verdict = await gw.audit.verdict(asset_id, links, labels.parse_keyring(gw.settings.audit_public_keys))
    who_acted = await gw.identity.who_acted(link["event"].get("actor", "system") for link in links)
    return LaptopHistory(
        asset_id=asset_id,
        chain=ChainVerdictPublic(**dataclasses.asdict(verdict)),
        events=[_entry(link, verdict.verified_at(n), who_acted) for n, link in enumerate(links, start=1)],
    )


@router.get(
    "/laptops/{asset_id}/qr.svg",
    response_class=Response,
    responses=binary("image/svg+xml", "The laptop's current label as an SVG QR code.", 404),
    summary="The label's QR code as SVG (for printing at any size)",
)
async def laptop_qr_svg(who: Operator, asset_id: AssetId, gw: GW) -> Response:
    """The QR encodes the signed label URL of the laptop's current label generation."""
    return Response(qr.svg(await _current_label(gw, asset_id)), media_type="image/svg+xml")


@router.get(
    "/laptops/{asset_id}/qr.png",
    response_class=Response,
    responses=binary("image/png", "The laptop's current label as a PNG QR code.", 404),
    summary="The label's QR code as PNG",
)
async def laptop_qr_png(
    who: Operator,
    asset_id: AssetId,
    gw: GW,
    scale: Annotated[int, Query(ge=1, le=40, description="Pixels per QR module.")] = 8,
) -> Response:
    """The QR encodes the signed label URL of the laptop's current label generation."""
    return Response(qr.png(await _current_label(gw, asset_id), scale), media_type="image/png")


@router.post(
    "/laptops/{asset_id}/allocation",
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="Allocate a laptop to a recipient office",
)
async def allocate_laptop(
    who: Operator,
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
        actor=who.actor,
        gw=gw,
    )
    return answer(await submit(gw, cmd))


async def laptop_view(gw: Gateway, asset_id: str) -> dict[str, Any]:
    view = await gw.reads.laptop(asset_id)
    if view is None or view.get("status") in (None, "unknown"):
        raise ApiError(404, "unknown_laptop", f"{asset_id} is not registered: check the asset id or register it.")
    return view


async def _current_label(gw: Gateway, asset_id: str) -> str:
    url = gw.issuer.current_url(asset_id, await laptop_view(gw, asset_id))
    if url is None:  # registration issues the first label, so a registered laptop has one
        raise ApiError(404, "unknown_laptop", f"{asset_id} has no label yet: ask again once it is registered.")
    return url


def _entry(link: dict[str, Any], verified: bool, who_acted: dict[str, tuple[str, str | None]]) -> HistoryEntry:
    e = link["event"]
    name, nip = who_acted[e.get("actor", "system")]
    return HistoryEntry(
        actor_name=name,
        actor_nip=nip,
        seq=link["seq"],
        hash=link["hash"],
        prev_hash=link["prev_hash"],
        chain="verified" if verified else "broken",
        id=e["id"],
        type=e["type"],
        time=e["time"],
        actor=e.get("actor", "system"),
        command_id=e.get("causationid"),
        source=e["source"],
        data=e["data"],
    )
