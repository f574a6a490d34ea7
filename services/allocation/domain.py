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
  (``label_generations_exhausted``).
- Nothing is ever changed by a refusal; every refusal is recorded as an event.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from events import offices
from events.catalog import (
    AllocateLaptop,
    DispatchLaptop,
    LabelRef,
    LabelReissued,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    Payload,
    RegisterLaptop,
    ReissueLabel,
    RejectionReason,
)
from events.envelope import Envelope
from events.refusals import label_refused, refuse

Status = Literal["unregistered", "registered", "allocated", "dispatched", "received"]


@dataclass(frozen=True)
class Laptop:
    asset_id: str
    status: Status = "unregistered"
    serial: str | None = None
    label_generation: int = 0
    label_key_id: str | None = None
    office_code: str | None = None
    consignment_id: str | None = None

    @property
    def registered(self) -> bool:
        return self.status != "unregistered"


def initial(asset_id: str) -> Laptop:
    return Laptop(asset_id)


def evolve(laptop: Laptop, event: Envelope) -> Laptop:
    data = event.data
    if event.type == LaptopRegistered.TYPE:
        return replace(
            laptop,
            status="registered",
            serial=data["laptop"]["serial"],
            label_generation=data["label"]["generation"],
            label_key_id=data["label"]["key_id"],
        )
    if event.type == LabelReissued.TYPE:
        return replace(laptop, label_generation=data["label"]["generation"], label_key_id=data["label"]["key_id"])
    if event.type == LaptopAllocated.TYPE:
        return replace(
            laptop, status="allocated", office_code=data["office_code"], consignment_id=data.get("consignment_id")
        )
    if event.type == LaptopDispatched.TYPE:
        return replace(laptop, status="dispatched")
    if event.type == LaptopReceived.TYPE:
        return replace(laptop, status="received")
    return laptop  # rejections and facts this service does not track change nothing


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


def allocate(laptop: Laptop, command: AllocateLaptop) -> Payload:
    if laptop.status == "unregistered":
        return refuse(command, RejectionReason.UNKNOWN_LAPTOP, f"{laptop.asset_id} is not registered.")
    if laptop.status in ("dispatched", "received"):
        return refuse(
            command,
            RejectionReason.ALREADY_DISPATCHED,
            f"{laptop.asset_id} has left the warehouse; it can no longer be re-allocated.",
        )
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
    if refused := label_refused(command, laptop, public_keys):
        return refused
    if laptop.status == "registered":
        return refuse(
            command,
            RejectionReason.NOT_ALLOCATED,
            f"{laptop.asset_id} is not allocated to any office; put it back on the shelf.",
        )
    if laptop.status == "dispatched":
        return refuse(command, RejectionReason.ALREADY_DISPATCHED, f"{laptop.asset_id} was already dispatched.")
    if laptop.status == "received":
        return refuse(command, RejectionReason.ALREADY_RECEIVED, f"{laptop.asset_id} was already received.")
    assert laptop.office_code is not None  # allocated implies an office
    return LaptopDispatched(
        office_code=laptop.office_code,
        consignment_id=laptop.consignment_id,
        location=command.location,
        left_at=at.isoformat() if at else None,
    )


def reissue_label(laptop: Laptop, command: ReissueLabel) -> Payload:
    if laptop.status == "unregistered":
        return refuse(command, RejectionReason.UNKNOWN_LAPTOP, f"{laptop.asset_id} is not registered.")
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
