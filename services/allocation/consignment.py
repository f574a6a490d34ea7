"""Consignment rules (allocation side), in business words.

- A consignment is one office's share of an allocation, its own aggregate keyed by
  the consignment id. It is planned once (``consignment_exists`` otherwise) for an
  official office (``unknown_office``), with the officials who may sign for it, the
  legal basis, the expected laptops and the SHA-256 of a one-time receipt code.
  Planning also allocates each expected laptop to the office and this consignment.
- A scan into a consignment must carry a genuine, current label of a registered
  laptop (label_* reasons, ``unknown_laptop``). The laptop must be expected here
  (``not_expected``), and not planned for another consignment
  (``belongs_to_other_consignment``), not already gone (``already_dispatched``).
  Scanning the same laptop twice is harmless and said so: ``already_in_consignment``.
- Closing dispatches every scanned laptop (``consignment_empty`` if none);
  afterwards the consignment cannot change: scans and closes answer
  ``consignment_closed``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from events import labels, offices
from events.catalog import (
    CloseConsignment,
    ConsignmentDispatched,
    ConsignmentPlanned,
    LaptopAllocated,
    LaptopDispatched,
    LaptopScannedIntoConsignment,
    Payload,
    PlanConsignment,
    RejectionReason,
    ScanIntoConsignment,
    ScanRejected,
)
from events.envelope import Envelope
from services.allocation.domain import Laptop

Status = Literal["unplanned", "open", "dispatched"]


@dataclass(frozen=True)
class Consignment:
    consignment_id: str
    status: Status = "unplanned"
    office_code: str | None = None
    office_name: str | None = None
    expected: tuple[str, ...] = ()
    scanned: tuple[str, ...] = ()
    plan: dict[str, Any] = field(default_factory=dict)


def evolve(c: Consignment, event: Envelope) -> Consignment:
    data = event.data
    if event.type == ConsignmentPlanned.TYPE:
        return replace(
            c,
            status="open",
            office_code=data["office_code"],
            office_name=data["office_name"],
            expected=tuple(data["expected"]),
            plan=dict(data),
        )
    if event.type == LaptopScannedIntoConsignment.TYPE:
        return replace(c, scanned=c.scanned + (data["asset_id"],))
    if event.type == ConsignmentDispatched.TYPE:
        return replace(c, status="dispatched")
    return c


def fold(consignment_id: str, history: Sequence[Envelope]) -> Consignment:
    c = Consignment(consignment_id)
    for event in history:
        c = evolve(c, event)
    return c


def plan(c: Consignment, command: PlanConsignment, laptops: Mapping[str, Laptop]) -> Payload:
    """``laptops``: the allocation service's current view of each expected laptop."""
    if c.status != "unplanned":
        return _refuse(
            command,
            RejectionReason.CONSIGNMENT_EXISTS,
            f"consignment {c.consignment_id} is already planned; choose another id.",
        )
    office = offices.get(command.office_code)
    if office is None:
        return _refuse(
            command,
            RejectionReason.UNKNOWN_OFFICE,
            f"{command.office_code} is not an official region code; see GET /api/v1/offices.",
        )
    unknown = [a for a in command.expected if laptops[a].status == "unregistered"]
    if unknown:
        return _refuse(
            command, RejectionReason.UNKNOWN_LAPTOP, f"not registered: {', '.join(unknown[:10])}; register them first."
        )
    gone = [a for a in command.expected if laptops[a].status in ("dispatched", "received")]
    if gone:
        return _refuse(
            command, RejectionReason.ALREADY_DISPATCHED, f"already left the warehouse: {', '.join(gone[:10])}."
        )
    taken = [a for a in command.expected if laptops[a].consignment_id not in (None, c.consignment_id)]
    if taken:
        return _refuse(
            command,
            RejectionReason.BELONGS_TO_OTHER_CONSIGNMENT,
            f"planned for another consignment: {', '.join(taken[:10])}.",
        )
    return ConsignmentPlanned(
        office_code=office.code,
        office_name=office.name,
        officials=command.officials,
        legal_basis=command.legal_basis,
        expected=list(dict.fromkeys(command.expected)),
        receipt_code_hash=command.receipt_code_hash,
    )


def scan_target(label: str) -> str | None:
    """The asset id a scanned label names, or None if it is not even a label."""
    try:
        return labels.parse(label).asset_id
    except labels.LabelError:
        return None


def scan(c: Consignment, laptop: Laptop, command: ScanIntoConsignment, public_keys: Mapping[str, bytes]) -> Payload:
    if c.status == "unplanned":
        return _refuse(command, RejectionReason.UNKNOWN_CONSIGNMENT, f"consignment {c.consignment_id} is not planned.")
    if c.status == "dispatched":
        return _refuse(
            command,
            RejectionReason.CONSIGNMENT_CLOSED,
            f"consignment {c.consignment_id} is closed and left the warehouse; put the laptop aside.",
        )
    try:
        claim = labels.check_scan(command.label, laptop.asset_id, public_keys)
        if laptop.status == "unregistered":
            return _refuse(command, RejectionReason.UNKNOWN_LAPTOP, f"{laptop.asset_id} is not registered.")
        labels.check_current(claim, laptop.asset_id, laptop.label_generation)
    except labels.LabelError as exc:
        return _refuse(command, exc.reason, exc.detail)
    if laptop.asset_id in c.scanned:
        return _refuse(
            command,
            RejectionReason.ALREADY_IN_CONSIGNMENT,
            f"{laptop.asset_id} is already in this consignment: nothing to do.",
        )
    if laptop.consignment_id not in (None, c.consignment_id):
        return _refuse(
            command,
            RejectionReason.BELONGS_TO_OTHER_CONSIGNMENT,
            f"{laptop.asset_id} is planned for consignment {laptop.consignment_id}; put it in that box.",
        )
    if laptop.status in ("dispatched", "received"):
        return _refuse(
            command, RejectionReason.ALREADY_DISPATCHED, f"{laptop.asset_id} has already left the warehouse."
        )
    if laptop.asset_id not in c.expected:
        return _refuse(
            command,
            RejectionReason.NOT_EXPECTED,
            f"{laptop.asset_id} is not in this consignment's plan; put it back on the shelf.",
        )
    return LaptopScannedIntoConsignment(asset_id=laptop.asset_id, location=command.location)


def close(c: Consignment, command: CloseConsignment) -> Payload:
    if c.status == "unplanned":
        return _refuse(command, RejectionReason.UNKNOWN_CONSIGNMENT, f"consignment {c.consignment_id} is not planned.")
    if c.status == "dispatched":
        return _refuse(
            command, RejectionReason.CONSIGNMENT_CLOSED, f"consignment {c.consignment_id} is already closed."
        )
    if not c.scanned:
        return _refuse(
            command, RejectionReason.CONSIGNMENT_EMPTY, "no laptop was scanned into this consignment; scan them first."
        )
    assert c.office_code is not None
    return ConsignmentDispatched(
        office_code=c.office_code, dispatched=list(c.scanned), missing=[a for a in c.expected if a not in c.scanned]
    )


def per_laptop(c: Consignment, fact: Envelope) -> list[tuple[str, Payload]]:
    """The per-laptop facts a consignment fact implies, keyed by asset id."""
    if fact.type == ConsignmentPlanned.TYPE:
        return [
            (
                a,
                LaptopAllocated(
                    office_code=fact.data["office_code"],
                    office_name=fact.data["office_name"],
                    consignment_id=c.consignment_id,
                ),
            )
            for a in fact.data["expected"]
        ]
    if fact.type == ConsignmentDispatched.TYPE:
        return [
            (a, LaptopDispatched(office_code=fact.data["office_code"], consignment_id=c.consignment_id))
            for a in fact.data["dispatched"]
        ]
    return []


def summary(c: Consignment) -> dict[str, Any]:
    return {
        "status": c.status,
        "office_code": c.office_code,
        "office_name": c.office_name,
        "expected": list(c.expected),
        "scanned": list(c.scanned),
        "missing": [a for a in c.expected if a not in c.scanned],
    }


def _refuse(command: Payload, reason: RejectionReason, detail: str) -> ScanRejected:
    return ScanRejected(command_type=command.TYPE, reason=reason, detail=detail)
