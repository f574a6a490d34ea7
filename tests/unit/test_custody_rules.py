"""The checks each custody command makes after the state table: who confirms, which
write-off reason fits, who approves, where a declined write-off returns, what a
write-off does to the label, what a return to the warehouse does to stock, how the
condition moves, and the office's list of staff."""

from __future__ import annotations

import asyncio
import io

import pypdf
import pytest

from events.catalog import (
    AssignmentConfirmed,
    CommandRejected,
    LabelRevoked,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    LaptopWrittenOff,
    OfficeRosterRecorded,
    UsageAttested,
    WriteOffDeclined,
)
from events.envelope import Envelope
from events.lifecycle import State
from tests.builders import allocate, cmd, dispatch, receive
from tests.lifecycle_world import (
    APPROVER,
    ASSIGNER,
    HOLDER,
    OTHER_HOLDER,
    World,
    approve,
    assign,
    attest,
    confirm,
    decline,
    later,
    propose,
    record_roster,
    recover,
    report_loss,
    return_from_repair,
    return_to_warehouse,
    send_for_repair,
)


def reason(fact: Envelope) -> str:
    assert fact.type == CommandRejected.TYPE, fact
    return str(fact.data["reason"])


@pytest.fixture
def world() -> World:
    return World()


def test_only_the_named_holder_confirms_holding_the_laptop(world: World) -> None:
    asset = world.laptop_in(State.ASSIGNED)
    assert reason(world.tell(confirm(asset, nip=OTHER_HOLDER["nip"]))) == "not_the_holder"
    assert world.tell(confirm(asset)).type == AssignmentConfirmed.TYPE
    assert world.state(asset) == State.IN_USE


def test_an_attestation_records_who_attested(world: World) -> None:
    asset = world.laptop_in(State.IN_USE)
    fact = world.tell(attest(asset, by=HOLDER))
    assert fact.data["attested_by"]["nip"] == HOLDER["nip"]


def test_an_attestation_made_after_the_receipt_scan_is_taken_though_handover_decided_the_receipt_later(
    world: World,
) -> None:
    """The handover worker behind: the receipt scanned at +10 s is decided at +5 min; an
    attestation scanned at +40 s comes after the receipt as the people made them."""
    asset = world.registered()
    world.tell(allocate(asset))
    world.tell(dispatch(asset))
    world.clock.now = later(30)
    received = world.tell(receive(asset, time=later(1)))
    assert received.type == LaptopReceived.TYPE and received.time > later(4)
    assert received.data["received_at"] == later(1).isoformat()
    assert world.tell(attest(asset)).type == UsageAttested.TYPE


def test_an_attestation_scanned_before_the_receipt_scan_is_refused_whenever_either_is_decided(world: World) -> None:
    asset = world.registered()
    world.tell(allocate(asset))
    world.tell(dispatch(asset))
    world.clock.now = later(30)
    world.tell(receive(asset, time=later(5)))
    assert reason(world.tell(attest(asset))) == "not_received"  # scanned at +40 s, the receipt at +50 s


def test_an_attestation_after_a_consignment_receipt_is_compared_with_the_confirmation_not_its_decision(
    world: World,
) -> None:
    world.clock.now = later(30)
    asset = world.received_in_consignment()  # confirmed at +10 s, decided at +5 min
    assert world.tell(attest(asset)).type == UsageAttested.TYPE


def test_the_berita_acara_of_an_assignment_is_issued_with_its_hash_and_names_the_holder(world: World) -> None:
    asset = world.laptop_in(State.RECEIVED)
    fact = world.tell(assign(asset, note="untuk tugas lapangan"))
    document = fact.data["document"]
    assert document["id"] == f"{asset}-assignment-1" and document["number"].startswith("001/BA-PEMEGANG/")
    stored = asyncio.run(world.hand.documents.get(document["id"]))
    assert stored is not None and stored["sha256"] == document["sha256"] == stored["recorded_sha256"]
    text = " ".join("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(stored["pdf"])).pages).split())
    for needed in (document["number"], HOLDER["name"], HOLDER["nip"], HOLDER["unit"], ASSIGNER["name"], "PEMEGANG"):
        assert needed in text, needed
    # a second holder gets the next berita acara
    world.tell(confirm(asset))
    from tests.lifecycle_world import return_from_holder

    world.tell(return_from_holder(asset))
    again = world.tell(assign(asset, holder=OTHER_HOLDER))
    assert again.data["document"]["id"] == f"{asset}-assignment-2"


def test_the_same_assignment_renders_the_same_bytes_again(world: World) -> None:
    asset = world.laptop_in(State.RECEIVED)
    command = assign(asset)
    first = world.tell(command)
    assert world.tell(command) == first  # a redelivery replays; the document is not issued twice
    stored = asyncio.run(world.hand.documents.get(first.data["document"]["id"]))
    assert stored is not None and stored["sha256"] == first.data["document"]["sha256"]


def test_beyond_repair_needs_condition_rb(world: World) -> None:
    good = world.received(condition="B")
    assert reason(world.tell(propose(good, "beyond_repair"))) == "write_off_reason_invalid"
    broken = world.received(condition="RB")
    assert world.tell(propose(broken, "beyond_repair")).data["reason"] == "beyond_repair"


def test_lost_is_the_reason_for_a_lost_laptop_and_only_for_it(world: World) -> None:
    here = world.laptop_in(State.RECEIVED)
    assert reason(world.tell(propose(here, "lost"))) == "write_off_reason_invalid"
    gone = world.laptop_in(State.LOST)
    assert reason(world.tell(propose(gone, "obsolete"))) == "write_off_reason_invalid"
    assert world.tell(propose(gone, "lost")).data["reason"] == "lost"


def test_the_proposer_does_not_approve_their_own_write_off(world: World) -> None:
    asset = world.laptop_in(State.WRITE_OFF_PROPOSED)
    assert reason(world.tell(approve(asset, approver=ASSIGNER))) == "same_official"
    assert world.state(asset) == State.WRITE_OFF_PROPOSED


@pytest.mark.parametrize("before", [State.REGISTERED, State.RECEIVED, State.LOST], ids=str)
def test_a_declined_write_off_returns_the_laptop_where_it_was(world: World, before: State) -> None:
    asset = world.laptop_in(before)
    world.tell(propose(asset, "lost" if before == State.LOST else "obsolete"))
    fact = world.tell(decline(asset))
    assert fact.type == WriteOffDeclined.TYPE and fact.data["returns_to"] == before.value
    assert world.state(asset) == before
    assert world.alloc_status(asset) == before.value  # allocation learnt where it returned


def test_a_write_off_revokes_the_label_everywhere_and_nothing_moves_it_again(world: World) -> None:
    asset = world.laptop_in(State.WRITE_OFF_PROPOSED)
    facts = world.facts(approve(asset))
    assert [f.type for f in facts] == [LaptopWrittenOff.TYPE, LabelRevoked.TYPE]
    assert facts[0].data["approver"]["nip"] == APPROVER["nip"]
    assert facts[0].data["proposal"]["id"] == f"{asset}-write-off-1"
    assert reason(world.tell(attest(asset))) == "label_revoked"  # handover
    assert reason(world.tell(dispatch(asset))) == "label_revoked"  # allocation learnt it
    assert reason(world.tell(allocate(asset))) == "written_off"


def test_a_write_off_proposal_is_issued_as_a_document(world: World) -> None:
    asset = world.received(condition="RB")
    fact = world.tell(propose(asset, "beyond_repair"))
    stored = asyncio.run(world.hand.documents.get(fact.data["document"]["id"]))
    assert stored is not None and stored["sha256"] == fact.data["document"]["sha256"]
    text = " ".join("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(stored["pdf"])).pages).split())
    for needed in ("USULAN PENGHAPUSAN", fact.data["document"]["number"], ASSIGNER["name"], "rusak berat"):
        assert needed in text, needed


def test_a_laptop_returned_to_the_warehouse_is_back_in_stock_for_another_office(world: World) -> None:
    asset = world.laptop_in(State.RECEIVED)
    world.tell(return_to_warehouse(asset))
    assert world.state(asset) == State.REGISTERED and world.alloc_status(asset) == "registered"
    assert world.tell(allocate(asset, office="32.73")).type == LaptopAllocated.TYPE
    assert world.tell(dispatch(asset)).data["office_code"] == "32.73"
    assert world.state(asset) == State.IN_TRANSIT
    assert world.tell(receive(asset, time=later(13))).data["office_code"] == "32.73"


def test_a_returned_laptop_goes_back_out_as_a_new_one(world: World) -> None:
    asset = world.laptop_in(State.RECEIVED)
    world.tell(return_to_warehouse(asset))
    world.tell(allocate(asset, office="32.73"))
    assert world.tell(dispatch(asset)).type == LaptopDispatched.TYPE


def test_condition_changes_only_through_the_facts_that_state_it(world: World) -> None:
    asset = world.laptop_in(State.RECEIVED)

    def condition() -> str:
        return world.hand.laptops.state(asset, asyncio.run(world.hand.laptops.store.load(asset))).condition

    world.tell(send_for_repair(asset))
    assert condition() == "RR"  # it left for repair lightly damaged
    world.tell(return_from_repair(asset, condition="RB"))
    assert condition() == "RB"
    world.tell(report_loss(asset))
    assert condition() == "RB"  # a loss report states no condition
    world.tell(recover(asset))
    assert condition() == "RR"  # found lightly damaged


def test_recovery_puts_a_lost_laptop_back_at_its_office_with_no_holder(world: World) -> None:
    asset = world.laptop_in(State.IN_USE)
    lost = world.tell(report_loss(asset))
    assert lost.data["holder"]["nip"] == HOLDER["nip"]  # the report names who held it
    world.tell(recover(asset))
    state = world.hand.laptops.state(asset, asyncio.run(world.hand.laptops.store.load(asset)))
    assert (state.status, state.holder) == (State.RECEIVED, None)


def test_an_offices_list_of_staff_is_recorded_and_must_name_each_nip_once(world: World) -> None:
    fact = world.tell(record_roster("73.71", [HOLDER, OTHER_HOLDER]))
    assert fact.type == OfficeRosterRecorded.TYPE and len(fact.data["members"]) == 2
    assert reason(world.tell(record_roster("73.71", [HOLDER, HOLDER]))) == "invalid_command"
    assert reason(world.tell(record_roster("99.99", [HOLDER]))) == "unknown_office"
    from events.catalog import Holder, RecordOfficeRoster

    wrong = cmd(RecordOfficeRoster(office_code="73.71", members=[Holder(**HOLDER)]), "office:73.72")
    assert reason(world.tell(wrong)) == "invalid_command"


def test_a_refused_custody_command_changes_nothing(world: World) -> None:
    asset = world.laptop_in(State.IN_REPAIR)
    before = asyncio.run(world.hand.laptops.store.load(asset))
    assert reason(world.tell(assign(asset))) == "in_repair"
    after = asyncio.run(world.hand.laptops.store.load(asset))
    assert before is not None and after is not None
    assert world.hand.laptops.state(asset, after) == world.hand.laptops.state(asset, before)


def test_a_document_renders_to_the_same_bytes_every_time(world: World) -> None:
    from services.handover import handlers

    asset = world.laptop_in(State.RECEIVED)
    fact = world.tell(assign(asset))
    described = handlers._description(asyncio.run(world.hand.laptops.store.load(asset)))
    document = handlers._document(fact.type, fact.data, asset, described, world.hand.settings)
    first, again = world.hand.render_document(document), world.hand.render_document(document)
    assert first == again and first.startswith(b"%PDF")
