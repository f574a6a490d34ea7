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

import asyncio
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field, ValidationError

from events import labels
from events.catalog import (
    CONSIGNMENT_ID,
    CommandRejected,
    LaptopDescription,
    LaptopRegistered,
    RegisterLaptop,
    RejectionReason,
)
from events.envelope import Envelope
from services.gateway.answers import problems
from services.gateway.api import GW
from services.gateway.commands import command, named_by_content
from services.gateway.models import RegisterLaptopRequest, Request

router = APIRouter(prefix="/api/v1")
MAX_ROWS = 500


class BulkRegisterRequest(Request):
    laptops: list[dict[str, Any]] = Field(
        min_length=1,
        max_length=MAX_ROWS,
        description="Each item has the shape of POST /api/v1/laptops; each is validated on its own.",
    )
    batch: str | None = Field(
        default=None, pattern=CONSIGNMENT_ID, description="Import batch name, to print its labels."
    )
    wait_s: float = Field(default=30, ge=0, le=120, strict=True, description="How long to wait for the decisions.")


class BulkRowResult(BaseModel):
    index: int
    asset_id: str | None = None
    serial: str | None = None
    result: Literal["registered", "already_present", "rejected", "pending"]
    code: str | None = None
    detail: str | None = None


class BulkRegisterResponse(BaseModel):
    registered: int
    already_present: int
    rejected: int
    pending: int
    results: list[BulkRowResult]


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


def classify(index: int, cmd: Envelope, event: Envelope | None) -> BulkRowResult:
    serial = cmd.data["laptop"]["serial"]
    if event is None:
        return BulkRowResult(
            index=index,
            asset_id=cmd.subject,
            serial=serial,
            result="pending",
            detail="Sent and safely stored, not decided yet: import the same rows again later to see the result.",
        )
    if event.type == CommandRejected.TYPE:
        if event.data["reason"] == RejectionReason.ALREADY_REGISTERED:
            return BulkRowResult(index=index, asset_id=cmd.subject, serial=serial, result="already_present")
        return BulkRowResult(
            index=index,
            asset_id=cmd.subject,
            serial=serial,
            result="rejected",
            code=event.data["reason"],
            detail=event.data["detail"],
        )
    # A replayed registration carries the time of the first decision, which is
    # before this command was made: the laptop was already there.
    fresh = event.type == LaptopRegistered.TYPE and event.time >= cmd.time
    return BulkRowResult(
        index=index, asset_id=cmd.subject, serial=serial, result="registered" if fresh else "already_present"
    )


@router.post(
    "/laptops/bulk",
    response_model=BulkRegisterResponse,
    responses=problems(),
    summary="Register up to 500 laptops; every row gets its own verdict",
)
async def register_laptops(body: BulkRegisterRequest, gw: GW) -> BulkRegisterResponse:
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
        laptop = LaptopDescription(
            serial=req.serial,
            brand=req.brand,
            model=req.model,
            specs=req.specs,
            warranty_end=req.warranty_end,
            **({"bmn": req.bmn} if req.bmn else {}),
        )
        cmd = command(
            RegisterLaptop(laptop=laptop, label=gw.issuer.issue(asset_id), import_batch=body.batch),
            command_id="register",
            subject=asset_id,
            actor="operator",
            gw=gw,
        )
        cmd = named_by_content(cmd, "register")  # the same row imported again replays
        commands.append((index, cmd))

    futures = [gw.waiter.expect(cmd) for _, cmd in commands]
    try:
        await asyncio.gather(*(gw.bus.send(cmd) for _, cmd in commands))
        if futures:
            await asyncio.wait(futures, timeout=body.wait_s)
    finally:
        for (_, cmd), future in zip(commands, futures, strict=True):
            gw.waiter.forget(cmd, future)
    for (index, cmd), future in zip(commands, futures, strict=True):
        event = future.result() if future.done() and not future.cancelled() else None
        results[index] = classify(index, cmd, event)

    ordered = [results[i] for i in sorted(results)]
    count = {k: sum(r.result == k for r in ordered) for k in ("registered", "already_present", "rejected", "pending")}
    return BulkRegisterResponse(**count, results=ordered)
