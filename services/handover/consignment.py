"""Receipt rules (handover side), in business words.

- The handover service learns each consignment from the stream: its plan
  (ConsignmentPlanned: office, officials, legal basis, receipt-code hash) and its
  dispatch (ConsignmentDispatched: which laptops left, and the official who
  dispatched them, who hands them over as the BAST's first party).
- A receipt is confirmed for the whole consignment by one official. It is
  refused if the consignment is unknown here (``unknown_consignment``) or not yet
  dispatched (``not_dispatched``), if the receipt code does not match its keyed
  hash (``receipt_code_invalid``; also when the hash was made under a key this
  service no longer holds: the code must be re-issued), if the official (by NIP)
  is not one of the officials authorised for it (``official_not_authorised``), if
  nothing is left to receive (``already_received``), or if a line names a laptop
  not travelling in this consignment or already received (``not_expected``).
- A receipt of a consignment planned but not yet closed waits, for a while, if
  its close may have been sent and not yet decided (services/handover/held.py).
- A receipt may be partial: laptops marked missing, and laptops not mentioned,
  stay in transit and a later receipt can complete it. Each receipt gets its own
  BAST (sequence 1, 2, …); two officials confirming at once: the version-guarded
  append lets one win, the other re-decides and finds nothing left.
- Late receipt: a consignment that left the warehouse and is still not
  fully received ``threshold`` days later is overdue; a reminder is raised once per
  consignment and threshold (several thresholds, e.g. 7 and 14 days, give one each).
  A partly received consignment is still overdue; a fully received one never is,
  and a threshold already reminded is not reminded again.
- Receipt-code re-issue: a planned consignment not yet fully received
  may get a new receipt code (``unknown_consignment``, ``already_received``
  otherwise); from then on only the newest code confirms a receipt. It is decided
  here, on the same document as receipts, so a receipt is checked against either
  the old code or the new one, never a mix.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from events import receipt_codes
from events.catalog import (
    CommandRejected,
    ConfirmReceipt,
    ConsignmentDispatched,
    ConsignmentPlanned,
    ReceiptCodeReissued,
    ReceiptConfirmed,
    ReceiptReminderRaised,
    ReissueReceiptCode,
    RejectionReason,
)
from events.envelope import Envelope
from events.refusals import refuse
from services.handover.domain import left_at

Status = Literal["unknown", "planned", "in_transit", "partly_received", "received"]


@dataclass(frozen=True)
class Consignment:
    consignment_id: str
    status: Status = "unknown"
    plan: dict[str, Any] = field(default_factory=dict)
    dispatched: tuple[str, ...] = ()
    dispatched_at: str | None = None
    dispatcher: dict[str, Any] = field(default_factory=dict)  # name, nip, jabatan: PIHAK PERTAMA
    received: tuple[str, ...] = ()
    receipts: int = 0
    reminders: tuple[tuple[float, str], ...] = ()  # (threshold_days, raised_at)
    code_generation: int = 1  # 1 = the planned code, 2 = its first re-issue, …

    @property
    def pending(self) -> list[str]:
        return [a for a in self.dispatched if a not in self.received]


def initial(consignment_id: str) -> Consignment:
    return Consignment(consignment_id)


def evolve(c: Consignment, event: Envelope) -> Consignment:
    data = event.data
    if event.type == ConsignmentPlanned.TYPE:
        return replace(c, status="planned" if c.status == "unknown" else c.status, plan=dict(data))
    if event.type == ConsignmentDispatched.TYPE:
        return replace(
            c,
            status="in_transit",
            dispatched=tuple(data["dispatched"]),
            dispatched_at=left_at(event).isoformat(),
            dispatcher=dict(data["dispatcher"]),
        )
    if event.type == ReceiptConfirmed.TYPE:
        received = c.received + tuple(line["asset_id"] for line in data["lines"])
        done = all(a in received for a in c.dispatched)
        return replace(c, received=received, receipts=c.receipts + 1, status="received" if done else "partly_received")
    if event.type == ReceiptCodeReissued.TYPE:  # only the newest code is valid
        return replace(
            c,
            plan=c.plan | {"receipt_code_hash": data["receipt_code_hash"]},
            code_generation=data["generation"],
        )
    if event.type == ReceiptReminderRaised.TYPE:
        return replace(c, reminders=c.reminders + ((float(data["threshold_days"]), event.time.isoformat()),))
    return c


def check(
    c: Consignment,
    command: ConfirmReceipt,
    at: datetime,
    code_keys: Mapping[str, bytes],
    received_alone: Collection[str] = (),
) -> CommandRejected | None:
    """Everything that can refuse a receipt made at ``at``; None when it may be
    confirmed. ``code_keys``: the ring receipt codes are hashed with;
    ``received_alone``: laptops whose own record says received already."""
    cid = c.consignment_id
    if c.status == "unknown" or not c.plan:
        return refuse(
            command,
            RejectionReason.UNKNOWN_CONSIGNMENT,
            f"consignment {cid} is not known; check the id on the manifest.",
        )
    if not c.dispatched or c.dispatched_at is None:
        return refuse(command, RejectionReason.NOT_DISPATCHED, f"consignment {cid} has not left the warehouse yet.")
    if at < datetime.fromisoformat(c.dispatched_at):
        return refuse(
            command,
            RejectionReason.NOT_DISPATCHED,
            f"this receipt was made at {at:%Y-%m-%d %H:%M:%S} UTC, before consignment {cid} left the warehouse "
            f"at {c.dispatched_at[:19].replace('T', ' ')} UTC: a receipt cannot predate the dispatch.",
        )
    stored = c.plan["receipt_code_hash"]
    if not receipt_codes.matches(code_keys, command.receipt_code, stored):
        kid = receipt_codes.key_id(stored)
        detail = (
            "the receipt code is wrong; copy it from the dispatch manifest."
            if kid in code_keys
            else f"this consignment's receipt code was hashed with key {kid}, which this service no longer "
            "holds: ask the sender to issue a new code (POST …/receipt-code)."
        )
        return refuse(command, RejectionReason.RECEIPT_CODE_INVALID, detail)
    if command.official.nip not in {o["nip"] for o in c.plan["officials"]}:
        return refuse(
            command,
            RejectionReason.OFFICIAL_NOT_AUTHORISED,
            f"NIP {command.official.nip} is not authorised to sign for consignment {cid}; ask the sender to add you.",
        )
    if not c.pending:
        return refuse(
            command, RejectionReason.ALREADY_RECEIVED, f"every laptop of consignment {cid} was already received."
        )
    receivable = [a for a in c.pending if a not in received_alone]
    stray = [line.asset_id for line in command.lines if line.asset_id not in receivable]
    stray += [a for a in command.missing if a not in c.pending]
    if stray:
        return refuse(
            command,
            RejectionReason.NOT_EXPECTED,
            f"not travelling in this consignment or already received: {', '.join(stray[:10])}; "
            "set them aside and report them.",
        )
    if not command.lines:
        return refuse(command, RejectionReason.INVALID_COMMAND, "list at least one received laptop.")
    both = {line.asset_id for line in command.lines} & set(command.missing)
    if both or len({line.asset_id for line in command.lines}) != len(command.lines):
        return refuse(
            command, RejectionReason.INVALID_COMMAND, "each laptop must appear once, as received or as missing."
        )
    return None


def awaits_dispatch(c: Consignment) -> bool:
    """A receipt refused as ``not_dispatched`` may only be early while the consignment is
    planned and not closed: its close may have been sent and not yet decided."""
    return c.status == "planned"


def confirm(
    c: Consignment, command: ConfirmReceipt, confirmed_at: str, bast_number: str, bast_sha256: str
) -> ReceiptConfirmed:
    received = {line.asset_id for line in command.lines} | set(c.received)
    return ReceiptConfirmed(
        office_code=c.plan["office_code"],
        official=command.official,
        seq=c.receipts + 1,
        bast_number=bast_number,
        lines=command.lines,
        missing=[a for a in c.pending if a not in received],
        complete=all(a in received for a in c.dispatched),
        confirmed_at=confirmed_at,
        bast_sha256=bast_sha256,
    )


def summary(c: Consignment) -> dict[str, Any]:
    return {
        "status": c.status,
        "office_code": c.plan.get("office_code"),
        "dispatched": list(c.dispatched),
        "dispatched_at": c.dispatched_at,
        "received": list(c.received),
        "in_transit": c.pending,
        "receipts": c.receipts,
        # shown by GET /api/v1/consignments/unconfirmed
        "reminders": [{"threshold_days": t, "raised_at": at} for t, at in c.reminders],
        "receipt_code_generation": c.code_generation,
    }


# --- late receipt ---


def from_summary(consignment_id: str, s: Mapping[str, Any]) -> Consignment:
    """What ``summary`` kept of a consignment, enough for ``reminders_due``."""
    return Consignment(
        consignment_id,
        status=s["status"],
        plan={"office_code": s["office_code"]} if s.get("office_code") else {},
        dispatched=tuple(s.get("dispatched") or ()),
        dispatched_at=s.get("dispatched_at"),
        received=tuple(s.get("received") or ()),
        receipts=s.get("receipts", 0),
        reminders=tuple((float(r["threshold_days"]), r["raised_at"]) for r in s.get("reminders") or ()),
        code_generation=s.get("receipt_code_generation", 1),
    )


def reminders_due(c: Consignment, now: datetime, thresholds: Sequence[float]) -> list[ReceiptReminderRaised]:
    """The reminders to raise now: one per threshold passed and not yet reminded,
    while laptops of the dispatched consignment are still not received."""
    if c.status not in ("in_transit", "partly_received") or c.dispatched_at is None or not c.pending or not c.plan:
        return []
    left = datetime.fromisoformat(c.dispatched_at)
    reminded = {t for t, _ in c.reminders}
    return [
        ReceiptReminderRaised(
            office_code=c.plan["office_code"],
            threshold_days=t,
            dispatched_at=c.dispatched_at,
            due_at=(left + timedelta(days=t)).isoformat(),
            in_transit=c.pending,
        )
        for t in sorted(set(thresholds))
        if t not in reminded and now - left >= timedelta(days=t)
    ]


# --- receipt-code re-issue ---


def reissue_code(c: Consignment, command: ReissueReceiptCode) -> ReceiptCodeReissued | CommandRejected:
    cid = c.consignment_id
    if c.status == "unknown" or not c.plan:
        return refuse(
            command,
            RejectionReason.UNKNOWN_CONSIGNMENT,
            f"consignment {cid} is not known; check the id on the manifest.",
        )
    if c.status == "received":
        return refuse(
            command,
            RejectionReason.ALREADY_RECEIVED,
            f"every laptop of consignment {cid} was already received: no code is needed any more.",
        )
    return ReceiptCodeReissued(
        receipt_code_hash=command.receipt_code_hash, reason=command.reason, generation=c.code_generation + 1
    )
