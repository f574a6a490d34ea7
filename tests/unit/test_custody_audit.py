"""What the audit makes of a laptop's life after receipt: its view at each step, the
anomalies the new facts raise (scanned while lost or after write-off, attested by
someone other than the holder, held by someone not on the office's list, too long in
repair, a transfer never received) and the roll-up's new counts. Allocation, handover
and audit over fakes, each learning what the others publish."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import pytest

from events.catalog import AnomalyDetected
from events.lifecycle import State
from services.audit import handlers as audit
from services.gateway import rollups
from tests.builders import NOW, close_consignment, dispatch, plan_consignment, scan_into
from tests.lifecycle_world import (
    HOLDER,
    OFFICE,
    OTHER_HOLDER,
    OTHER_OFFICE,
    World,
    approve,
    assign,
    attest,
    confirm,
    propose,
    record_roster,
    recover,
    report_loss,
    return_from_holder,
    return_from_repair,
    return_to_warehouse,
    send_for_repair,
)


@pytest.fixture
def world() -> World:
    return World(audited=True)


def view(world: World, asset: str) -> dict[str, Any]:
    assert world.audit is not None
    found = asyncio.run(world.audit.views.get(asset))
    assert found is not None
    return found


def anomalies(world: World, asset: str) -> list[str]:
    assert world.audit is not None
    chain = asyncio.run(world.audit.log.chain(asset))
    return [link["event"]["data"]["rule"] for link in chain if link["event"]["type"] == AnomalyDetected.TYPE]


def test_the_view_follows_the_laptop_through_every_state(world: World) -> None:
    asset = world.received()
    steps = [
        (assign, {"status": "assigned", "holder_nip": HOLDER["nip"]}),
        (confirm, {"status": "in_use", "holder_nip": HOLDER["nip"]}),
        (return_from_holder, {"status": "received", "holder_nip": None}),
        (send_for_repair, {"status": "in_repair", "repair_vendor": "CV Mitra Servis", "condition": "RR"}),
        (return_from_repair, {"status": "received", "repair_vendor": None, "repair_due_at": None}),
        (report_loss, {"status": "lost"}),
        (recover, {"status": "received", "lost_at": None, "condition": "RR"}),
        (return_to_warehouse, {"status": "registered", "office_code": None}),
        (propose, {"status": "write_off_proposed"}),
        (approve, {"status": "written_off", "label_revoked": True}),
    ]
    for step, expected in steps:
        world.tell(step(asset))
        v = view(world, asset)
        assert {k: v[k] for k in expected} == expected, (step.__name__, v)
    assert view(world, asset)["written_off_at"] is not None


def test_a_repair_has_a_due_moment_and_an_attestation_is_due_while_held(world: World) -> None:
    asset = world.laptop_in(State.IN_USE)
    assert view(world, asset)["attestation_due_at"] is not None, "a held laptop is attested too"
    world.tell(return_from_holder(asset))
    world.tell(send_for_repair(asset))
    v = view(world, asset)
    assert v["attestation_due_at"] is None and v["repair_due_at"] is not None


def test_a_lost_laptop_scanned_anywhere_is_an_anomaly(world: World) -> None:
    asset = world.laptop_in(State.LOST)
    assert world.tell(attest(asset)).data["reason"] == "lost"
    assert world.tell(dispatch(asset)).data["reason"] == "lost"  # a warehouse scanner, allocation's refusal
    assert anomalies(world, asset).count("scanned_while_lost") == 2


def test_a_written_off_laptop_scanned_is_its_own_anomaly(world: World) -> None:
    asset = world.laptop_in(State.WRITTEN_OFF)
    assert world.tell(attest(asset)).data["reason"] == "label_revoked"
    assert anomalies(world, asset) == ["scanned_after_write_off"], "not also as a re-issued label's old copy"


def test_an_attestation_by_someone_other_than_the_holder_is_an_anomaly(world: World) -> None:
    asset = world.laptop_in(State.IN_USE)
    world.tell(attest(asset, by=HOLDER))
    assert anomalies(world, asset) == []
    world.tell(attest(asset, by=OTHER_HOLDER))
    world.tell(attest(asset, by=None))  # a device that named no one
    assert anomalies(world, asset) == ["attested_by_other", "attested_by_other"]
    free = world.laptop_in(State.RECEIVED)
    world.tell(attest(free, by=OTHER_HOLDER))
    assert anomalies(world, free) == [], "a laptop no one holds is the office's to attest"


def test_a_laptop_handed_to_someone_off_the_offices_list_is_an_anomaly(world: World) -> None:
    world.tell(record_roster(OFFICE, [OTHER_HOLDER]))
    asset = world.received()
    world.tell(assign(asset, holder=HOLDER))
    assert anomalies(world, asset) == ["holder_not_on_office_list"]
    listed = world.received()
    world.tell(assign(listed, holder=OTHER_HOLDER))
    assert anomalies(world, listed) == []


def test_a_new_list_that_leaves_out_a_holder_raises_it_for_each_laptop_they_hold(world: World) -> None:
    world.tell(record_roster(OFFICE, [HOLDER, OTHER_HOLDER]))
    first, second, others = world.received(), world.received(), world.received()
    world.tell(assign(first, holder=HOLDER))
    world.tell(assign(second, holder=HOLDER))
    world.tell(assign(others, holder=OTHER_HOLDER))
    world.tell(record_roster(OFFICE, [OTHER_HOLDER]))
    assert anomalies(world, first) == anomalies(world, second) == ["holder_not_on_office_list"]
    assert anomalies(world, others) == []
    assert view(world, f"office:{OFFICE}")["roster"] == [OTHER_HOLDER["nip"]]


def test_too_long_in_repair_and_a_transfer_never_received_are_raised_by_the_sweep(world: World) -> None:
    assert world.audit is not None
    repaired = world.laptop_in(State.RECEIVED)
    world.tell(send_for_repair(repaired))
    moved = world.received()
    cid = "MUT-SWEEP"
    world.tell(plan_consignment(cid, [moved], office=OTHER_OFFICE, from_office=OFFICE))
    world.tell(scan_into(cid, moved, from_office=OFFICE))
    world.tell(close_consignment(cid, from_office=OFFICE))
    assert view(world, moved)["transfer_to"] == OTHER_OFFICE and view(world, moved)["office_code"] == OFFICE
    world.audit.clock = lambda: NOW + timedelta(days=61)
    raised = asyncio.run(audit.sweep_overdue(world.audit))
    rules_by_laptop = {(e.subject, e.data["rule"]) for e in raised}
    assert (repaired, "in_repair_too_long") in rules_by_laptop
    assert (moved, "transfer_not_received") in rules_by_laptop
    asyncio.run(world._spread())  # the audit records what it raised
    again = asyncio.run(audit.sweep_overdue(world.audit))
    assert [e for e in again if e.subject in (repaired, moved)] == [], "each finding is raised once"


def test_the_rollup_counts_held_in_repair_lost_and_written_off_per_office(world: World) -> None:
    held = world.laptop_in(State.IN_USE)
    repaired = world.laptop_in(State.IN_REPAIR)
    lost = world.laptop_in(State.LOST)
    gone = world.laptop_in(State.WRITTEN_OFF)
    free = world.laptop_in(State.RECEIVED)
    views = [{"_id": a, **view(world, a)} for a in (held, repaired, lost, gone, free)]
    [province] = rollups.rollup(views, NOW + timedelta(days=1))
    [office] = province["offices"]
    assert office["code"] == "32.73"  # laptop_in allocates to the builders' default office
    counts = {k: office[k] for k in ("received", "held", "in_repair", "lost", "written_off", "write_off_proposed")}
    assert counts == {"received": 5, "held": 1, "in_repair": 1, "lost": 1, "written_off": 1, "write_off_proposed": 0}
    assert province["totals"]["held"] == 1
    # The counters the audit keeps for the office say the same.
    assert world.audit is not None
    kept = [{"_id": k, **v} for k, v in world.audit.views.counters.items()]  # type: ignore[attr-defined]
    assert rollups.counted_rollup(kept, NOW + timedelta(days=1)) == [province]
