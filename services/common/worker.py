"""What every faust worker does the same way: build the app, publish events,
dead-letter what cannot be handled, retry what can, and report a heartbeat."""

from __future__ import annotations

import asyncio
import logging
import logging.config
import os
import re
import socket
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import faust
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.errors import KafkaError
from aiokafka.partitioner import DefaultPartitioner
from kafka.admin import KafkaAdminClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import ConnectionFailure, OperationFailure

from events import codec, topics
from events.catalog import BY_TYPE, MessageDeadLettered
from events.codec import DecodeError
from events.envelope import CONTENT_TYPE, SAFE_ID, Envelope
from events.text import storable
from services.common import logs
from services.common.clock import CHECK_EVERY_S, ClockGuard
from services.common.commands import Mark
from services.common.faults import crash_point
from services.common.mongo import store_not_ready
from services.common.settings import CommonSettings
from services.common.streams import VersionConflict

log = logging.getLogger(__name__)

# Failures that retrying can fix: the broker or the store is away for a moment,
# or another writer won a race. Anything else is a bug or poison: dead-letter it.
TRANSIENT = (KafkaError, ConnectionFailure, VersionConflict, asyncio.TimeoutError)
HEARTBEAT_SECONDS = 5.0
MAX_BACKOFF_SECONDS = 10.0


def new_app(service: str, settings: CommonSettings) -> faust.App:
    brokers = ";".join(f"kafka://{b.strip()}" for b in settings.kafka_bootstrap.split(","))
    # faust makes a data folder even for in-memory tables; keep it out of the working tree.
    datadir = Path(os.environ.get("SERAH_DATA_DIR") or tempfile.gettempdir()) / "faust" / service
    # faust creates only the last folder; a fresh data dir has no "faust" parent yet.
    datadir.parent.mkdir(parents=True, exist_ok=True)
    return faust.App(
        topics.consumer_group(service),
        broker=brokers,
        store="memory://",  # state of record is MongoDB, never faust tables
        datadir=str(datadir),
        autodiscover=False,
        web_enabled=False,
        topic_disable_leader=True,
        topic_partitions=settings.topic_partitions,
        consumer_auto_offset_reset="earliest",
        producer_acks=-1,
        broker_commit_interval=1.0,
        # A crashed worker's partitions move to a live one after this long
        # (faust's default is 60 s, a long time for a scanner waiting on a decision).
        broker_session_timeout=10.0,
        broker_heartbeat_interval=2.0,
        # aiokafka looks up a partition's start offset at its last known leader and, when
        # that broker is no longer the leader (it was paused and fenced), retries there
        # without refreshing metadata until the periodic refresh (default 5 min): the
        # whole consumer waits that long. A 30 s refresh bounds the stall.
        consumer_metadata_max_age_ms=30_000,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    return app.topic(name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw")


class KafkaPublisher:
    """Publishes envelopes keyed by subject and waits for the broker's ack."""

    def __init__(self, app: faust.App) -> None:
        self._app = app

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        # Send all, then wait for all the acks: the producer batches them into a
        # few requests instead of one round trip each. Order per laptop is kept:
        # sends are queued in order and aiokafka keeps one batch per partition in
        # flight. Returns only when every envelope is acknowledged (or raises).
        futures = [
            await self._app.producer.send(
                BY_TYPE[envelope.type].TOPIC,
                envelope.subject.encode(),
                codec.encode(envelope),
                partition=None,
                timestamp=None,
                headers=[("content-type", CONTENT_TYPE.encode())],
            )
            for envelope in envelopes
        ]
        if futures:
            await asyncio.gather(*futures)


async def process_safely(
    *,
    service: str,
    raw: bytes | None,
    key: bytes | None,
    topic: str,
    partition: int,
    offset: int,
    handle: Callable[[Envelope], Awaitable[Any]],
    publisher: Any,
) -> None:
    """Decode, handle, and never let an exception reach faust (which would ack
    the message and drop it silently). Transient failures are retried in place,
    holding the partition, so order per laptop is kept and nothing is skipped."""

    async def dead_letter(reason: str, detail: str) -> None:
        body = MessageDeadLettered(
            topic=topic,
            partition=partition,
            offset=offset,
            service=service,
            reason=reason,
            detail=storable(detail[:2000]),
            payload=storable((raw or b"").decode("utf-8", "replace")[:65536]),
        )
        subject = _safe_subject(key)
        envelope = codec.make(
            body,
            subject=subject,
            source=f"/serah/{service}",
            time=datetime.now(UTC),
            id=f"dl-{service}-{topic}-{partition}-{offset}",
        )
        await retrying(lambda: publisher.publish([envelope]), what="dead-letter")

    try:
        envelope = codec.decode(raw or b"")
    except DecodeError as exc:
        log.warning("dead-lettering %s[%d]@%d: %s", topic, partition, offset, exc)
        await dead_letter(exc.reason, exc.detail)
        return
    try:
        await retrying(lambda: handle(envelope), what=f"{envelope.type} {envelope.subject}")
    except Exception as exc:  # noqa: BLE001 - anything non-transient is poison for this message
        log.exception("handler failed on %s[%d]@%d", topic, partition, offset)
        await dead_letter("handler_failed", f"{type(exc).__name__}: {exc}")


def _safe_subject(key: bytes | None) -> str:
    text = (key or b"").decode("ascii", "replace")
    return text if re.fullmatch(SAFE_ID, text) else "unknown"


class StoreRefusals:
    """How many of this process's calls wait on the store's refusals now, and the last
    refusal: its heartbeat says so, and /healthz names the store. A full disk may refuse
    only what must grow (a new document, a longer log) and take updates in place, the
    heartbeat's and the gateway's write probe's alike: the calls held are what tells."""

    def __init__(self) -> None:
        self.waiting = 0
        self.last = ""

    def report(self) -> str | None:
        return self.last if self.waiting else None


REFUSALS = StoreRefusals()


async def retrying(call: Callable[[], Awaitable[Any]], *, what: str, refusals: StoreRefusals = REFUSALS) -> Any:
    delay = 0.05
    held = False
    try:
        while True:
            try:
                return await call()
            except TRANSIENT as exc:
                if not isinstance(exc, VersionConflict):
                    log.warning("transient failure on %s, retrying in %.2fs: %r", what, delay, exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
            except OperationFailure as exc:
                # Raised by a store that is up but not ready (e.g. a replica set electing), or
                # that cannot write for now (its disk full: FerretDB's InternalError "disk I/O
                # error", MongoDB's OutOfDiskSpace): the message is fine, the store is not.
                if not store_not_ready(exc):
                    raise
                log.warning("the store refused %s for now, retrying in %.2fs: %s", what, delay, exc)
                refusals.last = str(exc)[:300]
                if not held:
                    held = True
                    refusals.waiting += 1
                await asyncio.sleep(delay)
                delay = min(delay * 2, MAX_BACKOFF_SECONDS)
    finally:
        if held:
            refusals.waiting -= 1


def guard_clock(app: faust.App, db: AsyncDatabase) -> ClockGuard:  # type: ignore[type-arg]
    """This worker's clock compared with the store's every few seconds (services/common/clock.py)."""
    guard = ClockGuard()

    async def store_time() -> datetime:
        local: datetime = (await db.command("hello"))["localTime"]
        return local if local.tzinfo else local.replace(tzinfo=UTC)

    @app.timer(interval=CHECK_EVERY_S, on_leader=False)
    async def compare_clocks() -> None:
        try:
            await guard.compare(store_time)
        except (ConnectionFailure, OperationFailure) as exc:  # the store away: the last comparison stands
            log.warning("clock not compared with the store's: %r", exc)

    return guard


async def wait_for_clock(clock: ClockGuard | None, what: str) -> bool:
    """Waits while ``clock`` is off the store's; False if it had to wait."""
    if clock is None or clock.trusted():
        return True
    log.warning("%s waits: %s by more than %.0f s", what, clock.why(), clock.tolerance_s)
    while not clock.trusted():
        await asyncio.sleep(1.0)
    log.warning("%s goes on: its clock agrees with the store's again", what)
    return False


def add_heartbeat(
    app: faust.App,
    service: str,
    db: AsyncDatabase,  # type: ignore[type-arg]
    clock: ClockGuard | None = None,
) -> None:
    """Every few seconds, write this worker's liveness for the gateway's /healthz (with how
    far its clock is from the store's, which /healthz names when it is too far)."""

    @app.timer(interval=HEARTBEAT_SECONDS, on_leader=False)
    async def heartbeat() -> None:
        assigned = len(app.consumer.assignment()) if app.consumer else 0
        try:
            # Stamped with the store's clock ($currentDate), which /healthz reads it against:
            # one clock, so a jump of this host's clock or the gateway's changes no verdict.
            await db.worker_status.update_one(
                {"_id": f"{service}:{socket.gethostname()}:{os.getpid()}"},
                {
                    "$set": {
                        "service": service,
                        "pid": os.getpid(),
                        "host": socket.gethostname(),
                        "assigned_partitions": assigned,
                        "clock_off_s": round(clock.off_by_s(), 1) if clock else 0.0,
                        "clock_tolerance_s": clock.tolerance_s if clock else None,
                        "store_refusing": REFUSALS.report(),
                    },
                    "$currentDate": {"at": True},
                },
                upsert=True,
            )
        except (ConnectionFailure, OperationFailure) as exc:  # a timer that raises stops the worker
            log.warning("heartbeat not written: %r", exc)


# Throughput comes from overlapping I/O, not from one message at a time: an agent
# takes up to BATCH messages (waiting at most BATCH_WINDOW_S for them), splits
# them into lanes by Kafka key (the asset id), and runs the lanes concurrently,
# each lane strictly in order. faust acks the batch only after all lanes finish.
BATCH = 200
BATCH_WINDOW_S = 0.02


# A batch handler takes the envelopes of whole lanes (every message of those keys
# in this batch, in order) and returns the subjects it did NOT finish; those lanes
# are then processed one message at a time. It must leave each subject either
# done or untouched (or raise: then every lane goes one at a time, and the
# handlers' replay of already-stored decisions makes that safe).
BatchHandler = Callable[[list[Envelope]], Awaitable[set[str]]]


def agent_over(
    app: faust.App,
    service: str,
    topic_name: str,
    handle: Callable[[Envelope], Awaitable[Any]],
    publisher: Any,
    *,
    handle_batch: BatchHandler | None = None,
    batchable: Callable[[Envelope], bool] = lambda env: True,
    horizon: Horizon | None = None,
    clock: ClockGuard | None = None,
) -> None:
    """A thin agent: bytes in, process_safely, nothing else. With ``handle_batch``,
    lanes whose every message decodes and is ``batchable`` go through it first.
    With ``horizon``, each handled message's offset is reported to it."""
    if topic_name not in topics.CONSUMED_BY[service]:
        raise ValueError(f"the {service} worker does not read {topic_name}; see events.topics.CONSUMED_BY")
    topic = raw_topic(app, topic_name)

    async def agent(stream: Any) -> None:
        async for batch in stream.take_events(BATCH, within=BATCH_WINDOW_S):
            # Nothing is decided or recorded by a clock that jumped: the batch waits, as for a store that cannot write.
            await wait_for_clock(clock, f"{service} on {topic_name}")
            await process_batch(service, batch, handle, publisher, handle_batch=handle_batch, batchable=batchable)
            if horizon is not None:
                for event in batch:
                    horizon.handled(event.message.partition, event.message.offset)
            # faust acks (and so may commit) the batch only when this body returns.
            crash_point("before_commit", ((e.key or b"").decode("utf-8", "replace") for e in batch))

    agent.__name__ = f"{service}_{topic_name.replace('.', '_')}"
    app.agent(topic, name=agent.__name__)(agent)


async def process_batch(
    service: str,
    batch: list[Any],
    handle: Callable[[Envelope], Awaitable[Any]],
    publisher: Any,
    *,
    handle_batch: BatchHandler | None = None,
    batchable: Callable[[Envelope], bool] = lambda env: True,
) -> None:
    """One batch of faust events (``.key``, ``.value``, ``.message``): split into
    lanes by key, the batchable lanes through ``handle_batch``, the rest (and what
    it left undone) one message at a time, each lane strictly in order."""

    async def one(event: Any) -> None:
        message = event.message
        await process_safely(
            service=service,
            raw=event.value,
            key=event.key,
            topic=message.topic,
            partition=message.partition,
            offset=message.offset,
            handle=handle,
            publisher=publisher,
        )

    async def lane(events: list[Any]) -> None:
        for event in events:
            await one(event)

    lanes: dict[bytes, list[Any]] = {}
    for event in batch:
        lanes.setdefault(event.key or b"", []).append(event)
    if handle_batch is not None:
        lanes = await _batch_first(service, lanes, handle_batch, batchable)
    await asyncio.gather(*(lane(events) for events in lanes.values()))


async def _batch_first(
    service: str,
    lanes: dict[bytes, list[Any]],
    handle_batch: BatchHandler,
    batchable: Callable[[Envelope], bool],
) -> dict[bytes, list[Any]]:
    """Hands the batchable lanes to ``handle_batch``; returns the lanes still to be
    processed one message at a time (the others, and whatever it did not finish)."""
    taken: dict[bytes, list[Envelope]] = {}
    for key, events in lanes.items():
        try:
            envelopes = [codec.decode(e.value or b"") for e in events]
        except DecodeError:
            continue  # dead-lettered on the one-at-a-time path, with its reason
        # The subject must be the key: per-laptop order is per key.
        if all(batchable(env) and env.subject.encode() == key for env in envelopes):
            taken[key] = envelopes
    if not taken:
        return lanes
    try:
        left = await retrying(
            lambda: handle_batch([env for envs in taken.values() for env in envs]), what=f"{service} batch"
        )
    except Exception:  # noqa: BLE001 - the one-at-a-time path dead-letters what is really poison
        log.exception("%s: batch of %d failed; processing it one message at a time", service, len(taken))
        return lanes
    return {key: events for key, events in lanes.items() if key not in taken or key.decode() in left}


def run_worker(app: faust.App) -> None:
    """Runs until SIGINT/SIGTERM; faust's worker shuts the app down cleanly."""
    logging.config.dictConfig(logs.worker_config())  # until faust's worker applies the same
    faust.Worker(app, loglevel="INFO", quiet=True, logging_config=logs.worker_config()).execute_from_commandline()


class Horizon:
    """How far this worker's consumer group has read one topic, per partition, so
    a handler can catch up on the facts other services had published before it
    decides (``Runtime.catch_up``; the timing rule is in ``run_command``).

    The end offset of the subject's partition is asked of the broker *now*; the
    group has caught up when this process has handled up to it (``handled``,
    called by the agent after each batch) or, for a partition another instance
    of the service holds, when the group's committed offset has reached it."""

    POLL_S = 0.05
    COMMITTED_POLL_S = 0.25
    COMMIT_GRACE_S = 2.0  # twice the workers' commit interval (new_app)

    def __init__(self, bootstrap: str, group: str, topic: str, *, timeout_s: float = 30.0) -> None:
        self._bootstrap, self._group, self._topic, self._timeout_s = bootstrap, group, topic, timeout_s
        self._handled: dict[int, int] = {}  # partition -> next offset not yet handled here
        self._consumer: AIOKafkaConsumer | None = None
        self._admin: KafkaAdminClient | None = None
        self._partitioner = DefaultPartitioner()

    def handled(self, partition: int, offset: int) -> None:
        self._handled[partition] = max(self._handled.get(partition, 0), offset + 1)

    async def catch_up(self, subjects: Sequence[str]) -> None:
        consumer = await self._end_offsets_client()
        partitions = sorted(consumer.partitions_for_topic(self._topic) or ())
        if not partitions:
            raise TimeoutError(f"no partitions known for {self._topic} yet")
        wanted = {self._partitioner(s.encode(), partitions, partitions) for s in subjects}
        ends = await consumer.end_offsets([TopicPartition(self._topic, p) for p in wanted])
        deadline = asyncio.get_running_loop().time() + self._timeout_s
        committed: dict[int, int] = {}
        next_committed_look = 0.0
        while True:
            behind = [
                tp.partition
                for tp, end in ends.items()
                if max(self._handled.get(tp.partition, 0), committed.get(tp.partition, 0)) < end
            ]
            if not behind:
                return
            now = asyncio.get_running_loop().time()
            if now >= deadline:
                # Transient: the agent retries the command in place until the facts are read.
                raise TimeoutError(f"{self._group} is behind on {self._topic} partitions {behind}")
            if now >= next_committed_look:
                committed = await asyncio.to_thread(self._committed)
                next_committed_look = now + self.COMMITTED_POLL_S
            await asyncio.sleep(self.POLL_S)

    async def mark(self, subject: str, grace_s: float = COMMIT_GRACE_S) -> Mark | None:
        """Where ``subject``'s messages end now, while the group has not handled up to
        there; None once it has (``Backlog``: another service's commands, decided or not).
        A group commits what it handled every ``broker_commit_interval``: one that is not
        behind gets ``grace_s`` to say so before the answer is a mark."""
        consumer = await self._end_offsets_client()
        partitions = sorted(consumer.partitions_for_topic(self._topic) or ())
        if not partitions:
            raise TimeoutError(f"no partitions known for {self._topic} yet")
        tp = TopicPartition(self._topic, self._partitioner(subject.encode(), partitions, partitions))
        end = (await consumer.end_offsets([tp]))[tp]
        deadline = asyncio.get_running_loop().time() + grace_s
        while (await self.decided()).get(tp.partition, 0) < end:
            if asyncio.get_running_loop().time() >= deadline:
                return Mark(tp.partition, end)
            await asyncio.sleep(self.COMMITTED_POLL_S)
        return None

    async def decided(self) -> dict[int, int]:
        """Per partition, how far the group has handled (committed, or handled here)."""
        committed = await asyncio.to_thread(self._committed)
        return {p: max(committed.get(p, 0), self._handled.get(p, 0)) for p in committed.keys() | self._handled.keys()}

    def _committed(self) -> dict[int, int]:
        if self._admin is None:
            self._admin = KafkaAdminClient(bootstrap_servers=self._bootstrap, client_id=f"{self._group}-horizon")
        offsets = self._admin.list_group_offsets(self._group).get(self._group, {})
        return {tp.partition: meta.offset for tp, meta in offsets.items() if tp.topic == self._topic}

    async def _end_offsets_client(self) -> AIOKafkaConsumer:
        if self._consumer is None:
            # No group: this client only asks for end offsets and never joins or rebalances.
            consumer = AIOKafkaConsumer(bootstrap_servers=self._bootstrap, group_id=None, enable_auto_commit=False)
            await consumer.start()
            self._consumer = consumer
        if not self._consumer.partitions_for_topic(self._topic):
            await self._consumer._client.force_metadata_update()  # noqa: SLF001 - no public API for this
        return self._consumer

    async def stop(self) -> None:
        if self._consumer is not None:
            await self._consumer.stop()
        if self._admin is not None:
            self._admin.close()
