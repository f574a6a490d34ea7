"""Handover rules, in business words.

- The handover service learns what it needs from the event stream: which
  laptops exist and which label each currently carries (LaptopRegistered),
  where each is going (LaptopAllocated, LaptopDispatched), and which label
  replaced a revoked one (LabelReissued).
- A receipt scan must carry a genuine, current label of this laptop (label_*
  reasons). The laptop must be known (``unknown_laptop``) and dispatched
  (``not_dispatched``: a laptop cannot be received before it left the
  warehouse), and not already received (``already_received``; the same scan id
  sent again is not a second receipt but a replay of the first).
- A laptop that travels in a consignment is received only through that
  consignment's receipt, with its receipt code, by an official authorised for
  it (``in_consignment``): a single receipt scan would skip the code, the
  official and the BAST.
- A receipt of a laptop not yet dispatched waits, for a while, if a dispatch sent
  before it may still be undecided (``awaits_dispatch``): it is decided when the
  dispatch comes, or refused when none can come any more.
- Nothing is received before it left: a receipt whose time is before the
  dispatch (the time of the dispatch scan) is refused (``not_dispatched``),
  whatever order the messages came in.
- Accepted, the laptop is received by the office it was dispatched to, in the
  condition the official recorded (B, RR or RB) with an optional note.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from events.catalog import (
    AttestUsage,
    LabelReissued,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    Payload,
    ReceiveLaptop,
    RejectionReason,
    UsageAttested,
)
from events.envelope import Envelope
from events.refusals import label_refused, refuse

Status = Literal["unknown", "in_warehouse", "in_transit", "received"]


@dataclass(frozen=True)
class Laptop:
    asset_id: str
    status: Status = "unknown"
    label_generation: int = 0
    office_code: str | None = None
    consignment_id: str | None = None
    dispatched_at: datetime | None = None
    received_at: datetime | None = None

    @property
    def registered(self) -> bool:
        return self.status != "unknown"


def initial(asset_id: str) -> Laptop:
    return Laptop(asset_id)


def evolve(laptop: Laptop, event: Envelope) -> Laptop:
    data = event.data
    if event.type == LaptopRegistered.TYPE:
        return replace(laptop, status="in_warehouse", label_generation=data["label"]["generation"])
    if event.type == LaptopAllocated.TYPE:
        return replace(laptop, office_code=data["office_code"], consignment_id=data.get("consignment_id"))
    if event.type == LaptopDispatched.TYPE:
        return replace(
            laptop,
            status="in_transit",
            office_code=data["office_code"],
            consignment_id=data.get("consignment_id"),
            dispatched_at=left_at(event),
        )
    if event.type == LaptopReceived.TYPE:
        return replace(laptop, status="received", received_at=event.time)
    if event.type == LabelReissued.TYPE:
        return replace(laptop, label_generation=data["label"]["generation"])
    return laptop


def left_at(event: Envelope) -> datetime:
    """When a dispatch left: the time its command carried (the scan, or the close), so a
    receipt made after the scan but decided before the dispatch was (its service behind)
    is not taken for one made before; never later than the event itself."""
    said = event.data.get("left_at")
    if not isinstance(said, str):
        return event.time
    try:
        at = datetime.fromisoformat(said)
    except ValueError:
        return event.time
    return min(at, event.time) if at.tzinfo is not None else event.time


def summary(laptop: Laptop) -> dict[str, Any]:
    return {"status": laptop.status, "office_code": laptop.office_code, "consignment_id": laptop.consignment_id}


def receive(laptop: Laptop, command: ReceiveLaptop, public_keys: Mapping[str, bytes], at: datetime) -> Payload:
    """``at``: when the receipt was made (the scan's time)."""
    if refused := label_refused(command, laptop, public_keys):
        return refused
    if laptop.consignment_id is not None:
        return refuse(
            command,
            RejectionReason.IN_CONSIGNMENT,
            f"{laptop.asset_id} travels in consignment {laptop.consignment_id}: it is received with the "
            "consignment's receipt, by its official, with the receipt code from the manifest "
            f"(POST /api/v1/consignments/{laptop.consignment_id}/receipt), not by a single scan.",
        )
    if laptop.status == "in_warehouse":
        return refuse(
            command,
            RejectionReason.NOT_DISPATCHED,
            f"{laptop.asset_id} has not been dispatched from the warehouse yet; it cannot be received. "
            "Contact the warehouse.",
        )
    if laptop.status == "received":
        return refuse(command, RejectionReason.ALREADY_RECEIVED, f"{laptop.asset_id} was already received.")
    if laptop.dispatched_at is not None and at < laptop.dispatched_at:
        return refuse(
            command,
            RejectionReason.NOT_DISPATCHED,
            f"the receipt of {laptop.asset_id} was scanned at {at:%Y-%m-%d %H:%M:%S} UTC, before it left the "
            f"warehouse at {laptop.dispatched_at:%Y-%m-%d %H:%M:%S} UTC; check the device's clock and scan again.",
        )
    assert laptop.office_code is not None  # in transit implies a destination
    return LaptopReceived(
        office_code=laptop.office_code, condition=command.condition, note=command.note, location=command.location
    )


def awaits_dispatch(laptop: Laptop) -> bool:
    """A receipt refused as ``not_dispatched`` may only be early, not premature, while the
    laptop has not left at all: a dispatch sent before the receipt may still be undecided
    (services/handover/held.py). One refused for predating its dispatch is decided."""
    return laptop.status == "in_warehouse"


# --- usage attestation ----------------------------------------------
# A holder re-scans a received laptop to attest it is still at the office (and
# whether it is in use, in which condition). The label is checked exactly as at
# receipt; a laptop not yet received cannot be attested (``not_received``).


def attest(laptop: Laptop, command: AttestUsage, public_keys: Mapping[str, bytes], at: datetime) -> Payload:
    """``at``: when the attestation scan was made."""
    if refused := label_refused(command, laptop, public_keys):
        return refused
    if laptop.status != "received" or (laptop.received_at is not None and at < laptop.received_at):
        return refuse(
            command,
            RejectionReason.NOT_RECEIVED,
            f"{laptop.asset_id} had not been received by an office at the time of this scan; "
            "confirm receipt first, then attest its use.",
        )
    assert laptop.office_code is not None
    return UsageAttested(
        office_code=laptop.office_code,
        condition=command.condition,
        in_use=command.in_use,
        note=command.note,
        location=command.location,
    )
