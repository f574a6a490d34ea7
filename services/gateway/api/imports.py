"""Bulk registration: many laptops in one request, each with its own
verdict. ``serah import laptops.csv`` sends a vendor's file through here in chunks.

Throughput comes from not waiting for each decision in turn: every command of
the chunk is sent at once (the producer batches them), then all decisions are
awaited together. Each registration is named by its content
(``register-<asset>-<digest>``, as ``POST /api/v1/laptops`` does), so sending a
row twice (a re-import, a retry after an interrupted run) replays the first
decision instead of registering again; a changed row for a registered serial is
refused ``already_registered``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import ValidationError

from events import labels
from events.catalog import LaptopRegistered, RejectionReason
from events.envelope import Envelope
from services.gateway.api.render import problems
from services.gateway.api.requests import BulkRegisterRequest, RegisterLaptopRequest
from services.gateway.api.responses import BulkRegisterResponse, BulkRowResult
from services.gateway.decisions import Accepted, Decision, Pending, Rejected, registration, submit_many
from services.gateway.deps import GW, Operator

router = APIRouter(prefix="/api/v1", tags=["laptops"])


def _invalid(index: int, row: dict[str, Any], exc: ValidationError) -> BulkRowResult:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ())) or "row"
    serial = row.get("serial") if isinstance(row.get("serial"), str) else None
    return BulkRowResult(
        index=index,
        serial=serial[:64] if serial else None,
        result="rejected",
        code="invalid_row",
        detail=f"{where}: {first.get('msg', 'invalid')}. Correct the value and import the row again.",
    )


def classify(index: int, decision: Decision) -> BulkRowResult:
    cmd = decision.command
    row = {"index": index, "asset_id": cmd.subject, "serial": cmd.data["laptop"]["serial"]}
    match decision:
        case Pending():
            return BulkRowResult(
                **row,
                result="pending",
                detail="Sent and safely stored, not decided yet: import the same rows again later to see the result.",
            )
        case Rejected() if decision.reason == RejectionReason.ALREADY_REGISTERED:
            return BulkRowResult(**row, result="already_present")
        case Rejected():
            return BulkRowResult(**row, result="rejected", code=decision.reason, detail=decision.detail)
        case Accepted(event=event):
            # A replayed registration carries the time of the first decision, which is
            # before this command was made: the laptop was already there.
            fresh = event.type == LaptopRegistered.TYPE and event.time >= cmd.time
            return BulkRowResult(**row, result="registered" if fresh else "already_present")


@router.post(
    "/laptops/bulk",
    response_model=BulkRegisterResponse,
    responses=problems(),
    summary="Register up to 500 laptops; every row gets its own verdict",
)
async def register_laptops(who: Operator, body: BulkRegisterRequest, gw: GW) -> BulkRegisterResponse:
    """200 with one result per row (`registered`, `already_present`, `rejected` with a code,
    or `pending` if not decided within `wait_s`); a bad row does not refuse the others."""
    results: dict[int, BulkRowResult] = {}
    commands: list[tuple[int, Envelope]] = []
    seen: dict[str, int] = {}
    for index, row in enumerate(body.laptops):
        try:
            req = RegisterLaptopRequest.model_validate(row)
        except ValidationError as exc:
            results[index] = _invalid(index, row, exc)
            continue
        asset_id = labels.asset_id_for_serial(req.serial)
        if asset_id in seen:
            results[index] = BulkRowResult(
                index=index,
                asset_id=asset_id,
                serial=req.serial,
                result="rejected",
                code="duplicate_in_request",
                detail=f"the same laptop is item {seen[asset_id]} of this request; remove one of them.",
            )
            continue
        seen[asset_id] = index
        commands.append((index, registration(gw, req.laptop(), who.actor, import_batch=body.batch)))

    decisions = await submit_many(gw, [cmd for _, cmd in commands], body.wait_s)
    for (index, _), decision in zip(commands, decisions, strict=True):
        results[index] = classify(index, decision)

    ordered = [results[i] for i in sorted(results)]
    count = {k: sum(r.result == k for r in ordered) for k in ("registered", "already_present", "rejected", "pending")}
    return BulkRegisterResponse(**count, results=ordered)
