"""Each office's counters, kept beside the laptop views so a national roll-up reads
552 small documents instead of every view.

An office's counter document is a pure function of its laptop views (``tally``):
it is recomputed from them whenever one of them changes in what a roll-up counts,
never moved by increments. So a redelivered event, a replay, a crash between a view
and its office's counters (healed when the event comes again, as the consignment
lists are) and a rebuild all give the same counters as a recount of the views.

What the roll-up counts (the gateway's ``rollups`` module defines each counter):
- counts that only events move: planned, dispatched, in_transit, received, anomalies,
  held, in_repair, lost, write_off_proposed, written_off, and ``attested_in_use``
  (at the office and last attested in use, whether or not that attestation is overdue);
- counts that the clock moves: a laptop becomes missing when its ``transit_due_at``
  passes, overdue when its ``attestation_due_at`` passes, and stops being in use then.
  For these the document keeps the due moments themselves, one ``{at, laptops}``
  entry per distinct moment (a consignment's laptops share theirs), so the reader
  compares them with its own clock: exact at any moment, no snapshot to refresh.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from events.lifecycle import AFTER_RECEIPT, AT_OFFICE

STATES = ("in_repair", "lost", "write_off_proposed", "written_off")
COUNTS = (
    "planned",
    "dispatched",
    "in_transit",
    "received",
    "anomalies",
    "held",
    "attested_in_use",
    *STATES,
)
DUE_LISTS = ("transit_due", "attestation_due", "attested_in_use_due")
# What the counters read of a view: a change to anything else leaves them as they are.
FIELDS = (
    "kind",
    "office_code",
    "status",
    "dispatched_at",
    "transit_due_at",
    "attestation_due_at",
    "last_attested_at",
    "in_use",
    "anomalies",
)


def counted(view: Mapping[str, Any] | None) -> tuple[Any, ...] | None:
    """What of a view the counters depend on (None: a view no office counts)."""
    if not view or not view.get("office_code") or view.get("kind", "laptop") != "laptop":
        return None
    return tuple(view.get(k) for k in FIELDS)


def offices_moved(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> set[str]:
    """The offices whose counters a change of one view from ``before`` to ``after`` moves."""
    if counted(before) == counted(after):
        return set()
    return {str(v["office_code"]) for v in (before, after) if v is not None and counted(v) is not None}


def tally(views: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """The counter document of one office's laptop views (others are skipped)."""
    counts = dict.fromkeys(COUNTS, 0)
    due: dict[str, Counter[str]] = {k: Counter() for k in DUE_LISTS}
    for v in views:
        if counted(v) is None:
            continue
        status = v.get("status")
        counts["planned"] += 1
        counts["dispatched"] += bool(v.get("dispatched_at"))
        counts["in_transit"] += status == "in_transit"
        counts["received"] += status in AFTER_RECEIPT
        counts["anomalies"] += int(v.get("anomalies") or 0)
        counts["held"] += status in ("assigned", "in_use")
        for state in STATES:
            counts[state] += status == state
        attested_in_use = status in AT_OFFICE and bool(v.get("last_attested_at")) and v.get("in_use") is True
        counts["attested_in_use"] += attested_in_use
        if v.get("transit_due_at"):
            due["transit_due"][v["transit_due_at"]] += 1
        if v.get("attestation_due_at"):
            due["attestation_due"][v["attestation_due_at"]] += 1
            if attested_in_use:
                due["attested_in_use_due"][v["attestation_due_at"]] += 1
    return {"counts": counts, **{k: [{"at": m, "laptops": n} for m, n in sorted(c.items())] for k, c in due.items()}}
