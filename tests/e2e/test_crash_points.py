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
- every view: the audit log (one entry per fact, the chain without gaps),
  ``laptop_views``, and each worker's own document of the laptop.
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
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
from kafka import KafkaConsumer, TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec

from deploy.local import procs
from deploy.local.stack import Stack
from deploy.local.tools import free_port, wait_for_port
from events import labels, topics
from events.catalog import LaptopDispatched, LaptopReceived, LaptopRegistered
from services.common.faults import EXIT_CODE
from tests.conftest import eventually, new_serial

# The topics each service's consumer group reads (services/*/stream.py).
GROUP_TOPICS = {
    "serah-allocation": (topics.ALLOCATION_COMMANDS, topics.EVENTS),
    "serah-handover": (topics.HANDOVER_COMMANDS, topics.EVENTS),
    "serah-audit": (topics.EVENTS, topics.DEAD_LETTERS),
}
READ_TOPICS = (topics.ALLOCATION_COMMANDS, topics.HANDOVER_COMMANDS, topics.EVENTS)
FACT = {"registration": LaptopRegistered.TYPE, "dispatch": LaptopDispatched.TYPE, "receipt": LaptopReceived.TYPE}
STATUS = {"registration": "registered", "dispatch": "in_transit", "receipt": "received"}
OFFICE = "32.73"

# (process, crash point, scan). Allocation decides registrations and dispatches
# (its batch path, run_commands); handover decides receipts (run_command); the
# audit worker records the dispatch allocation decided; the gateway dies after
# sending the command, before answering.
ALL_CASES = [
    ("allocation", "before_append", "dispatch"),
    ("allocation", "after_append", "dispatch"),
    ("allocation", "after_publish", "dispatch"),
    ("allocation", "before_commit", "dispatch"),
    ("allocation", "after_append", "registration"),
    ("handover", "before_append", "receipt"),
    ("handover", "after_append", "receipt"),
    ("handover", "after_publish", "receipt"),
    ("handover", "before_commit", "receipt"),
    ("audit", "before_append", "dispatch"),
    ("audit", "after_append", "dispatch"),
    ("audit", "after_view", "dispatch"),
    ("audit", "before_commit", "dispatch"),
    ("gateway", "after_send", "dispatch"),
    ("gateway", "after_send", "registration"),
]
# A worker case takes ~20 s (a dead consumer keeps its partitions for the group's
# 10 s session timeout), so `make test` runs every process and every point once;
# `make crash-points` runs the whole matrix (SERAH_CRASH_POINTS=all).
EVERY_POINT_ONCE = [
    ("allocation", "before_append", "dispatch"),
    ("allocation", "after_publish", "dispatch"),
    ("allocation", "after_append", "registration"),
    ("handover", "after_append", "receipt"),
    ("handover", "before_commit", "receipt"),
    ("audit", "after_append", "dispatch"),
    ("audit", "after_view", "dispatch"),
    ("gateway", "after_send", "dispatch"),
    ("gateway", "after_send", "registration"),
]
CASES = ALL_CASES if os.environ.get("SERAH_CRASH_POINTS") == "all" else EVERY_POINT_ONCE


# --- the stream has drained -------------------------------------------------


def behind(admin: KafkaAdminClient) -> dict[str, int]:
    """Per consumer group, how many messages of the topics it reads it has not
    committed. Committed offsets are read before the end offsets: a group at
    the end of a command topic has published what those commands caused before
    it committed them, so those events are already inside the end offsets."""
    committed = {g: admin.list_group_offsets(g).get(g, {}) for g in GROUP_TOPICS}
    parts = {
        TopicPartition(t, p["partition_index"])
        for t in READ_TOPICS + (topics.DEAD_LETTERS,)
        for d in admin.describe_topics([t])
        for p in d["partitions"]
    }
    ends = admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in parts})
    lag: dict[str, int] = {}
    for group, names in GROUP_TOPICS.items():
        for tp in (tp for tp in parts if tp.topic in names):
            done = committed[group].get(tp)
            missing = ends[tp].offset - (done.offset if done is not None and done.offset >= 0 else 0)
            if missing:
                lag[group] = lag.get(group, 0) + missing
    return lag


def wait_drained(stack: Stack, timeout_s: float = 150) -> None:
    assert stack.kafka is not None
    admin = KafkaAdminClient(bootstrap_servers=stack.kafka.bootstrap, request_timeout_ms=5000)
    try:
        eventually(lambda: not behind(admin), what="every group committed to the end", timeout_s=timeout_s)
        # Twice in a row: a group may commit the end a moment before a batch of
        # events it published is visible in the end offsets read in the same call.
        time.sleep(0.5)
        eventually(lambda: not behind(admin), what="every group still at the end", timeout_s=timeout_s)
    finally:
        admin.close()


# --- processes ---------------------------------------------------------------


def start(stack: Stack, service: str, log: Path, port: int | None = None, **crash: str) -> subprocess.Popen[bytes]:
    """One process of ``service`` with the session's settings (as Stack.start_service) plus ``crash``."""
    env = {k: v for k, v in stack.env().items() if not k.startswith("SERAH_CRASH_")}
    if service != "gateway":
        env.pop("SERAH_LABEL_SIGNING_KEYS")
    if service != "audit":
        env.pop("SERAH_AUDIT_SIGNING_KEY", None)
    env |= {"SERAH_SERVICE": service, **crash}
    if port is not None:
        env["SERAH_PORT"] = str(port)
    log.parent.mkdir(parents=True, exist_ok=True)
    return procs.start([sys.executable, "-m", f"services.{service}"], log, env)


def died_at(proc: subprocess.Popen[bytes], log: Path, point: str, asset: str, timeout_s: float = 120) -> None:
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        procs.stop(proc)
        raise AssertionError(f"the process did not reach crash point {point} within {timeout_s}s; see {log}") from None
    text = log.read_text(errors="replace")
    assert code == EXIT_CODE, f"exit code {code}, not the crash point's; see {log}"
    assert f"crash point {point} reached about {asset} (hit 1)" in text, text[-3000:]


@pytest.fixture
def logs(stack: Stack) -> Path:
    return stack.data / "logs" / f"crash-{uuid.uuid4().hex[:8]}"


# --- the scans ----------------------------------------------------------------


def register_body(serial: str) -> dict[str, Any]:
    specs = {"cpu": "i3", "ram_gb": 8, "storage_gb": 256}
    return {"serial": serial, "brand": "Acer", "model": "TravelMate P2", "specs": specs}


def prepare(api: httpx.Client, scan: str) -> tuple[str, str]:
    """A laptop ready for ``scan``, made through the session's stack: (asset, serial)."""
    serial = new_serial()
    asset = labels.asset_id_for_serial(serial)
    if scan == "registration":
        return asset, serial
    assert api.post("/api/v1/laptops", json=register_body(serial)).status_code == 201
    r = api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": OFFICE})
    assert r.status_code == 200, r.text
    if scan == "receipt":
        r = api.post("/api/v1/scans/dispatch", json={"scan_id": f"d-{asset}", "label": label(api, asset)})
        assert r.status_code == 200, r.text
    return asset, serial


def label(api: httpx.Client, asset: str) -> str:
    return eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json().get("label_url"), what="label")  # type: ignore[no-any-return]


def send(client: httpx.Client, scan: str, asset: str, serial: str, scan_id: str, text: str) -> httpx.Response:
    """The device's request; the same arguments make the same scan (a retry)."""
    if scan == "registration":
        return client.post("/api/v1/laptops", json=register_body(serial))
    body: dict[str, Any] = {"scan_id": scan_id, "label": text, "actor": "crash-test"}
    if scan == "receipt":
        body |= {"condition": "RR", "note": "engsel longgar"}
    return client.post(f"/api/v1/scans/{scan}", json=body)


# --- what readers see -----------------------------------------------------------


def read_topics(stack: Stack, asset: str) -> dict[str, list[bytes]]:
    """Every message keyed by ``asset`` on the command topics and serah.events, from the beginning."""
    assert stack.kafka is not None
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
                    if r.offset < ends[tp] and r.key == asset.encode():
                        found[tp.topic].append(r.value)
        return found
    finally:
        consumer.close()


def fact_ids_on_topics(stack: Stack, asset: str, scan_id: str, scan: str) -> tuple[str, set[str]]:
    """Checks the rules readers rely on; returns our scan's event id and every event id of the laptop."""
    found = read_topics(stack, asset)
    copies: dict[str, set[bytes]] = defaultdict(set)
    ids_per_fact: dict[tuple[str, str, str], set[str]] = defaultdict(set)
    for raw in found[topics.EVENTS]:
        e = orjson.loads(raw)
        copies[e["id"]].add(raw)
        ids_per_fact[(e.get("causationid", ""), e["subject"], e["type"])].add(e["id"])
    different = {i: len(c) for i, c in copies.items() if len(c) > 1}
    assert not different, f"one event id, different bytes on serah.events: {different}"
    doubled = {k: v for k, v in ids_per_fact.items() if len(v) > 1}
    assert not doubled, f"one fact, several event ids on serah.events: {doubled}"
    ours = {k: v for k, v in ids_per_fact.items() if k[0] == scan_id}
    assert list(ours) == [(scan_id, asset, FACT[scan])], f"the scan caused {list(ours)}, not one {FACT[scan]}"

    commands: dict[str, set[bytes]] = defaultdict(set)
    for name in (topics.ALLOCATION_COMMANDS, topics.HANDOVER_COMMANDS):
        for raw in found[name]:
            c = orjson.loads(raw)
            commands[c["id"]].add(orjson.dumps([c["type"], c["subject"], c["data"]]))
    assert scan_id in commands, "the scan never reached a command topic"
    changed = {i: len(c) for i, c in commands.items() if len(c) > 1}
    assert not changed, f"one command id, different commands: {changed}"
    [[event_id]] = ours.values()
    return event_id, set(copies)


def check_views(mongo: Any, asset: str, scan_id: str, scan: str, event_id: str, on_topics: set[str]) -> None:
    log = list(mongo.event_log.find({"asset_id": asset}).sort("seq", 1))
    assert [link["seq"] for link in log] == list(range(1, len(log) + 1)), "the chain has a gap or a repeat"
    assert {link["_id"] for link in log} == on_topics, "the audit log and serah.events disagree"
    assert [link["_id"] for link in log if link["causationid"] == scan_id] == [event_id]
    view = mongo.laptop_views.find_one({"_id": asset})
    assert view["event_ids"] == [link["_id"] for link in log] and view["seq"] == len(log)
    assert view["status"] == STATUS[scan]
    for store in ("allocation_laptops", "handover_laptops"):
        doc = mongo[store].find_one({"_id": asset})
        ids = [e["id"] for e in doc["history"]]
        assert len(ids) == len(set(ids)), f"{store} holds a fact twice: {ids}"
        assert ids.count(event_id) == 1, f"{store} does not hold the scan's fact once: {ids}"
        assert set(ids) <= on_topics, f"{store} holds a fact no reader saw on serah.events"


def answers(response: httpx.Response | None, event_id: str, scan: str) -> None:
    """A decision the device got names the one fact; a pending answer (202) says where to ask."""
    if response is None or response.status_code == 202:
        return
    assert response.status_code == (201 if scan == "registration" else 200), response.text
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


@pytest.mark.parametrize(("service", "point", "scan"), CASES, ids=["-".join(c) for c in CASES])
def test_a_crash_at_this_point_leaves_exactly_one_fact_on_every_topic_view_and_answer(
    service: str, point: str, scan: str, workers: Stack, api: httpx.Client, mongo: Any, logs: Path
) -> None:
    stack = workers
    asset, serial = prepare(api, scan)
    text = label(api, asset) if scan != "registration" else ""
    scan_id = f"register-{asset}" if scan == "registration" else f"crash-{uuid.uuid4().hex[:12]}"
    armed = {"SERAH_CRASH_AT": point, "SERAH_CRASH_SUBJECT": asset}

    if service == "gateway":
        port = free_port()
        gw = start(stack, "gateway", logs / "gateway.log", port, **armed)
        try:
            wait_for_port(port, 60, gw, what="the crash-point gateway")
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as device:
                with pytest.raises(httpx.TransportError):  # the gateway died before answering
                    send(device, scan, asset, serial, scan_id, text)
                died_at(gw, logs / "gateway.log", point, asset)
                gw = start(stack, "gateway", logs / "gateway.log", port)
                wait_for_port(port, 60, gw, what="the restarted gateway")
                first = send(device, scan, asset, serial, scan_id, text)  # the device retries
        finally:
            procs.stop(gw)
    else:
        wait_drained(stack)  # the laptop's earlier facts are everywhere before the crash process starts
        procs.stop(stack.services.pop(service))  # leaves its group at once
        crashing = start(stack, service, logs / f"{service}.log", **armed)
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pending = pool.submit(send, api, scan, asset, serial, scan_id, text)
            died_at(crashing, logs / f"{service}.log", point, asset)
            stack.services[service] = start(stack, service, logs / f"{service}.log")
            first = pending.result()
        assert first.status_code in (200, 201, 202), first.text

    wait_drained(stack)
    retry = send(api, scan, asset, serial, scan_id, text)  # the device retries after the recovery
    wait_drained(stack)

    event_id, on_topics = fact_ids_on_topics(stack, asset, scan_id, scan)
    check_views(mongo, asset, scan_id, scan, event_id, on_topics)
    answers(first, event_id, scan)
    answers(retry, event_id, scan)
    assert retry.status_code != 202, "the recovered stack left a retried scan pending"
    status = api.get(f"/api/v1/scans/{scan_id}")
    assert status.status_code == 200, status.text
    assert status.json()["decision"] == "accepted" and status.json()["event"]["id"] == event_id
