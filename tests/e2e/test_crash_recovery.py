"""A crash at any point loses no acknowledged scan and duplicates none.

Scans are acknowledged when Kafka has them (the gateway answers only after the
broker's ack; an offline scanner syncing straight to Kafka gets the same ack).
Workers are killed with SIGKILL in the middle of the stream — no offsets
committed, no buffers flushed — and restarted; every scan must end up decided
exactly once."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from kafka import KafkaProducer

from deploy.local.stack import Stack
from events import codec, labels, topics
from events.catalog import AllocateLaptop, DispatchLaptop, LabelRef, LaptopDescription, RegisterLaptop, Specs
from events.envelope import utcnow
from tests.conftest import eventually

UNITS = 400


def command(body: Any, asset: str, command_id: str) -> tuple[str, bytes]:
    env = codec.make(
        body, subject=asset, source="/test/offline-scanner", time=utcnow(), id=command_id, actor="gudang-crash"
    )
    return asset, codec.encode(env)


def produce(stack: Stack, messages: list[tuple[str, bytes]]) -> None:
    assert stack.kafka is not None
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap, acks="all", enable_idempotence=True)
    for key, value in messages:
        producer.send(topics.ALLOCATION_COMMANDS, key=key.encode(), value=value)
    producer.flush(60)
    producer.close()


def count(mongo: Any, assets: list[str], status: str) -> int:
    return int(mongo.allocation_laptops.count_documents({"_id": {"$in": assets}, "summary.status": status}))


def test_killing_workers_mid_stream_loses_and_duplicates_nothing(
    stack: Stack, api: httpx.Client, mongo: Any, signing_keys: str
) -> None:
    kid, seed = next(iter(labels.parse_keyring(signing_keys).items()))
    batch = uuid.uuid4().hex[:6].upper()
    serials = [f"CR{batch}{i:04d}" for i in range(UNITS)]
    assets = [labels.asset_id_for_serial(s) for s in serials]
    specs = Specs(cpu="i3", ram_gb=8, storage_gb=256)
    produce(
        stack,
        [
            command(
                RegisterLaptop(
                    laptop=LaptopDescription(serial=s, brand="Acer", model="TravelMate", specs=specs),
                    label=LabelRef(generation=1, key_id=kid),
                ),
                a,
                f"register-{a}",
            )
            for s, a in zip(serials, assets, strict=True)
        ]
        + [command(AllocateLaptop(office_code="91.03"), a, f"alloc-{a}") for a in assets],
    )
    eventually(lambda: count(mongo, assets, "allocated") == UNITS, what="all allocated", timeout_s=120)

    dispatches = [
        command(
            DispatchLaptop(label=labels.format_label("HTTP://X", a, 1, kid, labels.sign(seed, a, 1, kid))),
            a,
            f"crash-{a}",
        )
        for a in assets
    ]
    stack.kill("allocation")
    produce(stack, dispatches)  # acknowledged by Kafka while allocation is down

    stack.start_service("allocation")
    eventually(lambda: count(mongo, assets, "dispatched"), what="first dispatches", timeout_s=90, interval_s=0.01)
    stack.kill("allocation")  # crash mid-stream
    stack.kill("audit")  # and the recorder too
    at_crash = count(mongo, assets, "dispatched")
    produce(stack, dispatches[: UNITS // 2])  # the scanner retries half of them (same scan ids)
    stack.start_service("audit")
    stack.start_service("allocation")

    eventually(lambda: count(mongo, assets, "dispatched") == UNITS, what="every scan decided", timeout_s=180)
    eventually(
        lambda: mongo.laptop_views.count_documents({"_id": {"$in": assets}, "status": "in_transit"}) == UNITS,
        what="every dispatch recorded",
        timeout_s=180,
    )
    eventually(lambda: api.get("/healthz").status_code == 200, what="healthy again", timeout_s=120)

    assert 0 < at_crash < UNITS, f"the crash must happen mid-stream (at {at_crash} of {UNITS})"
    for a in assets:
        chain = list(mongo.event_log.find({"asset_id": a}).sort("seq", 1))
        types = [link["type"].split(".")[-2] for link in chain]
        assert types == ["registered", "allocated", "dispatched"], (a, types)
        assert [link["seq"] for link in chain] == [1, 2, 3]
        assert chain[2]["event"]["causationid"] == f"crash-{a}"
