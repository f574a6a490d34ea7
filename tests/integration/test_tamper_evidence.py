"""Tampering with MongoDB directly is caught: by ``serah verify`` on an export,
which names the chain and the event, and by every history the gateway serves,
which carries the same verdict. Real MongoDB-wire server and Kafka broker, real
audit handlers and adapters, the gateway app in process; each test has its own
database, so its tampering reaches no other test."""

from __future__ import annotations

import asyncio
import csv
import hashlib
import io
import secrets
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from kafka import KafkaConsumer, TopicPartition

from deploy.local.stack import Stack
from events import codec, labels, proofs, topics
from events.catalog import AnomalyDetected, LaptopReceived
from services.audit import handlers
from services.audit.adapters import mongo
from services.audit.bootstrap import bootstrap
from services.audit.config import AuditSettings
from services.common.mongo import connect
from services.gateway.adapters.audit_reads import AuditReads
from services.gateway.app import create_app
from services.gateway.config import GatewaySettings
from tests.audit_data import laptop_history
from tests.conftest import device_token, signed_in
from tests.fakes import FakePublisher

SEED = secrets.token_bytes(32)
KEYS = {"A9": labels.public_key(SEED)}
SETTINGS = AuditSettings(audit_signing_key=labels.format_keyring({"A9": SEED}))


class Store:
    """A fresh database per test on the session's server: tampering stays local."""

    def __init__(self, infra: Stack, mongo_client: Any) -> None:
        assert infra.store is not None
        self.url = infra.store.url
        self.name = f"tamper_{uuid.uuid4().hex[:8]}"
        self.db = mongo_client[self.name]

    def run(self, fn: Callable[[Any], Any]) -> Any:
        async def go() -> Any:
            client, db = connect(self.url, self.name)
            try:
                return await fn(bootstrap(SETTINGS, publisher=FakePublisher(), **mongo.stores(db)))
            finally:
                await client.close()

        return asyncio.run(go())

    def export(self, subjects: list[str] | None = None) -> list[dict[str, Any]]:
        async def go() -> list[dict[str, Any]]:
            client, db = connect(self.url, self.name)
            try:
                return [orjson.loads(orjson.dumps(x)) async for x in AuditReads(db).export_lines(subjects)]
            finally:
                await client.close()

        return asyncio.run(go())


@pytest.fixture
def store(infra: Stack, mongo: Any) -> Store:
    s = Store(infra, mongo.client)
    histories = [
        laptop_history("32.73", 5, location=(-6.91, 107.61)),
        laptop_history("74.05", 4),
        laptop_history("11", 3),
    ]

    async def record(rt: handlers.AuditRuntime) -> None:
        await rt.log.ensure_indexes()
        await rt.checkpoints.ensure_indexes()
        for _, events in histories:
            for e in events:
                await handlers.record_event(e, rt)
        await handlers.take_checkpoint(rt)

    s.run(record)
    s.assets = [a for a, _ in histories]  # type: ignore[attr-defined]
    return s


def verify(lines: list[dict[str, Any]], subjects: list[str] | None = None) -> proofs.Report:
    return proofs.verify_export(lines, KEYS, subjects)


def link(store: Store, asset: str, seq: int) -> dict[str, Any]:
    doc = store.db.event_log.find_one({"asset_id": asset, "seq": seq})
    assert doc is not None
    return doc  # type: ignore[no-any-return]


def only_finding(report: proofs.Report) -> proofs.Finding:
    """The one finding of a single tamper: more would blur which damage was named."""
    assert len(report.findings) == 1, [f.sentence() for f in report.findings]
    return report.findings[0]


def test_an_untouched_export_is_intact(store: Store) -> None:
    report = verify(store.export())
    assert report.intact, [f.sentence() for f in report.findings]
    assert (report.laptops, report.events, report.checkpoints, report.checkpoint_chains) == (3, 12, 1, 3)


def test_changing_a_field_of_a_stored_event_names_that_laptop_and_event(store: Store) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    victim = link(store, asset, 4)
    store.db.event_log.update_one({"_id": victim["_id"]}, {"$set": {"event.data.condition": "RB"}})
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, victim["_id"], 4)
    assert "changed" in f.problem


def test_deleting_an_event_names_the_laptop_and_where_the_gap_is(store: Store) -> None:
    asset = store.assets[1]  # type: ignore[attr-defined]
    store.db.event_log.delete_one({"_id": link(store, asset, 2)["_id"]})
    after = link(store, asset, 3)
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, after["_id"], 3)
    assert "deleted or reordered" in f.problem


def test_deleting_every_event_of_a_laptop_names_that_laptop(store: Store) -> None:
    asset = store.assets[1]  # type: ignore[attr-defined]
    store.db.event_log.delete_many({"asset_id": asset})
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.seq) == (asset, 4) and "none of its events (deleted)" in f.problem


def test_reordering_two_events_names_the_laptop_and_the_first_moved_event(store: Store) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    a, b = link(store, asset, 2), link(store, asset, 3)
    # Swap which event sits at seq 2 and 3 (the links keep their hashes).
    store.db.event_log.delete_many({"_id": {"$in": [a["_id"], b["_id"]]}})
    store.db.event_log.insert_one({**b, "seq": 2, "prev_hash": a["prev_hash"], "hash": a["hash"]})
    store.db.event_log.insert_one({**a, "seq": 3, "prev_hash": b["prev_hash"], "hash": b["hash"]})
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, b["_id"], 2)
    assert "changed" in f.problem


def test_a_forged_event_with_a_correctly_recomputed_hash_is_not_covered_by_the_checkpoint(store: Store) -> None:
    asset = store.assets[2]  # type: ignore[attr-defined]
    head = link(store, asset, 3)
    forged = {
        **head["event"],
        "id": str(uuid.uuid4()),
        "type": LaptopReceived.TYPE,
        "data": {"office_code": "11", "condition": "B", "note": ""},
    }
    store.db.event_log.insert_one(
        {
            **head,
            "_id": forged["id"],
            "seq": 4,
            "prev_hash": head["hash"],
            "hash": proofs.link_hash_of(head["hash"], forged),
            "event": forged,
        }
    )
    f = only_finding(verify(store.export()))
    assert (f.asset_id, f.event_id, f.seq) == (asset, forged["id"], 4)
    assert "not covered" in f.problem


def test_rolling_a_chain_back_to_an_earlier_head_is_caught_by_the_checkpoint(store: Store) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    removed = [link(store, asset, 5)["_id"], link(store, asset, 4)["_id"]]
    store.db.event_log.delete_many({"_id": {"$in": removed}})
    f = only_finding(verify(store.export()))
    assert f.asset_id == asset and f.seq == 3 and f.event_id == link(store, asset, 3)["_id"]
    assert "rolled back" in f.problem


def test_a_rewritten_checkpoint_fails_its_signature(store: Store) -> None:
    store.db.checkpoints.update_one({}, {"$set": {"root": hashlib.sha256(b"other").hexdigest()}})
    report = verify(store.export())
    assert any("signature that does not match" in f.problem for f in report.findings), [
        f.sentence() for f in report.findings
    ]


def test_a_laptop_dropped_from_the_stored_chain_list_breaks_the_signed_list(store: Store) -> None:
    asset = store.assets[2]  # type: ignore[attr-defined]
    doc = store.db.checkpoint_leaves.find_one({})
    assert doc is not None
    heads = [h for h in doc["heads"] if not h.startswith(asset + "|")]
    store.db.checkpoint_leaves.update_one({"_id": doc["_id"]}, {"$set": {"heads": heads}})
    f = only_finding(verify(store.export()))
    assert "signed 3 chains, its list here has 2" in f.problem


def test_an_export_without_its_checkpoint_shows_nothing_signed(store: Store) -> None:
    store.db.checkpoints.delete_many({})
    report = verify(store.export())
    assert any("no checkpoint a trusted key signed" in f.problem for f in report.findings)


def test_one_laptops_export_verifies_against_the_signed_root_when_that_laptop_is_named(store: Store) -> None:
    asset = store.assets[1]  # type: ignore[attr-defined]
    part = store.export([asset])
    assert [x["kind"] for x in part].count("proof") == 1
    report = verify(part, [asset])
    assert report.intact and report.laptops == 1, [f.sentence() for f in report.findings]
    store.db.event_log.update_one({"asset_id": asset, "seq": 2}, {"$set": {"event.actor": "someone-else"}})
    f = only_finding(verify(store.export([asset]), [asset]))
    assert (f.asset_id, f.seq) == (asset, 2) and "changed" in f.problem


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "services.cli", *args], capture_output=True, text=True, env=env)


def write(path: Path, lines: list[dict[str, Any]]) -> Path:
    path.write_bytes(b"".join(orjson.dumps(x) + b"\n" for x in lines))
    return path


def test_serah_verify_says_intact_or_names_the_damage(store: Store, tmp_path: Path) -> None:
    key = f"--key=A9:{proofs.b64(KEYS['A9'])}"
    ok = run_cli("verify", str(write(tmp_path / "export.jsonl", store.export())), key)
    assert ok.returncode == 0 and ok.stdout.startswith("INTACT: 3 chains, 12 events, "), ok.stdout + ok.stderr

    asset = store.assets[1]  # type: ignore[attr-defined]
    victim = link(store, asset, 2)
    store.db.event_log.update_one({"_id": victim["_id"]}, {"$set": {"event.actor": "someone-else"}})
    bad = run_cli("verify", str(write(tmp_path / "export.jsonl", store.export())), key)
    assert bad.returncode == 1, bad.stdout + bad.stderr
    assert f"chain {asset}, event {victim['_id']} (seq 2)" in bad.stdout

    other = f"--key=A9:{proofs.b64(labels.public_key(secrets.token_bytes(32)))}"
    wrong_key = run_cli("verify", str(tmp_path / "export.jsonl"), other)
    assert wrong_key.returncode == 1 and "signature that does not match" in wrong_key.stdout


def test_serah_verify_checks_the_chains_named_and_refuses_to_call_a_part_the_whole(
    store: Store, tmp_path: Path
) -> None:
    key = f"--key=A9:{proofs.b64(KEYS['A9'])}"
    mine = store.assets[:2]  # type: ignore[attr-defined]
    part = write(tmp_path / "part.jsonl", store.export(mine))
    named = run_cli("verify", str(part), key, *(f"--subject={a}" for a in mine))
    assert named.returncode == 0 and named.stdout.startswith("INTACT: 2 chains, "), named.stdout + named.stderr
    whole = run_cli("verify", str(part), key)
    assert whole.returncode == 1 and "cannot show that none is missing" in whole.stdout, whole.stdout
    third = store.assets[2]  # type: ignore[attr-defined]
    more = run_cli("verify", str(part), key, *(f"--subject={a}" for a in [*mine, third]))
    assert more.returncode == 1 and f"chain {third}: you asked to verify this chain" in more.stdout, more.stdout


def test_the_export_carries_its_events_as_stored_cloudevents(store: Store) -> None:
    lines = store.export()
    stored = {d["_id"]: d["event"] for d in store.db.event_log.find({})}
    events = [x["event"] for x in lines if x["kind"] == "event"]
    assert sorted(e["id"] for e in events) == sorted(stored)
    for e in events:
        decoded = codec.from_json(e)  # a CloudEvent the services' codec reads back to the same JSON
        assert (decoded.id, decoded.subject) == (e["id"], e["subject"])
        assert codec.to_json(decoded) == e == stored[e["id"]]


def test_a_checkpoint_is_signed_only_when_a_chain_moved_and_its_chain_list_leads_to_its_root(store: Store) -> None:
    assert store.run(lambda rt: handlers.take_checkpoint(rt)) is None
    lines = store.export()
    cp = next(x for x in lines if x["kind"] == "checkpoint")
    assert proofs.checkpoint_signature_ok(cp, KEYS) is None
    leaves = [leaf for x in lines if x["kind"] == "leaves" for leaf in x["leaves"]]
    assert proofs.merkle_root([proofs.leaf_hash(a, s, h) for a, s, h in leaves]) == cp["root"]
    assert sorted(a for a, _, _ in leaves) == sorted(store.assets)  # type: ignore[attr-defined]


def event_offsets(bootstrap: str) -> dict[TopicPartition, int]:
    """Where serah.events ends now: what a test publishes later starts there."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False)
    try:
        parts = [TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or []]
        return dict(consumer.end_offsets(parts))
    finally:
        consumer.close()


def anomalies_on_kafka(
    bootstrap: str, since: dict[TopicPartition, int], rule: str, wanted: str, deadline_s: float = 60.0
) -> list[Any]:
    """Every ``rule`` anomaly on serah.events after ``since``, read until one about
    ``wanted`` is among them (or the deadline passes)."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=1000)
    try:
        consumer.assign(list(since))
        for tp, offset in since.items():
            consumer.seek(tp, offset)
        found: list[Any] = []
        end = time.monotonic() + deadline_s
        while not any(e.subject == wanted for e in found) and time.monotonic() < end:
            for m in consumer:  # to the end of what is there now (a second without messages)
                e = codec.decode(m.value)
                if e.type == AnomalyDetected.TYPE and e.data["rule"] == rule:
                    found.append(e)
        return found
    finally:
        consumer.close()


def test_the_audit_service_refuses_to_sign_over_a_rewritten_history_and_publishes_an_anomaly(
    store: Store, infra: Stack
) -> None:
    assert infra.kafka is not None
    asset = store.assets[1]  # type: ignore[attr-defined]
    store.db.event_log.update_one({"asset_id": asset, "seq": 2}, {"$set": {"event.actor": "rewriter"}})
    untouched = store.assets[0]  # type: ignore[attr-defined]
    store.db.event_log.delete_one({"asset_id": untouched, "seq": 5})  # rolled back one event
    env = {
        **infra.env(),
        "SERAH_MONGO_DB": store.name,
        "SERAH_AUDIT_SIGNING_KEY": labels.format_keyring({"A9": SEED}),
    }
    since = event_offsets(infra.kafka.bootstrap)
    refused = run_cli("checkpoint", "--force", env=env)
    # Changing a field leaves the stored head hash in place (only a re-verify sees it);
    # the rollback removes the signed head: that is what the checkpoint check catches.
    assert refused.returncode == 1 and "NOT signed" in refused.stderr and untouched in refused.stderr, refused.stderr
    assert store.db.checkpoints.count_documents({}) == 1  # nothing new signed
    raised = anomalies_on_kafka(infra.kafka.bootstrap, since, "history_rewritten", untouched)
    about = {a: [e for e in raised if e.subject == a] for a in store.assets}  # type: ignore[attr-defined]
    assert len(about[untouched]) == 1 and about[asset] == [], raised
    accepted = run_cli("checkpoint", "--accept-rewritten", env=env)
    assert accepted.returncode == 0 and "3 laptops" in accepted.stdout, accepted.stdout + accepted.stderr
    assert store.db.checkpoints.count_documents({}) == 2


# --- every history the gateway serves carries the verdict ----------------------------


@pytest.fixture
def gateway(store: Store, infra: Stack) -> Iterator[TestClient]:
    """The gateway app in process, reading this test's own database."""
    assert infra.kafka is not None
    settings = GatewaySettings(
        mongo_url=store.url,
        mongo_db=store.name,
        kafka_bootstrap=infra.kafka.bootstrap,
        audit_public_keys=f"A9:{proofs.b64(KEYS['A9'])}",
        label_signing_keys=labels.format_keyring({"T9": secrets.token_bytes(32)}),
        receipt_code_keys=labels.format_keyring({"R9": secrets.token_bytes(32)}),
    )
    token = device_token(infra, ("auditor",), mongo_db=store.name, name="tamper tests")
    with TestClient(create_app(settings), headers=signed_in(token)) as client:
        yield client


def reads(client: TestClient, asset: str) -> tuple[dict[str, Any], dict[str, Any], list[dict[str, str]]]:
    history = client.get(f"/api/v1/laptops/{asset}/history")
    timeline = client.get(f"/api/v1/audit/laptops/{asset}/timeline")
    assert history.status_code == timeline.status_code == 200, (history.text, timeline.text)
    rows = [
        r for r in csv.DictReader(io.StringIO(client.get("/api/v1/audit/export.csv").text)) if r["asset_id"] == asset
    ]
    return history.json(), timeline.json(), rows


def test_every_history_read_says_verified_and_how_far_the_checkpoint_signed_it(
    store: Store, gateway: TestClient
) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    history, timeline, rows = reads(gateway, asset)
    for verdict in (history["chain"], timeline["chain"]):
        assert verdict["status"] == "verified" and verdict["signed_to_seq"] == 5 and verdict["reason"] is None
    assert [e["chain"] for e in history["events"]] == ["verified"] * 5
    assert all(e["checkpointed"] for e in timeline["events"])
    assert [r["chain"] for r in rows] == ["verified"] * 5


def test_an_event_altered_in_the_store_shows_broken_in_every_history_read(store: Store, gateway: TestClient) -> None:
    asset = store.assets[0]  # type: ignore[attr-defined]
    store.db.event_log.update_one({"asset_id": asset, "seq": 3}, {"$set": {"event.data.office_code": "11.01"}})
    history, timeline, rows = reads(gateway, asset)
    assert history["events"][2]["data"]["office_code"] == "11.01"  # the altered data, shown as not verifying
    for verdict in (history["chain"], timeline["chain"]):
        assert (verdict["status"], verdict["broken_at_seq"]) == ("broken", 3)
        assert asset in verdict["reason"] and "changed" in verdict["reason"]
    expected = ["verified", "verified", "broken", "broken", "broken"]
    assert [e["chain"] for e in history["events"]] == expected == [e["chain"] for e in timeline["events"]]
    assert [r["chain"] for r in rows] == expected and rows[0]["chain_problem"] == history["chain"]["reason"]
    other = store.assets[1]  # type: ignore[attr-defined]
    assert reads(gateway, other)[0]["chain"]["status"] == "verified"


def test_a_history_rewritten_with_recomputed_hashes_shows_broken_against_the_checkpoint(
    store: Store, gateway: TestClient
) -> None:
    asset = store.assets[1]  # type: ignore[attr-defined]
    prev = link(store, asset, 1)["hash"]
    for seq in range(2, 5):  # a forger with write access recomputes every hash after the change
        doc = link(store, asset, seq)
        event = {**doc["event"], "actor": "rewriter"}
        h = proofs.link_hash_of(prev, event)
        store.db.event_log.update_one({"_id": doc["_id"]}, {"$set": {"event": event, "prev_hash": prev, "hash": h}})
        prev = h
    history, timeline, _ = reads(gateway, asset)
    for verdict in (history["chain"], timeline["chain"]):
        assert verdict["status"] == "broken" and "not the head checkpoint" in verdict["reason"]
    assert {e["chain"] for e in history["events"]} == {"broken"}
