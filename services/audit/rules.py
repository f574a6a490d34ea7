"""Anomaly rules, in business words (pure: stdlib + events only).

Streaming rules look at one new event and the laptop's earlier events:
- ``received_not_dispatched``: a receipt (accepted, or refused as not_dispatched)
  of a laptop that was never dispatched;
- ``received_twice``: a second receipt (accepted, or refused as already_received);
- ``label_revoked``: someone scanned a label that was revoked (refused as label_revoked);
- ``impossible_travel``: two located scans farther apart than ``max_travel_kmh``
  allows in the time between them (at least ``min_travel_km`` apart, so GPS
  noise never fires) — the label was probably cloned;
- ``far_from_office``: a receipt or attestation located more than
  ``max_office_distance_km`` from the laptop's office (only for offices whose
  location is known, see events/geo.py);
- ``office_over_plan``: an office has received more laptops than were planned
  for it (plan = laptops allocated to it).
Timed rules look at a laptop's view at a moment ``now``; the view carries the
moment each threshold passes, computed by the view fold (services/audit/domain.py)
from these same thresholds, so "late" and "overdue" are decided in one place:
- ``not_received_in_time``: dispatched, not received after ``transit_days``
  (past the view's ``transit_due_at``);
- ``never_attested``: received, never attested within ``attestation_interval_days``;
- ``attestation_overdue``: last attestation older than ``attestation_interval_days``
  (past the view's ``attestation_due_at``; this is also the holder's reminder).
When a checkpoint is taken (services/audit/handlers.take_checkpoint):
- ``history_rewritten``: a laptop's chain no longer holds the head the previous
  checkpoint signed (changed, deleted, rolled back in the store); no new
  checkpoint is signed over it until an operator accepts it.
Anomalies are never raised about anomalies (no loops), and each has a stable
key, so the same finding is raised once however often the rule runs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from events import codec, geo
from events.catalog import (
    AnomalyDetected,
    CommandRejected,
    LaptopDispatched,
    LaptopReceived,
    ReceiveLaptop,
    RejectionReason,
    UsageAttested,
)
from events.envelope import Envelope

LOCATED = (LaptopDispatched.TYPE, LaptopReceived.TYPE, UsageAttested.TYPE)


@dataclass(frozen=True)
class Thresholds:
    max_travel_kmh: float = 900.0
    min_travel_km: float = 50.0
    max_office_distance_km: float = 150.0
    transit_days: float = 14.0
    attestation_interval_days: float = 90.0


@dataclass(frozen=True)
class Anomaly:
    rule: str
    detail: str
    key: str  # with the rule and laptop, makes the anomaly's id: same finding, same id
    office_code: str | None = None
    evidence: dict[str, Any] = field(default_factory=dict)
    # When the finding became true, for a timed rule (a threshold passed): raised
    # again (after a crash, by a second worker) it is then the same bytes.
    at: datetime | None = None

    def body(self) -> AnomalyDetected:
        return AnomalyDetected(rule=self.rule, detail=self.detail, office_code=self.office_code, evidence=self.evidence)

    def event_id(self, asset_id: str) -> str:
        return codec.event_id(AnomalyDetected.TYPE, asset_id, f"{self.rule}|{self.key}", 0)


def on_event(
    history: Sequence[Envelope],
    event: Envelope,
    t: Thresholds,
    locations: Mapping[str, tuple[float, float]],
    office_plan: tuple[int, int] | None = None,
) -> list[Anomaly]:
    """Anomalies the new ``event`` reveals, given the laptop's earlier ``history``.
    ``office_plan`` = (planned, received) for the receiving office, counted including this event."""
    if event.type == AnomalyDetected.TYPE:
        return []
    found: list[Anomaly] = []
    d = event.data
    earlier = {e.type for e in history}
    office = d.get("office_code") or _office(history)
    receipt_scanned = event.type == LaptopReceived.TYPE or _refused(event, RejectionReason.NOT_DISPATCHED)
    if receipt_scanned and LaptopDispatched.TYPE not in earlier:
        found.append(
            Anomaly(
                "received_not_dispatched",
                "A receipt was scanned for a laptop that was never dispatched: check where this laptop really is.",
                event.id,
                office,
                {"event_id": event.id},
            )
        )
    if (
        event.type == LaptopReceived.TYPE
        and LaptopReceived.TYPE in earlier
        or _refused(event, RejectionReason.ALREADY_RECEIVED)
    ):
        first = next((e for e in history if e.type == LaptopReceived.TYPE), None)
        found.append(
            Anomaly(
                "received_twice",
                "The laptop was scanned for receipt again after it was received: check for a cloned label.",
                event.id,
                office,
                {"event_id": event.id, "first_receipt_id": first.id if first else None},
            )
        )
    if _refused(event, RejectionReason.LABEL_REVOKED):
        found.append(
            Anomaly(
                "label_revoked",
                "A revoked label was scanned: the old label is still in circulation; find and destroy it.",
                event.id,
                office,
                {"event_id": event.id, "actor": event.actor},
            )
        )
    here = _where(event)
    if here is not None:
        before = next((e for e in reversed(history) if _where(e) is not None), None)
        if before is not None:
            there = _where(before)
            assert there is not None
            km = geo.distance_km(there, here)
            hours = (event.time - before.time).total_seconds() / 3600
            if km >= t.min_travel_km and (hours <= 0 or km / hours > t.max_travel_kmh):
                speed = "instantly" if hours <= 0 else f"at {km / hours:.0f} km/h"
                found.append(
                    Anomaly(
                        "impossible_travel",
                        f"Two scans {km:.0f} km apart would need travel {speed}: the label may be cloned.",
                        event.id,
                        office,
                        {
                            "event_id": event.id,
                            "previous_event_id": before.id,
                            "distance_km": round(km, 1),
                            "hours": round(hours, 3),
                        },
                    )
                )
        if event.type in (LaptopReceived.TYPE, UsageAttested.TYPE) and office and office in locations:
            km = geo.distance_km(locations[office], here)
            if km > t.max_office_distance_km:
                found.append(
                    Anomaly(
                        "far_from_office",
                        f"Scanned {km:.0f} km from its office {office}: check whether the laptop left the office.",
                        event.id,
                        office,
                        {"event_id": event.id, "distance_km": round(km, 1)},
                    )
                )
    if event.type == LaptopReceived.TYPE and office_plan is not None:
        planned, received = office_plan
        if received > planned:
            found.append(
                Anomaly(
                    "office_over_plan",
                    f"Office {office} has received {received} laptops but {planned} were planned for it.",
                    event.id,
                    office,
                    {"event_id": event.id, "planned": planned, "received": received},
                )
            )
    return found


def overdue(asset_id: str, view: Mapping[str, Any], now: datetime) -> list[Anomaly]:
    """Timed rules over a laptop's view at ``now``: a due moment the view carries
    (``transit_due_at``, ``attestation_due_at``, see services.audit.domain) has passed."""
    office = view.get("office_code")
    if (transit_due := view.get("transit_due_at")) and now > _parse(transit_due):
        since = view["dispatched_at"]
        days = (_parse(transit_due) - _parse(since)) / timedelta(days=1)
        return [
            Anomaly(
                "not_received_in_time",
                f"Dispatched {since[:10]} and not received after {days:g} days: call the office and the courier.",
                since,
                office,
                {"dispatched_at": since},
                _parse(transit_due),
            )
        ]
    if (due := view.get("attestation_due_at")) and now > _parse(due):
        last = view.get("last_attested_at")
        rule = "attestation_overdue" if last else "never_attested"
        what = f"last attested {last[:10]}" if last else f"received {view['received_at'][:10]} and never attested"
        return [
            Anomaly(
                rule,
                f"Usage attestation was due {due[:10]} ({what}): ask the office to re-scan the laptop.",
                due,
                office,
                {"due": due, "received_at": view["received_at"], "last_attested_at": last},
                _parse(due),
            )
        ]
    return []


def _refused(event: Envelope, reason: RejectionReason) -> bool:
    return (
        event.type == CommandRejected.TYPE
        and event.data.get("reason") == reason.value
        and (reason == RejectionReason.LABEL_REVOKED or event.data.get("command_type") == ReceiveLaptop.TYPE)
    )


def _where(event: Envelope) -> tuple[float, float] | None:
    loc = event.data.get("location") if event.type in LOCATED else None
    return (loc["lat"], loc["lon"]) if loc else None


def _office(history: Sequence[Envelope]) -> str | None:
    for e in reversed(history):
        if code := e.data.get("office_code"):
            return str(code)
    return None


def _parse(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
