"""Through the real gateway and workers: a label spelled any way but its one canonical
way, and free text with control characters, are refused at the door and never reach
Kafka; the same commands produced straight onto Kafka are refused by the workers."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from deploy.local.stack import Stack
from events import codec, labels, topics
from events.catalog import DispatchLaptop, LabelRef, LaptopDescription, RegisterLaptop, Specs
from events.envelope import utcnow
from tests.conftest import eventually
from tests.e2e.conftest import register


def variants(label: str) -> dict[str, str]:
    gen_at = label.index("/", label.index("/L/") + 3) + 1
    letter = next(i for i in range(label.rindex("/") + 1, len(label)) if label[i].isalpha())
    return {
        "leading zero": label[:gen_at] + "0" + label[gen_at:],
        "long s": label.replace("/L/SRH", "/L/ſRH"),
        "dotless i": label[:letter] + ("ı" if label[letter] == "I" else label[letter].lower()) + label[letter + 1 :],
        "junk before": "\x00\x00junk " + label,
        "newline after": label + "\n",
        "lower case": label.lower(),
    }


class CommandTopic:
    """Reads what was produced on a command topic since it was opened."""

    def __init__(self, stack: Stack, topic: str) -> None:
        assert stack.kafka is not None
        self.consumer = KafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, enable_auto_commit=False)
        parts = [TopicPartition(topic, p) for p in sorted(self.consumer.partitions_for_topic(topic) or [])]
        self.consumer.assign(parts)
        self.start = self.consumer.end_offsets(parts)
        for tp, offset in self.start.items():
            self.consumer.seek(tp, offset)

    def produced_since(self) -> list[dict[str, Any]]:
        end = self.consumer.end_offsets(list(self.start))
        found: list[dict[str, Any]] = []
        deadline = time.monotonic() + 30
        while any(self.consumer.position(tp) < end[tp] for tp in end):
            assert time.monotonic() < deadline, "could not read the topic to its end"
            for records in self.consumer.poll(timeout_ms=500).values():
                found += [orjson.loads(r.value) for r in records]
        return found

    def close(self) -> None:
        self.consumer.close()


@pytest.fixture
def allocation_commands(stack: Stack) -> Iterator[CommandTopic]:
    reader = CommandTopic(stack, topics.ALLOCATION_COMMANDS)
    yield reader
    reader.close()


def test_a_non_canonical_label_is_refused_by_the_gateway_and_never_reaches_kafka(
    api: httpx.Client, registered: tuple[str, str], allocation_commands: CommandTopic
) -> None:
    asset, label = registered
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32.73"}).status_code in (200, 202)
    refused = []
    for name, text in variants(label).items():
        scan_id = f"hyg-{uuid.uuid4().hex[:12]}"
        r = api.post("/api/v1/scans/dispatch", json={"scan_id": scan_id, "label": text})
        assert r.status_code == 422, (name, r.text)
        assert r.json()["code"] == "label_malformed", (name, r.json())
        r = api.post(f"/api/v1/consignments/K-{scan_id}/scans", json={"scan_id": scan_id + "-k", "label": text})
        assert (r.status_code, r.json()["code"]) == (422, "label_malformed"), (name, r.text)
        refused += [scan_id, scan_id + "-k"]
    scan_id = f"hyg-{uuid.uuid4().hex[:12]}"
    r = api.post("/api/v1/scans/dispatch", json={"scan_id": scan_id, "label": label})
    assert r.json()["decision"] in ("accepted", "pending"), r.text
    sent = allocation_commands.produced_since()
    assert not [m for m in sent if m["id"] in refused]
    [dispatched] = [m for m in sent if m["id"] == scan_id]
    assert dispatched["data"]["label"] == label  # the canonical text, byte for byte


def test_the_label_page_shows_only_the_canonical_path_as_genuine(
    api: httpx.Client, registered: tuple[str, str]
) -> None:
    _, label = registered
    path = label[label.index("/L/") :]
    assert 'data-verdict="genuine"' in api.get(path).text
    gen_at = path.index("/", 3) + 1
    for other in (path[:gen_at] + "0" + path[gen_at:], "/l/" + path[3:], path + "/", path.lower()):
        r = api.get(other)
        assert r.status_code == 400 and 'data-verdict="label_malformed"' in r.text, other


@pytest.mark.parametrize(("field", "value"), [("brand", "Acer\x00Aspire"), ("model", "ProBook \x07\x1b[31m440")])
def test_a_control_character_in_a_laptop_field_is_refused_at_the_api_naming_the_field(
    api: httpx.Client, field: str, value: str
) -> None:
    body = {"serial": "SN" + uuid.uuid4().hex[:10].upper(), "brand": "HP", "model": "ProBook", field: value}
    r = api.post("/api/v1/laptops", json={**body, "specs": {"cpu": "i5", "ram_gb": 8, "storage_gb": 256}})
    assert r.status_code == 422, r.text
    problem = r.json()
    assert problem["code"] == "invalid_request"
    assert any(e["field"] == field and "U+00" in e["message"] for e in problem["errors"]), problem
    assert api.get(f"/api/v1/laptops/{labels.asset_id_for_serial(body['serial'])}").status_code == 404


def send(stack: Stack, topic: str, key: str, envelopes: list[dict[str, Any]]) -> None:
    assert stack.kafka is not None
    producer = KafkaProducer(bootstrap_servers=stack.kafka.bootstrap, acks="all")
    for doc in envelopes:
        producer.send(topic, key=key.encode(), value=orjson.dumps(doc))
    producer.flush(30)
    producer.close()


def test_the_workers_refuse_the_same_commands_produced_straight_onto_kafka(
    stack: Stack, api: httpx.Client, mongo: Any, registered: tuple[str, str]
) -> None:
    asset, label = registered
    gen_at = label.index("/", label.index("/L/") + 3) + 1
    leading_zero = label[:gen_at] + "0" + label[gen_at:]
    serial = "SN" + uuid.uuid4().hex[:10].upper()
    other = labels.asset_id_for_serial(serial)
    # Garbage on purpose: tagged so the session's wire check knows it was sent to be refused.
    zero_id, control_id = f"INJECTED-kz-{asset}", f"INJECTED-kc-{other}"
    dispatch = codec.to_json(
        codec.make(DispatchLaptop(label=leading_zero), subject=asset, source="/outsider", time=utcnow(), id=zero_id)
    )
    laptop = LaptopDescription(serial=serial, brand="Acer", model="M", specs=Specs(cpu="c", ram_gb=8, storage_gb=8))
    registration = codec.to_json(
        codec.make(
            RegisterLaptop(laptop=laptop, label=LabelRef(generation=1, key_id="T1")),
            subject=other,
            source="/outsider",
            time=utcnow(),
            id=control_id,
        )
    )
    registration["data"]["laptop"]["brand"] = "Acer\x00Aspire"
    send(stack, topics.ALLOCATION_COMMANDS, asset, [dispatch])
    send(stack, topics.ALLOCATION_COMMANDS, other, [registration])
    refused = eventually(lambda: mongo.event_log.find_one({"causationid": zero_id}), what="refusal", timeout_s=60)
    assert refused["event"]["data"]["reason"] == "label_malformed"
    invalid = eventually(lambda: mongo.event_log.find_one({"causationid": control_id}), what="refusal", timeout_s=60)
    assert invalid["event"]["data"]["reason"] == "invalid_command"
    assert "laptop.brand" in invalid["event"]["data"]["detail"]
    assert api.get(f"/api/v1/laptops/{other}").status_code == 404
    assert api.get(f"/api/v1/laptops/{asset}").json()["status"] == "registered"


def test_printable_text_with_markup_characters_is_kept_and_served_escaped(api: httpx.Client) -> None:
    brand, model = "<b>Acer</b> & 'Co'", 'Aspire "5" — Ṭhāṭi'
    asset = register(api, brand=brand, model=model)["subject"]
    label = eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json().get("label_url"), what="laptop view")
    [item] = api.get("/api/v1/labels", params={"asset_id": asset}).json()
    assert (item["brand"], item["model"]) == (brand, model)  # JSON carries the text as it is
    page = api.get(label[label.index("/L/") :]).text
    assert "&lt;b&gt;Acer&lt;/b&gt; &amp; &#x27;Co&#x27;" in page and "<b>Acer</b>" not in page
