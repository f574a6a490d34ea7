"""The one shape of every command handler: load the laptop's document, replay
if this command was already decided, otherwise decide, append, publish.

A crash at any line is safe: before the append nothing happened; after it, the
redelivered command finds its events (``LaptopDoc.replay_of``) and publishes
them again with the same ids, which readers dedupe."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from events import codec
from events.catalog import Payload, RejectionReason, ScanRejected
from events.codec import DecodeError
from events.envelope import Envelope
from services.common.laptop_store import LaptopDoc, LaptopStore


class Publisher(Protocol):
    async def publish(self, envelopes: Sequence[Envelope]) -> None: ...


@dataclass
class Runtime:
    """What every handler needs besides the command."""

    store: LaptopStore
    publisher: Publisher
    source: str  # CloudEvents source of this service, e.g. /serah/allocation
    clock: Callable[[], datetime]
    public_keys: dict[str, bytes]
    # How long a command may wait for this service's view to catch up before a
    # refusal that might only mean "not learnt yet" stands (see run_command).
    settle_s: float = 3.0


# decide(doc or None, command envelope, typed command) -> facts to record
Decide = Callable[[LaptopDoc | None, Envelope, Any], list[Payload]]
Summarise = Callable[[LaptopDoc], dict[str, Any]]


async def run_command(
    command: Envelope,
    decide: Decide,
    summarise: Summarise,
    rt: Runtime,
    *,
    unsettled: frozenset[RejectionReason] = frozenset(),
) -> list[Envelope]:
    """``unsettled``: refusals that may only mean this service has not yet read
    a fact another service already published (e.g. the handover service has
    not yet seen the dispatch of a laptop scanned at receipt a moment later).
    Such a refusal is re-decided for up to ``rt.settle_s`` before it stands."""
    deadline = asyncio.get_running_loop().time() + rt.settle_s
    while True:
        doc = await rt.store.load(command.subject)
        if doc is not None and (earlier := doc.replay_of(command)):
            await rt.publisher.publish(earlier)
            return earlier
        try:
            body = codec.payload(command)
            facts = decide(doc, command, body)
        except DecodeError as exc:
            facts = [reject(command, RejectionReason.INVALID_COMMAND, f"The command is invalid: {exc.detail}")]
        waiting = any(isinstance(f, ScanRejected) and f.reason in unsettled for f in facts)
        if not waiting or asyncio.get_running_loop().time() >= deadline:
            break
        await asyncio.sleep(0.1)

    now = rt.clock()
    events = [
        codec.make(
            fact,
            subject=command.subject,
            source=rt.source,
            time=now,
            id=codec.event_id(command.type, command.subject, command.id, i),
            causation_id=command.id,
            actor=command.actor,
        )
        for i, fact in enumerate(facts)
    ]
    if doc is not None or any(not isinstance(f, ScanRejected) for f in facts):
        # A rejection about a laptop this service has never heard of is not
        # stored here (there is no document to put it in); it is still published
        # and the audit log keeps it. Its id is deterministic, so a retry dedupes.
        current = doc or LaptopDoc(command.subject)
        after = LaptopDoc(current.asset_id, current.version + 1, current.history + events)
        await rt.store.append(command.subject, current.version, events, summarise(after))
    await rt.publisher.publish(events)
    return events


async def learn(event: Envelope, summarise: Summarise, rt: Runtime) -> bool:
    """Fold another service's event into this service's document, once."""
    doc = await rt.store.load(event.subject)
    if doc is not None and doc.find(event.id) is not None:
        return False
    current = doc or LaptopDoc(event.subject)
    after = LaptopDoc(current.asset_id, current.version + 1, current.history + [event])
    await rt.store.append(event.subject, current.version, [event], summarise(after))
    return True


def reject(command: Envelope, reason: RejectionReason, detail: str) -> ScanRejected:
    return ScanRejected(command_type=command.type, reason=reason, detail=detail)
