"""Commands out, decisions back, and what /healthz needs to know about Kafka."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.errors import KafkaError
from kafka import TopicPartition as SyncTopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

from events import codec, topics
from events.catalog import BY_TYPE
from events.envelope import CONTENT_TYPE, Envelope
from services.gateway.ports import Unavailable

log = logging.getLogger(__name__)


class CommandBus:
    """Sends commands keyed by their subject. ``send`` returns once the broker has
    the command durably (idempotent producer, acks=all): that is the moment a
    scan counts as acknowledged and can no longer be lost. ``publish`` does the
    same for a fact the gateway decides itself (an account or device changed),
    on its type's topic."""

    def __init__(self, bootstrap: str, timeout_s: float = 5.0) -> None:
        self._producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, acks="all", linger_ms=1)
        self._timeout_s = timeout_s

    async def start(self) -> None:
        await self._producer.start()

    async def stop(self) -> None:
        await self._producer.stop()

    async def send(self, command: Envelope) -> None:
        await self._put(command)

    async def publish(self, event: Envelope) -> None:
        await self._put(event)

    async def _put(self, message: Envelope) -> None:
        # Bounded: with the broker away, aiokafka would wait for metadata and then the
        # ack for up to its 40 s request timeout. A message it still sends after the
        # timeout is harmless: the device sends the same command again, decided once.
        try:
            await asyncio.wait_for(
                self._producer.send_and_wait(
                    BY_TYPE[message.type].TOPIC,
                    codec.encode(message),
                    key=message.subject.encode(),
                    headers=[("content-type", CONTENT_TYPE.encode())],
                ),
                self._timeout_s,
            )
        except (KafkaError, TimeoutError) as exc:
            raise Unavailable("Kafka", exc) from exc


class DecisionWaiter:
    """Follows ``serah.events`` from the moment the gateway starts and hands the
    first event a command caused to the request waiting for it. Partitions are
    assigned by hand (no consumer group): every gateway instance sees every
    decision, and nothing rebalances under a waiting request."""

    def __init__(self, bootstrap: str) -> None:
        self._consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False)
        self._waiting: dict[tuple[str, str], list[asyncio.Future[Envelope]]] = defaultdict(list)
        self._task: asyncio.Task[None] | None = None

    async def start(self, timeout_s: float = 60) -> None:
        await self._consumer.start()
        deadline = asyncio.get_running_loop().time() + timeout_s
        while not (partitions := self._consumer.partitions_for_topic(topics.EVENTS)):
            if asyncio.get_running_loop().time() > deadline:
                raise RuntimeError(f"topic {topics.EVENTS} not found; run `serah topics` or start with `serah run`")
            await self._consumer._client.force_metadata_update()  # noqa: SLF001 - no public API for this
            await asyncio.sleep(0.2)
        tps = [TopicPartition(topics.EVENTS, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_end(*tps)
        for tp in tps:  # resolve positions now, so every later decision is seen
            await self._consumer.position(tp)
        self._task = asyncio.create_task(self._run(), name="decision-waiter")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._consumer.stop()

    def expect(self, command: Envelope) -> asyncio.Future[Envelope]:
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self._waiting[(command.id, command.subject)].append(future)
        return future

    def forget(self, command: Envelope, future: asyncio.Future[Envelope]) -> None:
        key = (command.id, command.subject)
        if future in self._waiting.get(key, []):
            self._waiting[key].remove(future)
            if not self._waiting[key]:
                del self._waiting[key]

    async def _run(self) -> None:
        while True:
            try:
                batches = await self._consumer.getmany(timeout_ms=500, max_records=1000)
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - keep following; log and retry
                log.exception("decision waiter: fetch failed")
                await asyncio.sleep(1)
                continue
            for records in batches.values():
                for record in records:
                    self._deliver(record.value)

    def _deliver(self, raw: bytes | None) -> None:
        try:
            peek: dict[str, Any] = orjson.loads(raw or b"")
            key = (peek.get("causationid"), peek.get("subject"))
        except (orjson.JSONDecodeError, AttributeError):
            return
        futures = self._waiting.pop(key, None)  # type: ignore[arg-type]
        if not futures:
            return
        try:
            envelope = codec.from_json(peek)
        except codec.DecodeError:
            return
        for future in futures:
            if not future.done():
                future.set_result(envelope)


class KafkaProbe:
    """Synchronous admin look-ups for /healthz, run in a thread."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._admin: KafkaAdminClient | None = None

    def _client(self) -> KafkaAdminClient:
        if self._admin is None:
            self._admin = KafkaAdminClient(
                bootstrap_servers=self._bootstrap, client_id="serah-gateway-health", request_timeout_ms=3000
            )
        return self._admin

    def brokers(self) -> int:
        try:
            return len(self._client().describe_cluster()["brokers"])
        except Exception:
            # A client that lost its broker may keep failing on the stale connection
            # (NodeNotReadyError) for many seconds after the broker is back: start over.
            self._forget()
            raise

    def _forget(self) -> None:
        admin, self._admin = self._admin, None
        if admin is not None:
            with contextlib.suppress(Exception):
                admin.close()

    def lag(self, group: str, topic_names: list[str]) -> int:
        admin = self._client()
        committed = admin.list_group_offsets(group).get(group, {})
        parts = [
            SyncTopicPartition(t, p["partition_index"])
            for t in topic_names
            for d in admin.describe_topics([t])
            for p in d["partitions"]
        ]
        ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in parts})
        total = 0
        for tp in parts:
            done = committed.get(tp)
            total += ends[tp].offset - (done.offset if done is not None and done.offset >= 0 else 0)
        return total

    def close(self) -> None:
        if self._admin is not None:
            self._admin.close()
