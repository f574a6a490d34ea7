"""The workers verify labels themselves: a command produced straight onto Kafka
with any spelling of a label but the canonical one is refused as malformed,
whoever sent it, and changes nothing."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events.catalog import CommandRejected, LaptopDispatched, LaptopScannedIntoConsignment
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.allocation.handlers import AllocationRuntime
from services.handover import handlers as handover
from tests.builders import (
    allocate,
    dispatch,
    label_for,
    new_asset,
    plan_consignment,
    receive,
    register,
    scan_into,
)
from tests.fakes import allocation_with_fakes, handover_with_fakes


def variants(label: str) -> list[str]:
    gen_at = label.index("/", label.index("/L/") + 3) + 1
    letter = next(i for i in range(label.rindex("/") + 1, len(label)) if label[i].isalpha())
    return [
        label[:gen_at] + "0" + label[gen_at:],  # leading-zero generation
        label.replace("/L/SRH", "/L/ſRH"),  # ſ upper-cases to S
        label[:letter] + label[letter].lower() + label[letter + 1 :],  # one lower-case letter in the signature
        "\x00\x00junk " + label,
        label + "\n",
        label.lower(),
        label.replace("/L/", "/l/"),
    ]


def alloc_runtime() -> AllocationRuntime:
    return allocation_with_fakes()


def one(events: list[Envelope]) -> Envelope:
    assert len(events) == 1
    return events[0]


def rejected_as_malformed(event: Envelope) -> bool:
    return event.type == CommandRejected.TYPE and event.data["reason"] == "label_malformed"


def test_allocation_refuses_every_non_canonical_spelling_of_a_dispatch_label() -> None:
    rt = alloc_runtime()
    serial, asset = new_asset()
    asyncio.run(allocation.handle(register(serial, asset), rt))
    asyncio.run(allocation.handle(allocate(asset), rt))
    for text in variants(label_for(asset)):
        assert rejected_as_malformed(one(asyncio.run(allocation.handle(dispatch(asset, label=text), rt)))), text
    assert one(asyncio.run(allocation.handle(dispatch(asset), rt))).type == LaptopDispatched.TYPE


def test_allocation_refuses_every_non_canonical_spelling_of_a_consignment_scan() -> None:
    rt = alloc_runtime()
    serial, asset = new_asset()
    asyncio.run(allocation.handle(register(serial, asset), rt))
    asyncio.run(allocation.handle(plan_consignment("C-1", [asset]), rt))
    for text in variants(label_for(asset)):
        event = one(asyncio.run(allocation.handle(scan_into("C-1", asset, label=text), rt)))
        assert rejected_as_malformed(event), (text, event)
    scanned = one(asyncio.run(allocation.handle(scan_into("C-1", asset), rt)))
    assert scanned.type == LaptopScannedIntoConsignment.TYPE


@pytest.mark.parametrize("index", range(7))
def test_handover_refuses_every_non_canonical_spelling_of_a_receipt_label(index: int) -> None:
    rt = handover_with_fakes()
    _, asset = new_asset()
    text = variants(label_for(asset))[index]
    assert rejected_as_malformed(one(asyncio.run(handover.handle(receive(asset, label=text), rt))))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(prefix=st.text(max_size=4), suffix=st.text(max_size=4))
def test_a_label_with_anything_around_it_is_refused_by_allocation(prefix: str, suffix: str) -> None:
    rt = alloc_runtime()
    _, asset = new_asset()
    text = prefix + label_for(asset) + suffix
    event = one(asyncio.run(allocation.handle(dispatch(asset, label=text[:512] or "x"), rt)))
    if prefix or suffix:
        assert rejected_as_malformed(event), text
    else:
        assert event.data["reason"] == "unknown_laptop"
