"""From an HTTP request to a decision: send the command, wait for the deciding
service's answer, and say what happened in HTTP terms."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi.responses import JSONResponse

from events import codec
from events.catalog import Payload, ScanRejected
from events.envelope import Envelope
from services.gateway.bootstrap import Gateway
from services.gateway.errors import problem, rejection_status
from services.gateway.models import DecisionResponse, EventPublic

SOURCE = "/serah/gateway"


def command(body: Payload, *, command_id: str, subject: str, actor: str, gw: Gateway, time: Any = None) -> Envelope:
    return codec.make(body, subject=subject, source=SOURCE, time=time or gw.clock(), id=command_id, actor=actor)


def event_public(event: Envelope) -> EventPublic:
    return EventPublic(
        id=event.id,
        type=event.type,
        time=codec.format_time(event.time),
        actor=event.actor,
        scan_id=event.causationid,
        source=event.source,
        data=event.data,
    )


async def submit(gw: Gateway, cmd: Envelope, accepted_status: int = 200) -> JSONResponse:
    """Once ``bus.send`` returns, the command is durable in Kafka: even if the
    decision does not come back in time (202), it will be decided exactly once."""
    future = gw.waiter.expect(cmd)
    try:
        await gw.bus.send(cmd)
        event = await asyncio.wait_for(asyncio.shield(future), gw.settings.decision_timeout_s)
    except TimeoutError:
        gw.waiter.forget(cmd, future)
        pending = DecisionResponse(
            decision="pending", scan_id=cmd.id, asset_id=cmd.subject, status_url=f"/api/v1/scans/{cmd.id}"
        )
        return JSONResponse(pending.model_dump(mode="json"), status_code=202, headers={"Location": pending.status_url})
    except BaseException:
        gw.waiter.forget(cmd, future)
        raise
    return decision_response(cmd.id, cmd.subject, event, accepted_status)


def decision_response(
    scan_id: str, asset_id: str, event: Envelope, accepted_status: int = 200, *, as_record: bool = False
) -> JSONResponse:
    """The answer to a command. ``as_record``: the answer to "what happened to
    scan X?", which is a 200 whatever the decision was."""
    status_url = f"/api/v1/scans/{scan_id}"
    if as_record:
        rejected = event.type == ScanRejected.TYPE
        record = DecisionResponse(
            decision="rejected" if rejected else "accepted",
            scan_id=scan_id,
            asset_id=asset_id,
            reason=event.data["reason"] if rejected else None,
            detail=event.data["detail"] if rejected else None,
            event=event_public(event),
            status_url=status_url,
        )
        return JSONResponse(record.model_dump(mode="json"))
    if event.type == ScanRejected.TYPE:
        reason = event.data["reason"]
        return problem(
            rejection_status(reason),
            reason,
            event.data["detail"],
            decision="rejected",
            scan_id=scan_id,
            asset_id=asset_id,
            event=event_public(event).model_dump(mode="json"),
            status_url=status_url,
        )
    body = DecisionResponse(
        decision="accepted", scan_id=scan_id, asset_id=asset_id, event=event_public(event), status_url=status_url
    )
    return JSONResponse(body.model_dump(mode="json"), status_code=accepted_status)
