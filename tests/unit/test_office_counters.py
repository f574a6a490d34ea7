"""The counters the audit keeps per office equal a recount of its laptop views, at any
moment of the clock, through batches, redeliveries, a crash between a view and its
office's counters, concurrent counts of one office, and a rebuild. On the fakes; the
same on the real store in tests/integration/test_rollups_and_rebuild.py."""

from __future__ import annotations

import asyncio
import random
from datetime import timedelta
from typing import Any

from events.catalog import AnomalyDetected, LaptopAllocated
from events.envelope import Envelope
from services.audit import counters, handlers
from services.gateway import rollups
from tests.audit_data import event, laptop_history, spread
from tests.builders import NOW
from tests.fakes import FakeViews, audit_with_fakes

DAY = timedelta(days=1)
MOMENTS = [NOW + d * DAY for d in (0, 2, 5, 20, 95, 200, 400)]


def histories(n: int, seed: int) -> list[list[Envelope]]:
    rnd = random.Random(seed)
    out = []
    for office, stage in spread(n, ("32", "73"), seed):
        start = NOW - timedelta(days=rnd.randint(0, 100))
        _, events = laptop_history(office, stage, start=start, attested_at=start + timedelta(days=rnd.randint(5, 60)))
        if rnd.random() < 0.2:
            anomaly = AnomalyDetected(rule="received_twice", detail="test", office_code=office)
            events.append(event(anomaly, events[-1].subject, events[-1].time + timedelta(minutes=1)))
        out.append(events)
    return out


def recount(rt: handlers.AuditRuntime, at: Any) -> list[dict[str, Any]]:
    assert isinstance(rt.views, FakeViews)
    return rollups.rollup([{"_id": k, **v} for k, v in rt.views.views.items()], at)


def kept(rt: handlers.AuditRuntime, at: Any) -> list[dict[str, Any]]:
    assert isinstance(rt.views, FakeViews)
    return rollups.counted_rollup([{"_id": k, **v} for k, v in rt.views.counters.items()], at)


def test_the_counters_equal_a_recount_of_the_views_at_every_moment_one_at_a_time_in_batches_and_redelivered() -> None:
    data = histories(300, seed=7)
    rt = audit_with_fakes()

    async def run() -> None:
        for events in data[:150]:
            for e in events:
                await handlers.record_event(e, rt)
        rest = [e for events in data[150:] for e in events]
        for start in range(0, len(rest), 40):
            await handlers.record_events(rest[start : start + 40], rt)
        for e in [e for events in data[::7] for e in events]:  # redelivered, one way and the other
            await handlers.record_event(e, rt)
        await handlers.record_events([e for events in data[1::9] for e in events], rt)

    asyncio.run(run())
    for at in MOMENTS:
        assert kept(rt, at) == recount(rt, at), at
    totals = {k: sum(p["totals"][k] for p in kept(rt, NOW + 200 * DAY)) for k in rollups.COUNTERS}
    assert totals["planned"] > 200 and totals["missing"] > 0 and totals["overdue"] > 0 and totals["anomalies"] > 0


def test_a_crash_between_a_view_and_its_office_counters_is_healed_when_the_event_comes_again() -> None:
    data = histories(40, seed=3)
    rt = audit_with_fakes()
    assert isinstance(rt.views, FakeViews)

    async def run() -> None:
        for events in data:
            for e in events:
                await handlers.record_event(e, rt)

    asyncio.run(run())
    assert isinstance(rt.views, FakeViews)
    last = data[0][-1]
    office = rt.views.views[last.subject]["office_code"]
    rt.views.counters[office] = {**counters.tally([]), "version": rt.views.counters[office]["version"]}
    assert kept(rt, NOW) != recount(rt, NOW)
    asyncio.run(handlers.record_event(last, rt))  # redelivered: recorded and viewed before
    assert kept(rt, NOW) == recount(rt, NOW)
    rt.views.counters[office] = {**counters.tally([]), "version": rt.views.counters[office]["version"]}
    asyncio.run(handlers.record_events([last], rt))
    assert kept(rt, NOW) == recount(rt, NOW)


class RacingViews(FakeViews):
    """Another worker moves a view of the office and counts it between this count's
    read of the version and its write."""

    def __init__(self) -> None:
        super().__init__()
        self.race: Any = None

    async def of_office(self, office_code: str) -> list[dict[str, Any]]:
        found = await super().of_office(office_code)  # read before the other view moved
        if self.race is not None:
            race, self.race = self.race, None
            await race()
        return found


def test_when_two_workers_count_one_office_at_once_the_later_view_change_is_counted() -> None:
    views = RacingViews()
    rt = audit_with_fakes()
    rt.views = views
    (_, first), (_, second) = laptop_history("32.73", 2), laptop_history("32.73", 3)

    async def run() -> None:
        for e in first[:-1] + second[:-1]:
            await handlers.record_event(e, rt)

        async def other_worker() -> None:
            await handlers.record_event(second[-1], rt)

        views.race = other_worker
        await handlers.record_event(first[-1], rt)

    asyncio.run(run())
    assert kept(rt, NOW) == recount(rt, NOW)
    assert kept(rt, NOW)[0]["offices"][0]["dispatched"] == 1


def test_a_rebuild_recounts_every_office_and_drops_the_counters_of_one_no_view_counts_in() -> None:
    data = histories(120, seed=5)
    rt = audit_with_fakes()
    assert isinstance(rt.views, FakeViews)

    async def run() -> None:
        for start in range(0, len(data), 30):
            await handlers.record_events([e for events in data[start : start + 30] for e in events], rt)

    asyncio.run(run())
    before = {k: {x: y for x, y in v.items() if x != "version"} for k, v in rt.views.counters.items()}
    for code in list(rt.views.counters):
        rt.views.counters[code] = {**counters.tally([]), "version": 9}
    rt.views.counters["91.01"] = {**counters.tally([]), "version": 1}
    asyncio.run(handlers.rebuild_views(rt))
    after = {k: {x: y for x, y in v.items() if x != "version"} for k, v in rt.views.counters.items()}
    assert after == before
    for at in MOMENTS:
        assert kept(rt, at) == recount(rt, at)


def test_the_check_names_the_offices_whose_counters_differ_from_a_recount() -> None:
    data = histories(60, seed=9)
    rt = audit_with_fakes()
    assert isinstance(rt.views, FakeViews)

    async def run() -> None:
        await handlers.record_events([e for events in data for e in events], rt)

    asyncio.run(run())
    views = [{"_id": k, **v} for k, v in rt.views.views.items()]

    def kept_docs() -> list[dict[str, Any]]:
        assert isinstance(rt.views, FakeViews)
        return [{"_id": k, **v} for k, v in rt.views.counters.items()]

    assert rollups.differences(kept_docs(), views, NOW + 200 * DAY) == []
    office = sorted(rt.views.counters)[0]
    rt.views.counters[office]["counts"]["held"] += 1
    assert rollups.differences(kept_docs(), views, NOW + 200 * DAY) == [office]
    del rt.views.counters[office]
    assert rollups.differences(kept_docs(), views, NOW) == [office]


def test_a_crash_after_a_view_left_an_office_heals_that_office_too_when_the_event_comes_again() -> None:
    _, events = laptop_history("32.73", 2)  # registered, allocated to 32.73
    asset = events[0].subject
    moved = event(LaptopAllocated(office_code="73.71", office_name="Kota Makassar"), asset, events[-1].time + DAY)
    for batch in (False, True):
        rt = audit_with_fakes()
        assert isinstance(rt.views, FakeViews)

        async def run(rt: handlers.AuditRuntime = rt, batch: bool = batch) -> None:
            for e in events:
                await handlers.record_event(e, rt)
            assert isinstance(rt.views, FakeViews)
            left = dict(rt.views.counters["32.73"])
            await handlers.record_event(moved, rt)
            rt.views.counters["32.73"] = left  # as if the worker died before counting the office it left
            assert kept(rt, NOW) != recount(rt, NOW)
            await (handlers.record_events([moved], rt) if batch else handlers.record_event(moved, rt))

        asyncio.run(run())
        assert rt.views.views[asset]["office_code"] == "73.71"
        assert kept(rt, NOW) == recount(rt, NOW), batch
