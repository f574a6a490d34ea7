"""A consignment's summary, folded by the audit service from the consignment's own
chain (every event whose subject is the consignment id), in business words.

The workers decide; this is what their published facts add up to, and what the
gateway shows for a consignment (its page, the manifest, the BAST record page, the
list of consignments awaiting receipt). It is kept in the consignment's view, next
to its chain head, so a read right after a decision sees it (the gateway waits
for the audit to record the decision before it answers).

- Until it is planned a consignment is ``unplanned`` (refusals about an unknown
  id are chained too, and plan nothing).
- Planned (``ConsignmentPlanned``): ``open``, for its office, expecting the listed
  laptops or a count. ``plan`` is the plan as it stands: the planned data, its
  receipt-code hash replaced by the newest re-issued one, and for a plan by count
  ``expected`` lists the laptops picked so far (the manifest prints them). The
  hash is keyed (events/receipt_codes.py): the audit holds no key and only keeps
  it for the gateway, which checks a code given for the manifest against it;
  nothing shows it.
- Scanned in (``LaptopScannedIntoConsignment``): the laptop joins ``scanned``;
  ``missing`` is what was expected and not scanned (for a count: ``missing_count``
  = count minus scanned).
- Dispatched (``ConsignmentDispatched``): ``dispatched``; the dispatched laptops
  are ``in_transit`` from ``dispatched_at``, handed over by ``dispatcher`` (the
  official its BASTs name as PIHAK PERTAMA).
- A receipt (``ReceiptConfirmed``): its laptops move from in transit to
  ``received``; the receipt is kept as it was confirmed (``receipts``, in seq
  order: what its BAST says); ``partly_received`` while a laptop is still in
  transit, then ``received``.
- A receipt code re-issued (``ReceiptCodeReissued``): only the newest hash is in
  the plan; ``receipt_code_generation`` counts (1 = the planned code).
- A late-receipt reminder (``ReceiptReminderRaised``): listed with its threshold
  and when it was raised.
- A refusal changes nothing here.
- A consignment awaits receipt while it is dispatched and not fully received.
"""

from __future__ import annotations

from typing import Any

from events import codec
from events.catalog import (
    ConsignmentDispatched,
    ConsignmentPlanned,
    LaptopScannedIntoConsignment,
    ReceiptCodeReissued,
    ReceiptConfirmed,
    ReceiptReminderRaised,
)
from events.envelope import Envelope

# The event types that can move a consignment onto or off the awaiting-receipt list.
MOVES_RECEIPT_STATE = frozenset({ConsignmentDispatched.TYPE, ReceiptConfirmed.TYPE})
# The event types that can move a consignment onto or off the list of those still being
# picked at the warehouse (planned, not dispatched).
MOVES_PICK_STATE = frozenset({ConsignmentPlanned.TYPE, ConsignmentDispatched.TYPE})
MOVES_LISTS = MOVES_RECEIPT_STATE | MOVES_PICK_STATE


def empty() -> dict[str, Any]:
    return {
        "status": "unplanned",  # open → dispatched → partly_received → received
        "office_code": None,
        "office_name": None,
        "plan": None,  # the plan as it stands (see the module docstring)
        "expected": [],
        "expected_count": None,
        "scanned": [],
        "missing": [],
        "missing_count": 0,
        "dispatched_at": None,
        "dispatcher": None,  # name, nip, jabatan
        "in_transit": [],
        "received": [],
        "receipts": [],  # each ReceiptConfirmed's data, by seq
        "reminders": [],  # [{threshold_days, raised_at}]
        "receipt_code_generation": 1,
    }


def apply(current: dict[str, Any], e: Envelope) -> dict[str, Any]:
    """One step of the fold: the summary after event ``e``. Pure; returns a new dict."""
    s = dict(current)
    d = e.data
    if e.type == ConsignmentPlanned.TYPE:
        s.update(
            status="open",
            office_code=d["office_code"],
            office_name=d["office_name"],
            plan=dict(d),
            expected=list(d["expected"]),
            expected_count=d.get("expected_count"),
        )
        _missing(s)
    elif e.type == LaptopScannedIntoConsignment.TYPE:
        s["scanned"] = [*s["scanned"], d["asset_id"]]
        if s["expected_count"] is not None and s["plan"] is not None:  # a plan by count lists what was picked
            s["plan"] = {**s["plan"], "expected": list(s["scanned"])}
        _missing(s)
    elif e.type == ConsignmentDispatched.TYPE:
        s.update(
            status="dispatched",
            dispatched_at=codec.format_time(e.time),
            dispatcher=dict(d["dispatcher"]),
            in_transit=list(d["dispatched"]),
        )
    elif e.type == ReceiptConfirmed.TYPE:
        arrived = {line["asset_id"] for line in d["lines"]}
        s["received"] = [*s["received"], *(line["asset_id"] for line in d["lines"])]
        s["in_transit"] = [a for a in s["in_transit"] if a not in arrived]
        s["receipts"] = [*s["receipts"], dict(d)]
        s["status"] = "partly_received" if s["in_transit"] else "received"
    elif e.type == ReceiptCodeReissued.TYPE:
        if s["plan"] is not None:
            s["plan"] = {**s["plan"], "receipt_code_hash": d["receipt_code_hash"]}
        s["receipt_code_generation"] = d["generation"]
    elif e.type == ReceiptReminderRaised.TYPE:
        reminder = {"threshold_days": float(d["threshold_days"]), "raised_at": e.time.isoformat()}
        s["reminders"] = [*s["reminders"], reminder]
    return s


def awaiting_receipt(summary: dict[str, Any]) -> bool:
    return summary.get("status") in ("dispatched", "partly_received")


def being_picked(summary: dict[str, Any]) -> bool:
    """Planned and not dispatched, at the warehouse: a transfer is picked at its office, not listed there."""
    return summary.get("status") == "open" and not (summary.get("plan") or {}).get("from_office")


def _missing(s: dict[str, Any]) -> None:
    scanned = set(s["scanned"])
    s["missing"] = [a for a in s["expected"] if a not in scanned]
    count = s["expected_count"]
    s["missing_count"] = max(count - len(s["scanned"]), 0) if count is not None else len(s["missing"])
