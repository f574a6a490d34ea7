"""From a request to a decision: build the command, send it, wait for the deciding
service's answer. Knows nothing of HTTP: routes render the ``Decision``
(services/gateway/api/render.py)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from events import codec, labels, receipt_codes, scantime
from events.catalog import (
    CommandRejected,
    ConfirmReceipt,
    LaptopDescription,
    Payload,
    ReceiveLaptop,
    RegisterLaptop,
)
from events.envelope import Envelope
from services.common.faults import crash_point
from services.gateway.bootstrap import Gateway
from services.gateway.errors import ApiError
from services.gateway.ports import ClockOff

SOURCE = "/serah/gateway"


@dataclass(frozen=True)
class Accepted:
    """The deciding service recorded ``event`` for ``command``."""

    command: Envelope
    event: Envelope


@dataclass(frozen=True)
class Rejected:
    """The deciding service refused ``command``; ``event`` is the recorded ``CommandRejected``."""

    command: Envelope
    event: Envelope

    @property
    def reason(self) -> str:
        return str(self.event.data["reason"])

    @property
    def detail(self) -> str:
        return str(self.event.data["detail"])


@dataclass(frozen=True)
class Pending:
    """The command is durable in Kafka and will be decided exactly once; not decided in
    time. ``reason``/``detail``: why, when the deciding service said (a held receipt)."""

    command: Envelope
    reason: str | None = None
    detail: str | None = None


Decision = Accepted | Rejected | Pending


def decided(command: Envelope, event: Envelope) -> Accepted | Rejected:
    return Rejected(command, event) if event.type == CommandRejected.TYPE else Accepted(command, event)


def command(
    body: Payload, *, command_id: str, subject: str, actor: str, gw: Gateway, time: datetime | None = None
) -> Envelope:
    """The command for a request. ``time``: when the device says it scanned, checked
    here against the scan-time window (events/scantime.py) so a wrong clock is
    refused before anything reaches Kafka; without it, now. Nothing is stamped by a clock
    that is off the store's (``ClockOff``: 503, the device sends it again)."""
    if not gw.clock_guard.trusted():
        raise ClockOff(gw.clock_guard.why())
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


def registration(gw: Gateway, laptop: LaptopDescription, actor: str, import_batch: str | None = None) -> Envelope:
    """The command registering ``laptop``, named by its content and who sends it: the
    same operator or device posting or importing the same laptop again replays the first
    registration instead of registering twice."""
    asset_id = labels.asset_id_for_serial(laptop.serial)
    body = RegisterLaptop(laptop=laptop, label=gw.issuer.issue(asset_id), import_batch=import_batch)
    cmd = command(body, command_id="register", subject=asset_id, actor=actor, gw=gw)
    return named_by_content(cmd, "register")


def scan(
    gw: Gateway,
    data: Payload,
    *,
    scan_id: str,
    label: str,
    actor: str,
    scanned_at: datetime | None,
    subject: str | None = None,
) -> Envelope:
    """The command for a scan of ``label``: about the laptop the label names, or
    about ``subject`` (the consignment a laptop is scanned into). An unreadable label
    is refused here, before Kafka; the command carries the label's one canonical
    spelling, never the bytes as sent."""
    claim = read_label(label)
    data = data.model_copy(update={"label": claim.text})
    return command(data, command_id=scan_id, subject=subject or claim.asset_id, actor=actor, gw=gw, time=scanned_at)


def read_label(text: str) -> labels.LabelClaim:
    try:
        return labels.parse(text)
    except labels.LabelError as exc:
        raise ApiError(422, exc.reason.value, exc.detail) from None


def new_receipt_code(keys: Mapping[str, bytes]) -> tuple[str, str]:
    """A receipt code to show once (grouped: ``K7Q2-M9XP-4RTW-HN3C``), and its keyed
    hash under the ring's first key, the only form that travels and is kept."""
    code = "".join(secrets.choice(receipt_codes.ALPHABET) for _ in range(receipt_codes.LENGTH))
    return receipt_codes.grouped(code), receipt_codes.mac(keys, code)


# Receipts the handover service may hold until their dispatch is decided (services/handover/held.py).
HOLDABLE = frozenset({ReceiveLaptop.TYPE, ConfirmReceipt.TYPE})
HELD_POLL_S = 0.25
AWAITING_DISPATCH = "awaiting_dispatch"


async def submit(gw: Gateway, cmd: Envelope) -> Decision:
    """Once ``bus.send`` returns, the command is durable in Kafka: even if the
    decision does not come back in time (``Pending``), it will be decided exactly once.

    A receipt the handover service holds until its dispatch is decided is answered
    ``Pending`` as soon as it is held, saying so: waiting out the timeout would tell the
    person nothing more.

    Read-your-writes: with the decision in hand, the answer waits (within the
    same timeout) until the audit service has recorded it, so whoever reads the
    laptop, its history or the command right after the answer sees the decision.
    If the audit lags past the timeout the decision is answered anyway: it is
    the deciding service's, and the views follow."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + gw.settings.decision_timeout_s
    future = gw.waiter.expect(cmd)
    try:
        await gw.bus.send(cmd)
        crash_point("after_send", cmd.subject)
        event = await _decision(gw, cmd, future, deadline)
    except _Held as held:
        gw.waiter.forget(cmd, future)
        return held.pending
    except TimeoutError:
        gw.waiter.forget(cmd, future)
        return Pending(cmd)
    except BaseException:
        gw.waiter.forget(cmd, future)
        raise
    while not await gw.reads.recorded(cmd.id, event) and loop.time() < deadline:
        await asyncio.sleep(0.02)
    return decided(cmd, event)


class _Held(Exception):
    def __init__(self, pending: Pending) -> None:
        self.pending = pending


async def _decision(gw: Gateway, cmd: Envelope, future: asyncio.Future[Envelope], deadline: float) -> Envelope:
    """The decision, by ``deadline`` (else TimeoutError); a held receipt raises ``_Held``."""
    loop = asyncio.get_running_loop()
    if cmd.type not in HOLDABLE:
        return await asyncio.wait_for(asyncio.shield(future), max(0.0, deadline - loop.time()))
    while True:
        left = deadline - loop.time()
        try:
            return await asyncio.wait_for(asyncio.shield(future), max(0.0, min(left, HELD_POLL_S)))
        except TimeoutError:
            if left <= HELD_POLL_S:
                raise
        if (held := await gw.reads.held(cmd.id)) is not None:
            raise _Held(held_pending(cmd, held))


def held_pending(cmd: Envelope, held: dict[str, Any]) -> Pending:
    return Pending(cmd, AWAITING_DISPATCH, held_detail(held))


def held_detail(held: dict[str, Any]) -> str:
    """What a held receipt waits for, and until when."""
    until = str(held.get("until", ""))[:16].replace("T", " ")
    return (
        f"it is held until the dispatch of {held.get('subject')} is decided (the warehouse's service is behind), "
        f"then decided, at the latest at {until} UTC. Nothing to do: ask status_url for the decision."
    )


async def submit_many(gw: Gateway, commands: list[Envelope], wait_s: float) -> list[Decision]:
    """Every command sent at once (the producer batches them), then all decisions
    awaited together for at most ``wait_s``: a bulk request's throughput."""
    futures = [gw.waiter.expect(cmd) for cmd in commands]
    try:
        await asyncio.gather(*(gw.bus.send(cmd) for cmd in commands))
        if futures:
            await asyncio.wait(futures, timeout=wait_s)
    finally:
        for cmd, future in zip(commands, futures, strict=True):
            gw.waiter.forget(cmd, future)
    return [
        decided(cmd, future.result()) if future.done() and not future.cancelled() else Pending(cmd)
        for cmd, future in zip(commands, futures, strict=True)
    ]
