"""Allocation rules, in business words.

- A laptop is registered once, with its first signed label. Registering the same
  serial again is refused as ``already_registered``; a different serial that
  maps to the same asset id is refused as ``serial_conflict``.
- A registered laptop can be allocated to any recipient office in the official
  list (``unknown_office`` otherwise), and re-allocated while it is still in the
  warehouse. Once dispatched it cannot be re-allocated (``already_dispatched``).
- A dispatch scan must carry a genuine, current label of this laptop (label_*
  reasons), the laptop must be known (``unknown_laptop``) and allocated
  (``not_allocated``), and not already on its way or delivered
  (``already_dispatched`` / ``already_received``). Then it is in transit to its
  allocated office.
- A registered laptop's label can be revoked and re-issued at any point of its
  life (lost, damaged, …; the reason is required): the next generation is
  signed with the active key and every earlier generation is revoked at once,
  so scanning it gives ``label_revoked``. An unknown laptop has no label to
  re-issue (``unknown_laptop``); generation 999 is the last one
  (``label_generations_exhausted``); a written-off laptop's label stays revoked
  (``written_off``).
- After its receipt a laptop's custody is handover's to decide (holders, repair,
  loss, return, write-off); allocation learns those facts (``events.lifecycle``) so
  a laptop out for repair, lost or awaiting a write-off is neither re-allocated nor
  dispatched (``in_repair``, ``lost``, ``write_off_pending``), a written-off one
  never again (``written_off``), and one returned to the warehouse is back in stock:
  allocated and dispatched again like a new one.
- ``TABLE`` says it once: status × command → the fact or the refusal, before each
  command's own checks (the label, the office, the generation).
- Nothing is ever changed by a refusal; every refusal is recorded as an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal, cast

from events import lifecycle, offices
from events.catalog import (
    AllocateLaptop,
    DispatchLaptop,
    LabelRef,
    LabelReissued,
    LabelRevoked,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    LaptopReturnedToWarehouse,
    Payload,
    RegisterLaptop,
    ReissueLabel,
    RejectionReason,
)
from events.envelope import Envelope
from events.lifecycle import State
from events.refusals import label_refused, refuse

R = RejectionReason
# The lifecycle's states (events.lifecycle) by allocation's older names for two of them.
Status = Literal[
    "unregistered",
    "registered",
    "allocated",
    "dispatched",
    "received",
    "assigned",
    "in_use",
    "in_repair",
    "lost",
    "write_off_proposed",
    "written_off",
]
_NAMES: dict[State, Status] = {State.UNKNOWN: "unregistered", State.IN_TRANSIT: "dispatched"}


def status_of(state: State) -> Status:
    return _NAMES.get(state) or cast(Status, state.value)


def state_of(status: Status) -> State:
    return next((s for s, name in _NAMES.items() if name == status), None) or State(status)


@dataclass(frozen=True)
class Laptop:
    asset_id: str
    status: Status = "unregistered"
    serial: str | None = None
    label_generation: int = 0
    label_key_id: str | None = None
    office_code: str | None = None
    consignment_id: str | None = None
    label_revoked: bool = False
    transfer: str | None = None  # a planned transfer's consignment, which the laptop is reserved for

    @property
    def registered(self) -> bool:
        return self.status != "unregistered"

    @property
    def state(self) -> State:
        return state_of(self.status)


def initial(asset_id: str) -> Laptop:
    return Laptop(asset_id)


def evolve(laptop: Laptop, event: Envelope) -> Laptop:
    data = event.data
    moved = replace(laptop, status=status_of(lifecycle.after(laptop.state, event.type, data)))
    if event.type == LaptopRegistered.TYPE:
        return replace(
            moved,
            serial=data["laptop"]["serial"],
            label_generation=data["label"]["generation"],
            label_key_id=data["label"]["key_id"],
        )
    if event.type == LabelReissued.TYPE:
        return replace(moved, label_generation=data["label"]["generation"], label_key_id=data["label"]["key_id"])
    if event.type == LabelRevoked.TYPE:
        return replace(moved, label_revoked=True)
    if event.type == LaptopAllocated.TYPE:
        if data.get("from_office"):  # a transfer: reserved for its consignment, still where it is
            return replace(moved, transfer=data.get("consignment_id"))
        return replace(moved, office_code=data["office_code"], consignment_id=data.get("consignment_id"))
    if event.type == LaptopDispatched.TYPE:
        return replace(moved, office_code=data["office_code"], consignment_id=data.get("consignment_id"), transfer=None)
    if event.type == LaptopReceived.TYPE:
        return replace(moved, office_code=data["office_code"])
    if event.type == LaptopReturnedToWarehouse.TYPE:  # back in stock, for no office
        return replace(moved, office_code=None, consignment_id=None, transfer=None)
    return moved  # rejections change nothing; other custody facts only move the status


def summary(laptop: Laptop) -> dict[str, Any]:
    return {
        "status": laptop.status,
        "serial": laptop.serial,
        "office_code": laptop.office_code,
        "consignment_id": laptop.consignment_id,
        "label_generation": laptop.label_generation,
    }


def register(laptop: Laptop, command: RegisterLaptop) -> Payload:
    if laptop.status != "unregistered":
        if laptop.serial == command.laptop.serial:
            return refuse(command, RejectionReason.ALREADY_REGISTERED, f"{laptop.asset_id} is already registered.")
        return refuse(
            command,
            RejectionReason.SERIAL_CONFLICT,
            f"serial {command.laptop.serial} maps to asset id {laptop.asset_id}, which already belongs to serial "
            f"{laptop.serial}. Check the serial number; if both are right, contact the operator.",
        )
    return LaptopRegistered(laptop=command.laptop, label=command.label, import_batch=command.import_batch)


Outcome = type[Payload] | RejectionReason
_MOVED_ON: dict[type[Payload], Outcome] = {
    AllocateLaptop: R.ALREADY_DISPATCHED,
    DispatchLaptop: R.ALREADY_RECEIVED,
    ReissueLabel: LabelReissued,
}
# status × command → the fact, or the refusal. Complete: a test walks every cell.
TABLE: dict[Status, dict[type[Payload], Outcome]] = {
    "unregistered": dict.fromkeys((AllocateLaptop, DispatchLaptop, ReissueLabel), R.UNKNOWN_LAPTOP),
    "registered": {AllocateLaptop: LaptopAllocated, DispatchLaptop: R.NOT_ALLOCATED, ReissueLabel: LabelReissued},
    "allocated": {AllocateLaptop: LaptopAllocated, DispatchLaptop: LaptopDispatched, ReissueLabel: LabelReissued},
    "dispatched": _MOVED_ON | {DispatchLaptop: R.ALREADY_DISPATCHED},
    "received": _MOVED_ON,
    "assigned": _MOVED_ON,
    "in_use": _MOVED_ON,
    "in_repair": {AllocateLaptop: R.IN_REPAIR, DispatchLaptop: R.IN_REPAIR, ReissueLabel: LabelReissued},
    "lost": {AllocateLaptop: R.LOST, DispatchLaptop: R.LOST, ReissueLabel: LabelReissued},
    "write_off_proposed": {
        AllocateLaptop: R.WRITE_OFF_PENDING,
        DispatchLaptop: R.WRITE_OFF_PENDING,
        ReissueLabel: LabelReissued,
    },
    # its label is revoked for good: a dispatch scan is refused for the label first
    "written_off": {AllocateLaptop: R.WRITTEN_OFF, DispatchLaptop: R.LABEL_REVOKED, ReissueLabel: R.WRITTEN_OFF},
}


def _refused(laptop: Laptop, command: Payload) -> Payload | None:
    outcome = TABLE[laptop.status][type(command)]
    if isinstance(outcome, RejectionReason):
        return refuse(command, outcome, why(outcome, laptop, command))
    return None


def why(reason: RejectionReason, laptop: Laptop, command: Payload | None = None) -> str:
    """One sentence for a refusal of ``laptop`` by its status."""
    a = laptop.asset_id
    if reason == R.ALREADY_DISPATCHED and isinstance(command, DispatchLaptop):
        return f"{a} was already dispatched."
    return {
        R.UNKNOWN_LAPTOP: f"{a} is not registered.",
        R.ALREADY_DISPATCHED: f"{a} has left the warehouse; it can no longer be re-allocated.",
        R.ALREADY_RECEIVED: f"{a} was already received.",
        R.NOT_ALLOCATED: f"{a} is not allocated to any office; put it back on the shelf.",
        R.IN_REPAIR: f"{a} is out for repair: it cannot be allocated or leave until it is back.",
        R.LOST: f"{a} is reported lost: it cannot be allocated or leave; it is recovered or written off.",
        R.WRITE_OFF_PENDING: f"a write-off of {a} is proposed: it cannot be allocated or leave until it is decided.",
        R.WRITTEN_OFF: f"{a} is written off: nothing more can happen to it.",
        R.LABEL_REVOKED: f"the label of {a} is revoked: the laptop was written off.",
        R.NOT_RECEIVED: f"{a} is not at an office ({laptop.status}).",
        R.HELD_BY_HOLDER: f"{a} is held by a holder: the holder gives it back to the office first.",
    }[reason]


def allocate(laptop: Laptop, command: AllocateLaptop) -> Payload:
    if refused := _refused(laptop, command):
        return refused
    office = offices.get(command.office_code)
    if office is None:
        return refuse(
            command,
            RejectionReason.UNKNOWN_OFFICE,
            f"{command.office_code} is not an official region code; see GET /api/v1/offices.",
        )
    return LaptopAllocated(office_code=office.code, office_name=office.name, consignment_id=command.consignment_id)


def dispatch(
    laptop: Laptop, command: DispatchLaptop, public_keys: Mapping[str, bytes], at: datetime | None = None
) -> Payload:
    """``at``: when the scan was made (the command's time), which the fact keeps as ``left_at``."""
    if bad_label := label_refused(command, laptop, public_keys):
        return bad_label
    if refused := _refused(laptop, command):
        return refused
    assert laptop.office_code is not None  # allocated implies an office
    return LaptopDispatched(
        office_code=laptop.office_code,
        consignment_id=laptop.consignment_id,
        location=command.location,
        left_at=at.isoformat() if at else None,
    )


def reissue_label(laptop: Laptop, command: ReissueLabel) -> Payload:
    if refused := _refused(laptop, command):
        return refused
    if laptop.label_generation >= 999:
        return refuse(
            command,
            RejectionReason.LABEL_GENERATIONS_EXHAUSTED,
            f"{laptop.asset_id} has used all 999 label generations; contact the operator.",
        )
    return LabelReissued(
        label=LabelRef(generation=laptop.label_generation + 1, key_id=command.key_id),
        revoked_generation=laptop.label_generation,
        reason=command.reason,
        note=command.note,
    )


def stock_refusal(laptop: Laptop) -> RejectionReason | None:
    """Why a laptop cannot be picked at the warehouse for a consignment: None while it is in stock."""
    return {
        "registered": None,
        "allocated": None,
        "unregistered": R.UNKNOWN_LAPTOP,
        "write_off_proposed": R.WRITE_OFF_PENDING,
        "written_off": R.WRITTEN_OFF,
    }.get(laptop.status, R.ALREADY_DISPATCHED)


def transfer_refusal(laptop: Laptop, from_office: str) -> RejectionReason | None:
    """Why a laptop cannot leave ``from_office`` in a transfer: None when that office holds
    it, received and held by no one (a holder gives it back first)."""
    reason = {
        "received": None,
        "unregistered": R.UNKNOWN_LAPTOP,
        "assigned": R.HELD_BY_HOLDER,
        "in_use": R.HELD_BY_HOLDER,
        "in_repair": R.IN_REPAIR,
        "lost": R.LOST,
        "write_off_proposed": R.WRITE_OFF_PENDING,
        "written_off": R.WRITTEN_OFF,
    }.get(laptop.status, R.NOT_RECEIVED)
    if reason is None and laptop.office_code != from_office:
        return R.NOT_AT_OFFICE
    return reason
