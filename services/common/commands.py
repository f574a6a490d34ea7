"""The one shape of every command handler: load the subject's stream, replay
if this command was already decided, otherwise fold the stream into state,
decide, append, publish.

A crash at any line is safe: before the append nothing happened; after it, the
redelivered command finds its events (``SubjectStream.replay_of``) and publishes
them again with the same ids, which readers dedupe."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from events import codec, scantime
from events.catalog import CommandRejected, Payload, RejectionReason
from events.codec import DecodeError
from events.envelope import Envelope
from events.refusals import refuse
from services.common.aggregate import Aggregate, fold
from services.common.faults import crash_point
from services.common.settings import CommonSettings
from services.common.streams import Append, StreamStore, SubjectStream

log = logging.getLogger(__name__)

S = TypeVar("S")


class Publisher(Protocol):
    async def publish(self, envelopes: Sequence[Envelope]) -> None: ...


async def known_already(subjects: Sequence[str]) -> None:
    """The catch-up of a service that learns nothing from other services."""


@dataclass(frozen=True)
class Mark:
    """Where the commands about a subject sent so far end on another service's command
    topic: every one of them is decided once that service has decided up to ``offset``
    on ``partition``."""

    partition: int
    offset: int


class Backlog(Protocol):
    """What another service has not decided yet (services/common/worker.Horizon over its
    group and command topic)."""

    async def mark(self, subject: str) -> Mark | None:
        """The end of ``subject``'s commands as of now, or None when every one is decided."""
        ...

    async def decided(self) -> dict[int, int]:
        """Per partition, the offset up to which every command is decided."""
        ...


class NoBacklog:
    """A service that is never behind."""

    async def mark(self, subject: str) -> Mark | None:
        return None

    async def decided(self) -> dict[int, int]:
        return {}


@dataclass
class Runtime(Generic[S]):
    """What every handler needs besides the command, over one kind of stream:
    where the streams are kept and the aggregate they fold into."""

    store: StreamStore
    aggregate: Aggregate[S]
    publisher: Publisher
    source: str  # CloudEvents source of this service, e.g. /serah/allocation
    clock: Callable[[], datetime]
    public_keys: dict[str, bytes]
    # Returns once this service has learnt every fact about these subjects that
    # other services had published when it was called (see run_command).
    catch_up: Callable[[Sequence[str]], Awaitable[None]] = known_already
    # How far a device's scan time may be from this service's clock.
    scan_max_ahead: timedelta = scantime.MAX_AHEAD
    scan_max_age: timedelta = scantime.MAX_AGE

    def state(self, subject: str, doc: SubjectStream | None) -> S:
        """The state of ``subject`` as its stored stream ``doc`` (None: nothing yet) has it."""
        return fold(self.aggregate, subject, doc.history if doc else ())

    def fold(self, subject: str, history: Sequence[Envelope]) -> S:
        return fold(self.aggregate, subject, history)


def runtime(
    settings: CommonSettings,
    *,
    source: str,
    aggregate: Aggregate[S],
    publisher: Publisher,
    store: StreamStore,
    clock: Callable[[], datetime],
    catch_up: Callable[[Sequence[str]], Awaitable[None]] = known_already,
) -> Runtime[S]:
    """A worker's Runtime over one kind of stream, from its settings: the same wiring for every worker."""
    max_ahead, max_age = settings.scan_window()
    return Runtime(
        store=store,
        aggregate=aggregate,
        publisher=publisher,
        source=source,
        clock=clock,
        public_keys=settings.public_keys(),
        catch_up=catch_up,
        scan_max_ahead=max_ahead,
        scan_max_age=max_age,
    )


# decide(state, command envelope, typed command) -> the facts to record: an
# event, or a refusal (or several facts). It reads the state and nothing else.
Decide = Callable[[S, Envelope, Any], Payload | list[Payload]]


@dataclass(frozen=True)
class Wait:
    """What a ``Hold`` says of a refusal that may only be early (see run_command)."""

    hold: bool = False  # nothing is recorded now; the caller decides the command again later
    recheck: bool = False  # what it could wait for is decided: catch up on it, decide again
    instead: Payload | None = None  # still refused after the recheck: this refusal (why the wait ended)


STANDS = Wait()

# hold(command, state, facts), asked when a refusal in ``unsettled`` would stand after the catch-up.
Hold = Callable[[Envelope, S, list[Payload]], Awaitable[Wait]]


async def run_command(
    command: Envelope,
    decide: Decide[S],
    rt: Runtime[S],
    *,
    unsettled: frozenset[RejectionReason] = frozenset(),
    hold: Hold[S] | None = None,
) -> list[Envelope]:
    """``unsettled``: refusals that may only mean this service has not yet read
    a fact another service had already published (the handover service has not
    yet read the dispatch of a laptop scanned at receipt a moment later).

    The timing rule: a command is decided against the facts published before
    it is decided, never against later ones. Before such a refusal stands, the
    service catches up on the partition that carries the subject's facts, up
    to its end *as of now* (``rt.catch_up``): a dispatch published before the
    receipt is decided is seen; one published after is not, so a receipt sent
    before the dispatch is refused, not held until the goods leave. The wait
    lasts as long as this service lags behind on that partition (usually
    nothing), not a fixed time, so a made-up subject costs one offset look-up.

    ``hold``: where such a refusal may still only mean the other service has not
    yet *decided* a command sent before this one (services/handover/held.py), the
    command may be held instead: nothing is recorded, an empty list returned."""
    doc = await rt.store.load(command.subject)
    facts = _decide(doc, command, decide, rt)
    if isinstance(facts, list) and _waits(facts, unsettled):
        await rt.catch_up([command.subject])
        doc = await rt.store.load(command.subject)
        facts = _decide(doc, command, decide, rt)
        if hold is not None and isinstance(facts, list) and _waits(facts, unsettled):
            wait = await hold(command, rt.state(command.subject, doc), facts)
            if wait.hold:
                return []
            if wait.recheck:  # what it waited for was published, perhaps after the catch-up above
                await rt.catch_up([command.subject])
                doc = await rt.store.load(command.subject)
                facts = _decide(doc, command, decide, rt)
                if wait.instead is not None and isinstance(facts, list) and _waits(facts, unsettled):
                    facts = [wait.instead]
    if not isinstance(facts, list):  # decided before: publish the same events again
        await rt.publisher.publish(facts.events)
        return facts.events
    events = _envelopes(command, facts, rt)
    crash_point("before_append", command.subject)
    await rt.store.append(
        command.subject, doc.version if doc else 0, events, _summary(rt, command.subject, doc, events)
    )
    crash_point("after_append", command.subject)
    await rt.publisher.publish(events)
    crash_point("after_publish", command.subject)
    return events


@dataclass(frozen=True)
class _Replay:
    events: list[Envelope]


def _decide(doc: SubjectStream | None, command: Envelope, decide: Decide[S], rt: Runtime[S]) -> list[Payload] | _Replay:
    """The facts a command yields on the state ``doc`` folds into, or the events it yielded before.

    Every decision is recorded, refusals too, so a command id names one command
    for good: the same command again replays its first decision (whatever has
    happened since), and a different command under a used id is refused."""
    if doc is not None:
        if earlier := doc.replay_of(command):
            return _Replay(earlier)
        if (first := doc.reuse_of(command)) is not None:
            return [refuse(command, RejectionReason.ID_REUSED, _reused(command, first))]
    why = scantime.out_of_range(command.time, rt.clock(), max_ahead=rt.scan_max_ahead, max_age=rt.scan_max_age)
    if why is not None:
        return [refuse(command, RejectionReason.SCANNED_AT_OUT_OF_RANGE, why)]
    try:
        facts = decide(rt.state(command.subject, doc), command, codec.payload(command))
    except DecodeError as exc:
        return [refuse(command, RejectionReason.INVALID_COMMAND, f"The command is invalid: {exc.detail}")]
    return facts if isinstance(facts, list) else [facts]


def _reused(command: Envelope, first: Envelope) -> str:
    what = first.data.get("reason", "accepted") if first.type == CommandRejected.TYPE else "accepted"
    return (
        f"the id {command.id} was already used for a different command about {command.subject} "
        f"({first.type}, {what}); that first decision stands. Send a new command with a new id."
    )


def _waits(facts: list[Payload], unsettled: frozenset[RejectionReason]) -> bool:
    return any(isinstance(f, CommandRejected) and f.reason in unsettled for f in facts)


def _summary(rt: Runtime[Any], subject: str, doc: SubjectStream | None, events: Sequence[Envelope]) -> dict[str, Any]:
    """The summary stored beside the stream once ``events`` are appended to ``doc``."""
    return rt.aggregate.summary(rt.fold(subject, [*(doc.history if doc else ()), *events]))


def _envelopes(command: Envelope, facts: list[Payload], rt: Runtime[Any]) -> list[Envelope]:
    now = rt.clock()
    return [
        codec.make(
            fact,
            subject=command.subject,
            source=rt.source,
            time=now,
            id=codec.caused_id(command, i),
            causation_id=command.id,
            actor=command.actor,
            # a fact is about the command's subject, a refusal too: the same kind
            subject_kind=codec.subject_kind(command),
        )
        for i, fact in enumerate(facts)
    ]


async def run_commands(
    commands: Sequence[tuple[Envelope, Decide[S]]],
    rt: Runtime[S],
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
            base = stored or SubjectStream(subject)
            doc = SubjectStream(subject, base.version, base.history + pending[subject])
        try:
            facts = _decide(doc, command, decide, rt)
        except Exception:  # noqa: BLE001 - run_command on its own decides whether it is poison
            log.exception("deciding %s %s in a batch failed; it goes one at a time", command.type, subject)
            left.add(subject)
            continue
        if not isinstance(facts, list):
            decided.append((subject, facts.events))
            continue
        if _waits(facts, unsettled):
            left.add(subject)
            continue
        events = _envelopes(command, facts, rt)
        pending.setdefault(subject, []).extend(events)
        decided.append((subject, events))
    t2 = time.perf_counter()
    appends = []
    for subject, events in pending.items():
        if subject in left:
            continue
        stored = docs.get(subject)
        appends.append(Append(subject, stored.version if stored else 0, events, _summary(rt, subject, stored, events)))
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


async def learn(event: Envelope, rt: Runtime[Any]) -> bool:
    """Fold another service's event into this service's document, once."""
    doc = await rt.store.load(event.subject)
    if doc is not None and doc.find(event.id) is not None:
        return False
    await rt.store.append(event.subject, doc.version if doc else 0, [event], _summary(rt, event.subject, doc, [event]))
    return True


async def learn_many(events: Sequence[Envelope], rt: Runtime[Any]) -> set[str]:
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
        base = docs.get(subject)
        appends.append(Append(subject, base.version if base else 0, fresh, _summary(rt, subject, base, fresh)))
    return await rt.store.append_many(appends)


async def refuse_unknown_command(command: Envelope, rt: Runtime[Any], service: str) -> list[Envelope]:
    """A command this service does not handle is refused, and recorded like any decision."""
    detail = f"{command.type} is not a command the {service} service handles."
    return await run_command(command, lambda state, env, body: refuse(env, RejectionReason.INVALID_COMMAND, detail), rt)


def consequence(
    command: Envelope, fact: Payload, rt: Runtime[Any], *, subject: str, id: str, time: datetime
) -> Envelope:
    """A fact ``command`` implies about another subject (each laptop of a
    consignment), caused by it and recorded in the name of the same actor."""
    return codec.make(
        fact, subject=subject, source=rt.source, time=time, id=id, causation_id=command.id, actor=command.actor
    )


async def learn_and_publish(events: list[Envelope], rt: Runtime[Any]) -> None:
    """Record each consequence in its subject's stream (once, whatever comes
    again), then publish them all. The commit point was the command's own
    append; ids derived from the command make a redelivery heal a crash here."""
    for event in events:
        await learn(event, rt)
    if events:
        await rt.publisher.publish(events)
