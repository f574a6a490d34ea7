"""Each anomaly rule fires on what it is for and stays quiet otherwise."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from events import codec
from events.catalog import (
    AnomalyDetected,
    CommandRejected,
    DispatchLaptop,
    LaptopReceived,
    Location,
    ReceiveLaptop,
    RejectionReason,
    UsageAttested,
)
from events.envelope import Envelope
from services.audit import handlers, rules
from tests.audit_data import event, laptop_history
from tests.builders import NOW
from tests.fakes import FakePublisher, audit_with_fakes

T = rules.Thresholds()
LOC = {"32": (-6.91, 107.61)}  # Bandung, the province office of Jawa Barat


def fired(history: list[Envelope], e: Envelope, plan: tuple[int, int] | None = None) -> list[str]:
    return [a.rule for a in rules.on_event(history, e, T, LOC, plan)]


def rejected(asset: str, reason: RejectionReason, command: str = ReceiveLaptop.TYPE) -> Envelope:
    return event(CommandRejected(command_type=command, reason=reason, detail="x"), asset, NOW + timedelta(days=9))


def received(asset: str, office: str = "32", days: float = 5, where: tuple[float, float] | None = None) -> Envelope:
    loc = Location(lat=where[0], lon=where[1]) if where else None
    return event(LaptopReceived(office_code=office, condition="B", location=loc), asset, NOW + timedelta(days=days))


def test_a_receipt_of_a_laptop_never_dispatched_is_an_anomaly_whether_accepted_or_refused() -> None:
    asset, history = laptop_history("32", 2)
    assert fired(history, received(asset)) == ["received_not_dispatched"]
    assert fired(history, rejected(asset, RejectionReason.NOT_DISPATCHED)) == ["received_not_dispatched"]


def test_a_receipt_after_dispatch_is_not_an_anomaly() -> None:
    asset, history = laptop_history("32", 3)
    assert fired(history, received(asset)) == []


def test_a_second_receipt_is_an_anomaly_but_a_first_is_not() -> None:
    asset, history = laptop_history("32", 4)
    assert fired(history, rejected(asset, RejectionReason.ALREADY_RECEIVED)) == ["received_twice"]
    assert fired(history, received(asset, days=6)) == ["received_twice"]
    assert fired(history[:3], received(asset)) == []


def test_a_revoked_label_scan_is_an_anomaly_other_refusals_are_not() -> None:
    asset, history = laptop_history("32", 3)
    assert fired(history, rejected(asset, RejectionReason.LABEL_REVOKED, DispatchLaptop.TYPE)) == ["label_revoked"]
    assert fired(history, rejected(asset, RejectionReason.UNKNOWN_OFFICE, DispatchLaptop.TYPE)) == []


def test_two_scans_too_far_apart_for_the_time_between_are_impossible_travel() -> None:
    asset, history = laptop_history("32", 3)
    first = received(asset, where=(-6.91, 107.61), days=5)
    jayapura_an_hour_later = event(
        UsageAttested(office_code="32", condition="B", location=Location(lat=-2.53, lon=140.72)),
        asset,
        first.time + timedelta(hours=1),
    )
    assert "impossible_travel" in fired([*history, first], jayapura_an_hour_later)


def test_travel_at_plausible_speed_or_gps_noise_is_not_an_anomaly() -> None:
    asset, history = laptop_history("32", 3)
    first = received(asset, where=(-6.91, 107.61), days=5)
    a_week_later = event(
        UsageAttested(office_code="32", condition="B", location=Location(lat=-2.53, lon=140.72)),
        asset,
        first.time + timedelta(days=7),
    )
    same_place_same_second = event(
        UsageAttested(office_code="32", condition="B", location=Location(lat=-6.92, lon=107.62)), asset, first.time
    )
    assert "impossible_travel" not in fired([*history, first], a_week_later)
    assert fired([*history, first], same_place_same_second) == []


def test_a_scan_far_from_the_laptops_office_is_an_anomaly_near_it_is_not() -> None:
    asset, history = laptop_history("32", 3)
    assert fired(history, received(asset, where=(-7.25, 112.75))) == ["far_from_office"]  # Surabaya, ~560 km
    assert fired(history, received(asset, where=(-6.95, 107.65))) == []


def test_an_office_without_a_known_location_is_never_far() -> None:
    asset, history = laptop_history("32.73", 3)
    assert fired(history, received(asset, office="32.73", where=(-2.53, 140.72))) == []


def test_an_office_receiving_more_than_planned_is_an_anomaly() -> None:
    asset, history = laptop_history("32", 3)
    assert fired(history, received(asset), plan=(3, 4)) == ["office_over_plan"]
    assert fired(history, received(asset), plan=(3, 3)) == []


def test_anomalies_are_never_raised_about_anomalies() -> None:
    asset, history = laptop_history("32", 2)
    anomaly = event(AnomalyDetected(rule="received_twice", detail="x", office_code="32"), asset, NOW)
    assert fired(history, anomaly) == []


def view_of(events: list[Envelope]) -> dict[str, Any]:
    from services.audit import domain

    return domain.view(events[0].subject, events, T)


def test_a_laptop_in_transit_too_long_is_late_but_not_before() -> None:
    asset, history = laptop_history("32", 3)
    dispatched = history[-1].time
    late = rules.overdue(asset, view_of(history), dispatched + timedelta(days=15))
    assert [a.rule for a in late] == ["not_received_in_time"]
    assert rules.overdue(asset, view_of(history), dispatched + timedelta(days=13)) == []


def test_a_received_laptop_never_attested_within_the_interval_is_flagged_and_an_attested_one_is_not() -> None:
    asset, history = laptop_history("32", 4)
    got = history[-1].time
    assert [a.rule for a in rules.overdue(asset, view_of(history), got + timedelta(days=91))] == ["never_attested"]
    assert rules.overdue(asset, view_of(history), got + timedelta(days=89)) == []
    asset, history = laptop_history("32", 5)
    attested = history[-1].time
    assert rules.overdue(asset, view_of(history), attested + timedelta(days=89)) == []
    assert [a.rule for a in rules.overdue(asset, view_of(history), attested + timedelta(days=91))] == [
        "attestation_overdue"
    ]


def test_the_overdue_reminder_is_raised_once_per_period_however_often_the_sweep_runs() -> None:
    pub = FakePublisher()
    asset, history = laptop_history("32", 4)
    now = [history[-1].time + timedelta(days=100)]
    rt = audit_with_fakes(publisher=pub, clock=lambda: now[0])

    async def go() -> None:
        for e in history:
            await handlers.record_event(e, rt)
        first = await handlers.sweep_overdue(rt)
        for e in first:  # the worker records what it published
            await handlers.record_event(e, rt)
        again = await handlers.sweep_overdue(rt)
        assert [a.data["rule"] for a in first] == ["never_attested"] and again == []

    asyncio.run(go())
    assert rt.views.views[asset]["anomalies"] == 1


def test_the_audit_handler_publishes_an_anomaly_with_a_deterministic_id_once_per_trigger() -> None:
    pub = FakePublisher()
    rt = audit_with_fakes(publisher=pub, clock=lambda: NOW)
    asset, history = laptop_history("32", 4)
    twice = rejected(asset, RejectionReason.ALREADY_RECEIVED)

    async def go() -> None:
        for e in [*history, twice, twice]:
            await handlers.record_event(e, rt)

    asyncio.run(go())
    anomalies = [e for e in pub.sent if e.type == AnomalyDetected.TYPE]
    assert {e.id for e in anomalies} == {anomalies[0].id}  # redelivery re-publishes the same id
    assert anomalies[0].data["rule"] == "received_twice" and anomalies[0].causationid == twice.id
    assert codec.payload(anomalies[0])  # valid against the catalogue
