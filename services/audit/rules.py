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
  for it (plan = laptops allocated to it);
- ``scanned_while_lost``: the label of a laptop reported lost was scanned
  anywhere (every such scan is refused ``lost``): it turned up, go and get it;
- ``scanned_after_write_off``: the label of a written-off laptop was scanned
  (refused ``label_revoked``): the laptop should not exist any more;
- ``attested_by_other``: a held laptop's use was attested by someone other than
  its holder (or by no one named), so the holder's possession is unproven;
- ``holder_not_on_office_list``: a laptop was handed to someone not on the
  office's staff list (when it has one), or the office's new list no longer names
  the person who holds it (raised when the list is recorded, for each laptop held).
Timed rules look at a laptop's view at a moment ``now``; the view carries the
moment each threshold passes, computed by the view fold (services/audit/domain.py)
from these same thresholds, so "late" and "overdue" are decided in one place:
- ``not_received_in_time``: dispatched, not received after ``transit_days``
  (past the view's ``transit_due_at``);
- ``never_attested``: received, never attested within ``attestation_interval_days``;
- ``attestation_overdue``: last attestation older than ``attestation_interval_days``
  (past the view's ``attestation_due_at``; this is also the holder's reminder);
- ``transfer_not_received``: like ``not_received_in_time``, for a laptop sent from
  one office to another (the view's ``transfer_to``);
- ``in_repair_too_long``: out for repair for more than ``repair_days`` (past the
  view's ``repair_due_at``).
When a checkpoint is taken (services/audit/handlers.take_checkpoint):
- ``history_rewritten``: a laptop's chain no longer holds the head the previous
  checkpoint signed (changed, deleted, rolled back in the store); no new
  checkpoint is signed over it until an operator accepts it.
Anomalies are never raised about anomalies (no loops), and each has a stable
key, so the same finding is raised once however often the rule runs.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from events import codec, geo, lifecycle
from events.catalog import (
    BY_TYPE,
    AnomalyDetected,
    CommandRejected,
    LaptopAssigned,
    LaptopDispatched,
    LaptopReceived,
    LaptopReportedLost,
    LaptopReturnedByHolder,
    LaptopReturnedToWarehouse,
    ReceiveLaptop,
    RejectionReason,
    UsageAttested,
)
from events.envelope import Envelope
from events.lifecycle import State

LOCATED = (LaptopDispatched.TYPE, LaptopReceived.TYPE, UsageAttested.TYPE)


@dataclass(frozen=True)
class Thresholds:
    max_travel_kmh: float = 900.0
    min_travel_km: float = 50.0
    max_office_distance_km: float = 150.0
    transit_days: float = 14.0
    attestation_interval_days: float = 90.0
    repair_days: float = 60.0


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
    roster: Collection[str] | None = None,
) -> list[Anomaly]:
    """Anomalies the new ``event`` reveals, given the laptop's earlier ``history``.
    ``office_plan`` = (planned, received) for the receiving office, counted including this event;
    ``roster``: the NIPs on the list of staff of the office a laptop is handed out at (None: no list)."""
    if event.type == AnomalyDetected.TYPE:
        return []
    found: list[Anomaly] = _custody(history, event, roster)
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
    written_off = _state(history) == State.WRITTEN_OFF
    if _refused(event, RejectionReason.LABEL_REVOKED) and not written_off:  # a write-off's scans: their own rule
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
    (``transit_due_at``, ``attestation_due_at``, ``repair_due_at``, see services.audit.domain) has passed."""
    office = view.get("office_code")
    if (transit_due := view.get("transit_due_at")) and now > _parse(transit_due):
        since = view["dispatched_at"]
        days = (_parse(transit_due) - _parse(since)) / timedelta(days=1)
        if to := view.get("transfer_to"):
            return [
                Anomaly(
                    "transfer_not_received",
                    f"Sent from office {office} to office {to} on {since[:10]} and not received after {days:g} days: "
                    "ask both offices where it is.",
                    since,
                    office,
                    {"dispatched_at": since, "transfer_to": to},
                    _parse(transit_due),
                )
            ]
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
    if (repair_due := view.get("repair_due_at")) and now > _parse(repair_due):
        since = view["repair_started_at"]
        days = (_parse(repair_due) - _parse(since)) / timedelta(days=1)
        return [
            Anomaly(
                "in_repair_too_long",
                f"Sent for repair to {view.get('repair_vendor') or 'a vendor'} on {since[:10]} and not back after "
                f"{days:g} days: ask the office and the vendor.",
                since,
                office,
                {"repair_started_at": since, "vendor": view.get("repair_vendor")},
                _parse(repair_due),
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


def _custody(history: Sequence[Envelope], event: Envelope, roster: Collection[str] | None) -> list[Anomaly]:
    """The rules about a laptop after its receipt: who holds it, and scans of a laptop that
    should not be scanned (lost, written off)."""
    found: list[Anomaly] = []
    state = _state(history)
    office = event.data.get("office_code") or _office(history)
    if _a_scan_refused(event) and state in (State.LOST, State.WRITTEN_OFF):
        lost = state == State.LOST
        found.append(
            Anomaly(
                "scanned_while_lost" if lost else "scanned_after_write_off",
                (
                    "The label of a laptop reported lost was scanned: it turned up; find it where it was scanned."
                    if lost
                    else "The label of a written-off laptop was scanned: it should no longer exist; find it."
                ),
                event.id,
                office,
                {"event_id": event.id, "actor": event.actor, "command_type": event.data.get("command_type")},
            )
        )
    holder = _holder(history)
    if event.type == UsageAttested.TYPE and holder is not None:
        by = (event.data.get("attested_by") or {}).get("nip") or _nip(event.actor)
        if by != holder:
            found.append(
                Anomaly(
                    "attested_by_other",
                    f"The use of this laptop was attested by {by or 'someone not named'}, not by its holder "
                    f"(NIP {holder}): ask the holder to attest it themselves.",
                    event.id,
                    office,
                    {"event_id": event.id, "holder_nip": holder, "attested_by": by},
                )
            )
    if event.type == LaptopAssigned.TYPE and roster is not None and event.data["holder"]["nip"] not in roster:
        found.append(not_on_list(event.data["holder"]["nip"], office, event.id))
    return found


def not_on_list(nip: str, office: str | None, key: str) -> Anomaly:
    """A laptop held by someone the office's staff list does not name (``key``: the
    assignment, or the list that left them out)."""
    return Anomaly(
        "holder_not_on_office_list",
        f"The laptop is held by NIP {nip}, who is not on office {office}'s staff list: has the holder left? "
        "Get the laptop back, or correct the list.",
        key,
        office,
        {"holder_nip": nip, "event_id": key},
    )


def _state(history: Sequence[Envelope]) -> State:
    return lifecycle.state_of((e.type, e.data) for e in history)


def _holder(history: Sequence[Envelope]) -> str | None:
    """The NIP of whoever holds the laptop after ``history`` (None: no one)."""
    holder = None
    for e in history:
        if e.type == LaptopAssigned.TYPE:
            holder = e.data["holder"]["nip"]
        elif e.type in (LaptopReturnedByHolder.TYPE, LaptopReportedLost.TYPE, LaptopReturnedToWarehouse.TYPE):
            holder = None
    return holder


def _nip(actor: str) -> str | None:
    return actor.removeprefix("nip:") if actor.startswith("nip:") else None


def _a_scan_refused(event: Envelope) -> bool:
    """A refused command that carried the laptop's scanned label."""
    if event.type != CommandRejected.TYPE:
        return False
    cls = BY_TYPE.get(str(event.data.get("command_type")))
    return cls is not None and "label" in cls.RAW_TEXT


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
