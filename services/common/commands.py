"""The one shape of every command handler: load the laptop's document, replay
if this command was already decided, otherwise decide, append, publish.

A crash at any line is safe: before the append nothing happened; after it, the
redelivered command finds its events (``LaptopDoc.replay_of``) and publishes
them again with the same ids, which readers dedupe."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from events import codec
from events.catalog import Payload, RejectionReason, ScanRejected
from events.codec import DecodeError
from events.envelope import Envelope
from services.common.faults import crash_point
from services.common.laptop_store import Append, LaptopDoc, LaptopStore

log = logging.getLogger(__name__)


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

    events = _envelopes(command, facts, rt)
    crash_point("before_append", command.subject)
    if _stored(doc, facts):
        current = doc or LaptopDoc(command.subject)
        after = LaptopDoc(current.asset_id, current.version + 1, current.history + events)
        await rt.store.append(command.subject, current.version, events, summarise(after))
    crash_point("after_append", command.subject)
    await rt.publisher.publish(events)
    crash_point("after_publish", command.subject)
    return events


def _envelopes(command: Envelope, facts: list[Payload], rt: Runtime) -> list[Envelope]:
    now = rt.clock()
    return [
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


def _stored(doc: LaptopDoc | None, facts: list[Payload]) -> bool:
    # A rejection about a laptop this service has never heard of is not
    # stored here (there is no document to put it in); it is still published
    # and the audit log keeps it. Its id is deterministic, so a retry dedupes.
    return doc is not None or any(not isinstance(f, ScanRejected) for f in facts)


async def run_commands(
    commands: Sequence[tuple[Envelope, Decide]],
    summarise: Summarise,
    rt: Runtime,
    *,
    unsettled: frozenset[RejectionReason] = frozenset(),
) -> tuple[list[Envelope], set[str]]:
    """``run_command`` for a batch, with the same guarantees and a few round trips
    in all: one read of every subject's document, the decisions in memory in
    order (a later command of a laptop sees the earlier one's events, and a
    command already decided replays), one ``append_many`` (still one
    version-guarded single-document append per subject: the commit point), then
    every event published and acknowledged together.

    Returns the events published and the subjects left undone: nothing of theirs
    was written or published (a lost version race, a refusal in ``unsettled``
    that deserves run_command's wait, an unexpected error in a rule); the caller
    runs their commands one at a time, in order."""
    t0 = time.perf_counter()
    docs = await rt.store.load_many([c.subject for c, _ in commands])
    t1 = time.perf_counter()
    pending: dict[str, list[Envelope]] = {}  # per subject: events decided in this batch, in order
    decided: list[tuple[str, list[Envelope]]] = []  # per command, in order
    left: set[str] = set()
    for command, decide in commands:
        subject = command.subject
        if subject in left:
            continue
        stored = docs.get(subject)
        doc = stored
        if subject in pending:
            base = stored or LaptopDoc(subject)
            doc = LaptopDoc(subject, base.version, base.history + pending[subject])
        if doc is not None and (earlier := doc.replay_of(command)):
            decided.append((subject, earlier))
            continue
        try:
            body = codec.payload(command)
            facts = decide(doc, command, body)
        except DecodeError as exc:
            facts = [reject(command, RejectionReason.INVALID_COMMAND, f"The command is invalid: {exc.detail}")]
        except Exception:  # noqa: BLE001 - run_command on its own decides whether it is poison
            log.exception("deciding %s %s in a batch failed; it goes one at a time", command.type, subject)
            left.add(subject)
            continue
        if any(isinstance(f, ScanRejected) and f.reason in unsettled for f in facts):
            left.add(subject)
            continue
        events = _envelopes(command, facts, rt)
        if _stored(doc, facts):
            pending.setdefault(subject, []).extend(events)
        decided.append((subject, events))
    t2 = time.perf_counter()
    appends = []
    for subject, events in pending.items():
        if subject in left:
            continue
        base = docs.get(subject) or LaptopDoc(subject)
        after = LaptopDoc(subject, base.version + 1, base.history + events)
        appends.append(Append(subject, base.version, events, summarise(after)))
    crash_point("before_append", (subject for subject, _ in decided))
    left |= await rt.store.append_many(appends)
    crash_point("after_append", (subject for subject, _ in decided))
    t3 = time.perf_counter()
    published = [e for subject, events in decided if subject not in left for e in events]
    await rt.publisher.publish(published)
    crash_point("after_publish", (subject for subject, _ in decided))
    t4 = time.perf_counter()
    if len(commands) >= 50:
        log.info(
            "%s: batch of %d commands (%d subjects, %d left): load %.0f ms, decide %.0f ms, "
            "append %.0f ms, publish %d events %.0f ms",
            rt.source,
            len(commands),
            len(docs),
            len(left),
            (t1 - t0) * 1000,
            (t2 - t1) * 1000,
            (t3 - t2) * 1000,
            len(published),
            (t4 - t3) * 1000,
        )
    return published, left


async def learn(event: Envelope, summarise: Summarise, rt: Runtime) -> bool:
    """Fold another service's event into this service's document, once."""
    doc = await rt.store.load(event.subject)
    if doc is not None and doc.find(event.id) is not None:
        return False
    current = doc or LaptopDoc(event.subject)
    after = LaptopDoc(current.asset_id, current.version + 1, current.history + [event])
    await rt.store.append(event.subject, current.version, [event], summarise(after))
    return True


async def learn_many(events: Sequence[Envelope], summarise: Summarise, rt: Runtime) -> set[str]:
    """``learn`` for a batch: one read, one ``append_many`` (one single-document
    append per subject), each event folded once even if it comes twice. Returns
    the subjects left undone (a lost version race): nothing of theirs was written."""
    docs = await rt.store.load_many([e.subject for e in events])
    new: dict[str, list[Envelope]] = {}
    for event in events:
        doc = docs.get(event.subject)
        known = new.get(event.subject, [])
        if (doc is not None and doc.find(event.id) is not None) or any(e.id == event.id for e in known):
            continue
        new.setdefault(event.subject, []).append(event)
    appends = []
    for subject, fresh in new.items():
        base = docs.get(subject) or LaptopDoc(subject)
        after = LaptopDoc(subject, base.version + 1, base.history + fresh)
        appends.append(Append(subject, base.version, fresh, summarise(after)))
    return await rt.store.append_many(appends)


def reject(command: Envelope, reason: RejectionReason, detail: str) -> ScanRejected:
    return ScanRejected(command_type=command.type, reason=reason, detail=detail)
