"""From an HTTP request to a decision: send the command, wait for the deciding
service's answer, and say what happened in HTTP terms."""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi.responses import JSONResponse

from events import codec, scantime
from events.catalog import CommandRejected, Payload
from events.envelope import Envelope
from services.common.faults import crash_point
from services.gateway.bootstrap import Gateway
from services.gateway.errors import ApiError, problem, rejection_status
from services.gateway.models import DecisionResponse, EventPublic

SOURCE = "/serah/gateway"


def command(
    body: Payload, *, command_id: str, subject: str, actor: str, gw: Gateway, time: datetime | None = None
) -> Envelope:
    """The command for a request. ``time``: when the device says it scanned, checked
    here against the scan-time window (events/scantime.py) so a wrong clock is
    refused before anything reaches Kafka; without it, now."""
    now = gw.clock()
    if time is not None:
        try:
            time = scantime.as_utc(time)
        except ValueError as exc:
            raise ApiError(422, "scanned_at_out_of_range", f"scanned_at: {exc}.") from None
        max_ahead, max_age = gw.settings.scan_window()
        if (why := scantime.out_of_range(time, now, max_ahead=max_ahead, max_age=max_age)) is not None:
            raise ApiError(422, "scanned_at_out_of_range", why)
    return codec.make(body, subject=subject, source=SOURCE, time=time or now, id=command_id, actor=actor)


def named_by_content(cmd: Envelope, prefix: str) -> Envelope:
    """The command under an id made from what it asks (``prefix-subject-digest``),
    for requests that carry no id of their own (registrations, plans): sending
    the same request again is the same command and replays its decision; a
    changed request is a new command, decided on its own."""
    return cmd.model_copy(update={"id": f"{prefix}-{cmd.subject}-{codec.command_digest(cmd)[:16]}"})


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
    decision does not come back in time (202), it will be decided exactly once.

    Read-your-writes: with the decision in hand, the answer waits (within the
    same timeout) until the audit service has recorded it, so whoever reads the
    laptop, its history or the scan right after the answer sees the decision.
    If the audit lags past the timeout the decision is answered anyway: it is
    the deciding service's, and the views follow."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gw.settings.decision_timeout_s
    future = gw.waiter.expect(cmd)
    try:
        await gw.bus.send(cmd)
        crash_point("after_send", cmd.subject)
        event = await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
    except TimeoutError:
        gw.waiter.forget(cmd, future)
        pending = DecisionResponse(
            decision="pending", scan_id=cmd.id, asset_id=cmd.subject, status_url=f"/api/v1/scans/{cmd.id}"
        )
        return JSONResponse(pending.model_dump(mode="json"), status_code=202, headers={"Location": pending.status_url})
    except BaseException:
        gw.waiter.forget(cmd, future)
        raise
    while not await gw.reads.recorded(cmd.id, event) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return decision_response(cmd.id, cmd.subject, event, accepted_status)


def decision_response(
    scan_id: str, asset_id: str, event: Envelope, accepted_status: int = 200, *, as_record: bool = False
) -> JSONResponse:
    """The answer to a command. ``as_record``: the answer to "what happened to
    scan X?", which is a 200 whatever the decision was."""
    status_url = f"/api/v1/scans/{scan_id}"
    if as_record:
        rejected = event.type == CommandRejected.TYPE
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
    if event.type == CommandRejected.TYPE:
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
