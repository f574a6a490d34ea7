"""Label identity: revoke and re-issue a laptop's label, and the public keys
(as a list, and as the key file an offline scanner carries)."""

from __future__ import annotations

import base64
import uuid
from typing import Annotated

from fastapi import APIRouter, Header
from fastapi.responses import JSONResponse

from events import labels
from events.catalog import ReissueLabel
from events.envelope import SAFE_ID
from services.gateway.api.laptops import LAPTOP_REFUSALS, AssetId
from services.gateway.api.render import answer, command_answers
from services.gateway.api.requests import ReissueLabelRequest
from services.gateway.api.responses import DecisionResponse, KeyringDocument, LabelRevocation, PublicKey
from services.gateway.decisions import command, submit
from services.gateway.deps import GW, Anyone, Operator, SignedIn

router = APIRouter(prefix="/api/v1", tags=["labels"])
# Re-issues are rare (a lost or damaged sticker): a national roll-out has far fewer.
MAX_REVOCATIONS = 50_000


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
    who: Operator,
    asset_id: AssetId,
    body: ReissueLabelRequest,
    gw: GW,
    idempotency_key: Annotated[str | None, Header(pattern=SAFE_ID)] = None,
) -> JSONResponse:
    cmd = command(
        ReissueLabel(key_id=gw.issuer.active_key_id, reason=body.reason, note=body.note),
        command_id=idempotency_key or f"reissue-{uuid.uuid4()}",
        subject=asset_id,
        actor=who.actor,
        gw=gw,
    )
    return answer(await submit(gw, cmd))


@router.get(
    "/label-keys.json",
    response_model=KeyringDocument,
    summary="The public key file for offline label verification",
    description="Carry this file on a scanner: `events.labels.verify_offline(label, file)` (or "
    "`serah verify-label`) checks a label's signature without the server. Revocation needs the server.",
)
async def label_key_file(who: Anyone, gw: GW) -> JSONResponse:
    doc = labels.keyring_document(gw.issuer.public_keys(), gw.issuer.active_key_id)
    return JSONResponse(doc, headers={"Content-Disposition": 'attachment; filename="serah-label-keys.json"'})


@router.get("/label-keys", response_model=list[PublicKey], summary="Public keys that verify labels offline")
async def label_keys(who: Anyone, gw: GW) -> list[PublicKey]:
    """Ed25519 keys by key id; `active` signs new labels, the others still verify older ones."""
    return [
        PublicKey(
            key_id=kid,
            public_key=base64.urlsafe_b64encode(raw).decode().rstrip("="),
            active=kid == gw.issuer.active_key_id,
        )
        for kid, raw in gw.issuer.public_keys().items()
    ]


@router.get(
    "/label-revocations",
    response_model=list[LabelRevocation],
    summary="Laptops whose label was re-issued or revoked, for scanners that flag revoked labels offline",
)
async def label_revocations(who: SignedIn, gw: GW) -> list[LabelRevocation]:
    """Every laptop whose current label is not its first, with that label's generation: a
    scanned label of the same laptop with a lower generation is revoked. A written-off laptop's
    labels are all revoked, so it is listed with the generation after its last. Together with
    `GET /api/v1/label-keys`, what a scanning device carries to judge a label without the network."""
    query = {"$or": [{"label_generation": {"$gte": 2}}, {"label_revoked": True}]}
    views = await gw.reads.label_views(query, MAX_REVOCATIONS)
    return [
        LabelRevocation(asset_id=v["_id"], generation=v["label_generation"] + (1 if v.get("label_revoked") else 0))
        for v in views
    ]
