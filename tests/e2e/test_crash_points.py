"""A crash at any point of a command's life loses nothing and duplicates nothing
a reader can see.

Each case arms one crash point (``services/common/faults.py``) in a process of
its own — a worker started for this test in place of the session's, or a second
gateway — sends one scan through the gateway's HTTP API, sees that process die
exactly there (exit code 137 and the point's line in its log), restarts it
without the crash point and, once every consumer group has committed up to the
end of every topic it reads, counts the scan's facts where readers see them:

- every topic, read from the beginning. Readers dedupe by event id, so the rule
  they rely on is: one event id per fact (per command, subject and type), and
  every copy of an event id byte-identical (a re-published copy is the same
  fact, never a second version of it). On the command topics a retried scan
  may appear twice: every copy of a command id is the same command.
- every view: the audit log (one entry per fact, the chain without gaps, the
  same events as the topic), ``laptop_views``, each worker's own document of
  the laptop or consignment, and the BAST store (one BAST per receipt, the one
  whose hash the receipt recorded).
- the gateway: the answer to the scan (if one came), a device retry of the
  same scan id, and ``GET /api/v1/scans/{id}`` all name that one event.

The session's worker is put back (the restarted one, without crash point) and
the stack is healthy again before the next test. ``make test`` runs each
process and each point once; ``make crash-points`` runs every combination.
"""

from __future__ import annotations

import concurrent.futures
import os
import subprocess
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition

from deploy.local import procs
from deploy.local.stack import Stack
from deploy.local.tools import free_port, wait_for_port
from events import codec, labels, topics
from events.catalog import (
    AnomalyDetected,
    CommandRejected,
    LabelRef,
    LaptopDescription,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    ReceiptConfirmed,
    RegisterLaptop,
)
from events.envelope import utcnow
from services.common.faults import EXIT_CODE
from services.gateway.decisions import named_by_content
from tests.conftest import eventually, new_serial
from tests.e2e.conftest import CLOSE
from tests.settle import settled

# The topics whose every message the oracle reads back.
READ_TOPICS = (topics.ALLOCATION_COMMANDS, topics.HANDOVER_COMMANDS, topics.EVENTS)
OFFICE = "32.73"
OFFICIAL = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan Kesbangpol"}
# The audit view's status after each fact, and the per-service documents that decide or learn it.
STATUS = {
    LaptopRegistered.TYPE: "registered",
    LaptopDispatched.TYPE: "in_transit",
    LaptopReceived.TYPE: "received",
    CommandRejected.TYPE: "allocated",
}
SERVICE_DOCUMENTS = ("allocation_laptops", "handover_laptops")
DECIDES_OR_LEARNS = {
    LaptopRegistered.TYPE: SERVICE_DOCUMENTS,
    LaptopDispatched.TYPE: SERVICE_DOCUMENTS,
    LaptopReceived.TYPE: SERVICE_DOCUMENTS,
    ReceiptConfirmed.TYPE: ("handover_consignments",),
    CommandRejected.TYPE: ("handover_laptops",),
}

# (process, crash point, scan). Allocation decides registrations and dispatches
# (its batch path, run_commands; a crash in a batch of twelve leaves the others
# appended and unpublished, or published and uncommitted, too); handover decides receipt scans (run_command)
# and a consignment's receipt (run_command, then the BAST and the laptops'
# receipts); the audit worker records the dispatch allocation decided, or a
# refused receipt and the anomaly it raises on it; the gateway dies after
# sending the command, before answering.
ALL_CASES = [
    ("allocation", "before_append", "dispatch"),
    ("allocation", "after_append", "dispatch"),
    ("allocation", "after_publish", "dispatch"),
    ("allocation", "before_commit", "dispatch"),
    ("allocation", "after_append", "registration"),
    ("allocation", "after_append", "dispatch-batch"),
    ("allocation", "after_publish", "dispatch-batch"),
    ("handover", "before_append", "receipt"),
    ("handover", "after_append", "receipt"),
    ("handover", "after_publish", "receipt"),
    ("handover", "before_commit", "receipt"),
    ("handover", "before_append", "consignment-receipt"),
    ("handover", "after_append", "consignment-receipt"),
    ("handover", "after_publish", "consignment-receipt"),
    ("handover", "before_commit", "consignment-receipt"),
    ("audit", "before_append", "dispatch"),
    ("audit", "after_append", "dispatch"),
    ("audit", "after_view", "dispatch"),
    ("audit", "before_commit", "dispatch"),
    ("audit", "before_commit", "refused-receipt"),
    ("gateway", "after_send", "dispatch"),
    ("gateway", "after_send", "registration"),
    ("gateway", "after_send", "consignment-receipt"),
]
# A worker case takes ~20 s (a dead consumer keeps its partitions for the group's
# 10 s session timeout), so `make test` runs every process and every point once;
# `make crash-points` runs the whole matrix (SERAH_CRASH_POINTS=all).
EVERY_POINT_ONCE = [
    ("allocation", "before_append", "dispatch"),
    ("allocation", "after_publish", "dispatch"),
    ("allocation", "after_append", "dispatch-batch"),
    ("handover", "after_append", "consignment-receipt"),
    ("handover", "before_commit", "receipt"),
    ("audit", "after_view", "dispatch"),
    ("audit", "before_commit", "refused-receipt"),
    ("gateway", "after_send", "dispatch"),
    ("gateway", "after_send", "registration"),
]
CASES = ALL_CASES if os.environ.get("SERAH_CRASH_POINTS") == "all" else EVERY_POINT_ONCE


# --- the stream has drained -------------------------------------------------


# --- processes ---------------------------------------------------------------


def start(stack: Stack, service: str, log: Path, port: int | None = None, **crash: str) -> subprocess.Popen[bytes]:
    """One process of ``service`` with the session's settings (Stack.service_env) plus ``crash``."""
    env = {k: v for k, v in stack.service_env(service).items() if not k.startswith("SERAH_CRASH_")}
    env |= crash
    if port is not None:
        env["SERAH_PORT"] = str(port)
    log.parent.mkdir(parents=True, exist_ok=True)
    return procs.start([sys.executable, "-m", f"services.{service}"], log, env)


def died_at(proc: subprocess.Popen[bytes], log: Path, point: str, subject: str, timeout_s: float = 120) -> None:
    """The process ended at ``point`` on a hit about ``subject``: its exit code and its last words."""
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        procs.stop(proc)
        raise AssertionError(f"the process did not reach crash point {point} within {timeout_s}s; see {log}") from None
    text = log.read_text(errors="replace")
    assert code == EXIT_CODE, f"exit code {code}, not the crash point's; see {log}"
    assert f"crash point {point} reached about {subject} (hit 1)" in text, text[-3000:]


@pytest.fixture
def logs(stack: Stack) -> Path:
    return stack.data / "logs" / f"crash-{uuid.uuid4().hex[:8]}"


# --- the scans ----------------------------------------------------------------


@dataclass
class Scan:
    """One request a device sends, and what it must cause: ``facts`` maps each
    subject to the one fact type the scan must leave on it."""

    kind: str
    subject: str  # what the command is keyed by: the crash point's subject
    scan_id: str
    path: str
    body: dict[str, Any]
    facts: dict[str, str]
    accepted_status: int = 200  # the answer's status when decided
    decision: str = "accepted"

    def send(self, client: httpx.Client) -> httpx.Response:
        """The same arguments every time: a second call is a device's retry."""
        return client.post(self.path, json=self.body)


def register_body(serial: str) -> dict[str, Any]:
    specs = {"cpu": "i3", "ram_gb": 8, "storage_gb": 256}
    bmn = {"kode_barang": "3100102001", "nup": 1, "acquisition_year": 2026, "acquisition_value": 9_500_000}
    return {"serial": serial, "brand": "Acer", "model": "TravelMate P2", "specs": specs, "bmn": bmn}


def registration_id(asset: str, body: dict[str, Any], actor: str) -> str:
    """The id the gateway names this registration by (its content and who sent it; the
    label is not part of it)."""
    laptop = LaptopDescription.model_validate(body)
    unsigned = RegisterLaptop(laptop=laptop, label=LabelRef(generation=1, key_id="X"))
    cmd = codec.make(unsigned, subject=asset, source="/t", time=utcnow(), id="register", actor=actor)
    return named_by_content(cmd, "register").id


def registered(api: httpx.Client, office: str | None = OFFICE) -> tuple[str, str]:
    serial = new_serial()
    asset = labels.asset_id_for_serial(serial)
    r = api.post("/api/v1/laptops", json=register_body(serial))
    assert r.status_code == 201, r.text
    if office is not None:
        r = api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": office})
        assert r.status_code == 200, r.text
    text = eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json().get("label_url"), what="label")
    return asset, text


BATCH = 12


def prepare(api: httpx.Client, kind: str) -> list[Scan]:
    """Laptops (or a consignment) ready for the scans of ``kind``, made through the
    session's stack. ``dispatch-batch``: twelve dispatches sent at once while the
    worker starts, so it takes them in one batch; the crash is about the first."""
    if kind == "dispatch-batch":
        return [one(api, "dispatch") for _ in range(BATCH)]
    return [one(api, kind)]


def one(api: httpx.Client, kind: str) -> Scan:
    scan_id = f"crash-{uuid.uuid4().hex[:12]}"
    if kind == "registration":
        serial = new_serial()
        asset = labels.asset_id_for_serial(serial)
        facts = {asset: LaptopRegistered.TYPE}
        body = register_body(serial)
        actor = api.get("/api/v1/me").json()["actor"]
        return Scan(kind, asset, registration_id(asset, body, actor), "/api/v1/laptops", body, facts, 201)
    if kind == "consignment-receipt":
        return consignment_receipt(api, scan_id)
    asset, text = registered(api)
    body: dict[str, Any] = {"scan_id": scan_id, "label": text}
    if kind == "dispatch":
        return Scan(kind, asset, scan_id, "/api/v1/scans/dispatch", body, {asset: LaptopDispatched.TYPE})
    body |= {"condition": "RR", "note": "engsel longgar"}
    if kind == "refused-receipt":  # never dispatched: refused, and the audit raises an anomaly on the refusal
        facts = {asset: CommandRejected.TYPE}
        return Scan(kind, asset, scan_id, "/api/v1/scans/receipt", body, facts, 409, "rejected")
    r = api.post("/api/v1/scans/dispatch", json={"scan_id": f"d-{scan_id}", "label": text})
    assert r.status_code == 200, r.text
    return Scan(kind, asset, scan_id, "/api/v1/scans/receipt", body, {asset: LaptopReceived.TYPE})


def consignment_receipt(api: httpx.Client, receipt_id: str) -> Scan:
    """Two laptops planned, scanned into a consignment and dispatched; the scan is
    the official's receipt, which issues the BAST and receives both laptops."""
    cid = f"CRASH-{uuid.uuid4().hex[:8]}"
    units = [registered(api, office=None) for _ in range(2)]
    plan = {
        "consignment_id": cid,
        "office_code": "73.71",
        "officials": [OFFICIAL],
        "legal_basis": {"kind": "allocation_decree", "number": "KEP-734/SJ/2026", "date": "2026-10-01"},
        "expected": [asset for asset, _ in units],
    }
    r = api.post("/api/v1/consignments", json=plan)
    assert r.status_code == 201, r.text
    code = r.json()["receipt_code"]
    for _, text in units:
        r = api.post(f"/api/v1/consignments/{cid}/scans", json={"scan_id": f"s-{uuid.uuid4()}", "label": text})
        assert r.status_code == 200 and r.json()["decision"] == "accepted", r.text
    r = api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE)
    assert r.status_code == 200, r.text
    body = {
        "receipt_id": receipt_id,
        "official": OFFICIAL,
        "receipt_code": code,
        "lines": [{"asset_id": asset, "condition": "B", "note": ""} for asset, _ in units],
        "missing": [],
    }
    facts = {cid: ReceiptConfirmed.TYPE} | {asset: LaptopReceived.TYPE for asset, _ in units}
    return Scan("consignment-receipt", cid, receipt_id, f"/api/v1/consignments/{cid}/receipt", body, facts)


# --- what readers see -----------------------------------------------------------


def read_topics(stack: Stack, subjects: set[str]) -> dict[str, list[bytes]]:
    """Every message keyed by one of ``subjects`` on the command topics and serah.events, from the beginning."""
    assert stack.kafka is not None
    keys = {s.encode() for s in subjects}
    consumer = KafkaConsumer(bootstrap_servers=stack.kafka.bootstrap, enable_auto_commit=False, group_id=None)
    try:
        parts = [TopicPartition(t, p) for t in READ_TOPICS for p in consumer.partitions_for_topic(t) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        found: dict[str, list[bytes]] = defaultdict(list)
        deadline = time.monotonic() + 60
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, "reading the topics took over 60 s"
            for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                for r in records:
                    if r.offset < ends[tp] and r.key in keys:
                        found[tp.topic].append(r.value)
        return found
    finally:
        consumer.close()


def facts_on_topics(found: dict[str, list[bytes]], scan: Scan) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Checks the rules readers rely on in what ``read_topics`` found; returns the
    scan's event id per subject and, per subject, every event id serah.events carries about it."""
    copies: dict[str, set[bytes]] = defaultdict(set)
    ids_per_fact: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    about: dict[str, set[str]] = defaultdict(set)
    for raw in found[topics.EVENTS]:
        e = orjson.loads(raw)
        copies[e["id"]].add(raw)
        about[e["subject"]].add(e["id"])
        ids_per_fact[(e.get("causationid", ""), e["subject"], e["type"])].add(e["id"])
    different = {i: len(c) for i, c in copies.items() if len(c) > 1}
    assert not different, f"one event id, different bytes on serah.events: {different}"
    doubled = {k: v for k, v in ids_per_fact.items() if len(v) > 1}
    assert not doubled, f"one fact, several event ids on serah.events: {doubled}"
    ours = {(subject, type_): ids for (cause, subject, type_), ids in ids_per_fact.items() if cause == scan.scan_id}
    assert sorted(ours) == sorted(scan.facts.items()), f"the scan caused {sorted(ours)}, not {scan.facts}"

    commands: dict[str, set[bytes]] = defaultdict(set)
    for name in (topics.ALLOCATION_COMMANDS, topics.HANDOVER_COMMANDS):
        for raw in found[name]:
            c = orjson.loads(raw)
            commands[c["id"]].add(orjson.dumps([c["type"], c["subject"], c["data"]]))
    assert scan.scan_id in commands, "the scan never reached a command topic"
    changed = {i: len(c) for i, c in commands.items() if len(c) > 1}
    assert not changed, f"one command id, different commands: {changed}"
    return {subject: next(iter(ids)) for (subject, _), ids in ours.items()}, about


def check_views(mongo: Any, scan: Scan, fact_ids: dict[str, str], on_topics: dict[str, set[str]]) -> None:
    for subject, fact in scan.facts.items():
        log = list(mongo.event_log.find({"asset_id": subject}).sort("seq", 1))
        assert [link["seq"] for link in log] == list(range(1, len(log) + 1)), "the chain has a gap or a repeat"
        assert {link["_id"] for link in log} == on_topics[subject], "the audit log and serah.events disagree"
        assert [link["_id"] for link in log if link["causationid"] == scan.scan_id] == [fact_ids[subject]]
        view = mongo.laptop_views.find_one({"_id": subject})
        assert view["event_ids"] == [link["_id"] for link in log] and view["seq"] == len(log)
        consignment = fact == ReceiptConfirmed.TYPE
        if not consignment:
            assert view["status"] == STATUS[fact]
        stores = ("allocation_consignments", "handover_consignments") if consignment else SERVICE_DOCUMENTS
        for store in stores:
            doc = mongo[store].find_one({"_id": subject})
            ids = [e["id"] for e in doc["history"]]
            assert len(ids) == len(set(ids)), f"{store} holds a fact twice: {ids}"
            assert set(ids) <= on_topics[subject], f"{store} holds a fact no reader saw on serah.events"
            if store in DECIDES_OR_LEARNS[fact]:
                assert ids.count(fact_ids[subject]) == 1, f"{store} does not hold the scan's fact once: {ids}"
    if scan.kind == "consignment-receipt":
        basts = list(mongo.bast_documents.find({"consignment_id": scan.subject}))
        confirmed = mongo.event_log.find_one({"_id": fact_ids[scan.subject]})["event"]["data"]
        assert len(basts) == 1, f"{len(basts)} BASTs for one receipt"
        assert basts[0]["sha256"] == basts[0]["recorded_sha256"] == confirmed["bast_sha256"]


def answers(response: httpx.Response | None, scan: Scan, event_id: str) -> None:
    """A decision the device got names the one fact; a pending answer (202) says where to ask."""
    if response is None or response.status_code == 202:
        return
    assert response.status_code == scan.accepted_status, response.text
    assert response.json()["event"]["id"] == event_id


# --- the cases -----------------------------------------------------------------


@pytest.fixture
def workers(stack: Stack, api: httpx.Client) -> Iterator[Stack]:
    """Whatever a case did to the session's workers, each is running (a restarted
    one is kept: same settings, no crash point) and the stack is healthy after it."""
    yield stack
    for name in ("allocation", "handover", "audit"):
        proc = stack.services.get(name)
        if proc is None or proc.poll() is not None:
            stack.services.pop(name, None)
            stack.start_service(name)
    eventually(lambda: api.get("/healthz").status_code == 200, what="healthy again", timeout_s=120)


@pytest.mark.parametrize(("service", "point", "kind"), CASES, ids=["-".join(c) for c in CASES])
def test_a_crash_at_this_point_leaves_exactly_one_fact_on_every_topic_view_and_answer(
    service: str, point: str, kind: str, workers: Stack, api: httpx.Client, mongo: Any, logs: Path
) -> None:
    stack = workers
    scans = prepare(api, kind)
    lead = scans[0]
    armed = {"SERAH_CRASH_AT": point, "SERAH_CRASH_SUBJECT": lead.subject}

    if service == "gateway":
        port = free_port()
        gw = start(stack, "gateway", logs / "gateway.log", port, **armed)
        try:
            wait_for_port(port, 60, gw, what="the crash-point gateway")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30, headers=api.headers) as device:
                with pytest.raises(httpx.TransportError):  # the gateway died before answering
                    lead.send(device)
                died_at(gw, logs / "gateway.log", point, lead.subject)
                gw = start(stack, "gateway", logs / "gateway.log", port)
                wait_for_port(port, 60, gw, what="the restarted gateway")
                firsts = [lead.send(device)]  # the device retries
        finally:
            procs.stop(gw)
    else:
        settled(stack, timeout_s=150)  # the earlier facts are everywhere before the crash process starts
        procs.stop(stack.services.pop(service))  # leaves its group at once
        crashing = start(stack, service, logs / f"{service}.log", **armed)
        with concurrent.futures.ThreadPoolExecutor(len(scans)) as pool:
            pending = [pool.submit(scan.send, api) for scan in scans]
            died_at(crashing, logs / f"{service}.log", point, lead.subject)
            if kind == "dispatch-batch":  # the crash caught other laptops' commands stored and not committed
                dispatched = {"_id": {"$in": [scan.subject for scan in scans]}, "summary.status": "dispatched"}
                stored = mongo.allocation_laptops.count_documents(dispatched)
                assert stored > 1, f"only {stored} of the batch's dispatches were stored when the worker died"
            stack.services[service] = start(stack, service, logs / f"{service}.log")
            firsts = [p.result() for p in pending]
        for scan, first in zip(scans, firsts, strict=True):
            assert first.status_code in (scan.accepted_status, 202), first.text

    settled(stack, timeout_s=150)
    retries = [scan.send(api) for scan in scans]  # the devices retry after the recovery
    settled(stack, timeout_s=150)

    found = read_topics(stack, {subject for scan in scans for subject in scan.facts})
    for scan, first, retry in zip(scans, firsts, retries, strict=True):
        fact_ids, on_topics = facts_on_topics(found, scan)
        check_views(mongo, scan, fact_ids, on_topics)
        answers(first, scan, fact_ids[scan.subject])
        answers(retry, scan, fact_ids[scan.subject])
        assert retry.status_code != 202, "the recovered stack left a retried scan pending"
        # The scan's record names one of its facts (a consignment's receipt causes
        # several, on several partitions; the first one the audit worker recorded).
        status = api.get(f"/api/v1/scans/{scan.scan_id}")
        assert status.status_code == 200, status.text
        assert status.json()["decision"] == scan.decision and status.json()["event"]["id"] in fact_ids.values()
        if kind == "refused-receipt":  # the anomaly the refusal raised is on the topic too (one id, one content)
            raised = [e for e in map(orjson.loads, found[topics.EVENTS]) if e["type"] == AnomalyDetected.TYPE]
            assert {e["causationid"] for e in raised if e["subject"] == scan.subject} == {fact_ids[scan.subject]}
