"""Hostile messages straight onto Kafka: every consumer keeps going, and what
it cannot read is dead-lettered with a reason, never dropped silently."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaProducer

from deploy.local.stack import Stack
from events import codec, labels, topics
from events.catalog import AllocateLaptop
from events.envelope import utcnow
from tests.conftest import device_token, eventually, signed_in
from tests.settle import settled
from tests.wire import INJECTED

GARBAGE = [
    b"",
    b"\xff\xfe\x00binary",
    b"not json at all",
    b'["a", "list"]',
    b'{"specversion": "1.0"}',
    orjson.dumps(
        {
            "specversion": "1.0",
            "id": "x",
            "source": "/s",
            "type": "com.evil.v1",
            "subject": "SRH1",
            "time": "2026-01-01T00:00:00Z",
            "data": {},
        }
    ),
    b"{" * 10_000,
]


# How many worker groups read each topic (each dead-letters what it cannot read).
READERS = {topics.ALLOCATION_COMMANDS: 1, topics.HANDOVER_COMMANDS: 1, topics.EVENTS: 3}


def send(stack: Stack, topic: str, key: bytes, values: list[bytes]) -> None:
    assert stack.kafka is not None
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap, acks="all", max_request_size=2_000_000)
    for value in values:
        producer.send(topic, key=key, value=value)
    producer.flush(30)
    producer.close()


@pytest.mark.parametrize("topic", [topics.ALLOCATION_COMMANDS, topics.HANDOVER_COMMANDS, topics.EVENTS])
def test_unreadable_messages_are_dead_lettered_and_the_stream_moves_on(stack: Stack, mongo: Any, topic: str) -> None:
    key = f"{INJECTED}-POISON-{uuid.uuid4().hex[:8]}".encode()  # garbage on purpose: not judged by the wire check
    send(stack, topic, key, GARBAGE)
    # Consumers of `topic` each dead-letter every message; audit keeps the letters.
    readers = READERS[topic]
    letters = eventually(
        lambda: (
            (found := list(mongo.dead_letters.find({"subject": key.decode()})))
            and len(found) >= len(GARBAGE) * readers
            and found
        ),
        what="dead letters",
        timeout_s=60,
    )
    settled(stack)
    letters = list(mongo.dead_letters.find({"subject": key.decode()}))
    assert len(letters) == len(GARBAGE) * readers  # once each, not more
    reasons = {d["data"]["reason"] for d in letters}
    assert reasons <= {"not_json", "not_an_envelope", "unknown_type"} and "not_json" in reasons
    assert all(d["data"]["topic"] == topic and d["data"]["detail"] for d in letters)


def test_a_command_with_invalid_data_is_rejected_with_a_reason_and_kept(stack: Stack, mongo: Any) -> None:
    asset = labels.asset_id_for_serial(uuid.uuid4().hex)
    good = codec.make(
        AllocateLaptop(office_code="32.73"), subject=asset, source="/test", time=utcnow(), id=f"{INJECTED}-bad-{asset}"
    )
    doc = codec.to_json(good)
    doc["data"] = {"office_code": ["not", "a", "code"], "extra": 1}
    send(stack, topics.ALLOCATION_COMMANDS, asset.encode(), [orjson.dumps(doc)])
    link = eventually(
        lambda: mongo.event_log.find_one({"causationid": f"{INJECTED}-bad-{asset}"}), what="rejection", timeout_s=30
    )
    assert link["event"]["data"]["reason"] == "invalid_command"
    assert "office_code" in link["event"]["data"]["detail"]


def test_after_garbage_on_every_partition_each_worker_still_decides_the_next_valid_command(
    stack: Stack, mongo: Any
) -> None:
    # Garbage first on every partition of every consumed topic, so whichever partition
    # the laptop below lands on, its commands and events queue behind garbage.
    assert stack.kafka is not None
    key = f"{INJECTED}-BEFORE-{uuid.uuid4().hex[:8]}".encode()
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap, acks="all")
    letters_due = 0
    for topic in (topics.ALLOCATION_COMMANDS, topics.HANDOVER_COMMANDS, topics.EVENTS):
        for partition in producer.partitions_for(topic):
            for value in GARBAGE[:4]:
                letters_due += READERS[topic]
                producer.send(topic, key=key, value=value, partition=partition)
    producer.flush(30)
    producer.close()

    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(device_token(stack))) as api:
        serial = "AFTER" + uuid.uuid4().hex[:8].upper()
        specs = {"cpu": "i5", "ram_gb": 8, "storage_gb": 256}
        r = api.post("/api/v1/laptops", json={"serial": serial, "brand": "HP", "model": "240 G9", "specs": specs})
        assert r.status_code == 201 and r.json()["decision"] == "accepted", r.text  # allocation decided
        asset = r.json()["subject"]
        view = lambda: (v := api.get(f"/api/v1/laptops/{asset}")).status_code == 200 and v.json()  # noqa: E731
        label = eventually(lambda: (v := view()) and v.get("label_url"), what="the audit's view", timeout_s=60)
        r = api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32.73"})
        assert r.status_code == 200 and r.json()["decision"] == "accepted", r.text
        r = api.post("/api/v1/scans/dispatch", json={"scan_id": f"d-{asset}", "label": label})
        assert r.status_code == 200 and r.json()["decision"] == "accepted", r.text
        settled(stack)  # handover has read the dispatch (and the garbage before it)
        r = api.post("/api/v1/scans/receipt", json={"scan_id": f"r-{asset}", "label": label, "condition": "B"})
        assert r.status_code == 200 and r.json()["decision"] == "accepted", r.text  # handover decided
        settled(stack)
        assert view()["status"] == "received"  # audit recorded every step
        kinds = [e["type"].split(".")[-2] for e in api.get(f"/api/v1/laptops/{asset}/history").json()["events"]]
        assert kinds == ["registered", "allocated", "dispatched", "received"], kinds
        assert api.get("/healthz").status_code == 200
    letters = mongo.dead_letters.count_documents({"subject": key.decode()})
    assert letters == letters_due, letters  # every garbage message dead-lettered once by each of its readers
