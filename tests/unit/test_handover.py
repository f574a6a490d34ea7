from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from events import codec
from events.catalog import CommandRejected, LaptopReceived
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.handover import handlers
from tests.builders import NOW, allocate, dispatch, label_for, new_asset, receive, register
from tests.fakes import allocation_with_fakes, handover_with_fakes


class Stream:
    """serah.events as the handover worker reads it: facts published by allocation
    wait here until the worker has read them. ``catch_up`` reads exactly what was
    published when it was called, like the real horizon."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.unread: list[Envelope] = []
        self.catch_ups = 0

    def publish(self, event: Envelope) -> None:
        self.unread.append(event)

    async def catch_up(self, subjects: object) -> None:
        self.catch_ups += 1
        published, self.unread = self.unread, []
        for event in published:
            await handlers.on_event(event, self.world.hand)


class World:
    """Allocation decides, handover learns from allocation's published events,
    exactly as over serah.events; both use fakes."""

    def __init__(self) -> None:
        self.alloc = allocation_with_fakes()
        self.hand = handover_with_fakes()
        self.stream = Stream(self)
        self.hand.laptops.catch_up = self.stream.catch_up
        self.hand.consignments.catch_up = self.stream.catch_up

    def tell(self, command: Envelope) -> Envelope:
        [event] = asyncio.run(allocation.handle(command, self.alloc))
        asyncio.run(handlers.on_event(event, self.hand))
        return event

    def receipt(self, command: Envelope) -> Envelope:
        [event] = asyncio.run(handlers.handle(command, self.hand))
        asyncio.run(allocation.on_event(event, self.alloc))
        return event

    def dispatched(self) -> str:
        serial, asset = new_asset()
        self.tell(register(serial, asset))
        self.tell(allocate(asset, office="73.71"))
        self.tell(dispatch(asset))
        return asset


@pytest.fixture
def world() -> World:
    return World()


def reason(event: Envelope) -> str:
    assert event.type == CommandRejected.TYPE, event
    return str(event.data["reason"])


def test_a_dispatched_laptop_is_received_by_its_office_in_the_stated_condition(world: World) -> None:
    asset = world.dispatched()
    event = world.receipt(receive(asset, condition="RR", note="engsel retak"))
    assert event.type == LaptopReceived.TYPE
    assert event.data == {
        "office_code": "73.71",
        "condition": "RR",
        "note": "engsel retak",
        "received_at": NOW.isoformat(),
    }


def test_a_laptop_cannot_be_received_before_it_is_dispatched(world: World) -> None:
    serial, asset = new_asset()
    world.tell(register(serial, asset))
    world.tell(allocate(asset))
    assert reason(world.receipt(receive(asset))) == "not_dispatched"


def test_an_unknown_laptop_cannot_be_received(world: World) -> None:
    _, asset = new_asset()
    assert reason(world.receipt(receive(asset))) == "unknown_laptop"


def test_a_laptop_is_received_once_and_the_same_scan_replays(world: World) -> None:
    asset = world.dispatched()
    first = world.receipt(receive(asset, scan_id="r-1"))
    assert world.receipt(receive(asset, scan_id="r-1")) == first
    assert reason(world.receipt(receive(asset, scan_id="r-2"))) == "already_received"


def test_a_received_laptop_cannot_be_dispatched_again(world: World) -> None:
    asset = world.dispatched()
    world.receipt(receive(asset))
    [event] = asyncio.run(allocation.handle(dispatch(asset), world.alloc))
    assert reason(event) == "already_received"


@pytest.mark.parametrize(
    ("make_label", "expected"),
    [
        (lambda a: label_for(a, seed=b"\x05" * 32), "label_forged"),
        (lambda a: label_for(a, kid="ZZ"), "label_unknown_key"),
        (lambda a: "https://serah.id/L/" + a, "label_malformed"),
        (lambda a: label_for(a, gen=3), "label_revoked"),
    ],
)
def test_receipt_refuses_bad_labels(world: World, make_label: Any, expected: str) -> None:
    asset = world.dispatched()
    assert reason(world.receipt(receive(asset, label=make_label(asset)))) == expected


def test_learning_the_same_event_twice_changes_nothing(world: World) -> None:
    serial, asset = new_asset()
    event = world.tell(register(serial, asset))
    before = asyncio.run(world.hand.laptops.store.load(asset))
    asyncio.run(handlers.on_event(event, world.hand))
    after = asyncio.run(world.hand.laptops.store.load(asset))
    assert before is not None and after is not None and after.version == before.version


def test_a_receipt_catches_up_on_a_dispatch_published_before_it_is_decided(world: World) -> None:
    serial, asset = new_asset()
    world.tell(register(serial, asset))
    world.tell(allocate(asset))
    [dispatched] = asyncio.run(allocation.handle(dispatch(asset), world.alloc))
    world.stream.publish(dispatched)  # published, not yet read by handover

    [event] = asyncio.run(handlers.handle(receive(asset), world.hand))
    assert event.type == LaptopReceived.TYPE
    assert codec.to_json(event)["subject"] == asset


def test_a_receipt_sent_before_the_dispatch_is_refused_and_stays_refused(world: World) -> None:
    serial, asset = new_asset()
    world.tell(register(serial, asset))
    world.tell(allocate(asset))
    early = receive(asset, scan_id="early")
    assert reason(asyncio.run(handlers.handle(early, world.hand))[0]) == "not_dispatched"
    world.tell(dispatch(asset))
    # The same scan again (a device retrying) is the same decision, not a receipt now.
    assert reason(asyncio.run(handlers.handle(early, world.hand))[0]) == "not_dispatched"


def test_a_receipt_scanned_before_the_dispatch_time_is_refused_whatever_order_it_arrives_in(world: World) -> None:
    serial, asset = new_asset()
    world.tell(register(serial, asset))
    world.tell(allocate(asset))
    world.tell(dispatch(asset))  # dispatched at NOW
    before = receive(asset, time=NOW - timedelta(seconds=5))
    [event] = asyncio.run(handlers.handle(before, world.hand))
    assert reason(event) == "not_dispatched"
    assert "before it left the warehouse" in event.data["detail"]


def test_a_refusal_about_a_subject_nobody_published_costs_one_catch_up_and_no_wait(world: World) -> None:
    _, asset = new_asset()
    [event] = asyncio.run(handlers.handle(receive(asset), world.hand))
    assert reason(event) == "unknown_laptop"
    assert world.stream.catch_ups == 1
