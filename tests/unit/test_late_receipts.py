"""Issue 4c: the late-receipt reminder. A consignment that left the warehouse and is
not fully received after each configured threshold raises one reminder per threshold,
however often the sweep runs, after restarts, and with several workers sweeping."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest
from pydantic import ValidationError

from events import codec
from events.catalog import ConsignmentDispatched, ReceiptReminderRaised
from events.envelope import Envelope
from services.handover import consignment, handlers
from services.handover.config import HandoverSettings
from tests.builders import NOW, confirm_receipt
from tests.fakes import FakePublisher, FakeStreamStore
from tests.unit.test_receipts import World

DAY = timedelta(days=1)


@pytest.fixture
def w() -> World:
    world = World()
    world.hand.settings = HandoverSettings(receipt_reminder_days="7,14")
    return world


def sweep(w: World, after: timedelta) -> list[Envelope]:
    w.hand.consignments.clock = lambda: NOW + after
    return asyncio.run(handlers.sweep_late_receipts(w.hand))


def reminders(w: World, cid: str = "C-1") -> list[Envelope]:
    doc = asyncio.run(w.hand.consignments.store.load(cid))
    assert doc is not None
    return [e for e in doc.history if e.type == ReceiptReminderRaised.TYPE]


def test_no_reminder_is_raised_before_the_threshold(w: World) -> None:
    w.dispatched(2)
    assert sweep(w, 7 * DAY - timedelta(seconds=1)) == []
    assert reminders(w) == []


def test_a_reminder_is_raised_once_the_threshold_has_passed(w: World) -> None:
    a, b = w.dispatched(2)
    [raised] = sweep(w, 7 * DAY)
    assert raised.type == ReceiptReminderRaised.TYPE and raised.subject == "C-1"
    body = codec.payload(raised, ReceiptReminderRaised)
    assert isinstance(body, ReceiptReminderRaised)
    assert body.threshold_days == 7 and body.office_code == "73.71"
    assert sorted(body.in_transit) == sorted([a, b])
    assert body.due_at == (NOW + 7 * DAY).isoformat()
    assert raised.id == handlers.reminder_id("C-1", 7.0)
    assert w.hand.consignments.publisher.sent[-1] == raised  # type: ignore[attr-defined]
    summary = w.hand.consignments.store.docs["C-1"]["summary"]  # type: ignore[attr-defined]
    assert summary["reminders"] == [{"threshold_days": 7.0, "raised_at": (NOW + 7 * DAY).isoformat()}]


def test_a_reminder_is_not_raised_twice_however_often_the_sweep_runs(w: World) -> None:
    w.dispatched(1)
    assert len(sweep(w, 8 * DAY)) == 1
    assert sweep(w, 8 * DAY) == [] and sweep(w, 9 * DAY) == []
    assert len(reminders(w)) == 1


def test_each_threshold_gets_its_own_reminder(w: World) -> None:
    w.dispatched(1)
    assert [e.data["threshold_days"] for e in sweep(w, 8 * DAY)] == [7]
    assert [e.data["threshold_days"] for e in sweep(w, 15 * DAY)] == [14]
    assert [e.data["threshold_days"] for e in reminders(w)] == [7, 14]


def test_a_sweep_that_starts_late_raises_every_passed_threshold_at_once(w: World) -> None:
    w.dispatched(1)
    assert [e.data["threshold_days"] for e in sweep(w, 30 * DAY)] == [7, 14]


def test_a_fully_received_consignment_is_never_reminded(w: World) -> None:
    (a,) = w.dispatched(1)
    w.confirm(confirm_receipt("C-1", [(a, "B", "")]))
    assert sweep(w, 30 * DAY) == []


def test_a_partly_received_consignment_is_still_overdue(w: World) -> None:
    a, b = w.dispatched(2)
    w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[b]))
    [raised] = sweep(w, 8 * DAY)
    assert raised.data["in_transit"] == [b]


def test_a_consignment_not_yet_dispatched_is_not_reminded(w: World) -> None:
    from tests.builders import new_asset, plan_consignment, register

    serial, asset = new_asset()
    w.tell(register(serial, asset))
    w.tell(plan_consignment("C-5", [asset]))
    assert sweep(w, 30 * DAY) == []


def test_a_restarted_worker_does_not_remind_again(w: World) -> None:
    w.dispatched(1)
    assert len(sweep(w, 8 * DAY)) == 1
    # A new process: new runtime and publisher over the same stored documents.
    w.hand = dataclasses.replace(
        w.hand, consignments=dataclasses.replace(w.hand.consignments, publisher=FakePublisher())
    )
    assert sweep(w, 8 * DAY) == []


def test_two_workers_sweeping_at_once_record_one_reminder_with_one_id(w: World) -> None:
    w.dispatched(1)
    crt = w.hand.consignments
    crt.clock = lambda: NOW + 8 * DAY
    other = dataclasses.replace(w.hand, consignments=dataclasses.replace(crt, publisher=FakePublisher()))

    async def both() -> list[list[Envelope]]:
        return list(await asyncio.gather(handlers.sweep_late_receipts(w.hand), handlers.sweep_late_receipts(other)))

    published = asyncio.run(both())
    ids = {e.id for batch in published for e in batch}
    assert ids == {handlers.reminder_id("C-1", 7.0)}
    assert len(reminders(w)) == 1


def test_a_crash_between_publishing_and_recording_publishes_the_same_reminder_again(w: World) -> None:
    w.dispatched(1)
    crt = w.hand.consignments

    class DiesOnAppend(FakeStreamStore):
        async def append(self, *args: object, **kwargs: object) -> None:
            raise ConnectionError("store went away")

    real = crt.store
    broken = DiesOnAppend()
    broken.docs = real.docs  # type: ignore[attr-defined]
    w.hand.consignments = dataclasses.replace(crt, store=broken)
    with pytest.raises(ConnectionError):
        sweep(w, 8 * DAY)
    w.hand.consignments = dataclasses.replace(crt, store=real)
    [again] = sweep(w, 9 * DAY)  # the next sweep, a day later
    first = crt.publisher.sent[-2]  # type: ignore[attr-defined]
    # Readers dedupe by id, so the copy must be the same bytes, whenever it is raised.
    assert codec.encode(first) == codec.encode(again) and len(reminders(w)) == 1


def test_one_unreadable_consignment_does_not_stop_the_others_reminders(w: World) -> None:
    w.dispatched(1)
    crt = w.hand.consignments
    stored = asyncio.run(crt.store.load("C-1"))
    assert stored is not None
    [left] = [e for e in stored.history if e.type == ConsignmentDispatched.TYPE]
    garbled = left.model_copy(update={"subject": "BROKEN", "id": "garbled", "data": {}})
    asyncio.run(crt.store.append("BROKEN", 0, [garbled], {"status": "in_transit"}))
    assert [e.subject for e in sweep(w, 8 * DAY)] == ["C-1"]


def test_the_rule_itself_is_pure_and_needs_a_dispatch() -> None:
    c = consignment.Consignment("C-X", status="planned", plan={"office_code": "73.71"})
    assert consignment.reminders_due(c, NOW + 100 * DAY, [7.0]) == []
    moving = dataclasses.replace(c, status="in_transit", dispatched=("A1",), dispatched_at=NOW.isoformat())
    assert len(consignment.reminders_due(moving, NOW + 7 * DAY, [7.0, 7.0])) == 1
    reminded = dataclasses.replace(moving, reminders=((7.0, NOW.isoformat()),))
    assert consignment.reminders_due(reminded, NOW + 7 * DAY, [7.0]) == []


@pytest.mark.parametrize("bad", ["", "0", "-1", "seven", "7,,x", "nan", "inf", "1e9"])
def test_a_threshold_setting_that_is_not_positive_days_refuses_to_start(bad: str) -> None:
    with pytest.raises(ValidationError, match="SERAH_RECEIPT_REMINDER_DAYS"):
        HandoverSettings(receipt_reminder_days=bad)


def test_thresholds_may_be_fractions_of_a_day() -> None:
    assert HandoverSettings(receipt_reminder_days="14, 0.5,7").receipt_reminder_thresholds() == (0.5, 7.0, 14.0)


def test_the_audit_service_chains_the_reminder_under_its_consignment_and_raises_no_anomaly(w: World) -> None:
    from services.audit import domain as audit_domain
    from services.audit import handlers as audit
    from tests.fakes import audit_with_fakes

    w.dispatched(1)
    [raised] = sweep(w, 8 * DAY)
    published = FakePublisher()
    rt = audit_with_fakes(publisher=published)
    asyncio.run(audit.record_event(raised, rt))
    asyncio.run(audit.record_event(raised, rt))  # redelivered or published twice: recorded once
    chain = asyncio.run(rt.log.chain("C-1"))
    assert [link["_id"] for link in chain] == [raised.id]
    assert chain[0]["hash"] == audit_domain.link_hash(audit_domain.GENESIS, raised)
    assert rt.views.views["C-1"]["kind"] == "consignment"
    assert published.sent == []
