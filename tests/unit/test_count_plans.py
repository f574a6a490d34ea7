"""Issue 4c: plans by count ("N laptops, picked in the warehouse"), allocation side,
over fakes: every decision of a scan into a count plan, the claim that makes two
consignments unable to take one laptop, closing with a missing count, and the
handover side receiving what was picked."""

from __future__ import annotations

import asyncio
import dataclasses

import pytest
from pydantic import ValidationError

from events.catalog import (
    ConsignmentDispatched,
    ConsignmentPlanned,
    LaptopAllocated,
    LaptopScannedIntoConsignment,
    PlanConsignment,
    ReceiptConfirmed,
)
from events.envelope import Envelope
from services.allocation import handlers
from services.common.streams import VersionConflict
from tests.builders import (
    LEGAL_BASIS,
    OFFICIAL,
    allocate,
    close_consignment,
    cmd,
    code_hash,
    confirm_receipt,
    label_for,
    plan_consignment,
    scan_into,
)
from tests.fakes import FakeStreamStore, allocation_with_fakes, docs
from tests.fakes import sent as published
from tests.unit.test_consignments import World, reason, registered


def plan_by_count(consignment: str, n: int, office: str = "73.71", command_id: str | None = None) -> Envelope:
    body = PlanConsignment(
        office_code=office,
        officials=[OFFICIAL],  # type: ignore[list-item]
        legal_basis=LEGAL_BASIS,  # type: ignore[arg-type]
        expected_count=n,
        receipt_code_hash=code_hash(),
    )
    return cmd(body, consignment, command_id)


@pytest.fixture
def w() -> World:
    return World(allocation_with_fakes())


def sent(w: World) -> list[Envelope]:
    return published(w.rt)


def test_a_plan_by_count_allocates_nothing_until_laptops_are_picked(w: World) -> None:
    (stock,) = registered(w, 1)
    planned = w.run(plan_by_count("C-N", 3))
    assert planned.type == ConsignmentPlanned.TYPE
    assert planned.data["expected"] == [] and planned.data["expected_count"] == 3
    assert w.laptop(stock)["status"] == "registered"
    s = w.consignment("C-N")
    assert s["expected_count"] == 3 and s["missing_count"] == 3 and s["missing"] == []


def test_scanning_a_stock_laptop_into_a_count_plan_allocates_it_to_the_office_and_consignment(w: World) -> None:
    (stock,) = registered(w, 1)
    w.run(plan_by_count("C-N", 2))
    scanned = w.run(scan_into("C-N", stock))
    assert scanned.type == LaptopScannedIntoConsignment.TYPE and scanned.data["asset_id"] == stock
    assert w.laptop(stock) | {} == w.laptop(stock) and w.laptop(stock)["status"] == "allocated"
    assert w.laptop(stock)["consignment_id"] == "C-N" and w.laptop(stock)["office_code"] == "73.71"
    [claim] = [e for e in sent(w) if e.type == LaptopAllocated.TYPE and e.subject == stock]
    assert claim.data["consignment_id"] == "C-N" and claim.causationid == scanned.causationid
    assert w.consignment("C-N")["missing_count"] == 1


def test_scans_beyond_the_count_are_refused_as_consignment_full(w: World) -> None:
    a, b, c = registered(w, 3)
    w.run(plan_by_count("C-N", 2))
    w.run(scan_into("C-N", a))
    w.run(scan_into("C-N", b))
    assert reason(w.run(scan_into("C-N", c))) == "consignment_full"
    assert w.laptop(c)["status"] == "registered"  # not claimed
    assert w.consignment("C-N")["missing_count"] == 0


def test_a_duplicate_scan_into_a_full_count_plan_is_still_a_harmless_duplicate(w: World) -> None:
    (a,) = registered(w, 1)
    w.run(plan_by_count("C-N", 1))
    w.run(scan_into("C-N", a))
    assert reason(w.run(scan_into("C-N", a))) == "already_in_consignment"


def test_a_laptop_planned_for_another_consignment_cannot_be_picked(w: World) -> None:
    a, b = registered(w, 2)
    w.run(plan_consignment("C-LIST", [a]))
    w.run(plan_by_count("C-N", 2))
    assert reason(w.run(scan_into("C-N", a))) == "belongs_to_other_consignment"
    w.run(plan_by_count("C-M", 2))
    w.run(scan_into("C-M", b))
    assert reason(w.run(scan_into("C-N", b))) == "belongs_to_other_consignment"


def test_a_laptop_allocated_outside_a_consignment_is_not_picked(w: World) -> None:
    (a,) = registered(w, 1)
    w.run(allocate(a, office="73.71"))
    w.run(plan_by_count("C-N", 1))
    refused = w.run(scan_into("C-N", a))
    assert reason(refused) == "not_expected" and "plan this one by serial" in refused.data["detail"]


def test_a_dispatched_unknown_or_forged_laptop_is_refused_like_in_a_list_plan(w: World) -> None:
    a, b = registered(w, 2)
    w.run(plan_by_count("C-OUT", 1))
    w.run(scan_into("C-OUT", a))
    w.run(close_consignment("C-OUT"))
    w.run(plan_by_count("C-N", 3))
    assert reason(w.run(scan_into("C-N", a))) == "belongs_to_other_consignment"
    assert reason(w.run(scan_into("C-N", "SRH9999999999"))) == "unknown_laptop"
    forged = label_for(b, seed=b"\x01" * 32)
    assert reason(w.run(scan_into("C-N", b, label=forged))) == "label_forged"
    assert w.laptop(b)["status"] == "registered"


def test_closing_a_count_plan_dispatches_what_was_picked_and_counts_the_rest_missing(w: World) -> None:
    a, b = registered(w, 2)
    w.run(plan_by_count("C-N", 5))
    w.run(scan_into("C-N", a))
    w.run(scan_into("C-N", b))
    closed = w.run(close_consignment("C-N"))
    assert closed.type == ConsignmentDispatched.TYPE
    assert sorted(closed.data["dispatched"]) == sorted([a, b])
    assert closed.data["missing"] == [] and closed.data["missing_count"] == 3
    assert w.laptop(a)["status"] == "dispatched" and w.laptop(b)["status"] == "dispatched"


def test_a_list_plan_has_no_missing_count_in_its_dispatch(w: World) -> None:
    (a,) = registered(w, 1)
    w.run(plan_consignment("C-L", [a]))
    w.run(scan_into("C-L", a))
    assert "missing_count" not in w.run(close_consignment("C-L")).data


def test_two_count_plans_picking_one_laptop_at_once_give_it_to_one(w: World) -> None:
    (a,) = registered(w, 1)
    w.run(plan_by_count("C-A", 1))
    w.run(plan_by_count("C-B", 1))

    class Interleaving(FakeStreamStore):
        """Yields on every read, so both scans read the laptop before either writes."""

        async def load(self, asset_id: str):  # type: ignore[no-untyped-def]
            await asyncio.sleep(0)
            return await super().load(asset_id)

    laptops, consignments = Interleaving(), Interleaving()
    laptops.docs = docs(w.rt.laptops)
    consignments.docs = docs(w.rt.consignments)
    rt = dataclasses.replace(
        w.rt,
        laptops=dataclasses.replace(w.rt.laptops, store=laptops),
        consignments=dataclasses.replace(w.rt.consignments, store=consignments),
    )

    async def both() -> list[object]:
        return list(
            await asyncio.gather(
                handlers.handle(scan_into("C-A", a, scan_id="pick-a"), rt),
                handlers.handle(scan_into("C-B", a, scan_id="pick-b"), rt),
                return_exceptions=True,
            )
        )

    outcomes = asyncio.run(both())
    accepted = [o for o in outcomes if isinstance(o, list) and o[0].type == LaptopScannedIntoConsignment.TYPE]
    # The loser's guarded append on the laptop fails; the worker retries it in place and it re-decides.
    assert len(accepted) == 1 and any(isinstance(o, VersionConflict) for o in outcomes), outcomes
    winner = accepted[0][0].subject
    loser = "C-B" if winner == "C-A" else "C-A"
    assert reason(w.run(scan_into(loser, a, scan_id=f"pick-{loser[-1].lower()}"))) == "belongs_to_other_consignment"
    assert w.laptop(a)["consignment_id"] == winner
    assert w.consignment(loser)["scanned"] == []


def test_a_redelivered_pick_claims_once_and_replays_its_decision(w: World) -> None:
    (a,) = registered(w, 1)
    w.run(plan_by_count("C-N", 2))
    first = w.run(scan_into("C-N", a, scan_id="scan-1"))
    again = w.run(scan_into("C-N", a, scan_id="scan-1"))
    assert again == first
    history = docs(w.rt.laptops)[a]["history"]
    assert len([e for e in history if e["type"] == LaptopAllocated.TYPE]) == 1
    claims = {e.id for e in sent(w) if e.type == LaptopAllocated.TYPE and e.subject == a}
    assert len(claims) == 1


def test_a_crash_after_the_claim_is_healed_when_the_scan_is_redelivered(w: World) -> None:
    (a,) = registered(w, 1)
    w.run(plan_by_count("C-N", 1))
    real = w.rt.consignments.store

    class DiesOnAppend(FakeStreamStore):
        async def append(self, *args: object, **kwargs: object) -> None:
            raise ConnectionError("died after the claim")

    broken = DiesOnAppend()
    broken.docs = real.docs  # type: ignore[attr-defined]
    with pytest.raises(ConnectionError):
        crashing = dataclasses.replace(w.rt, consignments=dataclasses.replace(w.rt.consignments, store=broken))
        asyncio.run(handlers.handle(scan_into("C-N", a, scan_id="scan-x"), crashing))
    assert w.laptop(a)["consignment_id"] == "C-N"  # claimed, not yet in the consignment
    healed = w.run(scan_into("C-N", a, scan_id="scan-x"))
    assert healed.type == LaptopScannedIntoConsignment.TYPE
    assert w.consignment("C-N")["scanned"] == [a]


@pytest.mark.parametrize(
    ("fields", "why"),
    [
        ({"expected_count": 0}, "greater than or equal to 1"),
        ({"expected_count": -3}, "greater than or equal to 1"),
        ({"expected_count": 10**9}, "less than or equal to 5000"),
        ({"expected_count": 2, "expected": ["SRH0000000001"]}, "not both"),
        ({}, "gives neither"),
    ],
)
def test_a_plan_must_give_either_laptops_or_a_sensible_count(fields: dict[str, object], why: str) -> None:
    with pytest.raises(ValidationError, match=why):
        PlanConsignment(
            office_code="73.71",
            officials=[OFFICIAL],  # type: ignore[list-item]
            legal_basis=LEGAL_BASIS,  # type: ignore[arg-type]
            receipt_code_hash=code_hash(),
            **fields,  # type: ignore[arg-type]
        )


def test_a_count_plan_is_received_with_a_bast_like_any_other() -> None:
    from tests.unit.test_receipts import World as Both

    both = Both()
    assets = []
    from tests.builders import new_asset, register

    for _ in range(2):
        serial, asset = new_asset()
        both.tell(register(serial, asset))
        assets.append(asset)
    both.tell(plan_by_count("C-N", 3))
    for a in assets:
        both.tell(scan_into("C-N", a))
    both.tell(close_consignment("C-N"))
    event = both.confirm(confirm_receipt("C-N", [(a, "B", "") for a in assets]))
    assert event.type == ReceiptConfirmed.TYPE and event.data["complete"] is True
    assert both.laptop(assets[0]) == "received"
