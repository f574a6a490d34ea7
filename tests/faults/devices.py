"""Simulated scanning devices: the steady load a fault scenario runs under.

Each device is enrolled on its own (its own bearer token) and holds a few laptops,
registered and allocated before the load starts. It scans them round-robin, as a
warehouse and then an office would: dispatch, receipt, then usage attestations, one
scan after another. Like a phone, it makes each scan's id once and sends the same
request again until it gets an answer (a dropped connection, a 5xx, a 503 with
``Retry-After``, a 429 are all "try again"); a laptop's next scan waits until its
previous one is decided (a ``202 pending`` is asked again at its ``Location``).
An offline device keeps its scans (with the time it made them, ``scanned_at``) and
sends them in order when it is back.

Everything a device saw is kept for the oracle (tests/faults/oracle.py): every scan
it made, the answer it finally got and when, and every status it was answered along
the way (a 500 is a failure of its own: a device must never see one)."""

from __future__ import annotations

import random
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from events import labels

STEPS = ("dispatch", "receipt", "attestation")
PATHS = {step: f"/api/v1/scans/{step}" for step in STEPS}
# Answers that carry a decision, or the promise of one (Kafka has the command).
DECIDED = (200, 201)
RETRY = (429, 500, 502, 503, 504)


@dataclass
class Scan:
    """One scan a device made; ``seq`` orders it among its laptop's scans."""

    scan_id: str
    device: str
    asset: str
    step: str
    seq: int
    body: dict[str, Any]
    made_at: float
    answered: int | None = None  # the status of the answer that counted (200, 202, 409, …)
    decision: str | None = None  # accepted / rejected / pending
    answered_at: float | None = None
    decided_at: float | None = None  # when the device learnt the decision (at once, or asking again)
    decided: bool = False  # the decision is known (answered 200/4xx, or a 202 asked again)
    attempts: int = 0
    refused: str | None = None  # refused at the door, before Kafka (a wrong device clock): never recorded


@dataclass
class Laptop:
    asset: str
    label: str
    step: int = 0  # index into STEPS; attestation repeats
    last: Scan | None = None
    seq: int = 0


@dataclass
class Device:
    name: str
    token: str
    base_url: str
    laptops: list[Laptop]
    offline_every_s: float | None = None  # goes offline this often (None: always online)
    offline_for_s: float = 5.0
    think_s: float = 0.02
    clock_offset_s: float = 0.0  # how far the device's clock is off; non-zero: every scan says when it was made
    scans: list[Scan] = field(default_factory=list)
    statuses: Counter[str] = field(default_factory=Counter)
    _stop: threading.Event = field(default_factory=threading.Event)
    _draining: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

    # --- control -------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"device-{self.name}", daemon=True)
        self._thread.start()

    def stop_scanning(self) -> None:
        """No new scans; what was made is still sent until answered (``join``)."""
        self._draining.set()

    def join(self, timeout_s: float) -> bool:
        """True when every scan this device made has its decision."""
        assert self._thread is not None
        self._thread.join(timeout_s)
        if self._thread.is_alive():
            self._stop.set()
            self._thread.join(30)
            return False
        return True

    # --- the device's loop -------------------------------------------------------

    def _run(self) -> None:
        with httpx.Client(
            base_url=self.base_url, timeout=15, headers={"Authorization": f"Bearer {self.token}"}
        ) as client:
            offline_until = 0.0
            next_offline = time.monotonic() + (self.offline_every_s or 0)
            queued: list[Scan] = []
            while not self._stop.is_set():
                now = time.monotonic()
                draining = self._draining.is_set()
                if self.offline_every_s and not draining and now >= next_offline:
                    offline_until, next_offline = now + self.offline_for_s, now + self.offline_every_s
                if now < offline_until and not draining:
                    # Offline: scan what is ready, keep it; nothing is sent.
                    for laptop in self.laptops:
                        if (laptop.last is None or laptop.last.decided) and not any(
                            s.asset == laptop.asset for s in queued
                        ):
                            queued.append(self._make(laptop, offline=True))
                    time.sleep(0.1)
                    continue
                for scan in queued:  # back online: sync in the order they were made
                    self._send(client, scan)
                queued.clear()
                progressed = False
                for laptop in self.laptops:
                    if self._stop.is_set():
                        return
                    if laptop.last is not None and not laptop.last.decided:
                        self._ask(client, laptop.last)
                        continue
                    if draining:
                        continue
                    self._send(client, self._make(laptop))
                    progressed = True
                    time.sleep(self.think_s)
                if draining and all(lt.last is None or lt.last.decided for lt in self.laptops):
                    return
                if not progressed:
                    time.sleep(0.2)

    def _make(self, laptop: Laptop, offline: bool = False) -> Scan:
        if laptop.last is not None and laptop.last.decision == "accepted":
            laptop.step = min(laptop.step + 1, len(STEPS) - 1)
        step = STEPS[laptop.step]
        laptop.seq += 1
        scan_id = f"{self.name}-{uuid.uuid4().hex[:16]}"
        body: dict[str, Any] = {"scan_id": scan_id, "label": laptop.label}
        if step == "receipt":
            body |= {"condition": "B", "note": ""}
        if offline or self.clock_offset_s:
            body["scanned_at"] = (datetime.now(UTC) + timedelta(seconds=self.clock_offset_s)).isoformat()
        scan = Scan(scan_id, self.name, laptop.asset, step, laptop.seq, body, time.monotonic())
        laptop.last = scan
        with self._lock:
            self.scans.append(scan)
        return scan

    def _send(self, client: httpx.Client, scan: Scan) -> None:
        """The same request until it is answered; a phone does not give up."""
        delay = 0.2
        while not self._stop.is_set():
            scan.attempts += 1
            try:
                r = client.post(PATHS[scan.step], json=scan.body)
            except httpx.TransportError as exc:
                self.statuses[type(exc).__name__] += 1
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                continue
            self.statuses[str(r.status_code)] += 1
            if r.status_code in RETRY:
                wait = r.headers.get("retry-after")
                if r.status_code == 503 and not (wait and wait.isdigit()):
                    self.statuses["503 without Retry-After"] += 1
                time.sleep(min(float(wait), 5.0) if wait and wait.isdigit() else delay)
                delay = min(delay * 2, 2.0)
                continue
            body = r.json()
            if r.status_code == 422 and body.get("code") == "scanned_at_out_of_range":
                scan.refused, scan.decided, scan.answered_at = body["code"], True, time.monotonic()
                time.sleep(1.0)  # someone reads the refusal before scanning again
                return
            decision = body.get("decision")
            if decision not in ("accepted", "rejected", "pending"):
                raise AssertionError(f"{scan.step} {scan.scan_id}: unexpected answer {r.status_code} {r.text}")
            scan.answered, scan.decision, scan.answered_at = r.status_code, decision, time.monotonic()
            scan.decided = decision != "pending"
            if scan.decided:
                scan.decided_at = scan.answered_at
            return

    def _ask(self, client: httpx.Client, scan: Scan) -> None:
        """A pending scan's decision, asked again at its Location."""
        try:
            r = client.get(f"/api/v1/scans/{scan.scan_id}")
        except httpx.TransportError as exc:
            self.statuses[type(exc).__name__] += 1
            time.sleep(0.2)
            return
        self.statuses[f"GET {r.status_code}"] += 1
        if r.status_code == 200:
            scan.decision = r.json()["decision"]
            scan.decided, scan.decided_at = True, time.monotonic()
        else:
            time.sleep(0.2)


def new_laptops(api: httpx.Client, n: int, office: str = "32.73") -> list[Laptop]:
    """``n`` laptops registered in one bulk request and allocated to ``office``."""
    serials = ["FLT" + uuid.uuid4().hex[:12].upper() for _ in range(n)]
    rows = [
        {"serial": s, "brand": "Acer", "model": "TravelMate P2", "specs": {"cpu": "i3", "ram_gb": 8, "storage_gb": 256}}
        for s in serials
    ]
    r = api.post("/api/v1/laptops/bulk", json={"laptops": rows, "wait_s": 60}, timeout=90)
    assert r.status_code == 200, r.text
    assert r.json()["registered"] == n, r.text
    assets = [labels.asset_id_for_serial(s) for s in serials]
    for asset in assets:
        r = api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": office})
        assert r.status_code == 200, r.text
    out = []
    for asset in assets:
        deadline = time.monotonic() + 30
        while True:
            label = api.get(f"/api/v1/laptops/{asset}").json().get("label_url")
            if label:
                break
            assert time.monotonic() < deadline, f"no label for {asset}"
            time.sleep(0.1)
        out.append(Laptop(asset, label))
    return out


def shuffled(items: list[Any], seed: int) -> list[Any]:
    out = list(items)
    random.Random(seed).shuffle(out)
    return out
