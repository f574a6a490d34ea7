"""``serah demo``: a running stack filled with a national roll-out a newcomer can look at.

Everything goes through the gateway's API, as the people who do it would: laptops
registered in bulk (the operator), consignments planned to every office (the 514
regencies and cities and the 38 provinces), laptops scanned into them and dispatched (the
warehouse), most received with their conditions and a few not (the recipient offices), and a
few things an auditor should find: a laptop scanned as received that never left the
warehouse, a revoked label scanned, a consignment short of a laptop. Then the life after
receipt at a few offices: staff lists recorded and laptops handed to holders, one sent for
repair and still out, one back beyond repair and proposed for write-off, one reported stolen
and then scanned (it turned up), one moved to another office and received there. So the
histories, roll-ups, BASTs, berita acara and anomalies on the pages are the real ones.

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
    after_receipt: dict[str, int] = field(default_factory=dict)  # fact -> how many were accepted


@dataclass(frozen=True)
class Arrived:
    """A laptop an office confirmed receiving, with what the later facts need."""

    consignment_id: str
    office: str
    asset: str
    officials: list[dict[str, str]]


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

    async def decided(self, method: str, path: str, json: dict[str, Any], key: str | None = None) -> dict[str, Any]:
        """A command's answer once decided: ``pending`` is asked again (the same ids, or the
        same ``Idempotency-Key``: the same command) until the worker has ruled, as the
        scanning page does."""
        headers = {"Idempotency-Key": key} if key else {}
        for _ in range(60):
            r = await self.call(method, path, json=json, headers=headers)
            answer: dict[str, Any] = r.json()
            if answer.get("decision") != "pending":
                return answer
            await asyncio.sleep(0.5)
        raise RuntimeError(f"{method} {path}: still pending after 30 s; is the handover worker running?")

    async def at_office(self, asset: str) -> bool:
        """Waits until a received laptop is at its office in the views (a receipt may be
        answered ``202 pending`` before its dispatch is decided)."""
        for _ in range(120):
            view = (await self.call("GET", f"/api/v1/laptops/{asset}")).json()
            if view.get("status") == "received":
                return True
            await asyncio.sleep(0.5)
        return False

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
    arrived: list[Arrived] = []

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
            good = [line["asset_id"] for line in lines if line["condition"] == "B"]
            arrived.extend(Arrived(cid, p[1], a, officials) for a in good)

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
    await after_receipt(demo, tag, [a for a in arrived if a.asset not in received[:1]], labels, made)
    return made


async def after_receipt(demo: Demo, tag: str, arrived: list[Arrived], labels: dict[str, str], made: Rollout) -> None:
    """6. Life after receipt at the first offices that received: each records its staff list
    and hands a laptop to a holder; then one laptop each is sent for repair and left there,
    comes back beyond repair and is proposed for write-off (an operator signed in as
    themselves decides it: a device cannot), is reported stolen and then scanned (the
    auditor's ``scanned_while_lost``), and moves to another office that receives it."""
    by_office: dict[str, list[Arrived]] = {}
    for a in arrived:
        by_office.setdefault(a.office, []).append(a)
    offices = sorted(by_office)[:4]
    if not offices:
        return
    took = [by_office[o].pop(0) for o in offices]
    units = [a for o in offices for a in by_office[o]]  # the laptops left for the other facts
    ready = await demo.each("waiting for receipts", [a.asset for a in took + units[:4]], demo.at_office)
    if not all(ready):
        raise RuntimeError("received laptops did not reach their offices in the views; is the audit worker running?")

    def done(fact: str, answer: dict[str, Any]) -> bool:
        ok = answer.get("decision") in ("accepted", "duplicate")
        if ok:
            made.after_receipt[fact] = made.after_receipt.get(fact, 0) + 1
        return ok

    async def hand_out(a: Arrived) -> None:
        staff = [{**demo.person(), "unit": unit} for unit in ("Sekretariat", "Bidang Politik", "Subbagian Umum")]
        r = await demo.call("POST", f"/api/v1/offices/{a.office}/roster", json={"members": staff})
        if r.is_success:
            made.after_receipt["staff_list"] = made.after_receipt.get("staff_list", 0) + 1
        body = {"request_id": f"demo-assign-{a.asset}", "holder": staff[0], "assigned_by": a.officials[0]}
        done("assigned", await demo.decided("POST", f"/api/v1/laptops/{a.asset}/holder", body))

    await demo.each("handing laptops to holders", took, hand_out)

    def scan(a: Arrived, what: str, **fields: Any) -> dict[str, Any]:
        return {"scan_id": f"demo-{what}-{a.asset}", "label": labels[a.asset], **fields}

    out = {"vendor": "CV Mitra Servis Nusantara", "reason": "Layar mati", "condition": "RR"}
    if units:  # sent for repair, still there
        a = units.pop(0)
        done("in_repair", await demo.decided("POST", "/api/v1/scans/repair-out", scan(a, "repair", **out)))
    if units:  # back beyond repair, proposed for write-off
        a = units.pop(0)
        if done("repaired", await demo.decided("POST", "/api/v1/scans/repair-out", scan(a, "repair", **out))):
            back = scan(a, "back", condition="RB", note="Motherboard rusak, tidak ekonomis diperbaiki")
            if done("back_from_repair", await demo.decided("POST", "/api/v1/scans/repair-back", back)):
                proposal = {"request_id": f"demo-woff-{a.asset}", "reason": "beyond_repair", "proposer": a.officials[0]}
                done("write_off_proposed", await demo.decided("POST", f"/api/v1/laptops/{a.asset}/write-off", proposal))
    if units:  # stolen, then its label scanned: the auditor sees it turn up
        a = units.pop(0)
        report = {
            "request_id": f"demo-loss-{a.asset}",
            "kind": "stolen",
            "circumstances": "Dicuri dari mobil dinas saat perjalanan dinas",
            "police_report": f"LP/B/{demo.rng.randrange(100, 999)}/XI/2026",
        }
        if done("lost", await demo.decided("POST", f"/api/v1/laptops/{a.asset}/loss", report)):
            await demo.call("POST", "/api/v1/scans/attestation", json=scan(a, "found"))
            made.anomalies.append(f"{a.asset}: scanned after it was reported stolen")
    if units and len(offices) > 1:  # moved to another office, which receives it
        a = units.pop(0)
        await transfer(demo, tag, a, next(o for o in offices if o != a.office), labels[a.asset], made)


async def transfer(demo: Demo, tag: str, a: Arrived, to: str, label: str, made: Rollout) -> None:
    """A mutasi: planned by the giving office, scanned out and closed there, received at the other."""
    cid = f"{tag}-MUT-{a.office}-{to}"
    official = demo.person()
    body: dict[str, Any] = {
        "consignment_id": cid,
        "from_office": a.office,
        "office_code": to,
        "officials": [official],
        "legal_basis": {
            "kind": "transfer_decree",
            "number": f"KEP-MUT-{demo.rng.randrange(10, 99)}/2026",
            "date": "2026-11-02",
        },
        "expected": [a.asset],
    }
    r = await demo.call("POST", "/api/v1/transfers", json=body)
    code = r.json().get("receipt_code") if r.status_code in (200, 201) else None
    if code is None:
        return
    made.consignments[cid] = "planned"
    await demo.decided("POST", f"/api/v1/transfers/{cid}/scans", {"scan_id": f"demo-mut-{a.asset}", "label": label})
    closed = await demo.decided(
        "POST", f"/api/v1/transfers/{cid}/close", {"dispatcher": a.officials[0]}, key=f"close-{cid}"
    )
    if closed.get("decision") != "accepted":
        return
    made.consignments[cid] = "in_transit"
    receipt = {
        "receipt_id": f"demo-{cid}",
        "official": official,
        "receipt_code": code,
        "lines": [{"asset_id": a.asset, "condition": "B", "note": ""}],
        "missing": [],
    }
    answer = await demo.decided("POST", f"/api/v1/consignments/{cid}/receipt", receipt)
    if answer.get("decision") in ("accepted", "duplicate"):
        made.consignments[cid] = "received"
        made.after_receipt["transferred"] = 1


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
