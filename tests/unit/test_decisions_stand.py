"""Commands are decided once, against the facts published before they are
decided; a command id names one command; a laptop travelling in a consignment
is received only through that consignment. Over fakes, allocation deciding and
handover learning from what allocation publishes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import codec
from events.catalog import CommandRejected, LaptopReceived, ReceiptConfirmed
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.common.commands import learn
from services.common.streams import SubjectStream
from services.handover import handlers
from tests.builders import (
    NOW,
    allocate,
    close_consignment,
    cmd,
    confirm_receipt,
    dispatch,
    new_asset,
    plan_consignment,
    receive,
    register,
    scan_into,
)
from tests.fakes import sent
from tests.unit.test_receipts import World


@pytest.fixture
def w() -> World:
    return World()


def reason(event: Envelope) -> str:
    assert event.type == CommandRejected.TYPE, event
    return str(event.data["reason"])


def receipt_scan(w: World, command: Envelope) -> Envelope:
    [event] = asyncio.run(handlers.handle(command, w.hand))
    return event


def test_a_laptop_in_a_dispatched_consignment_cannot_be_received_by_a_single_scan(w: World) -> None:
    (a,) = w.dispatched(1)
    event = receipt_scan(w, receive(a))
    assert reason(event) == "in_consignment"
    assert "C-1" in event.data["detail"] and "receipt code" in event.data["detail"]
    assert w.laptop(a) == "in_transit"
    # ... and the consignment's receipt then takes it, once, with its BAST.
    confirmed = w.confirm(confirm_receipt("C-1", [(a, "B", "")]))
    assert confirmed.type == ReceiptConfirmed.TYPE
    received = [e for e in sent(w.hand) if e.type == LaptopReceived.TYPE]
    assert [e.subject for e in received] == [a]


def test_a_laptop_allocated_to_a_planned_consignment_is_refused_at_single_receipt_before_dispatch_too(
    w: World,
) -> None:
    serial, a = new_asset()
    w.tell(register(serial, a))
    w.tell(plan_consignment("C-9", [a]))
    assert reason(receipt_scan(w, receive(a))) == "in_consignment"


def test_a_consignment_receipt_does_not_take_a_laptop_its_own_record_says_was_received(w: World) -> None:
    a, b = w.dispatched(2)
    # A record of a receipt made some other way (e.g. before this rule existed) wins.
    asyncio.run(learn(_received(a), w.hand.laptops))
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", ""), (b, "B", "")]))) == "not_expected"


def _received(asset: str) -> Envelope:
    return codec.make(
        LaptopReceived(office_code="73.71", condition="B"),
        subject=asset,
        source="/test",
        time=NOW,
        id=f"r-{asset}",
        causation_id=f"r-{asset}",
    )


def test_a_consignment_receipt_made_before_the_dispatch_time_is_refused(w: World) -> None:
    (a,) = w.dispatched(1)  # the fakes' clock: dispatched at NOW
    event = w.confirm(confirm_receipt("C-1", [(a, "B", "")], time=NOW - timedelta(seconds=5)))
    assert reason(event) == "not_dispatched"
    assert "predate" in event.data["detail"]
    assert w.basts.docs == {}


def test_a_consignment_receipt_before_the_close_is_refused_and_stays_refused_after_it(w: World) -> None:
    serial, a = new_asset()
    w.tell(register(serial, a))
    w.tell(plan_consignment("C-2", [a]))
    early = confirm_receipt("C-2", [(a, "B", "")], command_id="receipt-early")
    assert reason(w.confirm(early)) == "not_dispatched"
    w.tell(scan_into("C-2", a))
    w.tell(close_consignment("C-2"))
    assert reason(w.confirm(early)) == "not_dispatched"  # the device's retry: the same decision
    assert w.basts.docs == {}


# --- one command id, one command -------------------------------------------


def test_a_retry_with_a_changed_body_under_a_used_scan_id_is_refused_and_the_first_decision_stands(
    w: World,
) -> None:
    serial, a = new_asset()
    w.tell(register(serial, a))
    w.tell(allocate(a, office="73.71"))
    first = w.tell(dispatch(a, scan_id="s-1"))
    again = asyncio.run(allocation.handle(dispatch(a, scan_id="s-1"), w.alloc))
    assert again == [first]  # the same scan: a replay
    other = cmd(codec.payload(allocate(a, office="32.73")), a, "s-1")
    [refused] = asyncio.run(allocation.handle(other, w.alloc))
    assert reason(refused) == "id_reused"
    assert refused.id != first.id
    assert first.id in {e.id for e in asyncio.run(w.alloc.laptops.store.load(a)).history}  # type: ignore[union-attr]


def test_a_refused_plan_keeps_its_id_a_changed_plan_under_it_is_refused_not_half_accepted(w: World) -> None:
    serial, a = new_asset()
    w.tell(register(serial, a))
    [first] = asyncio.run(allocation.handle(plan_consignment("K", [a], office="80", command_id="plan-K"), w.alloc))
    assert reason(first) == "unknown_office"
    [second] = asyncio.run(allocation.handle(plan_consignment("K", [a], office="12.37", command_id="plan-K"), w.alloc))
    assert reason(second) == "id_reused" and second.id != first.id
    [third] = asyncio.run(allocation.handle(plan_consignment("K", [a], office="80", command_id="plan-K"), w.alloc))
    assert third == first  # the first command again: its first decision


commands = st.builds(
    lambda kind, subject, scan_id, office: (
        dispatch(subject, scan_id=scan_id) if kind == "dispatch" else allocate(subject, office=office, scan_id=scan_id)
    ),
    st.sampled_from(["dispatch", "allocate"]),
    st.sampled_from(["SRHAAAAAAAAAA", "SRHBBBBBBBBBB"]),
    st.sampled_from(["s-1", "s-2"]),
    st.sampled_from(["73.71", "32.73", "12.37"]),
)


@settings(max_examples=200, deadline=None)
@given(commands, commands, st.integers(0, 3))
def test_ids_derived_from_two_commands_collide_only_when_they_are_the_same_command(
    one: Envelope, two: Envelope, index: int
) -> None:
    same = (one.type, one.subject, one.id, one.data) == (two.type, two.subject, two.id, two.data)
    assert (codec.caused_id(one, index) == codec.caused_id(two, index)) == same


@settings(max_examples=100, deadline=None)
@given(st.datetimes(timezones=st.just(NOW.tzinfo)), st.text(min_size=1, max_size=8, alphabet="abc-1"))
def test_a_command_sent_again_at_another_time_or_from_another_source_is_the_same_command(
    when: object, source: str
) -> None:
    a = dispatch("SRHAAAAAAAAAA", scan_id="s-1")
    b = a.model_copy(update={"time": when, "source": f"/{source}"})
    assert codec.caused_id(a, 0) == codec.caused_id(b, 0)
    assert SubjectStream("SRHAAAAAAAAAA", 1, [_event_of(a)]).replay_of(b) == [_event_of(a)]


def _event_of(command: Envelope) -> Envelope:
    return codec.make(
        CommandRejected(command_type=command.type, reason="unknown_laptop", detail="x"),
        subject=command.subject,
        source="/test",
        time=NOW,
        id=codec.caused_id(command, 0),
        causation_id=command.id,
    )
