"""Label identity routes: revoke and re-issue a laptop's label, and the
public key file an offline scanner carries."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse
from pydantic import Field

from events import labels
from events.catalog import LabelReissueReason, ReissueLabel
from events.envelope import SAFE_ID
from events.text import Text
from services.gateway.answers import command_answers
from services.gateway.api import GW, LAPTOP_REFUSALS, AssetId
from services.gateway.commands import command, submit
from services.gateway.models import DecisionResponse, Request

router = APIRouter(prefix="/api/v1")


class ReissueLabelRequest(Request):
    reason: LabelReissueReason = Field(description="Why the label is replaced: lost, damaged, stolen, …")
    note: Text = Field(default="", max_length=1000, examples=["Stiker terkelupas saat pengiriman"])


@router.post(
    "/laptops/{asset_id}/label/reissue",
    response_model=DecisionResponse,
    responses=command_answers(*LAPTOP_REFUSALS),
    summary="Revoke the laptop's label and issue the next generation",
    description="The old label is refused from the moment the decision is made (`label_revoked`); "
    "the new one, signed with the active key, works at once. Print it from "
    "`GET /api/v1/laptops/{asset_id}/qr.svg`. Send an `Idempotency-Key` so a retry is not a second re-issue.",
)
async def reissue_label(
    asset_id: AssetId,
    body: ReissueLabelRequest,
    gw: GW,
    idempotency_key: Annotated[str | None, Header(pattern=SAFE_ID)] = None,
) -> JSONResponse:
    cmd = command(
        ReissueLabel(key_id=gw.issuer.active_key_id, reason=body.reason, note=body.note),
        command_id=idempotency_key or f"reissue-{uuid.uuid4()}",
        subject=asset_id,
        actor="operator",
        gw=gw,
    )
    return await submit(gw, cmd)


@router.get(
    "/label-keys.json",
    summary="The public key file for offline label verification",
    description="Carry this file on a scanner: `events.labels.verify_offline(label, file)` (or "
    "`serah verify-label`) checks a label's signature without the server. Revocation needs the server.",
)
async def label_key_file(gw: GW) -> JSONResponse:
    doc = labels.keyring_document(gw.issuer.public_keys(), gw.issuer.active_key_id)
    return JSONResponse(doc, headers={"Content-Disposition": 'attachment; filename="serah-label-keys.json"'})
