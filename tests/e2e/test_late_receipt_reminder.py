"""The late-receipt reminder through a real stack of its own. A threshold of under a
second would remind every consignment in a shared store, so this test never touches
the session's workers: it starts its own Kafka and workers and its own database (on
the session's store server), first with the default thresholds (days), then restarts
its handover worker with a threshold of under a second and a fast sweep. The
consignment is planned, scanned, closed and partly received through the API like
any other; the reminder must reach the unconfirmed list and the audit chain once,
also after the worker restarts."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pymongo import MongoClient

from deploy.local.kafka import start_kafka
from deploy.local.stack import Stack
from deploy.local.tools import free_port
from deploy.topics import ensure_topics
from events.catalog import ReceiptReminderRaised
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt
from tests.settle import settled

TINY_DAYS = "0.00001"  # 0.864 s


@pytest.fixture(scope="module")
def own(infra: Stack, signing_keys: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """Kafka, workers and gateway of this module only; its own database on the session's store server."""
    assert infra.store is not None
    stack = Stack(
        tmp_path_factory.mktemp("reminder-stack"),
        gateway_port=free_port(),
        partitions=2,
        mongo_db=f"serah_reminder_{uuid.uuid4().hex[:8]}",
        signing_keys=signing_keys,
    )
    try:
        stack.kafka = start_kafka(stack.data / "kafka")
        stack.store = infra.store
        ensure_topics(stack.kafka.bootstrap, stack.partitions)
        stack.start_services()
        stack.wait_healthy(timeout_s=180)
        yield stack
    finally:
        stack.store = None  # the session's store server: not ours to stop
        stack.stop()


@pytest.fixture(scope="module")
def own_api(own: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=own.url, timeout=30, headers=signed_in(device_token(own))) as client:
        yield client


@pytest.fixture(scope="module")
def own_mongo(own: Stack) -> Iterator[Any]:
    assert own.store is not None
    client: MongoClient[dict[str, Any]] = MongoClient(own.store.url, tz_aware=True)
    yield client[own.mongo_db]
    client.close()


def restart_handover(stack: Stack, api: httpx.Client, mongo: Any) -> None:
    stack.kill("handover")
    stack.start_service("handover")
    # Ready when the new process itself reports partitions (not just a recent heartbeat of the old one).
    pid = stack.services["handover"].pid
    eventually(
        lambda: mongo.worker_status.find_one({"service": "handover", "pid": pid, "assigned_partitions": {"$gt": 0}}),
        what="the restarted handover worker consuming",
        timeout_s=120,
    )
    eventually(lambda: api.get("/healthz").status_code == 200, what="healthy again", timeout_s=120)


def reminders_of(mongo: Any, cid: str) -> list[dict[str, Any]]:
    doc = mongo.handover_consignments.find_one({"_id": cid}) or {"history": []}
    return [e for e in doc["history"] if e["type"] == ReceiptReminderRaised.TYPE]


def listed(api: httpx.Client, cid: str) -> dict[str, Any] | None:
    rows = api.get("/api/v1/consignments/unconfirmed").json()
    return next((r for r in rows if r["consignment_id"] == cid), None)


def test_a_consignment_not_fully_received_in_time_raises_one_reminder_seen_in_the_list_and_the_audit_chain(
    own: Stack, own_api: httpx.Client, own_mongo: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    stack, api, mongo = own, own_api, own_mongo
    cid, code, units = dispatched(api, 2, [OFFICIAL])
    partial = receipt(units[:1], OFFICIAL, code) | {"missing": [units[1]["asset_id"]]}
    r = api.post(f"/api/v1/consignments/{cid}/receipt", json=partial)
    assert r.status_code == 200 and r.json()["event"]["data"]["complete"] is False, r.text
    row = listed(api, cid)
    assert row is not None and row["status"] == "partly_received"
    assert row["reminders"] == [] and row["reminded_at"] is None  # the default threshold is days away

    monkeypatch.setenv("SERAH_RECEIPT_REMINDER_DAYS", TINY_DAYS)
    monkeypatch.setenv("SERAH_RECEIPT_REMINDER_SWEEP_S", "0.5")
    restart_handover(stack, api, mongo)
    row = eventually(lambda: (x := listed(api, cid)) and x["reminders"] and x, what="reminder listed", timeout_s=90)
    assert [r["threshold_days"] for r in row["reminders"]] == [float(TINY_DAYS)]
    assert row["reminded_at"] == row["reminders"][0]["raised_at"]
    assert row["in_transit"] == [units[1]["asset_id"]]
    assert api.get(f"/api/v1/consignments/{cid}").json()["reminders"] == row["reminders"]
    [reminder] = reminders_of(mongo, cid)
    assert reminder["data"]["in_transit"] == [units[1]["asset_id"]] and reminder["data"]["office_code"] == "73.71"

    # The audit service chains it under the consignment, once.
    link = eventually(lambda: mongo.event_log.find_one({"_id": reminder["id"]}), what="reminder audited")
    assert link["asset_id"] == cid
    settled(stack)
    assert mongo.event_log.count_documents({"asset_id": cid, "type": ReceiptReminderRaised.TYPE}) == 1
    assert mongo.laptop_views.find_one({"_id": cid})["kind"] == "consignment"

    # A restarted worker keeps sweeping but does not remind again: a consignment
    # dispatched after the restart gets its reminder, the first one still has one.
    restart_handover(stack, api, mongo)
    later, _, _ = dispatched(api, 1, [OFFICIAL])
    eventually(lambda: reminders_of(mongo, later), what="reminder after restart", timeout_s=90)
    settled(stack)
    assert len(reminders_of(mongo, cid)) == 1
    assert mongo.event_log.count_documents({"asset_id": cid, "type": ReceiptReminderRaised.TYPE}) == 1

    # Fully received: off the unconfirmed list, and no further reminder.
    rest = receipt(units[1:], OFFICIAL, code)
    assert api.post(f"/api/v1/consignments/{cid}/receipt", json=rest).status_code == 200
    eventually(lambda: listed(api, cid) is None, what="off the unconfirmed list")
    settled(stack)
    assert len(reminders_of(mongo, cid)) == 1
    assert mongo.event_log.count_documents({"asset_id": cid, "type": ReceiptReminderRaised.TYPE}) == 1
