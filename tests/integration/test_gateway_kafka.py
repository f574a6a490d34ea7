"""The gateway's Kafka adapters against the real broker."""

from __future__ import annotations

import asyncio
import uuid

from kafka import KafkaConsumer, TopicPartition

from deploy.local.stack import Stack
from events import codec, topics
from events.catalog import AllocateLaptop, LaptopAllocated
from events.envelope import utcnow
from services.gateway.adapters.kafka import CommandBus, DecisionWaiter


def test_a_sent_command_is_durable_on_its_topic_keyed_by_asset(infra: Stack) -> None:
    assert infra.kafka is not None
    asset = "SRH" + "0" * 9 + "1"
    cmd = codec.make(AllocateLaptop(office_code="11"), subject=asset, source="/t", time=utcnow(), id=str(uuid.uuid4()))

    async def go() -> None:
        bus = CommandBus(infra.kafka.bootstrap)  # type: ignore[union-attr]
        await bus.start()
        try:
            await bus.send(cmd)
        finally:
            await bus.stop()

    asyncio.run(go())
    consumer = KafkaConsumer(
        bootstrap_servers=infra.kafka.bootstrap, enable_auto_commit=False, consumer_timeout_ms=5000
    )
    tps = [
        TopicPartition(topics.ALLOCATION_COMMANDS, p) for p in consumer.partitions_for_topic(topics.ALLOCATION_COMMANDS)
    ]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    found = [m for m in consumer if m.key == asset.encode() and codec.decode(m.value).id == cmd.id]
    consumer.close()
    assert len(found) == 1
    assert dict(found[0].headers)["content-type"].startswith(b"application/cloudevents+json")


def test_the_decision_waiter_hands_each_request_its_own_decision(infra: Stack) -> None:
    assert infra.kafka is not None
    bootstrap = infra.kafka.bootstrap

    def decision(cmd_id: str, subject: str) -> codec.Envelope:
        return codec.make(
            LaptopAllocated(office_code="11", office_name="x"),
            subject=subject,
            source="/t",
            time=utcnow(),
            id=str(uuid.uuid4()),
            causation_id=cmd_id,
        )

    async def go() -> tuple[codec.Envelope, codec.Envelope]:
        waiter = DecisionWaiter(bootstrap)
        await waiter.start()
        from aiokafka import AIOKafkaProducer

        producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True)
        await producer.start()
        try:
            a = codec.make(
                AllocateLaptop(office_code="11"), subject="SRHAAAAAAAAAA", source="/t", time=utcnow(), id="c-a"
            )
            b = codec.make(
                AllocateLaptop(office_code="11"), subject="SRHBBBBBBBBBB", source="/t", time=utcnow(), id="c-b"
            )
            fa, fb = waiter.expect(a), waiter.expect(b)
            for cmd in (b, a):
                d = decision(cmd.id, cmd.subject)
                await producer.send_and_wait(topics.EVENTS, codec.encode(d), key=cmd.subject.encode())
            return await asyncio.wait_for(fa, 10), await asyncio.wait_for(fb, 10)
        finally:
            await producer.stop()
            await waiter.stop()

    got_a, got_b = asyncio.run(go())
    assert (got_a.causationid, got_a.subject) == ("c-a", "SRHAAAAAAAAAA")
    assert (got_b.causationid, got_b.subject) == ("c-b", "SRHBBBBBBBBBB")
