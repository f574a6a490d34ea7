"""Roll-ups agree exactly with a recomputation from raw events over thousands of
laptops in several provinces, and the counters the audit keeps per office with a
recount of the views; rebuilt views and counters equal the live ones. Real store."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import timedelta
from typing import Any

import pytest
import typer

from deploy.local.stack import Stack
from events.catalog import (
    AnomalyDetected,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    UsageAttested,
)
from events.envelope import Envelope
from services.audit import domain, handlers
from services.audit.adapters import mongo as audit_mongo
from services.audit.bootstrap import bootstrap
from services.cli import audit_ops
from services.common.mongo import connect
from services.gateway import rollups
from tests.audit_data import event, laptop_history, spread
from tests.builders import NOW

PROVINCES = ("11", "32", "53", "74", "91")
LAPTOPS = 3000
AT = NOW + timedelta(days=200)


def histories(n: int, seed: int) -> list[list[Envelope]]:
    rnd = random.Random(seed)
    out = []
    for office, stage in spread(n, PROVINCES, seed):
        start = NOW - timedelta(days=rnd.randint(0, 300))
        attested = start + timedelta(days=rnd.randint(5, 200))
        asset, events = laptop_history(office, stage, start=start, attested_at=attested)
        if rnd.random() < 0.1:
            events.append(
                event(
                    AnomalyDetected(rule="received_twice", detail="test", office_code=office),
                    asset,
                    events[-1].time + timedelta(minutes=1),
                )
            )
        out.append(events)
    return out


def run(infra: Stack, name: str, fn: Any) -> Any:
    async def go() -> Any:
        assert infra.store is not None
        client, db = connect(infra.store.url, name)
        try:
            return await fn(db, bootstrap(None, **audit_mongo.stores(db)))
        finally:
            await client.close()

    return asyncio.run(go())


def recompute(all_events: list[list[Envelope]], now: Any) -> dict[str, dict[str, int]]:
    """Straight from the raw events, without the views or the roll-up code."""
    out: dict[str, dict[str, int]] = {}
    for events in all_events:
        types = [e.type for e in events]
        alloc = next((e for e in events if e.type == LaptopAllocated.TYPE), None)
        if alloc is None:
            continue
        row = out.setdefault(alloc.data["office_code"], dict.fromkeys(rollups.COUNTERS, 0))
        disp = next((e for e in events if e.type == LaptopDispatched.TYPE), None)
        recv = next((e for e in events if e.type == LaptopReceived.TYPE), None)
        att = [e for e in events if e.type == UsageAttested.TYPE]
        row["planned"] += 1
        row["dispatched"] += disp is not None
        row["in_transit"] += disp is not None and recv is None
        row["received"] += recv is not None
        row["missing"] += disp is not None and recv is None and now - disp.time > timedelta(days=14)
        if recv is not None:
            base = att[-1].time if att else recv.time
            overdue = now - base > timedelta(days=90)
            row["overdue"] += overdue
            row["in_use"] += bool(att) and att[-1].data.get("in_use", True) and not overdue
        row["anomalies"] += types.count(AnomalyDetected.TYPE)
    return out


def test_rollups_agree_exactly_with_a_recomputation_from_raw_events(infra: Stack) -> None:
    name = f"rollup_{uuid.uuid4().hex[:8]}"
    data = histories(LAPTOPS, seed=11)

    async def load(db: Any, rt: handlers.AuditRuntime) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        # Bulk: the same chain links the audit handler writes, inserted in batches.
        docs = []
        for events in data:
            prev = domain.GENESIS
            for seq, e in enumerate(events, start=1):
                h = domain.link_hash(prev, e)
                docs.append(audit_mongo.log_entry(e.subject, seq, prev, h, e))
                prev = h
        for i in range(0, len(docs), 2000):
            await db.event_log.insert_many(docs[i : i + 2000], ordered=False)
        await handlers.rebuild_views(rt)
        return [d async for d in db.laptop_views.find({})], [d async for d in db.office_counters.find({})]

    views, kept = run(infra, name, load)
    assert len(views) == LAPTOPS
    got = rollups.rollup(views, AT)  # due moments by the audit's thresholds: 14 days in transit, 90 to attest
    assert {p["code"] for p in got} == set(PROVINCES)
    by_office = {o["code"]: {k: o[k] for k in rollups.COUNTERS} for p in got for o in p["offices"]}
    assert by_office == recompute(data, AT)
    for p in got:  # province totals are the sum of their offices
        assert p["totals"] == {k: sum(o[k] for o in p["offices"]) for k in rollups.COUNTERS}
    assert sum(p["totals"]["planned"] for p in got) > 2000 and sum(p["totals"]["overdue"] for p in got) > 0
    for at in (NOW, NOW + timedelta(days=20), AT):  # the kept counters, at moments either side of the due ones
        assert rollups.counted_rollup(kept, at) == rollups.rollup(views, at)


@pytest.mark.parametrize("laptops", [40])
def test_a_rebuilt_view_equals_the_live_one(infra: Stack, laptops: int) -> None:
    name = f"rebuild_{uuid.uuid4().hex[:8]}"
    data = histories(laptops, seed=3)

    async def counted(db: Any) -> list[dict[str, Any]]:
        return sorted(
            [{k: v for k, v in d.items() if k != "version"} async for d in db.office_counters.find({})],
            key=lambda d: d["_id"],
        )

    async def live_then_rebuild(db: Any, rt: handlers.AuditRuntime) -> tuple[list[Any], ...]:
        await rt.log.ensure_indexes()
        await rt.views.ensure_indexes()
        half = len(data) // 2
        for events in data[:half]:
            for e in events:
                await handlers.record_event(e, rt)  # exactly what the audit worker does
        await handlers.record_events([e for events in data[half:] for e in events], rt)  # and its batches
        live = sorted([d async for d in db.laptop_views.find({})], key=lambda d: d["_id"])
        live_counters = await counted(db)
        await db.laptop_views.update_many({}, {"$set": {"status": "scrambled"}})
        await db.office_counters.update_many({}, {"$set": {"counts.planned": 999}})
        await handlers.rebuild_views(rt)
        rebuilt = sorted([d async for d in db.laptop_views.find({})], key=lambda d: d["_id"])
        return live, rebuilt, live_counters, await counted(db)

    live, rebuilt, live_counters, rebuilt_counters = run(infra, name, live_then_rebuild)
    assert len(live) == laptops and rebuilt == live
    assert rebuilt_counters == live_counters
    for at in (NOW, AT):
        assert rollups.counted_rollup(live_counters, at) == rollups.rollup(live, at)
    # The command line's check says the same, and names an office whose counters were changed.
    assert infra.store is not None
    audit_ops.rebuild(infra.store.url, name, check=True)
    run(infra, name, lambda db, rt: db.office_counters.update_one({}, {"$inc": {"counts.lost": 1}}))
    with pytest.raises(typer.Exit):
        audit_ops.rebuild(infra.store.url, name, check=True)
