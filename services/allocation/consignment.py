"""Consignment rules (allocation side), in business words.

- A consignment is one office's share of an allocation, its own aggregate keyed by
  the consignment id. It is planned once (``consignment_exists`` otherwise) for an
  official office (``unknown_office``), with the officials who may sign for it, the
  legal basis, the expected laptops and the keyed hash of a one-time receipt code.
  Planning also allocates each expected laptop to the office and this consignment.
- A scan into a consignment must carry a genuine, current label of a registered
  laptop (label_* reasons, ``unknown_laptop``). The laptop must be expected here
  (``not_expected``), and not planned for another consignment
  (``belongs_to_other_consignment``), not already gone (``already_dispatched``).
  Scanning the same laptop twice is harmless and said so: ``already_in_consignment``.
- A plan may instead give a count: "N laptops, picked in the warehouse".
  Then any registered laptop not yet allocated (warehouse stock) may be scanned in,
  and the scan allocates it to the office and this consignment; one already
  allocated to an office outside a consignment is ``not_expected`` (it belongs to
  that allocation: plan it by serial), one planned for another consignment is
  ``belongs_to_other_consignment``. Scans beyond N are ``consignment_full``.
  Missing is then a number: N minus scanned.
- Closing dispatches every scanned laptop (``consignment_empty`` if none),
  handed over by the official the close names (the BAST's first party);
  afterwards the consignment cannot change: scans and closes answer
  ``consignment_closed``.
- A transfer between offices is a consignment too, planned with the giving office
  (``from_office``): the same receipt code, scans, close, receipt and BAST. It lists
  its laptops (no count), goes to another official office, and each laptop must be
  at the giving office, received and held by no one (``not_at_office``,
  ``held_by_holder``, ``in_repair``, ``lost``, ``write_off_pending``, ``written_off``,
  ``not_received`` otherwise) and not planned for another transfer
  (``belongs_to_other_consignment``). Planning reserves each laptop for it (a
  LaptopAllocated naming ``from_office``: the laptop stays where it is, on its office's
  books, until the receipt). It is scanned and closed at the giving office, and a
  warehouse consignment at the warehouse (``wrong_sender`` otherwise).
- A laptop that left the warehouse is not picked again (``already_dispatched``) until
  it is returned to stock; one awaiting or past a write-off never
  (``write_off_pending``, ``written_off``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
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
)
from events.envelope import Envelope
from events.refusals import label_refused, refuse
from services.allocation.domain import Laptop, stock_refusal, transfer_refusal

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
    expected_count: int | None = None  # a plan by count
    from_office: str | None = None  # a transfer: the office it leaves from

    @property
    def missing_count(self) -> int:
        """How many expected laptops were not scanned (for a count plan: N minus scanned)."""
        if self.expected_count is not None:
            return max(self.expected_count - len(self.scanned), 0)
        return len([a for a in self.expected if a not in self.scanned])


def initial(consignment_id: str) -> Consignment:
    return Consignment(consignment_id)


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
            expected_count=data.get("expected_count"),
            from_office=data.get("from_office"),
        )
    if event.type == LaptopScannedIntoConsignment.TYPE:
        return replace(c, scanned=c.scanned + (data["asset_id"],))
    if event.type == ConsignmentDispatched.TYPE:
        return replace(c, status="dispatched")
    return c


def plan(c: Consignment, command: PlanConsignment, laptops: Mapping[str, Laptop]) -> Payload:
    """``laptops``: the allocation service's current view of each expected laptop."""
    if c.status != "unplanned":
        return refuse(
            command,
            RejectionReason.CONSIGNMENT_EXISTS,
            f"consignment {c.consignment_id} is already planned; choose another id.",
        )
    office = offices.get(command.office_code)
    if office is None:
        return refuse(
            command,
            RejectionReason.UNKNOWN_OFFICE,
            f"{command.office_code} is not an official region code; see GET /api/v1/offices.",
        )
    if command.from_office is not None:
        return _plan_transfer(c, command, laptops, office)
    if command.expected_count is not None:  # the laptops are chosen at picking
        return ConsignmentPlanned(
            office_code=office.code,
            office_name=office.name,
            officials=command.officials,
            legal_basis=command.legal_basis,
            expected=[],
            expected_count=command.expected_count,
            receipt_code_hash=command.receipt_code_hash,
            warehouse=command.warehouse,
        )
    unknown = [a for a in command.expected if laptops[a].status == "unregistered"]
    if unknown:
        return refuse(
            command, RejectionReason.UNKNOWN_LAPTOP, f"not registered: {', '.join(unknown[:10])}; register them first."
        )
    for reason in (RejectionReason.WRITTEN_OFF, RejectionReason.WRITE_OFF_PENDING, RejectionReason.ALREADY_DISPATCHED):
        if gone := [a for a in command.expected if stock_refusal(laptops[a]) == reason]:
            what = {
                RejectionReason.WRITTEN_OFF: "written off",
                RejectionReason.WRITE_OFF_PENDING: "proposed for write-off",
                RejectionReason.ALREADY_DISPATCHED: "already left the warehouse",
            }[reason]
            return refuse(command, reason, f"{what}: {', '.join(gone[:10])}.")
    taken = [a for a in command.expected if laptops[a].consignment_id not in (None, c.consignment_id)]
    if taken:
        return refuse(
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
        warehouse=command.warehouse,
    )


def _plan_transfer(
    c: Consignment, command: PlanConsignment, laptops: Mapping[str, Laptop], office: offices.Office
) -> Payload:
    assert command.from_office is not None
    giver = offices.get(command.from_office)
    if giver is None:
        return refuse(
            command,
            RejectionReason.UNKNOWN_OFFICE,
            f"{command.from_office} is not an official region code; see GET /api/v1/offices.",
        )
    if giver.code == office.code:
        return refuse(
            command, RejectionReason.INVALID_COMMAND, f"a transfer goes to another office than {office.code}."
        )
    refusals = {a: transfer_refusal(laptops[a], giver.code) for a in command.expected}
    for reason in refusals.values():
        if reason is not None:
            these = [b for b, r in refusals.items() if r == reason]
            return refuse(
                command,
                reason,
                f"cannot leave office {giver.code} ({_TRANSFER_REFUSALS[reason]}): {', '.join(these[:10])}.",
            )
    taken = [a for a in command.expected if laptops[a].transfer not in (None, c.consignment_id)]
    if taken:
        return refuse(
            command,
            RejectionReason.BELONGS_TO_OTHER_CONSIGNMENT,
            f"planned for another transfer: {', '.join(taken[:10])}.",
        )
    return ConsignmentPlanned(
        office_code=office.code,
        office_name=office.name,
        officials=command.officials,
        legal_basis=command.legal_basis,
        expected=list(dict.fromkeys(command.expected)),
        receipt_code_hash=command.receipt_code_hash,
        from_office=giver.code,
        from_office_name=giver.name,
    )


_TRANSFER_REFUSALS = {
    RejectionReason.UNKNOWN_LAPTOP: "not registered",
    RejectionReason.NOT_AT_OFFICE: "held by another office",
    RejectionReason.NOT_RECEIVED: "not received by an office",
    RejectionReason.HELD_BY_HOLDER: "held by a holder: give it back to the office first",
    RejectionReason.IN_REPAIR: "out for repair",
    RejectionReason.LOST: "reported lost",
    RejectionReason.WRITE_OFF_PENDING: "proposed for write-off",
    RejectionReason.WRITTEN_OFF: "written off",
}


def _wrong_sender(c: Consignment, command: ScanIntoConsignment | CloseConsignment) -> Payload | None:
    if command.from_office == c.from_office:
        return None
    cid = c.consignment_id
    if c.from_office is None:
        detail = f"consignment {cid} leaves from the warehouse: it is scanned and closed there."
    else:
        detail = (
            f"consignment {cid} is a transfer from office {c.from_office}: it is scanned and closed there "
            f"(POST /api/v1/transfers/{cid}/scans, …/close)."
        )
    return refuse(command, RejectionReason.WRONG_SENDER, detail)


def scan_target(label: str) -> str | None:
    """The asset id a scanned label names, or None if it is not even a label."""
    try:
        return labels.parse(label).asset_id
    except labels.LabelError:
        return None


def scan(c: Consignment, laptop: Laptop, command: ScanIntoConsignment, public_keys: Mapping[str, bytes]) -> Payload:
    if c.status == "unplanned":
        return refuse(command, RejectionReason.UNKNOWN_CONSIGNMENT, f"consignment {c.consignment_id} is not planned.")
    if c.status == "dispatched":
        return refuse(
            command,
            RejectionReason.CONSIGNMENT_CLOSED,
            f"consignment {c.consignment_id} is closed and left the warehouse; put the laptop aside.",
        )
    if refused := _wrong_sender(c, command):
        return refused
    if refused := label_refused(command, laptop, public_keys):
        return refused
    if laptop.asset_id in c.scanned:
        return refuse(
            command,
            RejectionReason.ALREADY_IN_CONSIGNMENT,
            f"{laptop.asset_id} is already in this consignment: nothing to do.",
        )
    if c.from_office is not None:
        return _scan_transfer(c, laptop, command)
    if c.expected_count is not None and len(c.scanned) >= c.expected_count:
        return refuse(
            command,
            RejectionReason.CONSIGNMENT_FULL,
            f"consignment {c.consignment_id} already has all {c.expected_count} laptops; close it, and put "
            f"{laptop.asset_id} back on the shelf.",
        )
    if laptop.consignment_id not in (None, c.consignment_id):
        return refuse(
            command,
            RejectionReason.BELONGS_TO_OTHER_CONSIGNMENT,
            f"{laptop.asset_id} is planned for consignment {laptop.consignment_id}; put it in that box.",
        )
    if (reason := stock_refusal(laptop)) is not None:
        return refuse(command, reason, _STOCK_REFUSALS[reason].format(laptop.asset_id))
    if c.expected_count is not None:  # picked from stock, not from a list
        if laptop.status == "allocated" and laptop.consignment_id is None:
            return refuse(
                command,
                RejectionReason.NOT_EXPECTED,
                f"{laptop.asset_id} is already allocated to office {laptop.office_code} outside any consignment; "
                "pick an unallocated laptop, or plan this one by serial.",
            )
        return LaptopScannedIntoConsignment(asset_id=laptop.asset_id, location=command.location)
    if laptop.asset_id not in c.expected:
        return refuse(
            command,
            RejectionReason.NOT_EXPECTED,
            f"{laptop.asset_id} is not in this consignment's plan; put it back on the shelf.",
        )
    return LaptopScannedIntoConsignment(asset_id=laptop.asset_id, location=command.location)


_STOCK_REFUSALS = {
    RejectionReason.ALREADY_DISPATCHED: "{} has already left the warehouse.",
    RejectionReason.WRITE_OFF_PENDING: "{} is proposed for write-off: put it aside until that is decided.",
    RejectionReason.WRITTEN_OFF: "{} is written off: put it aside.",
    RejectionReason.UNKNOWN_LAPTOP: "{} is not registered.",
}


def _scan_transfer(c: Consignment, laptop: Laptop, command: ScanIntoConsignment) -> Payload:
    assert c.from_office is not None
    if laptop.asset_id not in c.expected:
        return refuse(
            command,
            RejectionReason.NOT_EXPECTED,
            f"{laptop.asset_id} is not in this transfer's plan; keep it at the office.",
        )
    if (reason := transfer_refusal(laptop, c.from_office)) is not None:
        return refuse(
            command,
            reason,
            f"{laptop.asset_id} cannot leave office {c.from_office}: {_TRANSFER_REFUSALS[reason]}.",
        )
    return LaptopScannedIntoConsignment(asset_id=laptop.asset_id, location=command.location)


def close(c: Consignment, command: CloseConsignment, at: datetime | None = None) -> Payload:
    """``at``: when the close was asked (the command's time), kept as the fact's ``left_at``."""
    if c.status == "unplanned":
        return refuse(command, RejectionReason.UNKNOWN_CONSIGNMENT, f"consignment {c.consignment_id} is not planned.")
    if c.status == "dispatched":
        return refuse(command, RejectionReason.CONSIGNMENT_CLOSED, f"consignment {c.consignment_id} is already closed.")
    if refused := _wrong_sender(c, command):
        return refused
    if not c.scanned:
        return refuse(
            command, RejectionReason.CONSIGNMENT_EMPTY, "no laptop was scanned into this consignment; scan them first."
        )
    assert c.office_code is not None
    return ConsignmentDispatched(
        office_code=c.office_code,
        dispatched=list(c.scanned),
        dispatcher=command.dispatcher,
        left_at=at.isoformat() if at else None,
        missing=[a for a in c.expected if a not in c.scanned],
        missing_count=c.missing_count if c.expected_count is not None else None,
        from_office=c.from_office,
    )


def claim(c: Consignment, laptop: Laptop) -> LaptopAllocated | None:
    """Scanning a stock laptop into a count plan allocates it to this office and
    consignment. The handler records this in the laptop's document *before* the scan (a
    version-guarded append), so two consignments picking the same laptop at once cannot
    both have it: the second one re-decides and finds it taken."""
    if c.expected_count is None or laptop.consignment_id is not None or c.office_code is None:
        return None
    return LaptopAllocated(office_code=c.office_code, office_name=c.office_name or "", consignment_id=c.consignment_id)


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
                    from_office=fact.data.get("from_office"),
                ),
            )
            for a in fact.data["expected"]
        ]
    if fact.type == ConsignmentDispatched.TYPE:
        return [
            (
                a,
                LaptopDispatched(
                    office_code=fact.data["office_code"],
                    consignment_id=c.consignment_id,
                    left_at=fact.data.get("left_at"),
                    from_office=fact.data.get("from_office"),
                ),
            )
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
        "expected_count": c.expected_count,
        "missing_count": c.missing_count,
        "from_office": c.from_office,
    }
