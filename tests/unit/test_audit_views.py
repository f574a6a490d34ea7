"""The audit's views decide the time-dependent facts once and summarise each
consignment: a laptop's view carries the moments its timed rules judge by (by the
audit's thresholds), the timed rules and the sweep follow those moments, and a
consignment's view says what allocation and handover decided about it, as the
gateway shows it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from events import codec
from events.catalog import ConsignmentPlanned
from events.envelope import Envelope
from services.audit import domain, handlers, rules
from services.handover import handlers as handover
from tests.audit_data import laptop_history
from tests.builders import NOW, close_consignment, code_hash, confirm_receipt, new_asset, register, scan_into
from tests.fakes import FakePublisher, audit_with_fakes, docs, sent
from tests.unit.test_count_plans import plan_by_count
from tests.unit.test_receipt_code_reissue import NEW_CODE, reissue
from tests.unit.test_receipts import World

DAY = timedelta(days=1)
SHORT = rules.Thresholds(transit_days=3, attestation_interval_days=30)


def at(moment: Any) -> str:
    return codec.format_time(moment)


def test_a_laptop_view_carries_when_it_goes_missing_and_when_its_attestation_falls_due() -> None:
    asset, events = laptop_history("32.73", 5, attested_at=NOW + 20 * DAY)  # dispatched +1d, received +4d
    registered, allocated, dispatched, received, attested = events
    assert domain.view(asset, [registered, allocated], SHORT)["transit_due_at"] is None
    in_transit = domain.view(asset, events[:3], SHORT)
    assert in_transit["transit_due_at"] == at(dispatched.time + 3 * DAY) and in_transit["attestation_due_at"] is None
    arrived = domain.view(asset, events[:4], SHORT)
    assert arrived["transit_due_at"] is None and arrived["attestation_due_at"] == at(received.time + 30 * DAY)
    assert domain.view(asset, events, SHORT)["attestation_due_at"] == at(attested.time + 30 * DAY)


def test_the_timed_rules_judge_by_the_moments_the_view_carries() -> None:
    asset, events = laptop_history("32.73", 3)
    dispatched = events[-1].time
    view = domain.view(asset, events, SHORT)
    assert rules.overdue(asset, view, dispatched + 2 * DAY) == []
    [late] = rules.overdue(asset, view, dispatched + 4 * DAY)
    assert late.rule == "not_received_in_time" and "after 3 days" in late.detail
    assert late.at == dispatched + 3 * DAY
    asset, events = laptop_history("32.73", 4)
    [due] = rules.overdue(asset, domain.view(asset, events, SHORT), events[-1].time + 31 * DAY)
    assert due.rule == "never_attested" and due.evidence["due"] == at(events[-1].time + 30 * DAY)


def test_the_sweep_raises_by_the_audit_thresholds_once_the_view_moment_passes() -> None:
    asset, events = laptop_history("32.73", 3)
    now = [events[-1].time + 2 * DAY]
    rt = audit_with_fakes(publisher=FakePublisher(), clock=lambda: now[0], thresholds=SHORT)

    async def go() -> tuple[list[Envelope], list[Envelope]]:
        for e in events:
            await handlers.record_event(e, rt)
        early = await handlers.sweep_overdue(rt)
        now[0] = events[-1].time + 4 * DAY
        return early, await handlers.sweep_overdue(rt)

    early, late = asyncio.run(go())
    assert early == [] and [e.data["rule"] for e in late] == ["not_received_in_time"]


def test_a_rebuild_gives_every_view_the_due_moments_of_the_thresholds_it_runs_with() -> None:
    asset, events = laptop_history("32.73", 4)
    rt = audit_with_fakes()  # the default thresholds: 90 days to attest
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    assert rt.views.views[asset]["attestation_due_at"] == at(events[-1].time + 90 * DAY)
    rt.thresholds = SHORT
    asyncio.run(handlers.rebuild_views(rt))
    assert rt.views.views[asset]["attestation_due_at"] == at(events[-1].time + 30 * DAY)


# --- a consignment's summary ---


def published(w: World) -> list[Envelope]:
    """Everything allocation and handover published, each service's in its order (a
    consignment's events are allocation's until it leaves, handover's after)."""
    return [*sent(w.alloc), *sent(w.hand)]


def recorded(events: list[Envelope]) -> handlers.AuditRuntime:
    rt = audit_with_fakes(publisher=FakePublisher())
    for e in events:
        asyncio.run(handlers.record_event(e, rt))
    return rt


def test_a_consignment_view_sums_up_its_plan_a_reissued_code_two_receipts_and_a_reminder() -> None:
    w = World()
    a, b, c = w.dispatched(3)
    w.confirm(reissue("C-1"))
    first = w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[b], code=NEW_CODE))
    w.hand.consignments.clock = lambda: NOW + 8 * DAY
    [reminder] = asyncio.run(handover.sweep_late_receipts(w.hand))
    second = w.confirm(confirm_receipt("C-1", [(b, "RR", "layar retak"), (c, "B", "")], code=NEW_CODE))
    events = published(w)
    planned = next(e for e in events if e.type == ConsignmentPlanned.TYPE)

    s = recorded(events).views.views["C-1"]["consignment"]
    assert s["status"] == "received"
    assert s["plan"] == planned.data | {"receipt_code_hash": code_hash(NEW_CODE)}
    assert s["receipt_code_generation"] == 2
    assert (s["expected"], s["scanned"], s["missing"], s["missing_count"]) == ([a, b, c], [a, b, c], [], 0)
    assert s["received"] == [a, b, c] and s["in_transit"] == []
    assert s["receipts"] == [first.data, second.data] and [r["seq"] for r in s["receipts"]] == [1, 2]
    assert s["reminders"] == [{"threshold_days": 7.0, "raised_at": reminder.time.isoformat()}]

    # What the workers' own documents say, field by field, where the gateway used to read it.
    allocation = docs(w.alloc.consignments)["C-1"]["summary"]
    for k in ("office_code", "office_name", "expected", "scanned", "missing", "expected_count", "missing_count"):
        assert s[k] == allocation[k], k
    receipt = docs(w.hand.consignments)["C-1"]["summary"]
    for k in ("status", "received", "in_transit", "reminders", "receipt_code_generation"):
        assert s[k] == receipt[k], k


def test_a_consignment_is_listed_awaiting_receipt_from_its_dispatch_until_it_is_fully_received() -> None:
    w = World()
    a, b = w.dispatched(2)
    rt = recorded(published(w))
    assert asyncio.run(rt.views.unconfirmed()) == ["C-1"]
    assert rt.views.views["C-1"]["consignment"]["status"] == "dispatched"
    partial = w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[b]))
    asyncio.run(handlers.record_event(partial, rt))
    assert asyncio.run(rt.views.unconfirmed()) == ["C-1"]
    assert rt.views.views["C-1"]["consignment"]["status"] == "partly_received"
    full = w.confirm(confirm_receipt("C-1", [(b, "B", "")]))
    asyncio.run(handlers.record_event(full, rt))
    assert asyncio.run(rt.views.unconfirmed()) == []


def test_a_consignment_is_listed_as_being_picked_from_its_plan_until_it_leaves_and_a_rebuild_agrees() -> None:
    from tests.builders import plan_consignment

    w = World()
    serial, asset = new_asset()
    w.tell(register(serial, asset))
    w.tell(plan_consignment("C-2", [asset]))
    rt = recorded(published(w))
    assert asyncio.run(rt.views.open_consignments()) == ["C-2"] and asyncio.run(rt.views.unconfirmed()) == []
    w.tell(scan_into("C-2", asset))
    w.tell(close_consignment("C-2"))
    for e in published(w):
        asyncio.run(handlers.record_event(e, rt))
    assert asyncio.run(rt.views.open_consignments()) == [] and asyncio.run(rt.views.unconfirmed()) == ["C-2"]
    # Batches and a rebuild from the log keep the same lists.
    batched = audit_with_fakes(publisher=FakePublisher())
    asyncio.run(handlers.record_events(published(w)[:3], batched))
    assert asyncio.run(batched.views.open_consignments()) == ["C-2"]
    rt.views.picking.add("C-2")  # type: ignore[attr-defined]  # a list that drifted
    asyncio.run(handlers.rebuild_views(rt))
    assert asyncio.run(rt.views.open_consignments()) == []


def test_a_crash_between_the_view_and_the_awaiting_list_is_healed_when_the_event_comes_again() -> None:
    w = World()
    w.dispatched(1)
    events = published(w)
    rt = recorded(events)
    rt.views.awaiting.clear()  # type: ignore[attr-defined]  # the crash: the view moved, the list did not
    asyncio.run(handlers.record_event(next(e for e in events if e.subject == "C-1" and "dispatched" in e.type), rt))
    assert asyncio.run(rt.views.unconfirmed()) == ["C-1"]
    rt.views.awaiting.clear()  # type: ignore[attr-defined]
    assert asyncio.run(handlers.record_events(events, rt)) == set()  # a redelivered batch heals it too
    assert asyncio.run(rt.views.unconfirmed()) == ["C-1"]


def test_a_plan_by_count_lists_what_was_picked_as_its_plan_and_counts_the_rest_missing() -> None:
    w = World()
    picked = []
    for _ in range(2):
        serial, asset = new_asset()
        w.tell(register(serial, asset))
        picked.append(asset)
    w.tell(plan_by_count("C-N", 3))
    for asset in picked:
        w.tell(scan_into("C-N", asset))
    w.tell(close_consignment("C-N"))
    s = recorded(published(w)).views.views["C-N"]["consignment"]
    assert s["plan"]["expected"] == picked and s["plan"]["expected_count"] == 3
    assert (s["expected"], s["scanned"], s["missing"], s["missing_count"]) == ([], picked, [], 1)
    assert s["status"] == "dispatched" and s["in_transit"] == picked


def test_a_refusal_about_an_unplanned_consignment_plans_nothing() -> None:
    w = World()
    refused = w.confirm(confirm_receipt("NOPE", [("SRH0000000000", "B", "")]))
    view = recorded([refused]).views.views["NOPE"]
    assert view["kind"] == "consignment" and view["consignment"]["status"] == "unplanned"
