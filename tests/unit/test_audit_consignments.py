"""Issue 4 × issue 5: consignment events reach the audit service. They are chained
and verifiable like a laptop's, but never counted as laptops."""

from __future__ import annotations

import asyncio

from events import codec
from events.catalog import CommandRejected, ConfirmReceipt, RejectionReason
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.audit import domain, handlers
from services.gateway import rollups
from tests.builders import NOW, close_consignment, new_asset, plan_consignment, register, scan_into
from tests.fakes import FakePublisher, allocation_with_fakes, audit_with_fakes, sent


def consignment_journey() -> tuple[list[str], list[Envelope]]:
    """Two laptops registered, planned to 73.71 as C-1, one scanned twice, closed:
    every event any service published, laptops' and the consignment's."""
    rt = allocation_with_fakes()
    assets = []
    commands = []
    for _ in range(2):
        serial, asset = new_asset()
        assets.append(asset)
        commands.append(register(serial, asset))
    commands += [
        plan_consignment("C-1", assets),
        scan_into("C-1", assets[0]),
        scan_into("C-1", assets[0]),  # duplicate: a rejection with the consignment as subject
        close_consignment("C-1"),
    ]
    for c in commands:
        asyncio.run(allocation.handle(c, rt))
    refused_receipt = codec.make(
        CommandRejected(
            command_type=ConfirmReceipt.TYPE, reason=RejectionReason.NOT_DISPATCHED, detail="Not dispatched yet."
        ),
        subject="C-2",
        source="/serah/handover",
        time=NOW,
        id="rejected-receipt-C-2",
        subject_kind="consignment",  # as handover marks the refusal of a consignment's receipt
    )
    return assets, [*sent(rt), refused_receipt]


def test_consignment_events_are_chained_under_their_consignment_and_marked_not_a_laptop() -> None:
    rt = audit_with_fakes(publisher=FakePublisher())
    assets, events = consignment_journey()
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    chain = asyncio.run(rt.log.chain("C-1"))
    mine = [e for e in events if e.subject == "C-1"]
    assert [link["_id"] for link in chain] == [e.id for e in mine] and len(chain) >= 4
    prev = domain.GENESIS
    for link, event in zip(chain, mine, strict=True):
        assert link["hash"] == domain.link_hash(prev, event)
        prev = link["hash"]
    assert rt.views.views["C-1"]["kind"] == "consignment"
    assert rt.views.views["C-1"]["rejections"] == 1
    assert rt.views.views["C-2"]["kind"] == "consignment"
    for asset in assets:
        assert rt.views.views[asset]["kind"] == "laptop"
        assert rt.views.views[asset]["consignment_id"] == "C-1"


def test_laptop_rules_never_raise_anomalies_about_a_consignment() -> None:
    publisher = FakePublisher()
    rt = audit_with_fakes(publisher=publisher)
    _, events = consignment_journey()
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    assert not [e for e in publisher.sent if e.subject in ("C-1", "C-2")]


def test_roll_ups_and_attestation_lists_count_only_laptops() -> None:
    rt = audit_with_fakes()
    assets, events = consignment_journey()
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    views = list(rt.views.views.values())
    # Even a consignment view that carried an office and a receipt is skipped.
    views.append(
        {
            **rt.views.views["C-1"],
            "office_code": "73.71",
            "status": "received",
            "received_at": "2020-01-01T00:00:00.000000Z",
            "attestation_due_at": "2020-04-01T00:00:00.000000Z",
        }
    )
    table = rollups.rollup(views, NOW)
    office = next(o for p in table for o in p["offices"] if o["code"] == "73.71")
    assert office["planned"] == 2 and office["received"] == 0
    totals = next(p for p in table if p["code"] == "73")["totals"]
    assert totals["planned"] == 2 and totals["dispatched"] == 1 and totals["in_transit"] == 1
    for state in ("due", "overdue"):
        assert rollups.attestations(views, NOW, state, None, 10_000.0) == []


def test_a_rebuild_gives_the_same_views_for_consignments_and_laptops() -> None:
    rt = audit_with_fakes()
    _, events = consignment_journey()
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    live = {k: dict(v) for k, v in rt.views.views.items()}
    asyncio.run(handlers.rebuild_views(rt))
    assert {k: dict(v) for k, v in rt.views.views.items()} == live
