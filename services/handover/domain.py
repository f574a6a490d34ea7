"""The handover service's view of each laptop, in business words: a fold of the facts
about it that it decided or learnt (the rules it decides by are in ``lifecycle.py``).

- From allocation, on ``serah.events``: that the laptop exists and which label it
  carries (LaptopRegistered, LabelReissued), where it is planned to go
  (LaptopAllocated; for a transfer, with the giving office ``from_office``: then the
  laptop is reserved for that consignment and stays where it is), and that it left
  (LaptopDispatched).
- Its own decisions: the receipt (also of each laptop of a consignment), attestations,
  holders, repair, loss and recovery, the return to the warehouse, the write-off and
  the label's revocation with it.
- ``status`` is the shared lifecycle state (``events.lifecycle``); ``office_code`` the
  office the laptop is addressed to (before its first receipt) or that holds it; a
  transfer's new office (``to_office``) becomes ``office_code`` on receipt only.
- ``condition`` is the last condition a fact stated (receipt, attestation, assignment,
  return, repair, recovery): nothing else changes it.
- A receipt of a laptop not yet dispatched waits, for a while, if a dispatch sent
  before it may still be undecided (``awaits_dispatch``): it is decided when the
  dispatch comes, or refused when none can come any more.
- Nothing is received before it left: a receipt whose time is before the
  dispatch (the time of the dispatch scan, ``left_at``) is refused
  (``not_dispatched``), whatever order the messages came in.
- Nothing is attested before it was received: an attestation whose time is before
  the receipt (the time of the receipt scan or confirmation, ``received_at``, not
  when this service decided it) is refused (``not_received``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from events import lifecycle
from events.catalog import (
    LabelReissued,
    LabelRevoked,
    LaptopAllocated,
    LaptopAssigned,
    LaptopDispatched,
    LaptopReceived,
    LaptopRecovered,
    LaptopRegistered,
    LaptopReportedLost,
    LaptopReturnedByHolder,
    LaptopReturnedToWarehouse,
    RepairFinished,
    RepairStarted,
    UsageAttested,
    WriteOffDeclined,
    WriteOffProposed,
)
from events.envelope import Envelope
from events.lifecycle import State

# Facts that state the laptop's condition as it is from then on.
STATES_CONDITION = frozenset(
    {
        LaptopReceived.TYPE,
        UsageAttested.TYPE,
        LaptopAssigned.TYPE,
        LaptopReturnedByHolder.TYPE,
        RepairStarted.TYPE,
        RepairFinished.TYPE,
        LaptopRecovered.TYPE,
        LaptopReturnedToWarehouse.TYPE,
    }
)


@dataclass(frozen=True)
class Laptop:
    asset_id: str
    status: State = State.UNKNOWN
    label_generation: int = 0
    label_revoked: bool = False
    office_code: str | None = None
    consignment_id: str | None = None
    dispatched_at: datetime | None = None
    received_at: datetime | None = None
    condition: str = "B"
    holder: dict[str, Any] | None = None  # name, nip, jabatan, unit
    transfer: str | None = None  # a planned transfer's consignment: the laptop is reserved for it
    to_office: str | None = None  # a transfer on its way: the office it goes to
    repair_vendor: str | None = None
    before_write_off: State | None = None  # where a declined write-off returns it
    proposal: dict[str, Any] | None = None  # the pending WriteOffProposed's data
    assignments: int = 0  # berita acara issued so far (numbers the next)
    proposals: int = 0  # write-off proposals issued so far

    @property
    def registered(self) -> bool:
        return self.status != State.UNKNOWN


def initial(asset_id: str) -> Laptop:
    return Laptop(asset_id)


def evolve(laptop: Laptop, event: Envelope) -> Laptop:
    data = event.data
    t = event.type
    status = lifecycle.after(laptop.status, t, data)
    changed = replace(laptop, status=status)
    if t in STATES_CONDITION:
        changed = replace(changed, condition=data["condition"])
    if t == LaptopRegistered.TYPE:
        return replace(changed, label_generation=data["label"]["generation"])
    if t == LabelReissued.TYPE:
        return replace(changed, label_generation=data["label"]["generation"])
    if t == LabelRevoked.TYPE:
        return replace(changed, label_revoked=True)
    if t == LaptopAllocated.TYPE:
        if data.get("from_office"):
            return replace(changed, transfer=data.get("consignment_id"))
        return replace(changed, office_code=data["office_code"], consignment_id=data.get("consignment_id"))
    if t == LaptopDispatched.TYPE:
        if data.get("from_office"):  # a transfer: the giving office answers for it until the receipt
            return replace(
                changed,
                to_office=data["office_code"],
                consignment_id=data.get("consignment_id"),
                transfer=None,
                dispatched_at=left_at(event),
            )
        return replace(
            changed,
            office_code=data["office_code"],
            consignment_id=data.get("consignment_id"),
            dispatched_at=left_at(event),
        )
    if t == LaptopReceived.TYPE:
        return replace(changed, office_code=data["office_code"], to_office=None, received_at=arrived_at(event))
    if t == LaptopAssigned.TYPE:
        return replace(changed, holder=dict(data["holder"]), assignments=laptop.assignments + 1)
    if t in (LaptopReturnedByHolder.TYPE, LaptopReportedLost.TYPE):
        return replace(changed, holder=None, repair_vendor=None)
    if t == RepairStarted.TYPE:
        return replace(changed, repair_vendor=data["vendor"])
    if t == RepairFinished.TYPE:
        return replace(changed, repair_vendor=None)
    if t == LaptopReturnedToWarehouse.TYPE:
        return replace(changed, office_code=None, consignment_id=None, holder=None, transfer=None)
    if t == WriteOffProposed.TYPE:
        return replace(changed, before_write_off=laptop.status, proposal=dict(data), proposals=laptop.proposals + 1)
    if t == WriteOffDeclined.TYPE:
        return replace(changed, before_write_off=None, proposal=None)
    return changed


def left_at(event: Envelope) -> datetime:
    """When a dispatch left: the time its command carried (the scan, or the close), so a
    receipt made after the scan but decided before the dispatch was (its service behind)
    is not taken for one made before; never later than the event itself."""
    return _acted_at(event, "left_at")


def arrived_at(event: Envelope) -> datetime:
    """When a receipt was made: the time its command carried (the scan, or the consignment
    receipt's confirmation), so an attestation made after the receipt scan but decided
    after the receipt was (this service behind, a receipt held) is not taken for one made
    before it; never later than the event itself."""
    return _acted_at(event, "received_at")


def _acted_at(event: Envelope, field: str) -> datetime:
    said = event.data.get(field)
    if not isinstance(said, str):
        return event.time
    try:
        at = datetime.fromisoformat(said)
    except ValueError:
        return event.time
    return min(at, event.time) if at.tzinfo is not None else event.time


def summary(laptop: Laptop) -> dict[str, Any]:
    return {
        "status": laptop.status.value,
        "office_code": laptop.office_code,
        "consignment_id": laptop.consignment_id,
        "holder_nip": laptop.holder["nip"] if laptop.holder else None,
        "condition": laptop.condition,
    }


def awaits_dispatch(laptop: Laptop) -> bool:
    """A receipt refused as ``not_dispatched`` may only be early, not premature, while the
    laptop has not left at all: a dispatch sent before the receipt may still be undecided
    (services/handover/held.py). One refused for predating its dispatch is decided."""
    return laptop.status in (State.REGISTERED, State.ALLOCATED)
