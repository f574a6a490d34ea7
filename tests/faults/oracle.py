"""What must hold after a fault, whatever it was (the fault suite's oracle).

- Every scan a device got an answer for (a decision, or ``202 pending``: Kafka had
  it) is in the audit log exactly once, and on ``serah.events`` as one event id.
- Each laptop's scans are in its chain in the order the device made them.
- No event without a scan: every scan-caused fact in the log names a scan a device
  made; no anomaly was raised (nothing the devices did was suspicious).
- Every chain verifies: a checkpoint is signed, the store exported and ``serah
  verify`` says INTACT, as an auditor would run it.
- The views equal a rebuild from the log (``serah rebuild``).
- Dead letters are only the garbage the test put on the topics (``INJECTED…``).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
from kafka import KafkaConsumer, KafkaProducer, TopicPartition

from deploy.local.stack import Stack
from events import topics
from events.catalog import AnomalyDetected
from tests.faults.devices import Scan
from tests.wire import INJECTED


@dataclass
class Outcome:
    scenario: str
    sent: int = 0
    acknowledged: int = 0
    recorded: int = 0
    lost: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    recover_s: float | None = None
    noticed_s: float | None = None  # how soon /healthz said what was down
    rejected: int = 0
    refused: int = 0  # refused before Kafka (422 scanned_at_out_of_range)
    server_errors: int = 0
    answered_503: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (
            not self.lost
            and not self.duplicated
            and not self.problems
            and self.recover_s is not None
            and not self.server_errors
        )

    def row(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario,
            "sent": self.sent,
            "acknowledged": self.acknowledged,
            "recorded": self.recorded,
            "lost": len(self.lost),
            "duplicated": len(self.duplicated),
            "recover_s": None if self.recover_s is None else round(self.recover_s, 1),
            "noticed_s": None if self.noticed_s is None else round(self.noticed_s, 1),
            "503": self.answered_503,
            "500": self.server_errors,
            "rejected": self.rejected,
            "refused": self.refused,
            "ok": self.ok,
        }


def inject_garbage(bootstrap: str, n: int = 3) -> None:
    """Unreadable messages on each command topic, keyed so the oracle knows them."""
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
    try:
        for topic in (topics.ALLOCATION_COMMANDS, topics.HANDOVER_COMMANDS):
            for i in range(n):
                producer.send(topic, key=f"{INJECTED}-{i}".encode(), value=b"\x00not an envelope{")
        producer.flush(30)
    finally:
        producer.close()


def read_events(bootstrap: str) -> list[dict[str, Any]]:
    """Every message on serah.events, from the beginning to its end as of now."""
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None)
    try:
        parts = [TopicPartition(topics.EVENTS, p) for p in consumer.partitions_for_topic(topics.EVENTS) or ()]
        consumer.assign(parts)
        consumer.seek_to_beginning(*parts)
        ends = consumer.end_offsets(parts)
        out: list[dict[str, Any]] = []
        deadline = time.monotonic() + 120
        while any(consumer.position(tp) < ends[tp] for tp in parts):
            assert time.monotonic() < deadline, "reading serah.events took over 120 s"
            for tp, records in consumer.poll(timeout_ms=500, max_records=5000).items():
                out += [orjson.loads(r.value) for r in records if r.offset < ends[tp]]
        return out
    finally:
        consumer.close()


def check_scans(outcome: Outcome, scans: list[Scan], mongo: Any, bootstrap: str) -> None:
    """The per-scan promises: once in the log and on the topic, in each laptop's order."""
    assets = sorted({s.asset for s in scans})
    log: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for entry in mongo.event_log.find(
        {"asset_id": {"$in": assets}}, {"asset_id": 1, "seq": 1, "type": 1, "causationid": 1}
    ):
        log[entry["asset_id"]].append(entry)
    made = {s.scan_id for s in scans}
    by_scan: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for asset, chain in log.items():
        chain.sort(key=lambda e: e["seq"])
        if [e["seq"] for e in chain] != list(range(1, len(chain) + 1)):
            outcome.problems.append(f"{asset}: the chain has a gap or a repeat")
        for e in chain:
            if e["type"] == AnomalyDetected.TYPE:
                outcome.problems.append(f"{asset}: anomaly raised ({e['_id']})")
            elif e["causationid"] in made:
                by_scan[e["causationid"]].append(e)
            elif not str(e["causationid"]).startswith(("register-", "alloc", "allocate")):
                outcome.problems.append(f"{asset}: event {e['_id']} caused by {e['causationid']}, which no device made")

    on_topic: dict[str, set[str]] = defaultdict(set)
    for e in read_events(bootstrap):
        if e.get("causationid") in made:
            on_topic[e["causationid"]].add(e["id"])

    # The decision on every scan can be asked for (GET /api/v1/scans/{id} reads this index).
    indexed = {d["_id"] for d in mongo.scan_index.find({"_id": {"$in": sorted(made)}}, {"_id": 1})}

    outcome.sent = len(scans)
    for s in scans:
        entries = by_scan.get(s.scan_id, [])
        outcome.recorded += min(len(entries), 1)
        if s.answered is not None:
            outcome.acknowledged += 1
            if not entries:
                outcome.lost.append(s.scan_id)
        if s.decision == "rejected":
            outcome.rejected += 1
        if len(entries) > 1 or len(on_topic.get(s.scan_id, ())) > 1:
            outcome.duplicated.append(s.scan_id)
        if entries and s.scan_id not in indexed:
            outcome.problems.append(f"{s.scan_id}: recorded, but its decision cannot be asked for (no scan index)")
        if entries and {e["_id"] for e in entries} != on_topic.get(s.scan_id, set()):
            outcome.problems.append(f"{s.scan_id}: the audit log and serah.events disagree")
        if s.refused is not None:
            outcome.refused += 1
            if entries:
                outcome.problems.append(f"{s.scan_id}: refused at the door ({s.refused}), yet recorded")
        elif s.answered is None:
            outcome.problems.append(f"{s.scan_id}: never answered")

    per_laptop: dict[str, list[Scan]] = defaultdict(list)
    for s in scans:
        per_laptop[s.asset].append(s)
    for asset, mine in per_laptop.items():
        seqs = [by_scan[s.scan_id][0]["seq"] for s in sorted(mine, key=lambda s: s.seq) if by_scan.get(s.scan_id)]
        if seqs != sorted(seqs):
            outcome.problems.append(f"{asset}: scans recorded out of the order the device made them")


def serah(stack: Stack, *args: str, service: str = "audit", timeout_s: float = 300) -> str:
    env = stack.service_env(service)
    result = subprocess.run(
        [sys.executable, "-m", "services.cli", *args], env=env, capture_output=True, text=True, timeout=timeout_s
    )
    if result.returncode != 0:
        raise AssertionError(f"serah {' '.join(args)} exited {result.returncode}: {result.stdout}{result.stderr}")
    return result.stdout


def check_store(outcome: Outcome, stack: Stack, mongo: Any, work: Path) -> None:
    """The whole-store promises: chains verify, views equal a rebuild, dead letters injected only."""
    serah(stack, "checkpoint", "--force")
    export = work / f"export-{outcome.scenario}.jsonl"
    serah(stack, "export", str(export))
    key = stack.env()["SERAH_AUDIT_PUBLIC_KEYS"]
    env = {k: v for k, v in stack.env().items() if not k.startswith("SERAH_")}
    verdict = subprocess.run(
        [sys.executable, "-m", "services.cli", "verify", str(export), "--key", key],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if verdict.returncode != 0 or not verdict.stdout.startswith("INTACT"):
        outcome.problems.append(f"serah verify: {verdict.stdout[-2000:]}{verdict.stderr[-2000:]}")

    before = {v["_id"]: v for v in mongo.laptop_views.find()}
    serah(stack, "rebuild")
    after = {v["_id"]: v for v in mongo.laptop_views.find()}
    differ = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
    if differ:
        k = differ[0]
        outcome.problems.append(
            f"{len(differ)} views differ from a rebuild, e.g. {k}: {before.get(k)!r} != {after.get(k)!r}"
        )

    for dl in mongo.dead_letters.find():
        if not str(dl.get("subject") or dl["_id"]).startswith(INJECTED):
            outcome.problems.append(f"dead letter not injected by the test: {dl['_id']} {dl.get('data')}")
