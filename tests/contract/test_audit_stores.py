"""Issue 5: the audit runtime's fake and real adapters (event log queries,
views, checkpoints) pass one suite, so unit tests on the fakes stay honest."""

from __future__ import annotations

import asyncio
import secrets
import uuid
from datetime import timedelta
from typing import Any

import pytest

from deploy.local.stack import Stack
from events import labels
from events.catalog import LaptopAllocated, LaptopReceived
from services.audit import handlers
from services.audit.adapters import mongo
from services.audit.bootstrap import bootstrap
from services.audit.config import AuditSettings
from services.common.mongo import connect
from tests.audit_data import laptop_history
from tests.builders import NOW
from tests.fakes import FakePublisher, audit_with_fakes

SETTINGS = AuditSettings(audit_signing_key=labels.format_keyring({"C1": secrets.token_bytes(32)}))


@pytest.fixture(params=["fake", "mongo"])
def with_runtime(request: pytest.FixtureRequest) -> Any:
    def run(fn: Any) -> Any:
        async def go() -> Any:
            if request.param == "fake":
                return await fn(audit_with_fakes(SETTINGS, FakePublisher(), clock=lambda: NOW + timedelta(days=120)))
            infra: Stack = request.getfixturevalue("infra")
            assert infra.store is not None
            client, db = connect(infra.store.url, f"contract_audit_{uuid.uuid4().hex[:8]}")
            try:
                rt = bootstrap(SETTINGS, publisher=FakePublisher(), **mongo.stores(db))
                rt.clock = lambda: NOW + timedelta(days=120)
                await rt.log.ensure_indexes()
                await rt.views.ensure_indexes()
                await rt.checkpoints.ensure_indexes()
                return await fn(rt)
            finally:
                await client.close()

        return asyncio.run(go())

    return run


def test_counts_candidates_checkpoints_and_rebuild_behave_the_same(with_runtime: Any) -> None:
    data = [laptop_history("32.73", 3), laptop_history("32.73", 4), laptop_history("32.73", 5), laptop_history("11", 2)]

    async def scenario(rt: handlers.AuditRuntime) -> dict[str, Any]:
        for _, events in data:
            for e in events:
                await handlers.record_event(e, rt)
        out: dict[str, Any] = {
            "allocated": await rt.log.count_for_office(LaptopAllocated.TYPE, "32.73"),
            "received": await rt.log.count_for_office(LaptopReceived.TYPE, "32.73"),
            "links": [(x["asset_id"], x["seq"]) async for x in rt.log.all_links()],
        }
        cands = await rt.views.overdue_candidates("2027-06-01T00:00:00.000000Z")
        out["candidates"] = sorted(c["_id"] for c in cands)
        cp = await handlers.take_checkpoint(rt)
        assert cp is not None and await handlers.take_checkpoint(rt) is None
        out["leaves"] = await rt.checkpoints.leaves(cp["checkpoint_id"])
        out["latest"] = (await rt.checkpoints.latest())["checkpoint_id"] == cp["checkpoint_id"]  # type: ignore[index]
        out["published"] = await rt.checkpoints.unpublished() == []
        before = sorted(await rt.views.all(), key=lambda v: v["_id"])
        await handlers.rebuild_views(rt)
        out["rebuilt_equal"] = sorted(await rt.views.all(), key=lambda v: v["_id"]) == before
        return out

    got = with_runtime(scenario)
    assets = sorted(a for a, _ in data)
    assert got["allocated"] == 3 and got["received"] == 2
    assert got["links"] == sorted(got["links"]) and len(got["links"]) == 3 + 4 + 5 + 2
    # In transit, received and never attested, last attested: each past its due moment by then;
    # the laptop only allocated has none, and is never a candidate.
    assert got["candidates"] == sorted(a for a, _ in data[:3])
    assert [x[0] for x in got["leaves"]] == assets and all(isinstance(x[1], int) for x in got["leaves"])
    assert got["latest"] and got["published"] and got["rebuilt_equal"]


def test_a_batch_is_recorded_as_the_same_chains_views_and_scans_as_one_at_a_time(with_runtime: Any) -> None:
    data = [laptop_history("32.73", 3), laptop_history("11", 2)]
    events = [e for _, es in data for e in es]

    async def scenario(rt: handlers.AuditRuntime) -> Any:
        one = events[:2]
        for e in one:
            await handlers.record_event(e, rt)
        left = await handlers.record_events(events + events[:3], rt)  # redeliveries mixed in
        chains = {a: [(k["_id"], k["seq"], k["hash"]) for k in await rt.log.chain(a)] for a, _ in data}
        views = await rt.views.get_many([a for a, _ in data])
        return left, chains, {a: (v["seq"], v["head_hash"], v["event_ids"]) for a, v in views.items()}

    left, chains, views = with_runtime(scenario)
    assert left == set()
    for asset, es in data:
        assert [c[0] for c in chains[asset]] == [e.id for e in es]
        assert [c[1] for c in chains[asset]] == list(range(1, len(es) + 1))
        assert views[asset] == (len(es), chains[asset][-1][2], [e.id for e in es])


def test_a_batch_of_view_advances_lands_except_where_the_view_moved(with_runtime: Any) -> None:
    from services.audit.adapters.mongo import Advance

    async def scenario(rt: handlers.AuditRuntime) -> Any:
        assets = [f"SRHCONTRACT{i}{uuid.uuid4().hex[:4].upper()}" for i in range(3)]
        first = [Advance(a, 0, "h1", [f"{a}-1"], {"status": "one"}) for a in assets]
        assert await rt.views.advance_many(first) == set()
        await rt.views.advance(assets[2], 1, "h2", f"{assets[2]}-2", {"status": "two"})  # moved on meanwhile
        left = await rt.views.advance_many([Advance(a, 1, "h2", [f"{a}-x"], {"status": "two"}) for a in assets])
        views = await rt.views.get_many(assets)
        return assets, left, {a: (v["seq"], v["event_ids"]) for a, v in views.items()}

    assets, left, views = with_runtime(scenario)
    assert left == {assets[2]}
    assert views[assets[0]] == (2, [f"{assets[0]}-1", f"{assets[0]}-x"])
    assert views[assets[2]] == (2, [f"{assets[2]}-1", f"{assets[2]}-2"])


def test_the_lists_of_consignments_being_picked_and_awaiting_receipt_behave_the_same(with_runtime: Any) -> None:
    async def check(rt: Any) -> None:
        await rt.views.list_open("C-2", True)
        await rt.views.list_open("C-1", True)
        await rt.views.list_open("C-1", True)  # again: still once
        assert await rt.views.open_consignments() == ["C-1", "C-2"]
        await rt.views.list_open("C-1", False)
        await rt.views.list_open("C-9", False)  # never listed: nothing to take off
        await rt.views.list_unconfirmed("C-1", True)
        assert await rt.views.open_consignments() == ["C-2"] and await rt.views.unconfirmed() == ["C-1"]

    with_runtime(check)


def test_office_counts_hold_through_redelivery_and_batches(with_runtime: Any) -> None:
    """The office_over_plan rule's counts: each recorded event once, whichever path
    recorded it and however often it came."""
    one = [laptop_history("32.73", 4), laptop_history("32.73", 5)]
    batched = [laptop_history("32.73", 4), laptop_history("73.71", 4)]

    async def scenario(rt: handlers.AuditRuntime) -> tuple[int, ...]:
        for _, events in one:
            for e in events:
                await handlers.record_event(e, rt)
                await handlers.record_event(e, rt)  # redelivered
        events = [e for _, es in batched for e in es]
        assert await handlers.record_events(events, rt) == set()
        assert await handlers.record_events(events, rt) == set()  # the batch redelivered
        return (
            await rt.log.count_for_office(LaptopAllocated.TYPE, "32.73"),
            await rt.log.count_for_office(LaptopReceived.TYPE, "32.73"),
            await rt.log.count_for_office(LaptopReceived.TYPE, "73.71"),
            await rt.log.count_for_office(LaptopReceived.TYPE, "11"),
        )

    assert with_runtime(scenario) == (3, 3, 1, 0)


def test_office_counts_heal_a_crash_between_the_log_and_its_tally_and_fill_in_an_older_log(infra: Stack) -> None:
    assert infra.store is not None
    (asset, events), (_, older) = laptop_history("32.73", 4), laptop_history("32.73", 4)

    async def go() -> tuple[int, int, int]:
        client, db = connect(infra.store.url, f"contract_tally_{uuid.uuid4().hex[:8]}")  # type: ignore[union-attr]
        try:
            rt = bootstrap(SETTINGS, publisher=FakePublisher(), **mongo.stores(db))
            # A log recorded before the tallies existed: counted when the audit starts.
            for seq, e in enumerate(older, start=1):
                await db.event_log.insert_one(mongo.log_entry(f"old-{asset}", seq, "x", f"h{seq}", e))
            await rt.log.ensure_indexes()
            started = await rt.log.count_for_office(LaptopReceived.TYPE, "32.73")
            for e in events[:-1]:
                await handlers.record_event(e, rt)
            # The receipt's entry written, the process killed before its tally: redelivery heals it.
            receipt = events[-1]
            await db.event_log.insert_one(mongo.log_entry(asset, len(events), "x", "y", receipt))
            before = await rt.log.count_for_office(LaptopReceived.TYPE, "32.73")
            await rt.log.append(asset, len(events), "x", "y", receipt)
            return started, before, await rt.log.count_for_office(LaptopReceived.TYPE, "32.73")
        finally:
            await client.close()

    assert asyncio.run(go()) == (1, 1, 2)


def test_laptops_held_at_an_office_and_repairs_past_due_are_found_the_same(with_runtime: Any) -> None:
    from events import codec
    from events.lifecycle import State
    from tests.lifecycle_world import World

    world = World(audited=True)
    held, repaired, free = world.laptop_in(State.IN_USE), world.laptop_in(State.IN_REPAIR), world.received("32.73")
    assert world.audit is not None

    async def links() -> list[dict[str, Any]]:
        return [link async for link in world.audit.log.all_links()]  # type: ignore[union-attr]

    recorded = asyncio.run(links())

    async def scenario(rt: handlers.AuditRuntime) -> tuple[list[str], list[str]]:
        for link in recorded:
            await handlers.record_event(codec.from_json(link["event"]), rt)
        after_repair_due = codec.format_time(NOW + timedelta(days=70))  # before any attestation is due
        return (
            sorted(v["_id"] for v in await rt.views.held_at("32.73")),
            sorted(v["_id"] for v in await rt.views.overdue_candidates(after_repair_due)),
        )

    held_there, candidates = with_runtime(scenario)
    assert held_there == [held] and free not in held_there
    assert candidates == [repaired]
