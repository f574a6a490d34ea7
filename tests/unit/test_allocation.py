from __future__ import annotations

import asyncio

import pytest

from events.catalog import CommandRejected, LaptopAllocated, LaptopDispatched, LaptopRegistered
from events.envelope import Envelope
from services.allocation import handlers
from services.allocation.handlers import AllocationRuntime
from tests.builders import allocate, dispatch, label_for, new_asset, register
from tests.fakes import allocation_with_fakes, sent


@pytest.fixture
def rt() -> AllocationRuntime:
    return allocation_with_fakes()


def run(rt: AllocationRuntime, command: Envelope) -> Envelope:
    events = asyncio.run(handlers.handle(command, rt))
    assert len(events) == 1
    return events[0]


def reason(event: Envelope) -> str:
    assert event.type == CommandRejected.TYPE, event
    return str(event.data["reason"])


def registered_and_allocated(rt: AllocationRuntime) -> str:
    serial, asset = new_asset()
    assert run(rt, register(serial, asset)).type == LaptopRegistered.TYPE
    assert run(rt, allocate(asset)).type == LaptopAllocated.TYPE
    return asset


def test_a_laptop_is_registered_once(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    first = run(rt, register(serial, asset))
    assert first.type == LaptopRegistered.TYPE
    assert run(rt, register(serial, asset)) == first  # the same command replays
    again = register(serial, asset).model_copy(update={"id": "another-import"})
    assert reason(run(rt, again)) == "already_registered"


def test_a_serial_colliding_with_another_asset_is_refused(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    run(rt, register(serial, asset))
    other = register("DIFFERENT1", asset).model_copy(update={"id": "x"})
    assert reason(run(rt, other)) == "serial_conflict"


def test_allocation_needs_a_known_laptop_and_an_official_office(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    assert reason(run(rt, allocate(asset))) == "unknown_laptop"
    run(rt, register(serial, asset))
    assert reason(run(rt, allocate(asset, office="99.99"))) == "unknown_office"
    event = run(rt, allocate(asset, office="32.73", consignment="C-1"))
    assert event.data == {
        "office_code": "32.73",
        "office_name": "Badan Kesatuan Bangsa dan Politik Kota Bandung",
        "consignment_id": "C-1",
    }


def test_a_laptop_can_be_reallocated_until_it_leaves(rt: AllocationRuntime) -> None:
    asset = registered_and_allocated(rt)
    assert run(rt, allocate(asset, office="11")).data["office_code"] == "11"
    assert run(rt, dispatch(asset)).data["office_code"] == "11"
    assert reason(run(rt, allocate(asset, office="32.73"))) == "already_dispatched"


def test_a_laptop_cannot_be_dispatched_before_it_is_allocated(rt: AllocationRuntime) -> None:
    serial, asset = new_asset()
    run(rt, register(serial, asset))
    assert reason(run(rt, dispatch(asset))) == "not_allocated"


def test_an_unknown_laptop_cannot_be_dispatched_and_only_the_refusal_is_recorded(rt: AllocationRuntime) -> None:
    _, asset = new_asset()
    assert reason(run(rt, dispatch(asset))) == "unknown_laptop"
    doc = asyncio.run(rt.laptops.store.load(asset))
    # The refusal is kept so the scan id names this decision for good; the laptop stays unknown.
    assert [e.type for e in doc.history] == [CommandRejected.TYPE]
    assert rt.laptops.state(asset, doc).status == "unregistered"


def test_a_dispatch_scan_is_accepted_once_and_a_repeat_scan_id_is_the_same_scan(rt: AllocationRuntime) -> None:
    asset = registered_and_allocated(rt)
    first = run(rt, dispatch(asset, scan_id="scan-1"))
    assert first.type == LaptopDispatched.TYPE
    assert run(rt, dispatch(asset, scan_id="scan-1")) == first
    assert reason(run(rt, dispatch(asset, scan_id="scan-2"))) == "already_dispatched"
    doc = asyncio.run(rt.laptops.store.load(asset))
    assert doc is not None
    assert [e.type for e in doc.history].count(LaptopDispatched.TYPE) == 1


@pytest.mark.parametrize(
    ("make_label", "expected"),
    [
        (lambda a: label_for(a, seed=b"\x07" * 32), "label_forged"),
        (lambda a: label_for(a, kid="K9"), "label_unknown_key"),
        (lambda a: label_for(a)[:-5], "label_malformed"),
        (lambda a: label_for(a, gen=2), "label_revoked"),
        (lambda a: label_for(new_asset()[1]), "label_asset_mismatch"),
    ],
)
def test_dispatch_refuses_bad_labels_with_distinct_reasons(
    rt: AllocationRuntime, make_label: object, expected: str
) -> None:
    asset = registered_and_allocated(rt)
    assert reason(run(rt, dispatch(asset, label=make_label(asset)))) == expected  # type: ignore[operator]
    assert run(rt, dispatch(asset)).type == LaptopDispatched.TYPE  # nothing was changed by the refusal


def test_every_decision_is_published_with_the_scan_as_cause(rt: AllocationRuntime) -> None:
    asset = registered_and_allocated(rt)
    event = run(rt, dispatch(asset, scan_id="scan-77"))
    assert sent(rt)[-1] == event
    assert event.causationid == "scan-77" and event.subject == asset and event.source == "/serah/allocation"


def test_a_command_with_invalid_data_is_refused_not_crashed(rt: AllocationRuntime) -> None:
    asset = registered_and_allocated(rt)
    bad = dispatch(asset).model_copy(update={"data": {"label": 42, "junk": True}})
    assert reason(run(rt, bad)) == "invalid_command"


def test_a_command_of_another_service_is_refused(rt: AllocationRuntime) -> None:
    from tests.builders import receive

    asset = registered_and_allocated(rt)
    assert reason(run(rt, receive(asset))) == "invalid_command"
