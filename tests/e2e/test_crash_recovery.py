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
from events import codec, topics
from events.catalog import DispatchLaptop
from events.envelope import utcnow
from tests.conftest import eventually
from tests.e2e.conftest import register

UNITS = 60


def dispatch_commands(assets: list[str], labels_by_asset: dict[str, str]) -> list[bytes]:
    return [
        codec.encode(
            codec.make(DispatchLaptop(label=labels_by_asset[a]), subject=a, source="/test/offline-scanner",
                       time=utcnow(), id=f"crash-{a}", actor="gudang-crash")
        )
        for a in assets
    ]


def produce(stack: Stack, messages: list[tuple[str, bytes]]) -> None:
    assert stack.kafka is not None
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap, acks="all", enable_idempotence=True)
    for key, value in messages:
        producer.send(topics.ALLOCATION_COMMANDS, key=key.encode(), value=value)
    producer.flush(30)
    producer.close()


def dispatched_count(mongo: Any, assets: list[str]) -> int:
    return int(mongo.event_log.count_documents({"asset_id": {"$in": assets}, "type": "id.serah.laptop.dispatched.v1"}))


def test_killing_workers_mid_stream_loses_and_duplicates_nothing(stack: Stack, api: httpx.Client, mongo: Any) -> None:
    batch = uuid.uuid4().hex[:6]
    assets = [register(api, serial=f"CR{batch}{i:04d}".upper())["asset_id"] for i in range(UNITS)]
    for a in assets:
        assert api.post(f"/api/v1/laptops/{a}/allocation", json={"office_code": "91.03"},
                        headers={"Idempotency-Key": f"alloc-{a}"}).status_code == 200
    labels_by_asset = eventually(
        lambda: (m := {a: api.get(f"/api/v1/laptops/{a}").json().get("label_url") for a in assets}) and all(m.values()) and m,
        what="all labels", timeout_s=60,
    )

    stack.kill("allocation")
    messages = list(zip(assets, dispatch_commands(assets, labels_by_asset), strict=True))
    produce(stack, messages)  # acknowledged by Kafka while allocation is down

    stack.start_service("allocation")
    first = eventually(lambda: dispatched_count(mongo, assets), what="some dispatches", timeout_s=90, interval_s=0.02)
    stack.kill("allocation")  # crash mid-stream
    stack.kill("audit")  # and the recorder too
    at_crash = dispatched_count(mongo, assets)
    produce(stack, messages[: UNITS // 2])  # the scanner retries half of them (same scan ids)
    stack.start_service("audit")
    stack.start_service("allocation")

    eventually(lambda: dispatched_count(mongo, assets) >= UNITS, what="every scan decided", timeout_s=180)
    eventually(lambda: api.get("/healthz").status_code == 200, what="healthy again", timeout_s=120)

    assert first >= 1 and at_crash < UNITS, "the crash must have happened mid-stream"
    for a in assets:
        chain = list(mongo.event_log.find({"asset_id": a}).sort("seq", 1))
        types = [link["type"].split(".")[-2] for link in chain]
        assert types == ["registered", "allocated", "dispatched"], (a, types)
        assert [link["seq"] for link in chain] == [1, 2, 3]
    views = {v["_id"]: v["status"] for v in mongo.laptop_views.find({"_id": {"$in": assets}})}
    assert set(views.values()) == {"in_transit"} and len(views) == UNITS
