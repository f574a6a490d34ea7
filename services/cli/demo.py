"""``serah demo``: a running stack filled with a national roll-out a newcomer can look at.

Everything goes through the gateway's API, as the people who do it would: laptops
registered in bulk (the operator), consignments planned to every office (the 514
regencies and cities and the 38 provinces), laptops scanned into them and dispatched (the
warehouse), most received with their conditions and a few not (the recipient offices), and a
few things an auditor should find: a laptop scanned as received that never left the
warehouse, a revoked label scanned, a consignment short of a laptop. So the histories, roll-ups,
BASTs and anomalies on the pages are the real ones.

It acts as a device it enrols from the server's shell (``demo``, operator + warehouse +
recipient), unless ``SERAH_TOKEN`` names one. Ids are drawn from ``--seed``: running it
again with another seed adds another roll-out beside the first."""

from __future__ import annotations

import asyncio
import random
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import httpx
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

FIRST = ["Andi", "Siti", "Budi", "Nurul", "Agus", "Dewi", "Made", "Rina", "Yohanes", "Fitri", "Hendra", "Wayan"]
LAST = ["Pratama", "Hidayah", "Santoso", "Wulandari", "Siregar", "Nainggolan", "Saputra", "Lestari", "Manurung"]
JABATAN = ["Kepala Badan Kesbangpol", "Sekretaris Badan", "Kepala Subbagian Umum", "Kepala Bidang Politik"]
MODELS = [
    ("Lenovo", "ThinkPad E14 Gen 5"),
    ("HP", "ProBook 440 G10"),
    ("Acer", "TravelMate P214"),
    ("Asus", "ExpertBook B1"),
]
CONCURRENCY = 8


@dataclass
class Rollout:
    """What was made, for the summary at the end."""

    laptops: int = 0
    consignments: dict[str, str] = field(default_factory=dict)  # id -> its state now
    anomalies: list[str] = field(default_factory=list)


class Demo:
    def __init__(self, api: httpx.AsyncClient, rng: random.Random, progress: Progress) -> None:
        self.api, self.rng, self.progress = api, rng, progress
        self.limit = asyncio.Semaphore(CONCURRENCY)

    async def call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request, retried as a scanner would: after a 429 or 503 when told, after a lost connection."""
        async with self.limit:
            for attempt in range(8):
                try:
                    r = await self.api.request(method, path, **kwargs)
                except httpx.TransportError:
                    await asyncio.sleep(0.5 * (attempt + 1))
                    continue
                if r.status_code not in (429, 503):
                    return r
                await asyncio.sleep(min(float(r.headers.get("retry-after", "1")), 10.0))
            raise RuntimeError(f"{method} {path}: the gateway kept refusing ({r.status_code}); is the stack healthy?")

    async def each(self, what: str, items: Iterable[Any], step: Callable[[Any], Awaitable[Any]]) -> list[Any]:
        todo = list(items)
        task = self.progress.add_task(what, total=len(todo))

        async def one(item: Any) -> Any:
            result = await step(item)
            self.progress.advance(task)
            return result

        return await asyncio.gather(*(one(i) for i in todo))

    def person(self) -> dict[str, str]:
        born = date(1970, 1, 1) + timedelta(days=self.rng.randrange(25 * 365))
        nip = f"{born:%Y%m%d}{self.rng.randrange(2000, 2024)}{self.rng.randrange(1, 13):02d}{self.rng.randrange(1, 3)}"
        nip += f"{self.rng.randrange(1, 999):03d}"
        return {
            "name": f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}",
            "nip": nip[:18],
            "jabatan": self.rng.choice(JABATAN),
        }


async def fill(api: httpx.AsyncClient, laptops: int, offices: int | None, seed: int, progress: Progress) -> Rollout:
    demo, rng, made = Demo(api, random.Random(seed), progress), random.Random(seed), Rollout()
    tag = f"D{seed}"
    every = (await demo.call("GET", "/api/v1/offices")).json()
    chosen = every if offices is None else rng.sample(every, min(offices, len(every)))

    # 1. The operator registers the laptops, 500 to a request.
    rows = []
    for n in range(laptops):
        brand, model = rng.choice(MODELS)
        rows.append(
            {
                "serial": f"{tag}X{n:06d}{rng.randrange(16**4):04X}",
                "brand": brand,
                "model": model,
                "specs": {"cpu": "Intel Core i5-1335U", "ram_gb": rng.choice([8, 16]), "storage_gb": 512},
                "bmn": {
                    "kode_barang": "3100102001",
                    "nup": n + 1,
                    "acquisition_year": 2026,
                    "acquisition_value": 9_850_000,
                },
            }
        )

    async def register(batch: list[dict[str, Any]]) -> list[str]:
        r = await demo.call("POST", "/api/v1/laptops/bulk", json={"laptops": batch, "batch": f"demo-{seed}"})
        r.raise_for_status()
        return [
            x["asset_id"] for x in r.json()["results"] if x["result"] in ("registered", "already_present", "pending")
        ]

    batches = [rows[i : i + 500] for i in range(0, len(rows), 500)]
    assets = [a for got in await demo.each("registering laptops", batches, register) for a in got]
    made.laptops = len(assets)

    async def label(asset: str) -> tuple[str, str]:
        for _ in range(120):  # the label appears once the registration is recorded
            view = (await demo.call("GET", f"/api/v1/laptops/{asset}")).json()
            if view.get("label_url"):
                return asset, str(view["label_url"])
            await asyncio.sleep(0.5)
        raise RuntimeError(f"{asset} got no label: is the allocation worker running?")

    labels = dict(await demo.each("reading labels", assets, label))

    # 2. Consignments: a few laptops to each office, each planned with its officials.
    rng.shuffle(assets)
    per = max(1, len(assets) // max(1, len(chosen)))
    plans = []
    for i, office in enumerate(chosen):
        units = assets[i * per : (i + 1) * per]
        if units:
            plans.append((f"{tag}-{office['code']}-{i:03d}", office["code"], units, [demo.person(), demo.person()]))

    async def plan(p: tuple[str, str, list[str], list[dict[str, str]]]) -> tuple[str, str | None]:
        cid, office, units, officials = p
        body = {
            "consignment_id": cid,
            "office_code": office,
            "officials": officials,
            "legal_basis": {
                "kind": "allocation_decree",
                "number": f"KEP-{rng.randrange(100, 999)}/SJ/2026",
                "date": "2026-10-01",
            },
            "expected": units,
        }
        r = await demo.call("POST", "/api/v1/consignments", json=body)
        return cid, r.json().get("receipt_code") if r.status_code in (200, 201) else None

    codes = dict(await demo.each("planning consignments", plans, plan))
    dispatcher = demo.person()

    # 3. The warehouse scans each consignment's laptops in and closes it; a tenth stay at
    #    the warehouse, and one consignment leaves a laptop behind (it arrives short).
    leaving = [p for p in plans if rng.random() > 0.1]
    short = leaving[0][0] if leaving else None

    async def dispatch(p: tuple[str, str, list[str], list[dict[str, str]]]) -> None:
        cid, _, units, _ = p
        for asset in units[:-1] if cid == short and len(units) > 1 else units:
            await demo.call(
                "POST", f"/api/v1/consignments/{cid}/scans", json={"scan_id": f"{cid}-{asset}", "label": labels[asset]}
            )
        await demo.call(
            "POST",
            f"/api/v1/consignments/{cid}/close",
            json={"dispatcher": dispatcher},
            headers={"Idempotency-Key": f"close-{cid}"},
        )
        made.consignments[cid] = "in_transit"

    for p in plans:
        made.consignments[p[0]] = "planned"
    await demo.each("dispatching", leaving, dispatch)

    # 4. Most offices confirm receipt, with a laptop or two not in good condition.
    arriving = [p for p in leaving if rng.random() < 0.75 and codes.get(p[0])]

    async def receive(p: tuple[str, str, list[str], list[dict[str, str]]]) -> None:
        cid, _, units, officials = p
        sent = units[:-1] if cid == short and len(units) > 1 else units
        lines = [{"asset_id": a, "condition": rng.choices(["B", "RR", "RB"], [90, 8, 2])[0], "note": ""} for a in sent]
        for line in lines:
            if line["condition"] != "B":
                line["note"] = rng.choice(["Engsel longgar", "Layar tergores", "Baterai tidak mengisi"])
        body = {
            "receipt_id": f"demo-{cid}",
            "official": officials[0],
            "receipt_code": codes[cid],
            "lines": lines,
            "missing": [],
        }
        r = await demo.call("POST", f"/api/v1/consignments/{cid}/receipt", json=body)
        if r.status_code in (200, 202):
            made.consignments[cid] = "received"

    await demo.each("receiving", arriving, receive)

    # 5. What an auditor should find: a laptop still at the warehouse scanned as received
    #    at an office, and a laptop's old label scanned after it was replaced.
    spare = {**rows[0], "serial": f"{tag}S{rng.randrange(16**6):06X}"}  # registered, never allocated or sent
    r = await demo.call("POST", "/api/v1/laptops/bulk", json={"laptops": [spare], "batch": f"demo-{seed}"})
    [early] = [x["asset_id"] for x in r.json()["results"]]
    early_label = (await label(early))[1]
    await demo.call("POST", "/api/v1/scans/receipt", json={"scan_id": f"demo-early-{early}", "label": early_label})
    made.anomalies.append(f"{early}: received but never dispatched")
    received = [a for p in arriving for a in p[2][:1]]
    if received:
        lost = received[0]
        r = await demo.call(
            "POST", f"/api/v1/laptops/{lost}/label/reissue", json={"reason": "lost", "note": "Stiker hilang"}
        )
        if r.is_success:
            old = {"scan_id": f"demo-old-{lost}", "label": labels[lost]}
            await demo.call("POST", "/api/v1/scans/attestation", json=old)
            made.anomalies.append(f"{lost}: its revoked label scanned")
    return made


def run(url: str, token: str, laptops: int, offices: int | None, seed: int) -> Rollout:
    async def go() -> Rollout:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=60) as api:
            with Progress(
                TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn()
            ) as progress:
                return await fill(api, laptops, offices, seed, progress)

    return asyncio.run(go())


def new_seed() -> int:
    return uuid.uuid4().int % 10_000
