from __future__ import annotations

import asyncio

import pytest

from events import codec
from events.catalog import LaptopRegistered
from services.allocation import handlers as allocation
from services.audit import domain, handlers
from tests import fakes
from tests.builders import allocate, dispatch, new_asset, register
from tests.fakes import allocation_with_fakes, audit_with_fakes


def journey() -> tuple[str, list[codec.Envelope]]:
    rt = allocation_with_fakes()
    serial, asset = new_asset()
    events = []
    for c in (register(serial, asset), dispatch(asset), allocate(asset), dispatch(asset)):
        events += asyncio.run(allocation.handle(c, rt))
    return asset, events


def test_each_event_is_recorded_once_as_the_next_link_of_its_laptops_chain() -> None:
    rt = audit_with_fakes()
    asset, events = journey()
    for e in events + events:  # everything delivered twice
        asyncio.run(handlers.record_event(e, rt))
    chain = asyncio.run(rt.log.chain(asset))
    assert [link["seq"] for link in chain] == [1, 2, 3, 4]
    assert [link["_id"] for link in chain] == [e.id for e in events]
    prev = domain.GENESIS
    for link, event in zip(chain, events, strict=True):
        assert link["prev_hash"] == prev
        assert link["hash"] == domain.link_hash(prev, event)
        prev = link["hash"]


def test_the_view_follows_the_lifecycle_and_counts_rejections() -> None:
    rt = audit_with_fakes()
    asset, events = journey()
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    view = rt.views.views[asset]
    assert view["status"] == "in_transit"
    assert view["office_code"] == "32.73"
    assert view["rejections"] == 1
    assert view["seq"] == 4


def test_changing_any_event_changes_its_link_hash() -> None:
    _, events = journey()
    original = domain.link_hash(domain.GENESIS, events[0])
    data = dict(events[0].data)
    data["laptop"] = {**data["laptop"], "serial": "TAMPERED"}
    assert domain.link_hash(domain.GENESIS, events[0].model_copy(update={"data": data})) != original
    assert domain.link_hash("1" * 64, events[0]) != original
    assert events[0].type == LaptopRegistered.TYPE


def test_a_rebuilt_view_equals_the_live_one() -> None:
    rt = audit_with_fakes()
    asset, events = journey()
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    live = rt.views.views[asset]
    assert domain.view(asset, events, rt.thresholds) == {k: v for k, v in live.items() if k in handlers.VIEW_FIELDS}
    assert live["event_ids"] == [e.id for e in events] and live["seq"] == len(events)


def test_a_crash_between_log_and_view_is_healed_when_the_event_comes_again() -> None:
    rt = audit_with_fakes()
    asset, events = journey()
    for e in events[:2]:
        asyncio.run(handlers.record_event(e, rt))
    third = events[2]
    head = rt.views.views[asset]["head_hash"]
    # the crash: the log got the link, the view did not
    asyncio.run(rt.log.append(asset, 3, head, domain.link_hash(head, third), third))
    assert asyncio.run(handlers.record_event(third, rt)) is False  # not recorded twice...
    assert rt.views.views[asset]["seq"] == 3  # ...but the view caught up
    asyncio.run(handlers.record_event(events[3], rt))
    assert [link["seq"] for link in asyncio.run(rt.log.chain(asset))] == [1, 2, 3, 4]
    assert rt.views.views[asset]["head_hash"] == asyncio.run(rt.log.chain(asset))[-1]["hash"]


def test_each_scan_is_indexed_by_its_first_decision() -> None:
    rt = audit_with_fakes()
    asset, events = journey()
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    assert rt.scans.scans[events[1].causationid] == (asset, events[1].id)


class _IndexDownOnce(fakes.FakeScanIndex):
    """A scan index whose first write fails, as if the worker died between the view and the index."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = False

    async def remember(self, scan_id: str, asset_id: str, event_id: str) -> None:
        if self.armed:
            self.armed = False
            raise ConnectionError("died before the scan index")
        await super().remember(scan_id, asset_id, event_id)

    async def remember_many(self, scans: list[tuple[str, str, str]]) -> None:
        if self.armed:
            self.armed = False
            raise ConnectionError("died before the scan index")
        await super().remember_many(scans)


@pytest.mark.parametrize("path", ["one at a time", "batch"])
def test_a_redelivered_event_heals_a_crash_between_the_view_and_the_scan_index(path: str) -> None:
    rt = audit_with_fakes()
    rt.scans = scans = _IndexDownOnce()
    asset, events = journey()
    dispatched = events[-1]

    def deliver(es: list[codec.Envelope]) -> None:
        if path == "batch":
            asyncio.run(handlers.record_events(es, rt))
        else:
            for e in es:
                asyncio.run(handlers.record_event(e, rt))

    deliver(events[:-1])
    scans.armed = True
    with pytest.raises(ConnectionError):
        deliver([dispatched])  # the log and the view have it; the scan index does not
    assert dispatched.causationid not in scans.scans
    deliver([dispatched])  # redelivered after the restart
    assert scans.scans[dispatched.causationid] == (asset, dispatched.id)
    assert [link["_id"] for link in asyncio.run(rt.log.chain(asset))] == [e.id for e in events]
