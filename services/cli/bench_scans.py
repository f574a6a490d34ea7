"""Concurrent scanning for ``serah bench``: simulated devices send dispatch scans
over HTTP at a combined rate, each device one scan at a time (a warehouse worker
waits for the answer before the next laptop), and every scan is timed twice:

- request → decided answer: until the gateway answers ``accepted``/``rejected``
  (a ``202 pending`` is followed by ``GET /api/v1/scans/{id}`` until decided);
- scan → visible to auditors: until the scan is in the audit's scan index, which
  the audit worker writes after the log entry and the laptop's view (so the
  laptop's history shows it), read from the store every ``WATCH_S``.

The laptops are registered and allocated beforehand by producing their commands
straight to Kafka (the pipeline measure's path), so the scans meet a warm stack."""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx
from pymongo import AsyncMongoClient

from events import codec, labels
from events.catalog import AllocateLaptop, LabelRef, LaptopDescription, RegisterLaptop, Specs
from events.envelope import utcnow
from services.gateway.identity import LabelIssuer

WATCH_S = 0.05
OFFICE = "32.73"  # Kota Bandung


def laptop_commands(serial: str, key_id: str) -> list[tuple[bytes, bytes]]:
    """A laptop's registration and allocation, keyed by its asset id (one partition, in order)."""
    asset = labels.asset_id_for_serial(serial)
    specs = Specs(cpu="x", ram_gb=8, storage_gb=256)
    register = RegisterLaptop(
        laptop=LaptopDescription(serial=serial, brand="Bench", model="B-1", specs=specs),
        label=LabelRef(generation=1, key_id=key_id),
    )
    allocate = AllocateLaptop(office_code=OFFICE)
    envelopes = [
        codec.make(body, subject=asset, source="/bench", time=utcnow(), id=f"{kind}-{asset}", actor="bench")
        for kind, body in (("register", register), ("allocate", allocate))
    ]
    return [(asset.encode(), codec.encode(e)) for e in envelopes]


@dataclass
class ScanTimes:
    sent: float
    decided: float | None = None
    visible: float | None = None
    outcome: str = ""


@dataclass
class ScanRun:
    rate: float  # scans per second asked for
    seconds: float
    times: dict[str, ScanTimes] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0

    def figures(self, prefix: str) -> dict[str, float]:
        decided = [t.decided - t.sent for t in self.times.values() if t.decided is not None]
        visible = [t.visible - t.sent for t in self.times.values() if t.visible is not None]
        return {
            f"{prefix}_asked_scans_s": self.rate,
            f"{prefix}_sent_scans_s": len(self.times) / max(self.finished - self.started, 1e-9),
            f"{prefix}_decided_p50_ms": _quantile(decided, 50) * 1000,
            f"{prefix}_decided_p99_ms": _quantile(decided, 99) * 1000,
            f"{prefix}_visible_p50_ms": _quantile(visible, 50) * 1000,
            f"{prefix}_visible_p99_ms": _quantile(visible, 99) * 1000,
            f"{prefix}_scans": float(len(self.times)),
            f"{prefix}_not_decided": float(len(self.times) - len(decided)),
            f"{prefix}_not_visible": float(len(self.times) - len(visible)),
            f"{prefix}_refused": float(sum(t.outcome == "rejected" for t in self.times.values())),
        }


def _quantile(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def scan_run(
    url: str,
    tokens: list[str],
    laptops: list[tuple[str, str]],
    *,
    rate: float,
    seconds: float,
    store_url: str,
    mongo_db: str,
    settle_s: float = 30.0,
) -> ScanRun:
    """``len(tokens)`` devices scan ``laptops`` ((asset id, label text), each once) at a
    combined ``rate`` for ``seconds``, then wait up to ``settle_s`` for the stragglers."""
    run = ScanRun(rate, seconds)
    loop = asyncio.get_running_loop()
    devices = len(tokens)
    interval = devices / rate  # each device's time between scans
    store: AsyncMongoClient[dict[str, Any]] = AsyncMongoClient(store_url)
    scan_index = store[mongo_db].scan_index
    sending = True

    async def device(i: int, client: httpx.AsyncClient) -> None:
        mine = laptops[i::devices]
        first = run.started + i * interval / devices  # devices spread evenly over one interval
        for k, (_, label) in enumerate(mine):
            at = first + k * interval
            if at - run.started >= seconds:
                return
            await asyncio.sleep(max(0.0, at - loop.time()))  # behind: the next scan follows the answer at once
            scan_id = str(uuid.uuid4())
            times = run.times[scan_id] = ScanTimes(sent=loop.time())
            r = await client.post("/api/v1/scans/dispatch", json={"scan_id": scan_id, "label": label})
            while r.status_code == 202 or (r.status_code == 404 and times.outcome == "pending"):
                times.outcome = "pending"
                await asyncio.sleep(WATCH_S)
                r = await client.get(f"/api/v1/scans/{scan_id}")
            if r.status_code == 200:
                times.decided = loop.time()
                times.outcome = r.json()["decision"]
            else:
                times.outcome = f"http {r.status_code}"

    async def watch() -> None:
        while sending or any(t.visible is None and t.decided for t in run.times.values()):
            now = loop.time()
            if not sending and now > run.finished + settle_s:
                return
            waiting = [s for s, t in run.times.items() if t.visible is None and t.outcome in ("accepted", "rejected")]
            for start in range(0, len(waiting), 1000):
                async for doc in scan_index.find({"_id": {"$in": waiting[start : start + 1000]}}, {"_id": 1}):
                    run.times[doc["_id"]].visible = now
            await asyncio.sleep(WATCH_S)

    clients = [httpx.AsyncClient(base_url=url, timeout=60, headers={"Authorization": f"Bearer {t}"}) for t in tokens]
    try:
        watcher = asyncio.create_task(watch())
        run.started = loop.time()
        await asyncio.gather(*(device(i, c) for i, c in enumerate(clients)))
        run.finished = loop.time()
        sending = False
        await watcher
    finally:
        for c in clients:
            await c.aclose()
        await store.close()
    return run


def label_texts(signing_keys: str, public_url: str, assets: list[str]) -> list[tuple[str, str]]:
    """The label each laptop was registered with (generation 1, the first key)."""
    ring = labels.parse_keyring(signing_keys)
    issuer = LabelIssuer(ring, public_url)
    ref = LabelRef(generation=1, key_id=issuer.active_key_id)
    return [(a, issuer.url(a, ref)) for a in assets]


def highest_rate(
    attempt: Any, start_rate: float, *, limit_ms: float = 250.0, max_rate: float = 3200.0
) -> tuple[float, dict[str, float]]:
    """Doubles the rate from ``start_rate`` while p99 request → decided stays within
    ``limit_ms`` and the devices keep up (95 % of the rate sent); returns the highest
    rate that passed (0 if none) and each step's figures. ``attempt(rate)`` runs one step."""
    passed, steps, rate = 0.0, {}, start_rate
    while rate <= max_rate:
        t0 = time.perf_counter()
        run: ScanRun = attempt(rate)
        figures = run.figures(f"search_{rate:.0f}")
        steps.update(figures)
        ok = (
            figures[f"search_{rate:.0f}_decided_p99_ms"] <= limit_ms
            and figures[f"search_{rate:.0f}_sent_scans_s"] >= 0.95 * rate
            and figures[f"search_{rate:.0f}_not_decided"] == 0
        )
        steps[f"search_{rate:.0f}_wall_s"] = time.perf_counter() - t0
        if not ok:
            break
        passed, rate = rate, rate * 2
    return passed, steps
