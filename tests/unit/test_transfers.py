"""A transfer between offices (mutasi) is a consignment from an office: planned, scanned
and closed at the giving office, received and signed for at the new one, with its BAST,
and the laptop's office changes only on that receipt."""

from __future__ import annotations

import asyncio
import io
import uuid

import pypdf
import pytest

from events import offices
from events.catalog import (
    CommandRejected,
    ConsignmentPlanned,
    LaptopDispatched,
    LaptopReceived,
    LaptopScannedIntoConsignment,
    PlanConsignment,
    ReceiptConfirmed,
)
from events.lifecycle import State
from services.handover.bast_store import bast_id
from tests.builders import (
    DISPATCHER,
    LEGAL_BASIS,
    close_consignment,
    code_hash,
    confirm_receipt,
    plan_consignment,
    scan_into,
)
from tests.lifecycle_world import (
    OFFICE,
    OTHER_OFFICE,
    World,
    assign,
    later,
    report_loss,
    return_from_holder,
    send_for_repair,
)

RECEIVING = {"name": "Yusuf Hamzah", "nip": "198203032006041002", "jabatan": "Sekretaris Badan Kesbangpol"}


def transfer(world: World, assets: list[str], to: str = OTHER_OFFICE, frm: str = OFFICE) -> tuple[str, object]:
    cid = f"MUT-{uuid.uuid4().hex[:8]}"
    return cid, world.tell(plan_consignment(cid, assets, office=to, from_office=frm, official=RECEIVING))


def reason(fact: object) -> str:
    assert fact.type == CommandRejected.TYPE, fact  # type: ignore[attr-defined]
    return str(fact.data["reason"])  # type: ignore[attr-defined]


def test_a_laptop_moves_to_another_office_by_plan_scan_close_and_receipt_and_its_office_changes_on_receipt() -> None:
    world = World()
    asset = world.received_in_consignment()
    cid, planned = transfer(world, [asset])
    assert planned.type == ConsignmentPlanned.TYPE  # type: ignore[attr-defined]
    assert planned.data["from_office"] == OFFICE and planned.data["from_office_name"]  # type: ignore[attr-defined]
    assert world.state(asset) == State.RECEIVED  # planned, not moved

    assert world.tell(scan_into(cid, asset, from_office=OFFICE)).type == LaptopScannedIntoConsignment.TYPE
    world.tell(close_consignment(cid, from_office=OFFICE))
    assert world.state(asset) == State.IN_TRANSIT
    laptop = asyncio.run(world.hand.laptops.store.load(asset))
    state = world.hand.laptops.state(asset, laptop)
    assert state.office_code == OFFICE and state.to_office == OTHER_OFFICE  # the giver answers for it in transit

    receipt = world.tell(confirm_receipt(cid, [(asset, "RR", "engsel longgar")], official=RECEIVING, time=later(2)))
    assert receipt.type == ReceiptConfirmed.TYPE and receipt.data["office_code"] == OTHER_OFFICE
    after = world.hand.laptops.state(asset, asyncio.run(world.hand.laptops.store.load(asset)))
    assert (after.status, after.office_code, after.condition) == (State.RECEIVED, OTHER_OFFICE, "RR")
    alloc = world.alloc.laptops.state(asset, asyncio.run(world.alloc.laptops.store.load(asset)))
    assert (alloc.status, alloc.office_code) == ("received", OTHER_OFFICE)

    stored = asyncio.run(world.hand.basts.get(bast_id(cid, 1)))
    assert stored is not None and stored["sha256"] == receipt.data["bast_sha256"]
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(stored["pdf"])).pages)
    giver, receiver = offices.get(OFFICE), offices.get(OTHER_OFFICE)
    assert giver is not None and receiver is not None
    flat = " ".join(text.split())
    assert giver.name in flat and receiver.name in flat, "PIHAK PERTAMA signs for the giving office"
    assert DISPATCHER["name"] in text and RECEIVING["name"] in text and "MUTASI" in text


def test_the_dispatched_laptops_name_the_office_they_leave_from() -> None:
    world = World()
    asset = world.received()
    cid, _ = transfer(world, [asset])
    world.tell(scan_into(cid, asset, from_office=OFFICE))
    world.tell(close_consignment(cid, from_office=OFFICE))
    sent = [e for e in world.alloc.laptops.publisher.sent if e.subject == asset]  # type: ignore[attr-defined]
    dispatched = [e for e in sent if e.type == LaptopDispatched.TYPE][-1]
    assert dispatched.data["from_office"] == OFFICE and dispatched.data["office_code"] == OTHER_OFFICE


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda w, a: None, None),
        (lambda w, a: w.tell(assign(a)), "held_by_holder"),
        (lambda w, a: w.tell(send_for_repair(a)), "in_repair"),
        (lambda w, a: w.tell(report_loss(a)), "lost"),
    ],
    ids=["free", "held", "in repair", "lost"],
)
def test_only_a_laptop_its_office_holds_free_may_be_planned_for_transfer(make: object, expected: str | None) -> None:
    world = World()
    asset = world.received()
    make(world, asset)  # type: ignore[operator]
    _, planned = transfer(world, [asset])
    if expected is None:
        assert planned.type == ConsignmentPlanned.TYPE  # type: ignore[attr-defined]
    else:
        assert reason(planned) == expected


def test_a_transfer_leaves_only_from_the_office_that_holds_the_laptop() -> None:
    world = World()
    asset = world.received(office=OTHER_OFFICE)
    _, planned = transfer(world, [asset], to="32.73", frm=OFFICE)
    assert reason(planned) == "not_at_office"


def test_a_laptop_still_in_the_warehouse_is_not_transferred() -> None:
    world = World()
    asset = world.registered()
    _, planned = transfer(world, [asset])
    assert reason(planned) == "not_received"


def test_a_laptop_is_reserved_for_one_transfer_and_cannot_be_handed_out_meanwhile() -> None:
    world = World()
    asset = world.received()
    transfer(world, [asset])
    _, second = transfer(world, [asset], to="32.73")
    assert reason(second) == "belongs_to_other_consignment"
    assert reason(world.tell(assign(asset))) == "in_consignment"
    assert reason(world.tell(send_for_repair(asset))) == "in_consignment"


def test_a_holder_gives_the_laptop_back_before_it_is_transferred() -> None:
    world = World()
    asset = world.received()
    world.tell(assign(asset))
    world.tell(return_from_holder(asset))
    _, planned = transfer(world, [asset])
    assert planned.type == ConsignmentPlanned.TYPE  # type: ignore[attr-defined]


def test_a_transfer_is_scanned_and_closed_at_its_office_and_a_warehouse_consignment_at_the_warehouse() -> None:
    world = World()
    asset, stock = world.received(), world.registered()
    cid, _ = transfer(world, [asset])
    assert reason(world.tell(scan_into(cid, asset))) == "wrong_sender"
    assert reason(world.tell(close_consignment(cid))) == "wrong_sender"
    warehouse = f"KSB-{uuid.uuid4().hex[:8]}"
    world.tell(plan_consignment(warehouse, [stock]))
    assert reason(world.tell(scan_into(warehouse, stock, from_office=OFFICE))) == "wrong_sender"


def test_a_transfer_scans_only_the_laptops_it_lists() -> None:
    world = World()
    listed, other = world.received(), world.received()
    cid, _ = transfer(world, [listed])
    assert reason(world.tell(scan_into(cid, other, from_office=OFFICE))) == "not_expected"


def test_a_transfer_goes_to_another_official_office_and_lists_its_laptops() -> None:
    world = World()
    asset = world.received()
    _, same = transfer(world, [asset], to=OFFICE)
    assert reason(same) == "invalid_command"
    with pytest.raises(ValueError, match="lists its laptops"):
        PlanConsignment(
            office_code=OTHER_OFFICE,
            officials=[RECEIVING],  # type: ignore[list-item]
            legal_basis=LEGAL_BASIS,  # type: ignore[arg-type]
            expected_count=3,
            receipt_code_hash=code_hash(),
            from_office=OFFICE,
        )


def test_the_laptop_received_in_a_transfer_is_its_new_offices_to_hand_out() -> None:
    world = World()
    asset = world.received()
    cid, _ = transfer(world, [asset])
    world.tell(scan_into(cid, asset, from_office=OFFICE))
    world.tell(close_consignment(cid, from_office=OFFICE))
    world.tell(confirm_receipt(cid, [(asset, "B", "")], official=RECEIVING, time=later(2)))
    assigned = world.tell(assign(asset))
    assert assigned.data["office_code"] == OTHER_OFFICE
    assert any(e.type == LaptopReceived.TYPE for e in world.hand.laptops.publisher.sent)  # type: ignore[attr-defined]
