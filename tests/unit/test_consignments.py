"""Issue 4: the allocation service's consignment decisions, over fakes."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Any

import pytest

from events.catalog import (
    CommandRejected,
    ConsignmentDispatched,
    ConsignmentPlanned,
    LaptopAllocated,
    LaptopDispatched,
    LaptopRegistered,
    LaptopScannedIntoConsignment,
)
from events.envelope import Envelope
from services.allocation import handlers
from services.allocation.handlers import AllocationRuntime
from tests.builders import (
    close_consignment,
    dispatch,
    label_for,
    new_asset,
    plan_consignment,
    register,
    scan_into,
)
from tests.fakes import allocation_with_fakes, docs, sent


@dataclasses.dataclass
class World:
    rt: AllocationRuntime

    def run(self, command: Envelope) -> Envelope:
        events = asyncio.run(handlers.handle(command, self.rt))
        assert len(events) == 1
        return events[0]

    def laptop(self, asset: str) -> dict[str, Any]:
        return docs(self.rt.laptops)[asset]["summary"]  # type: ignore[no-any-return]

    def consignment(self, cid: str) -> dict[str, Any]:
        return docs(self.rt.consignments)[cid]["summary"]  # type: ignore[no-any-return]


@pytest.fixture
def w() -> World:
    return World(allocation_with_fakes())


def reason(event: Envelope) -> str:
    assert event.type == CommandRejected.TYPE, event
    return str(event.data["reason"])


def registered(w: World, n: int) -> list[str]:
    assets = []
    for _ in range(n):
        serial, asset = new_asset()
        assert w.run(register(serial, asset)).type == LaptopRegistered.TYPE
        assets.append(asset)
    return assets


def test_the_warehouse_a_consignment_is_picked_at_travels_with_its_plan(w: World) -> None:
    planned = w.run(plan_consignment("C-W", registered(w, 1), warehouse="G-JKT1"))
    assert planned.type == ConsignmentPlanned.TYPE and planned.data["warehouse"] == "G-JKT1"
    anywhere = w.run(plan_consignment("C-X", registered(w, 1)))
    assert "warehouse" not in anywhere.data  # none named: any warehouse picks it


def test_planning_a_consignment_allocates_each_expected_laptop_to_it(w: World) -> None:
    assets = registered(w, 3)
    planned = w.run(plan_consignment("C-1", assets))
    assert planned.type == ConsignmentPlanned.TYPE
    assert planned.data["office_name"] == "Badan Kesatuan Bangsa dan Politik Kota Makassar"
    assert w.consignment("C-1")["status"] == "open"
    for asset in assets:
        assert w.laptop(asset)["status"] == "allocated"
        assert w.laptop(asset)["consignment_id"] == "C-1"
    assert sorted(e.subject for e in sent(w.rt) if e.type == LaptopAllocated.TYPE) == sorted(assets)


def test_a_consignment_is_planned_once_for_an_official_office_and_known_laptops(w: World) -> None:
    assets = registered(w, 1)
    w.run(plan_consignment("C-1", assets))
    assert reason(w.run(plan_consignment("C-1", assets))) == "consignment_exists"
    assert reason(w.run(plan_consignment("C-2", assets, office="99.99"))) == "unknown_office"
    assert reason(w.run(plan_consignment("C-3", [new_asset()[1]]))) == "unknown_laptop"
    assert reason(w.run(plan_consignment("C-4", assets))) == "belongs_to_other_consignment"


def test_a_redelivered_plan_replays_and_allocates_nothing_twice(w: World) -> None:
    assets = registered(w, 2)
    command = plan_consignment("C-1", assets)
    first = w.run(command)
    assert w.run(command) == first
    for asset in assets:
        history = docs(w.rt.laptops)[asset]["history"]
        assert [e["type"] for e in history] == [LaptopRegistered.TYPE, LaptopAllocated.TYPE]


def test_a_scan_accepts_an_expected_laptop_and_says_when_it_is_a_duplicate(w: World) -> None:
    assets = registered(w, 2)
    w.run(plan_consignment("C-1", assets))
    scanned = w.run(scan_into("C-1", assets[0]))
    assert scanned.type == LaptopScannedIntoConsignment.TYPE
    assert scanned.data["asset_id"] == assets[0]
    assert reason(w.run(scan_into("C-1", assets[0]))) == "already_in_consignment"
    summary = w.consignment("C-1")
    assert summary["scanned"] == [assets[0]]
    assert summary["missing"] == [assets[1]]


def test_the_same_scan_id_from_two_devices_is_decided_once(w: World) -> None:
    assets = registered(w, 1)
    w.run(plan_consignment("C-1", assets))
    first = w.run(scan_into("C-1", assets[0], scan_id="scan-1"))
    assert w.run(scan_into("C-1", assets[0], scan_id="scan-1")) == first
    assert w.consignment("C-1")["scanned"] == [assets[0]]


def test_a_scan_refuses_laptops_of_another_consignment_or_not_in_the_plan(w: World) -> None:
    mine, theirs, loose = registered(w, 3)
    w.run(plan_consignment("C-1", [mine]))
    w.run(plan_consignment("C-2", [theirs]))
    assert reason(w.run(scan_into("C-1", theirs))) == "belongs_to_other_consignment"
    assert reason(w.run(scan_into("C-1", loose))) == "not_expected"
    assert w.consignment("C-1")["scanned"] == []


def test_a_scan_needs_a_planned_consignment_and_a_genuine_label_of_a_known_laptop(w: World) -> None:
    (asset,) = registered(w, 1)
    assert reason(w.run(scan_into("NOPE", asset))) == "unknown_consignment"
    w.run(plan_consignment("C-1", [asset]))
    assert reason(w.run(scan_into("C-1", asset, label="hello"))) == "label_malformed"
    forged = label_for(asset, seed=b"\x01" * 32)
    assert reason(w.run(scan_into("C-1", asset, label=forged))) == "label_forged"
    assert reason(w.run(scan_into("C-1", asset, label=label_for(asset, gen=2)))) == "label_revoked"
    stranger = new_asset()[1]
    assert reason(w.run(scan_into("C-1", stranger))) == "unknown_laptop"


def test_closing_dispatches_every_scanned_laptop_and_the_consignment(w: World) -> None:
    a, b, c = registered(w, 3)
    w.run(plan_consignment("C-1", [a, b, c]))
    w.run(scan_into("C-1", a))
    w.run(scan_into("C-1", b))
    dispatched = w.run(close_consignment("C-1"))
    assert dispatched.type == ConsignmentDispatched.TYPE
    assert dispatched.data["dispatched"] == [a, b]
    assert dispatched.data["missing"] == [c]
    assert w.laptop(a)["status"] == "dispatched"
    assert w.laptop(b)["status"] == "dispatched"
    assert w.laptop(c)["status"] == "allocated"
    assert sorted(e.subject for e in sent(w.rt) if e.type == LaptopDispatched.TYPE) == sorted([a, b])
    # a single-laptop dispatch scan of a consignment laptop now finds it gone
    assert reason(w.run(dispatch(a))) == "already_dispatched"


def test_a_closed_consignment_cannot_change(w: World) -> None:
    a, b = registered(w, 2)
    w.run(plan_consignment("C-1", [a, b]))
    w.run(scan_into("C-1", a))
    w.run(close_consignment("C-1"))
    assert reason(w.run(scan_into("C-1", b))) == "consignment_closed"
    assert reason(w.run(close_consignment("C-1"))) == "consignment_closed"


def test_an_empty_or_unplanned_consignment_cannot_be_closed(w: World) -> None:
    (a,) = registered(w, 1)
    assert reason(w.run(close_consignment("NOPE"))) == "unknown_consignment"
    w.run(plan_consignment("C-1", [a]))
    assert reason(w.run(close_consignment("C-1"))) == "consignment_empty"


def test_a_crash_after_the_close_is_healed_when_the_command_is_redelivered(w: World) -> None:
    a, b = registered(w, 2)
    w.run(plan_consignment("C-1", [a, b]))
    w.run(scan_into("C-1", a))
    w.run(scan_into("C-1", b))
    close = close_consignment("C-1")

    async def crash_after_commit(*args: Any, **kwargs: Any) -> None:
        raise ConnectionError("crash between the consignment append and the per-laptop facts")

    real = handlers._fan_out
    handlers._fan_out = crash_after_commit  # type: ignore[assignment]
    try:
        with pytest.raises(ConnectionError):
            w.run(close)
    finally:
        handlers._fan_out = real  # type: ignore[assignment]
    assert w.consignment("C-1")["status"] == "dispatched"
    assert w.laptop(a)["status"] == "allocated"  # not yet told
    assert w.run(close).type == ConsignmentDispatched.TYPE  # redelivery replays
    assert w.laptop(a)["status"] == "dispatched"
    assert w.laptop(b)["status"] == "dispatched"
