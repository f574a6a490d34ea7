from __future__ import annotations

import asyncio
from typing import Any

import pytest

from events import codec, labels
from events.catalog import LaptopReceived, ScanRejected
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.allocation.bootstrap import bootstrap as allocation_bootstrap
from services.allocation.config import AllocationSettings
from services.common.laptop_store import FakeLaptopStore
from services.common.worker import FakePublisher
from services.handover import handlers
from services.handover.bootstrap import bootstrap
from services.handover.config import HandoverSettings
from tests.builders import KEYS, NOW, allocate, dispatch, label_for, new_asset, receive, register


class World:
    """Allocation decides, handover learns from allocation's published events,
    exactly as over serah.events; both use fakes."""

    def __init__(self) -> None:
        keys = labels.format_keyring(KEYS)
        self.alloc = allocation_bootstrap(
            AllocationSettings(label_public_keys=keys), FakePublisher(), FakeLaptopStore(), clock=lambda: NOW
        )
        self.hand = bootstrap(
            HandoverSettings(label_public_keys=keys), FakePublisher(), FakeLaptopStore(), clock=lambda: NOW
        )
        self.hand.settle_s = 0.0

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
    assert event.type == ScanRejected.TYPE, event
    return str(event.data["reason"])


def test_a_dispatched_laptop_is_received_by_its_office_in_the_stated_condition(world: World) -> None:
    asset = world.dispatched()
    event = world.receipt(receive(asset, condition="RR", note="engsel retak"))
    assert event.type == LaptopReceived.TYPE
    assert event.data == {"office_code": "73.71", "condition": "RR", "note": "engsel retak"}


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
    before = asyncio.run(world.hand.store.load(asset))
    asyncio.run(handlers.on_event(event, world.hand))
    after = asyncio.run(world.hand.store.load(asset))
    assert before is not None and after is not None and after.version == before.version


def test_a_receipt_waits_briefly_for_a_dispatch_it_has_not_learnt_yet(world: World) -> None:
    serial, asset = new_asset()
    world.tell(register(serial, asset))
    world.tell(allocate(asset))
    [dispatched] = asyncio.run(allocation.handle(dispatch(asset), world.alloc))  # handover not told yet
    world.hand.settle_s = 2.0

    async def scenario() -> list[Envelope]:
        receipt = asyncio.create_task(handlers.handle(receive(asset), world.hand))
        await asyncio.sleep(0.3)
        await handlers.on_event(dispatched, world.hand)  # the stream catches up
        return await receipt

    [event] = asyncio.run(scenario())
    assert event.type == LaptopReceived.TYPE
    assert codec.to_json(event)["subject"] == asset
