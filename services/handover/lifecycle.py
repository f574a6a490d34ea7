"""Custody rules after dispatch, in business words: one table, state × command → the
fact it records or the reason it is refused (``TABLE``), then each command's own checks.

Handover decides every command about a laptop from its receipt on (see
docs/lifecycle.md for why): the receipt itself, usage attestations, holders, repair,
loss and recovery, the return to the warehouse, and the write-off.

- A scan (a command with ``label``) must carry a genuine, current label of this laptop
  first (label_* reasons, ``unknown_laptop``), as everywhere. A written-off laptop's
  label is revoked, so every scan of it is ``label_revoked``.
- Then the laptop's state decides (``TABLE``): a laptop in repair cannot be handed out,
  attested or moved (``in_repair``); a lost one allows only its recovery or write-off
  (``lost``); a held one must come back from its holder before it is repaired, returned
  or written off (``held_by_holder``); a laptop not at an office cannot be handed out,
  repaired or reported lost there (``not_received``); a pending write-off freezes it
  until another official decides (``write_off_pending``); a written-off one allows
  nothing (``written_off``).
- Then each command's own checks:
  - receipt: a laptop that travels in a consignment is received only through that
    consignment's receipt (``in_consignment``); nothing is received before it left
    (``not_dispatched``);
  - attestation: not before the laptop's receipt, as the people made them: the
    attestation's time against the receipt scan's (``not_received``);
  - assignment, repair, return to the warehouse, write-off proposal: not while a
    transfer is planned for the laptop (``in_consignment``);
  - the holder's confirmation: only by the named holder (``not_the_holder``);
  - a write-off's reason must fit: ``beyond_repair`` needs condition RB, ``lost`` a
    laptop reported lost, and a lost laptop is written off as ``lost``
    (``write_off_reason_invalid``); it is approved by an official other than its
    proposer (``same_official``), and declining it returns the laptop where it was.
- Nothing is ever changed by a refusal; every refusal is recorded as an event.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from events.catalog import (
    ApproveWriteOff,
    AssignLaptop,
    AssignmentConfirmed,
    AttestUsage,
    Condition,
    ConfirmAssignment,
    DeclineWriteOff,
    IssuedDocument,
    LabelRevoked,
    LaptopAssigned,
    LaptopReceived,
    LaptopRecovered,
    LaptopReportedLost,
    LaptopReturnedByHolder,
    LaptopReturnedToWarehouse,
    LaptopWrittenOff,
    Payload,
    ProposeWriteOff,
    ReceiveLaptop,
    RecoverLaptop,
    RejectionReason,
    RepairFinished,
    RepairStarted,
    ReportLoss,
    ReturnFromHolder,
    ReturnFromRepair,
    ReturnToWarehouse,
    SendForRepair,
    UsageAttested,
    WriteOffDeclined,
    WriteOffProposed,
    WriteOffReason,
)
from events.lifecycle import State
from events.refusals import label_refused, refuse
from services.handover import documents
from services.handover.domain import Laptop

R = RejectionReason

# The commands handover decides about one laptop, in the order of the table's columns.
COMMANDS: tuple[type[Payload], ...] = (
    ReceiveLaptop,
    AttestUsage,
    AssignLaptop,
    ConfirmAssignment,
    ReturnFromHolder,
    SendForRepair,
    ReturnFromRepair,
    ReportLoss,
    RecoverLaptop,
    ReturnToWarehouse,
    ProposeWriteOff,
    ApproveWriteOff,
    DeclineWriteOff,
)
# The commands whose fact issues a document (the holder's berita acara, the write-off proposal).
ISSUES_DOCUMENT: tuple[type[Payload], ...] = (AssignLaptop, ProposeWriteOff)
# Scans carry the laptop's label; the others are acts made at a desk (the laptop may not be at hand).
SCANS = frozenset(c for c in COMMANDS if "label" in c.model_fields)

Outcome = type[Payload] | RejectionReason


def _every(outcome: Outcome) -> dict[type[Payload], Outcome]:
    return dict.fromkeys(COMMANDS, outcome)


# At an office and held by no one; held by a holder; in the warehouse: rows alike but for a few cells.
_AT_WAREHOUSE: dict[type[Payload], Outcome] = {
    ReceiveLaptop: R.NOT_DISPATCHED,
    AttestUsage: R.NOT_RECEIVED,
    AssignLaptop: R.NOT_RECEIVED,
    ConfirmAssignment: R.NOT_ASSIGNED,
    ReturnFromHolder: R.NOT_ASSIGNED,
    SendForRepair: R.NOT_RECEIVED,
    ReturnFromRepair: R.NOT_IN_REPAIR,
    ReportLoss: R.NOT_RECEIVED,
    RecoverLaptop: R.NOT_LOST,
    ReturnToWarehouse: R.NOT_RECEIVED,
    ProposeWriteOff: WriteOffProposed,
    ApproveWriteOff: R.NOT_PROPOSED,
    DeclineWriteOff: R.NOT_PROPOSED,
}
_HELD: dict[type[Payload], Outcome] = {
    ReceiveLaptop: R.ALREADY_RECEIVED,
    AttestUsage: UsageAttested,
    AssignLaptop: R.HELD_BY_HOLDER,
    ConfirmAssignment: AssignmentConfirmed,
    ReturnFromHolder: LaptopReturnedByHolder,
    SendForRepair: R.HELD_BY_HOLDER,
    ReturnFromRepair: R.NOT_IN_REPAIR,
    ReportLoss: LaptopReportedLost,
    RecoverLaptop: R.NOT_LOST,
    ReturnToWarehouse: R.HELD_BY_HOLDER,
    ProposeWriteOff: R.HELD_BY_HOLDER,
    ApproveWriteOff: R.NOT_PROPOSED,
    DeclineWriteOff: R.NOT_PROPOSED,
}

# state × command → the fact recorded, or the reason it is refused. Complete: every
# state has a cell for every command (a test walks the whole of it).
TABLE: dict[State, dict[type[Payload], Outcome]] = {
    State.UNKNOWN: _every(R.UNKNOWN_LAPTOP),
    State.REGISTERED: _AT_WAREHOUSE,
    State.ALLOCATED: _AT_WAREHOUSE,
    State.IN_TRANSIT: {
        ReceiveLaptop: LaptopReceived,
        AttestUsage: R.NOT_RECEIVED,
        AssignLaptop: R.NOT_RECEIVED,
        ConfirmAssignment: R.NOT_ASSIGNED,
        ReturnFromHolder: R.NOT_ASSIGNED,
        SendForRepair: R.NOT_RECEIVED,
        ReturnFromRepair: R.NOT_IN_REPAIR,
        ReportLoss: R.NOT_RECEIVED,
        RecoverLaptop: R.NOT_LOST,
        ReturnToWarehouse: R.NOT_RECEIVED,
        ProposeWriteOff: R.NOT_RECEIVED,
        ApproveWriteOff: R.NOT_PROPOSED,
        DeclineWriteOff: R.NOT_PROPOSED,
    },
    State.RECEIVED: {
        ReceiveLaptop: R.ALREADY_RECEIVED,
        AttestUsage: UsageAttested,
        AssignLaptop: LaptopAssigned,
        ConfirmAssignment: R.NOT_ASSIGNED,
        ReturnFromHolder: R.NOT_ASSIGNED,
        SendForRepair: RepairStarted,
        ReturnFromRepair: R.NOT_IN_REPAIR,
        ReportLoss: LaptopReportedLost,
        RecoverLaptop: R.NOT_LOST,
        ReturnToWarehouse: LaptopReturnedToWarehouse,
        ProposeWriteOff: WriteOffProposed,
        ApproveWriteOff: R.NOT_PROPOSED,
        DeclineWriteOff: R.NOT_PROPOSED,
    },
    State.ASSIGNED: _HELD,
    State.IN_USE: _HELD | {ConfirmAssignment: R.ALREADY_CONFIRMED},
    State.IN_REPAIR: {
        ReceiveLaptop: R.ALREADY_RECEIVED,
        AttestUsage: R.IN_REPAIR,
        AssignLaptop: R.IN_REPAIR,
        ConfirmAssignment: R.IN_REPAIR,
        ReturnFromHolder: R.IN_REPAIR,
        SendForRepair: R.IN_REPAIR,
        ReturnFromRepair: RepairFinished,
        ReportLoss: LaptopReportedLost,
        RecoverLaptop: R.NOT_LOST,
        ReturnToWarehouse: R.IN_REPAIR,
        ProposeWriteOff: R.IN_REPAIR,
        ApproveWriteOff: R.NOT_PROPOSED,
        DeclineWriteOff: R.NOT_PROPOSED,
    },
    State.LOST: _every(R.LOST)
    | {
        RecoverLaptop: LaptopRecovered,
        ProposeWriteOff: WriteOffProposed,
        ApproveWriteOff: R.NOT_PROPOSED,
        DeclineWriteOff: R.NOT_PROPOSED,
    },
    State.WRITE_OFF_PROPOSED: _every(R.WRITE_OFF_PENDING)
    | {ApproveWriteOff: LaptopWrittenOff, DeclineWriteOff: WriteOffDeclined},
    # Its label is revoked: a scan is refused for the label before the state is asked.
    State.WRITTEN_OFF: {c: R.LABEL_REVOKED if c in SCANS else R.WRITTEN_OFF for c in COMMANDS},
}


def decide(laptop: Laptop, command: Payload, public_keys: Mapping[str, bytes], at: datetime) -> Payload | list[Payload]:
    """The fact(s) ``command``, made at ``at``, records about ``laptop``, or its refusal."""
    if type(command) in SCANS and (refused := label_refused(command, laptop, public_keys)):  # type: ignore[arg-type]
        return refused
    if isinstance(command, ReceiveLaptop) and (elsewhere := _travels_in_consignment(laptop, command)):
        return elsewhere
    outcome = TABLE[laptop.status][type(command)]
    if isinstance(outcome, RejectionReason):
        return refuse(command, outcome, _why(outcome, laptop))
    return _FACTS[type(command)](laptop, command, at)


# --- each command's own checks, and its fact ---


def _travels_in_consignment(laptop: Laptop, command: ReceiveLaptop) -> Payload | None:
    # Before and at its receipt only: later states answer for themselves.
    if laptop.consignment_id is None or laptop.status not in (
        State.REGISTERED,
        State.ALLOCATED,
        State.IN_TRANSIT,
        State.RECEIVED,
    ):
        return None
    return refuse(
        command,
        R.IN_CONSIGNMENT,
        f"{laptop.asset_id} travels in consignment {laptop.consignment_id}: it is received with the "
        "consignment's receipt, by its official, with the receipt code from the manifest "
        f"(POST /api/v1/consignments/{laptop.consignment_id}/receipt), not by a single scan.",
    )


def _office(laptop: Laptop) -> str:
    assert laptop.office_code is not None  # at an office (or on its way to one) implies an office
    return laptop.office_code


def _receive(laptop: Laptop, command: ReceiveLaptop, at: datetime) -> Payload:
    if laptop.dispatched_at is not None and at < laptop.dispatched_at:
        return refuse(
            command,
            R.NOT_DISPATCHED,
            f"the receipt of {laptop.asset_id} was scanned at {at:%Y-%m-%d %H:%M:%S} UTC, before it left the "
            f"warehouse at {laptop.dispatched_at:%Y-%m-%d %H:%M:%S} UTC; check the device's clock and scan again.",
        )
    return LaptopReceived(
        office_code=_office(laptop),
        condition=command.condition,
        note=command.note,
        location=command.location,
        received_at=at.isoformat(),
    )


def _attest(laptop: Laptop, command: AttestUsage, at: datetime) -> Payload:
    if laptop.received_at is not None and at < laptop.received_at:
        return refuse(command, R.NOT_RECEIVED, _why(R.NOT_RECEIVED, laptop))
    return UsageAttested(
        office_code=_office(laptop),
        condition=command.condition,
        in_use=command.in_use,
        note=command.note,
        location=command.location,
        attested_by=command.attested_by,
    )


def _reserved(laptop: Laptop, command: Payload) -> Payload | None:
    if laptop.transfer is None:
        return None
    return refuse(
        command,
        R.IN_CONSIGNMENT,
        f"{laptop.asset_id} is planned for transfer in consignment {laptop.transfer}: it leaves with it, "
        "and is handed out, repaired, returned or written off by the office that receives it.",
    )


def _assign(laptop: Laptop, command: AssignLaptop, at: datetime) -> Payload:
    if refused := _reserved(laptop, command):
        return refused
    seq = laptop.assignments + 1
    return LaptopAssigned(
        office_code=_office(laptop),
        holder=command.holder,
        assigned_by=command.assigned_by,
        condition=command.condition,
        note=command.note,
        document=IssuedDocument(
            id=documents.document_id(laptop.asset_id, "assignment", seq),
            number=documents.assignment_number(laptop.asset_id, _office(laptop), seq, at),
            issued_at=at.isoformat(),
            sha256=documents.UNSIGNED,
        ),
    )


def _confirm(laptop: Laptop, command: ConfirmAssignment, at: datetime) -> Payload:
    assert laptop.holder is not None  # assigned implies a holder
    if command.holder_nip != laptop.holder["nip"]:
        return refuse(
            command,
            R.NOT_THE_HOLDER,
            f"{laptop.asset_id} is handed to {laptop.holder['name']} (NIP {laptop.holder['nip']}): only they "
            "confirm holding it, signed in as themselves.",
        )
    return AssignmentConfirmed(office_code=_office(laptop), holder_nip=command.holder_nip, location=command.location)


def _return_from_holder(laptop: Laptop, command: ReturnFromHolder, at: datetime) -> Payload:
    assert laptop.holder is not None
    return LaptopReturnedByHolder(
        office_code=_office(laptop),
        holder=laptop.holder,
        condition=command.condition,
        note=command.note,
        location=command.location,
    )


def _send_for_repair(laptop: Laptop, command: SendForRepair, at: datetime) -> Payload:
    if refused := _reserved(laptop, command):
        return refused
    return RepairStarted(
        office_code=_office(laptop),
        vendor=command.vendor,
        reason=command.reason,
        condition=command.condition,
        location=command.location,
    )


def _return_from_repair(laptop: Laptop, command: ReturnFromRepair, at: datetime) -> Payload:
    return RepairFinished(
        office_code=_office(laptop),
        vendor=laptop.repair_vendor or "-",
        condition=command.condition,
        note=command.note,
        location=command.location,
    )


def _report_loss(laptop: Laptop, command: ReportLoss, at: datetime) -> Payload:
    return LaptopReportedLost(
        office_code=_office(laptop),
        kind=command.kind,
        circumstances=command.circumstances,
        police_report=command.police_report,
        lost_on=command.lost_on,
        holder=laptop.holder,
    )


def _recover(laptop: Laptop, command: RecoverLaptop, at: datetime) -> Payload:
    return LaptopRecovered(
        office_code=_office(laptop), condition=command.condition, note=command.note, location=command.location
    )


def _return_to_warehouse(laptop: Laptop, command: ReturnToWarehouse, at: datetime) -> Payload:
    if refused := _reserved(laptop, command):
        return refused
    return LaptopReturnedToWarehouse(
        from_office=_office(laptop),
        condition=command.condition,
        note=command.note,
        warehouse=command.warehouse,
        location=command.location,
    )


def _propose_write_off(laptop: Laptop, command: ProposeWriteOff, at: datetime) -> Payload:
    if refused := _reserved(laptop, command):
        return refused
    lost = laptop.status == State.LOST
    if command.reason == WriteOffReason.LOST and not lost:
        why = f"{laptop.asset_id} is not reported lost; report the loss first (POST …/loss), then propose."
    elif lost and command.reason != WriteOffReason.LOST:
        why = f"{laptop.asset_id} is reported lost: it is written off as `lost`, or recovered first."
    elif command.reason == WriteOffReason.BEYOND_REPAIR and laptop.condition != Condition.RB:
        why = (
            f"{laptop.asset_id} is in condition {laptop.condition}, not RB (rusak berat): record its condition "
            "through a repair or an attestation first, or propose it as obsolete."
        )
    else:
        why = ""
    if why:
        return refuse(command, R.WRITE_OFF_REASON_INVALID, why)
    seq = laptop.proposals + 1
    return WriteOffProposed(
        office_code=laptop.office_code,
        reason=command.reason,
        proposer=command.proposer,
        condition=laptop.condition,
        note=command.note,
        document=IssuedDocument(
            id=documents.document_id(laptop.asset_id, "write-off", seq),
            number=documents.write_off_number(laptop.asset_id, seq, at),
            issued_at=at.isoformat(),
            sha256=documents.UNSIGNED,
        ),
    )


def _approve_write_off(laptop: Laptop, command: ApproveWriteOff, at: datetime) -> Payload | list[Payload]:
    proposal = laptop.proposal
    assert proposal is not None  # proposed implies a proposal
    if command.approver.nip == proposal["proposer"]["nip"]:
        return refuse(
            command,
            R.SAME_OFFICIAL,
            f"{command.approver.name} proposed this write-off: another official approves it.",
        )
    return [
        LaptopWrittenOff(
            office_code=proposal.get("office_code"),
            reason=proposal["reason"],
            proposer=proposal["proposer"],
            approver=command.approver,
            decree_number=command.decree_number,
            note=command.note,
            proposal=proposal["document"],
        ),
        LabelRevoked(generation=max(laptop.label_generation, 1)),
    ]


def _decline_write_off(laptop: Laptop, command: DeclineWriteOff, at: datetime) -> Payload:
    assert laptop.before_write_off is not None
    return WriteOffDeclined(
        office_code=laptop.office_code,
        official=command.official,
        reason=command.reason,
        returns_to=laptop.before_write_off,
    )


_FACTS: dict[type[Payload], Callable[[Laptop, Any, datetime], Payload | list[Payload]]] = {
    ReceiveLaptop: _receive,
    AttestUsage: _attest,
    AssignLaptop: _assign,
    ConfirmAssignment: _confirm,
    ReturnFromHolder: _return_from_holder,
    SendForRepair: _send_for_repair,
    ReturnFromRepair: _return_from_repair,
    ReportLoss: _report_loss,
    RecoverLaptop: _recover,
    ReturnToWarehouse: _return_to_warehouse,
    ProposeWriteOff: _propose_write_off,
    ApproveWriteOff: _approve_write_off,
    DeclineWriteOff: _decline_write_off,
}


# --- what each refusal says ---


def _why(reason: RejectionReason, laptop: Laptop) -> str:
    a = laptop.asset_id
    holder = laptop.holder or {}
    sentences: dict[RejectionReason, str] = {
        R.UNKNOWN_LAPTOP: f"{a} is not registered.",
        R.NOT_DISPATCHED: f"{a} has not been dispatched from the warehouse yet; it cannot be received. "
        "Contact the warehouse.",
        R.ALREADY_RECEIVED: f"{a} was already received.",
        R.NOT_RECEIVED: f"{a} is not at an office ({laptop.status}) at the time of this command: "
        "it is handed out, repaired, attested, reported lost or returned only once an office has received it.",
        R.NOT_ASSIGNED: f"{a} is not handed to any holder: nothing to confirm or give back.",
        R.ALREADY_CONFIRMED: f"{holder.get('name', 'its holder')} already confirmed holding {a}.",
        R.HELD_BY_HOLDER: f"{a} is held by {holder.get('name')} (NIP {holder.get('nip')}): the holder gives it back "
        "first (POST /api/v1/scans/holder-return).",
        R.IN_REPAIR: f"{a} is out for repair at {laptop.repair_vendor}: it cannot be handed out, attested or "
        "moved until it is back (POST /api/v1/scans/repair-back).",
        R.NOT_IN_REPAIR: f"{a} is not out for repair.",
        R.LOST: f"{a} is reported lost: only its recovery (scan it: POST /api/v1/scans/recovery) or its "
        "write-off can follow. This scan was recorded and raised as an anomaly.",
        R.NOT_LOST: f"{a} is not reported lost.",
        R.WRITE_OFF_PENDING: f"a write-off of {a} is proposed: another official approves or declines it "
        "first; until then nothing else happens to it.",
        R.NOT_PROPOSED: f"no write-off of {a} is proposed.",
        R.WRITTEN_OFF: f"{a} is written off: nothing more can happen to it.",
        R.LABEL_REVOKED: f"the label of {a} is revoked: the laptop was written off.",
    }
    return sentences[reason]
