"""``serah bench-national``: the reads a national roll-out leans on, measured at
growing sizes of one store, and extrapolated to 1.2 million laptops.

Each step adds laptops with their whole lifecycle to the store through the
product's own bulk write paths, the ones ``serah rebuild`` and the workers' batches
use: every fact made with the catalogue's constructors, chained with the audit's
link hash (``MongoEventLog``'s documents, written by ``insert_many``), each chain's
view folded by the audit's own ``domain.view`` and written by ``MongoViews.replace_all``,
each consignment's handover stream folded by the handover's ``consignment.evolve``
and written by ``MongoStreamStore.append_many``. Deciding the commands (Kafka and
the workers) is skipped: ``serah bench`` measures that path's throughput.

A laptop: registered, allocated to one of the 552 offices in a consignment of 25,
scanned into it, dispatched, then (nine consignments in ten) received with a BAST
and attested in use; the tenth stays in transit for the late-receipt sweep. About
six events per laptop, as the roll-out's ~7 million events for 1.2 million.

Then, per size: a laptop's audit timeline and its history (the store reads and
the chain verdict of those routes), an office's laptop list (the first page of
what a label sheet of one office selects), every office's counters recounted (as ``serah rebuild``
does), the national roll-up from them and, as its check, recounted from every
view, the late-receipt sweep (one that
raises nothing: the steady state), a signed checkpoint, the JSON Lines export of
everything and ``serah verify``'s offline check of it."""

from __future__ import annotations

import asyncio
import json
import math
import random
import secrets
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import typer

N_NATIONAL = 1_200_000
PER_CONSIGNMENT = 25
IN_TRANSIT_EVERY = 10  # one consignment in ten is still on its way


class _Discard:
    """The sweep's publisher: a sweep that raises nothing publishes nothing."""

    async def publish(self, envelopes: Any) -> None:
        return None


def _q(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else math.nan
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


async def _timed_each(items: list[Any], call: Callable[[Any], Awaitable[Any]]) -> list[float]:
    """Each call alone, one after another (a person waiting for a page): seconds each."""
    out = []
    for item in items:
        start = time.perf_counter()
        await call(item)
        out.append(time.perf_counter() - start)
    return out


class _World:
    """The synthetic roll-out: makes the facts of laptops [lo, hi) and writes them."""

    def __init__(self, db: Any, run: str) -> None:
        from events import labels, offices
        from services.audit.adapters import mongo as audit_mongo
        from services.audit.bootstrap import bootstrap as audit_bootstrap
        from services.audit.config import AuditSettings
        from services.handover.adapters import mongo as handover_mongo

        self.db = db
        self.run = run
        self.seed = secrets.token_bytes(32)
        settings = AuditSettings(audit_signing_key=labels.format_keyring({"N1": self.seed}))
        self.audit = audit_bootstrap(settings, **audit_mongo.stores(db))
        self.handover_consignments = handover_mongo.consignment_store(db)
        self.offices = [o for o in offices.all_offices()]
        self.start = datetime.now(UTC) - timedelta(days=60)
        self.assets: list[str] = []
        self.consignments: list[str] = []
        self.in_transit: list[str] = []

    def keys(self) -> dict[str, bytes]:
        from events import labels

        return {"N1": labels.public_key(self.seed)}

    async def add(self, lo: int, hi: int) -> int:
        """Writes laptops [lo, hi) (hi a multiple of 25); returns the events written."""
        from events import codec, labels
        from events.catalog import (
            ConsignmentDispatched,
            ConsignmentPlanned,
            LabelRef,
            LaptopAllocated,
            LaptopDescription,
            LaptopDispatched,
            LaptopReceived,
            LaptopRegistered,
            LaptopScannedIntoConsignment,
            LegalBasis,
            Official,
            ReceiptConfirmed,
            ReceiptLine,
            Specs,
            UsageAttested,
        )
        from services.audit import domain
        from services.audit.adapters import mongo as audit_mongo
        from services.common.streams import Append
        from services.handover import consignment as hc

        official = Official(name="Bench Official", nip="198001012005011001", jabatan="Kepala")
        legal = LegalBasis(kind="contract", number="KONTRAK/BENCH/1", date="2026-01-01")
        specs = Specs(cpu="i5", ram_gb=8, storage_gb=256)
        code_hash = "hmac-sha256:R1:" + "0" * 64
        links: list[dict[str, Any]] = []
        views: list[dict[str, Any]] = []
        appends: list[Append] = []
        unconfirmed: list[str] = []

        def chain(subject: str, facts: list[tuple[Any, datetime]]) -> list[Any]:
            prev = domain.GENESIS
            events, ids = [], []
            for seq, (body, at) in enumerate(facts, start=1):
                e = codec.make(body, subject=subject, source="/bench", time=at, id=f"{subject}-{seq}", actor="bench")
                h = domain.link_hash(prev, e)
                links.append(audit_mongo.log_entry(subject, seq, prev, h, e))
                events.append(e)
                ids.append(e.id)
                prev = h
            view = domain.view(subject, events, self.audit.thresholds)
            views.append({"_id": subject, **view, "seq": len(events), "head_hash": prev, "event_ids": ids})
            return events

        for k in range(lo // PER_CONSIGNMENT, hi // PER_CONSIGNMENT):
            office = self.offices[k % len(self.offices)]
            cid = f"N{self.run}{k:07d}"
            received = k % IN_TRANSIT_EVERY != 0
            t = self.start + timedelta(minutes=k % 1440)
            at = {
                "registered": t,
                "allocated": t + timedelta(hours=1),
                "scanned": t + timedelta(days=2),
                "dispatched": t + timedelta(days=2, hours=1) if received else datetime.now(UTC) - timedelta(days=1),
                "received": t + timedelta(days=5),
                "attested": t + timedelta(days=20),
            }
            assets = []
            for i in range(k * PER_CONSIGNMENT, (k + 1) * PER_CONSIGNMENT):
                serial = f"NB{self.run}{i:08d}"
                asset = labels.asset_id_for_serial(serial)
                assets.append(asset)
                facts: list[tuple[Any, datetime]] = [
                    (
                        LaptopRegistered(
                            laptop=LaptopDescription(serial=serial, brand="HP", model="ProBook", specs=specs),
                            label=LabelRef(generation=1, key_id="K1"),
                        ),
                        at["registered"],
                    ),
                    (
                        LaptopAllocated(office_code=office.code, office_name=office.name, consignment_id=cid),
                        at["allocated"],
                    ),
                    (LaptopDispatched(office_code=office.code, consignment_id=cid), at["dispatched"]),
                ]
                if received:
                    facts += [
                        (LaptopReceived(office_code=office.code, condition="B"), at["received"]),
                        (UsageAttested(office_code=office.code, condition="B"), at["attested"]),
                    ]
                chain(asset, facts)
            self.assets += assets
            cfacts: list[tuple[Any, datetime]] = [
                (
                    ConsignmentPlanned(
                        office_code=office.code,
                        office_name=office.name,
                        officials=[official],
                        legal_basis=legal,
                        expected=assets,
                        receipt_code_hash=code_hash,
                    ),
                    at["allocated"],
                ),
                *((LaptopScannedIntoConsignment(asset_id=a), at["scanned"]) for a in assets),
                (
                    ConsignmentDispatched(office_code=office.code, dispatched=assets, dispatcher=official),
                    at["dispatched"],
                ),
            ]
            if received:
                cfacts.append(
                    (
                        ReceiptConfirmed(
                            office_code=office.code,
                            official=official,
                            seq=1,
                            bast_number=f"001/BAST/{cid}/{office.code}/2026",
                            lines=[ReceiptLine(asset_id=a) for a in assets],
                            missing=[],
                            complete=True,
                            confirmed_at=codec.format_time(at["received"]),
                            bast_sha256="0" * 64,
                        ),
                        at["received"],
                    )
                )
            else:
                unconfirmed.append(cid)
            events = chain(cid, cfacts)
            self.consignments.append(cid)
            # handover learns the plan, the dispatch and its own receipt (not the scans)
            learnt = [e for e in events if e.type != LaptopScannedIntoConsignment.TYPE]
            state = hc.initial(cid)
            for e in learnt:
                state = hc.evolve(state, e)
            appends.append(Append(cid, 0, learnt, hc.summary(state)))

        for start in range(0, len(links), 2000):
            await self.db.event_log.insert_many(links[start : start + 2000], ordered=False)
        await self.audit.views.replace_all(views)
        for start in range(0, len(appends), 500):
            lost = await self.handover_consignments.append_many(appends[start : start + 500])
            if lost:
                raise RuntimeError(f"{len(lost)} consignment streams existed already")
        for cid in unconfirmed:
            await self.audit.views.list_unconfirmed(cid, True)
        self.in_transit += unconfirmed
        return len(links)


async def _measure(world: _World, n: int, samples: int) -> dict[str, float]:
    from events import proofs
    from services.audit import handlers as audit_handlers
    from services.gateway import rollups
    from services.gateway.adapters.audit_reads import AuditReads
    from services.gateway.adapters.mongo import ReadModels
    from services.gateway.api import label_sheets
    from services.handover import handlers as handover_handlers
    from services.handover.adapters import mongo as handover_mongo
    from services.handover.bootstrap import bootstrap as handover_bootstrap
    from services.handover.config import HandoverSettings

    db, keys = world.db, world.keys()
    reads, audit = ReadModels(db), AuditReads(db)
    out: dict[str, float] = {"laptops": float(n)}
    rng = random.Random(n)
    start = time.perf_counter()
    await audit_handlers.take_checkpoint(world.audit)
    out["checkpoint_s"] = time.perf_counter() - start

    async def timeline(asset: str) -> None:  # GET /api/v1/audit/laptops/{id}/timeline: its reads and verdict
        links = await audit.chain(asset)
        assert links, asset
        await audit.verdict(asset, links, keys)

    async def history(asset: str) -> None:  # GET /api/v1/laptops/{id}/history
        links = await reads.history(asset)
        assert links, asset
        await audit.verdict(asset, links, keys)

    async def office_list(code: str) -> None:  # GET /api/v1/labels?office_code=…: its first page
        await reads.label_views({"office_code": code, "_id": {"$gt": ""}}, label_sheets.PAGE + 1)

    picked = rng.sample(world.assets, min(samples, len(world.assets)))
    for name, call, items in (
        ("timeline", timeline, picked),
        ("history", history, picked),
        ("office_list", office_list, [o.code for o in rng.sample(world.offices, min(samples, len(world.offices)))]),
    ):
        seconds = await _timed_each(items, call)
        out[f"{name}_p50_ms"] = _q(seconds, 50) * 1000
        out[f"{name}_p99_ms"] = _q(seconds, 99) * 1000

    # The laptops were written as `serah rebuild` writes them; so are the offices' counters.
    start = time.perf_counter()
    await audit_handlers.recount_every_office(world.audit, {o.code for o in world.offices})
    out["recount_offices_s"] = time.perf_counter() - start
    now = datetime.now(UTC)
    start = time.perf_counter()  # GET /api/v1/audit/rollups: the offices' counters
    rolled = rollups.counted_rollup(await audit.office_counters(None), now)
    out["rollup_s"] = time.perf_counter() - start
    start = time.perf_counter()  # the check: the same recounted from every laptop view
    recounted = rollups.rollup(await audit.views(None), now)
    out["rollup_recount_s"] = time.perf_counter() - start
    planned = sum(p["totals"]["planned"] for p in rolled)
    if planned != n:
        raise RuntimeError(f"roll-up counted {planned} laptops of {n}")
    if rolled != recounted:
        raise RuntimeError("the offices' counters differ from a recount of the views")

    settings = HandoverSettings(receipt_code_keys=f"R1:{'A' * 43}")
    rt = handover_bootstrap(
        settings,
        publisher=_Discard(),
        laptops=handover_mongo.laptop_store(db),
        consignments=world.handover_consignments,
        basts=handover_mongo.bast_store(db),
        held=handover_mongo.held_receipts(db),
        documents=handover_mongo.document_store(db),
        rosters=handover_mongo.roster_store(db),
    )
    start = time.perf_counter()
    raised = await handover_handlers.sweep_late_receipts(rt)
    out["sweep_s"] = time.perf_counter() - start
    out["sweep_consignments_late"] = float(len(world.in_transit))
    if raised:
        raise RuntimeError(f"the sweep raised {len(raised)} reminders; none is due")

    start = time.perf_counter()
    lines = [line async for line in audit.export_lines()]
    took = time.perf_counter() - start
    events = sum(1 for line in lines if line.get("kind") == "event")
    out["events"] = float(events)
    out["export_events_s"] = events / took
    out["export_s"] = took
    start = time.perf_counter()
    report = proofs.verify_export(lines, keys)
    out["verify_s"] = time.perf_counter() - start
    out["verify_events_s"] = events / out["verify_s"]
    if not report.intact:
        raise RuntimeError(f"verify: not intact: {report.findings[:3]}")
    return out


# (key, what, unit)
FIGURES: list[tuple[str, str, str]] = [
    ("timeline_p99_ms", "a laptop's audit timeline, p99 (log by laptop + chain verdict)", "ms"),
    ("history_p99_ms", "a laptop's history, p99 (view's event ids + chain verdict)", "ms"),
    ("office_list_p99_ms", "an office's laptop list, a page of 100, p99", "ms"),
    ("rollup_s", "national roll-up (the offices' counters)", "s"),
    ("rollup_recount_s", "the same recounted from every view (the check)", "s"),
    ("recount_offices_s", "every office's counters recounted (what `serah rebuild` adds)", "s"),
    ("sweep_s", "late-receipt sweep (raising none)", "s"),
    ("checkpoint_s", "signed checkpoint of every chain", "s"),
    ("export_events_s", "export of everything", "events/s"),
    ("export_s", "export of everything", "s"),
    ("verify_events_s", "serah verify of the export", "events/s"),
    ("verify_s", "serah verify of the export", "s"),
]


def _growth(rows: list[dict[str, float]], key: str, rate: bool = False) -> tuple[float, float]:
    """The exponent k of figure ∝ laptops^k (least squares over every size, in logs),
    and the figure extrapolated from the largest size to 1.2 million laptops with it.
    More data never makes a read cheaper: a time that fell with size (warm-up, a busy
    machine) is taken as flat, and so is a rate that rose."""
    points = [(math.log(r["laptops"]), math.log(r[key])) for r in rows if r.get(key, 0) > 0]
    if len(points) < 2:
        return math.nan, math.nan
    mx = statistics.fmean(x for x, _ in points)
    my = statistics.fmean(y for _, y in points)
    k = sum((x - mx) * (y - my) for x, y in points) / sum((x - mx) ** 2 for x, _ in points)
    last = rows[-1]
    kept = min(k, 0.0) if rate else max(k, 0.0)
    return k, last[key] * (N_NATIONAL / last["laptops"]) ** kept


def bench_national(
    sizes: str = typer.Option("5000,15000,45000", help="Laptops in the store at each measure, growing."),
    samples: int = typer.Option(200, help="Laptops (and offices) read for each p99."),
    mongo_url: str | None = typer.Option(
        None, envvar="SERAH_BENCH_MONGO_URL", help="Use this store instead of starting one."
    ),
) -> None:
    """Load laptops with whole lifecycles at growing sizes and measure timeline, office
    list, roll-up, late-receipt sweep, export and verify; extrapolate to 1.2 million."""
    from rich.console import Console
    from rich.table import Table

    from deploy.local.tools import data_dir, repo_root
    from services.common.mongo import connect

    steps = sorted({(int(s) // PER_CONSIGNMENT) * PER_CONSIGNMENT for s in sizes.split(",") if s.strip()})
    if len(steps) < 2 or steps[0] <= 0:
        raise typer.BadParameter("give at least two sizes of 25 laptops or more", param_hint="--sizes")
    console = Console(width=max(Console().width, 150))
    store = None
    kind = "external store"
    if mongo_url is None:
        import tempfile

        from deploy.local.store import start_store

        data = Path(tempfile.mkdtemp(prefix="bench-national-", dir=data_dir()))
        store = start_store(data / "store", prefer_external=False)
        mongo_url, kind = store.url, store.kind
    name = f"bench_national_{uuid.uuid4().hex[:6]}"
    rows: list[dict[str, float]] = []

    async def run() -> None:
        client, db = connect(mongo_url, name)
        try:
            world = _World(db, uuid.uuid4().hex[:4].upper())
            await world.audit.log.ensure_indexes()
            await world.audit.views.ensure_indexes()
            await world.audit.checkpoints.ensure_indexes()
            await world.handover_consignments.ensure_indexes()
            have = 0
            for n in steps:
                console.print(f"loading laptops {have + 1}–{n}…")
                start = time.perf_counter()
                written = await world.add(have, n)
                loaded = time.perf_counter() - start
                console.print(f"  {written} events in {loaded:.1f} s; measuring…")
                have = n
                row = await _measure(world, n, samples)
                row["load_events_s"] = written / max(loaded, 1e-9)
                rows.append(row)
                console.print("  " + ", ".join(f"{k} {v:,.1f}" for k, v in row.items()))
            await client.drop_database(name)
        finally:
            await client.close()

    started = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    try:
        asyncio.run(run())
    finally:
        if store is not None:
            store.stop()
    table = Table(title=f"National scale ({kind}); extrapolated to {N_NATIONAL:,} laptops")
    table.add_column("measure")
    for row in rows:
        table.add_column(f"{int(row['laptops']):,} laptops\n{int(row['events']):,} events", justify="right")
    table.add_column("growth k\n(∝ laptops^k)", justify="right")
    table.add_column(f"at {N_NATIONAL / 1e6:.1f} M", justify="right")
    results: dict[str, Any] = {"store_kind": kind, "started": started, "sizes": rows, "extrapolated": {}}
    for key, what, unit in FIGURES:
        k, at_national = _growth(rows, key, rate=unit.endswith("/s"))
        results["extrapolated"][key] = {"k": k, "value": at_national}
        table.add_row(f"{what}, {unit}", *(f"{r[key]:,.1f}" for r in rows), f"{k:.2f}", f"{at_national:,.1f}")
    console.print(table)
    out = repo_root() / "bench-results"
    out.mkdir(exist_ok=True)
    path = out / f"bench-national-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    console.print(f"saved {path}")
