"""A receipt made moments after its dispatch, while the allocation service has not yet
decided that dispatch, is held (the device answered 202 pending) and decided when the
dispatch is learnt; not refused for the person to scan again. Held at most a while,
held once however often it comes, decided once (services/handover/held.py). Over fakes:
allocation deciding, handover learning what it publishes, the allocation's backlog set
by the test."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest

from events import codec
from events.catalog import (
    CommandRejected,
    DispatchLaptop,
    LaptopReceived,
    ReceiptConfirmed,
)
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.handover import handlers
from tests.builders import (
    NOW,
    allocate,
    close_consignment,
    cmd,
    confirm_receipt,
    label_for,
    new_asset,
    plan_consignment,
    receive,
    register,
    scan_into,
)
from tests.fakes import (
    FakeBacklog,
    FakeBastStore,
    FakeHeldReceipts,
    allocation_with_fakes,
    handover_with_fakes,
    sent,
)


class World:
    """Allocation and handover over fakes, with clocks the test moves."""

    def __init__(self) -> None:
        self.now = NOW
        self.alloc = allocation_with_fakes(clock=lambda: self.now)
        self.hand = handover_with_fakes(clock=lambda: self.now)

    @property
    def backlog(self) -> FakeBacklog:
        assert isinstance(self.hand.backlog, FakeBacklog)
        return self.hand.backlog

    @property
    def held(self) -> FakeHeldReceipts:
        assert isinstance(self.hand.held, FakeHeldReceipts)
        return self.hand.held

    def tell(self, command: Envelope) -> Envelope:
        """An allocation command decided, and what it published learnt by handover."""
        before = len(sent(self.alloc))
        [event] = asyncio.run(allocation.handle(command, self.alloc))
        for e in [event] + sent(self.alloc)[before:]:
            asyncio.run(handlers.on_event(e, self.hand))
        return event

    def allocated(self) -> str:
        serial, asset = new_asset()
        self.tell(register(serial, asset))
        self.tell(allocate(asset, office="73.71"))
        return asset

    def handover(self, command: Envelope) -> list[Envelope]:
        return asyncio.run(handlers.handle(command, self.hand))

    def decide_held(self) -> list[Envelope]:
        return asyncio.run(handlers.decide_held_receipts(self.hand))

    def published(self) -> list[Envelope]:
        return sent(self.hand)


@pytest.fixture
def w() -> World:
    return World()


def reason(event: Envelope) -> str:
    assert event.type == CommandRejected.TYPE, event
    return str(event.data["reason"])


def dispatch_scan(asset: str, at: datetime) -> Envelope:
    return cmd(DispatchLaptop(label=label_for(asset)), asset, time=at)


def test_a_receipt_before_any_dispatch_is_refused_at_once_when_allocation_has_decided_everything(w: World) -> None:
    asset = w.allocated()
    [refused] = w.handover(receive(asset))
    assert reason(refused) == "not_dispatched"
    assert w.held.docs == {}


def test_a_receipt_while_its_dispatch_is_undecided_is_held_then_received_when_the_dispatch_comes(w: World) -> None:
    asset = w.allocated()
    w.backlog.behind.add(asset)  # the dispatch scan is in Kafka, allocation has not decided it
    receipt = receive(asset, time=NOW + timedelta(seconds=5))
    assert w.handover(receipt) == []  # held: nothing recorded, nothing published
    assert w.published() == [] and list(w.held.docs) == [receipt.id]
    first = w.held.docs[receipt.id]

    w.now += timedelta(seconds=30)
    assert w.handover(receipt) == []  # redelivered: held once, its mark and deadline kept
    assert w.held.docs[receipt.id] == first
    assert w.decide_held() == []  # nothing to decide yet

    # The dispatch, scanned before the receipt, is decided after it (allocation was behind).
    w.tell(dispatch_scan(asset, NOW))
    [received] = w.decide_held()
    assert received.type == LaptopReceived.TYPE and received.causationid == receipt.id
    assert w.held.docs == {}
    assert w.decide_held() == []
    assert w.handover(receipt) == [received]  # the device asking again: the same decision
    assert [e.id for e in w.published()].count(received.id) == 2  # published again, one id


def test_a_held_receipt_is_refused_once_allocation_has_decided_past_it_without_a_dispatch(w: World) -> None:
    asset = w.allocated()
    w.backlog.behind.add(asset)
    receipt = receive(asset)
    assert w.handover(receipt) == []
    w.backlog.decided_up_to = w.backlog.end  # what was in flight was something else
    w.backlog.behind.clear()
    [refused] = w.decide_held()
    assert reason(refused) == "not_dispatched" and "has not been dispatched" in refused.data["detail"]
    assert w.held.docs == {}


def test_a_held_receipt_is_refused_with_the_reason_when_its_time_runs_out(w: World) -> None:
    asset = w.allocated()
    w.backlog.behind.add(asset)
    receipt = receive(asset)
    assert w.handover(receipt) == []
    w.now += timedelta(seconds=w.hand.settings.receipt_hold_s - 1)
    assert w.decide_held() == []
    w.now += timedelta(seconds=2)
    [refused] = w.decide_held()
    assert reason(refused) == "not_dispatched"
    assert "still not all decided 15 minutes later" in refused.data["detail"], refused.data["detail"]
    assert w.held.docs == {}
    w.tell(dispatch_scan(asset, NOW))  # too late for this scan: its decision stands
    assert w.handover(receipt) == [refused]


def test_a_dispatch_scanned_after_the_held_receipt_does_not_take_it(w: World) -> None:
    asset = w.allocated()
    w.backlog.behind.add(asset)
    receipt = receive(asset, time=NOW)
    assert w.handover(receipt) == []
    w.now = NOW + timedelta(minutes=2)
    w.tell(dispatch_scan(asset, NOW + timedelta(minutes=1)))
    [refused] = w.decide_held()
    assert reason(refused) == "not_dispatched" and "before it left the warehouse" in refused.data["detail"]


def test_a_receipt_refused_for_predating_its_known_dispatch_is_not_held(w: World) -> None:
    asset = w.allocated()
    w.tell(dispatch_scan(asset, NOW))
    w.backlog.behind.add(asset)
    [refused] = w.handover(receive(asset, time=NOW - timedelta(minutes=1)))
    assert reason(refused) == "not_dispatched" and w.held.docs == {}


def test_a_held_receipt_decided_then_crashed_before_its_release_is_decided_once(w: World) -> None:
    asset = w.allocated()
    w.backlog.behind.add(asset)
    receipt = receive(asset)
    assert w.handover(receipt) == []
    kept = w.held.docs[receipt.id]
    w.tell(dispatch_scan(asset, NOW))
    [received] = w.decide_held()
    asyncio.run(w.held.hold(kept))  # as if the release had not happened
    assert w.decide_held() == [received]  # the same event again, nothing new
    laptop = asyncio.run(w.hand.laptops.store.load(asset))
    assert laptop is not None and [e.type for e in laptop.history].count(LaptopReceived.TYPE) == 1


def test_a_consignment_receipt_while_its_close_is_undecided_is_held_then_confirmed_with_its_bast(w: World) -> None:
    serial, asset = new_asset()
    w.tell(register(serial, asset))
    w.tell(plan_consignment("C-7", [asset]))
    w.tell(scan_into("C-7", asset))
    w.backlog.behind.add("C-7")
    receipt = confirm_receipt("C-7", [(asset, "B", "")], time=NOW + timedelta(seconds=1))
    assert w.handover(receipt) == []
    assert isinstance(w.hand.basts, FakeBastStore) and w.hand.basts.docs == {}
    w.tell(close_consignment("C-7"))
    confirmed, *_ = w.decide_held()
    assert confirmed.type == ReceiptConfirmed.TYPE and confirmed.causationid == receipt.id
    assert len(w.hand.basts.docs) == 1 and w.held.docs == {}
    assert any(e.type == LaptopReceived.TYPE and e.subject == asset for e in w.published())


def test_a_held_receipt_document_reads_back_as_it_was_held(w: World) -> None:
    asset = w.allocated()
    w.backlog.behind.add(asset)
    receipt = receive(asset, condition="RR", note="layar retak")
    w.handover(receipt)
    held = w.held.docs[receipt.id]
    again = type(held).of(held.document())
    assert again == held and codec.payload(again.command) == codec.payload(receipt)
