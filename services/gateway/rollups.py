"""Roll-ups per province → regency/city → office, and the attestation due lists,
at a moment ``now``. A roll-up reads the counter document the audit keeps per office
(services/audit/counters.py); ``rollup`` recounts the same from every laptop view,
which is how the counters are checked. No rule lives here: the
audit's view fold puts on each view the moment its laptop becomes missing
(``transit_due_at``) or its attestation overdue (``attestation_due_at``), by the
audit's thresholds, and the audit's timed rules raise their anomalies by the same
moments; this module only compares them with the clock.

Each regency/city has exactly one recipient office (its Kesbangpol), and each
province one more (the provincial office, listed under the province with its own
code), so the regency/city level and the office level coincide; a row carries
both the region name and the office name.

Counters (a laptop counts in every one that applies):
- planned: allocated to the office (it has an office);
- dispatched: scanned out of the warehouse (dispatched_at set);
- in_transit: dispatched, not yet received;
- received: received by the office (whatever happened after);
- in_use: at the office (held or not), attested in use, and the attestation is not overdue;
- overdue: at the office, and the next attestation is past due (``attestation_due_at``);
- missing: in transit past its ``transit_due_at`` (not received in time);
- anomalies: anomaly events recorded about laptops of the office;
- held: handed to a named holder (assigned, or confirmed by the holder);
- in_repair, lost, write_off_proposed, written_off: in that lifecycle state now.
A laptop on its way in a transfer counts at the office that sent it (in_transit)
until the new office receives it; one returned to the warehouse counts nowhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from events import codec, offices
from events.lifecycle import AFTER_RECEIPT, AT_OFFICE

COUNTERS = (
    "planned",
    "dispatched",
    "in_transit",
    "received",
    "in_use",
    "overdue",
    "missing",
    "anomalies",
    "held",
    "in_repair",
    "lost",
    "write_off_proposed",
    "written_off",
)
# What roll-ups and due lists read of a view (the rest, its chain's event ids above all, they skip).
VIEW_FIELDS = (
    "kind",
    "office_code",
    "office_name",
    "status",
    "dispatched_at",
    "transit_due_at",
    "received_at",
    "attestation_due_at",
    "last_attested_at",
    "in_use",
    "anomalies",
)


def passed(due: str | None, at: str) -> bool:
    """Whether a view's due moment lies before ``at`` (both fixed-format UTC strings,
    so string order is time order); no due moment, nothing passed."""
    return due is not None and due < at


def classify(view: Mapping[str, Any], at: str) -> dict[str, int]:
    """The counters one laptop view adds to its office's row at the moment ``at``
    (written as the views write times: ``codec.format_time``)."""
    status = view.get("status")
    c = dict.fromkeys(COUNTERS, 0)
    if not view.get("office_code") or view.get("kind", "laptop") != "laptop":  # a consignment, …
        return c
    overdue = passed(view.get("attestation_due_at"), at)
    c["planned"] = 1
    c["dispatched"] = int(bool(view.get("dispatched_at")))
    c["in_transit"] = int(status == "in_transit")
    c["received"] = int(status in AFTER_RECEIPT)
    c["missing"] = int(passed(view.get("transit_due_at"), at))
    c["overdue"] = int(overdue)
    attested_in_use = bool(view.get("last_attested_at")) and view.get("in_use") is True
    c["in_use"] = int(status in AT_OFFICE and attested_in_use and not overdue)
    c["anomalies"] = int(view.get("anomalies") or 0)
    c["held"] = int(status in ("assigned", "in_use"))
    for state in ("in_repair", "lost", "write_off_proposed", "written_off"):
        c[state] = int(status == state)
    return c


def rollup(views: Iterable[Mapping[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The roll-up recounted from every laptop view (what ``counted_rollup`` must equal)."""
    at = codec.format_time(now)
    by_office: dict[str, dict[str, int]] = {}
    for v in views:
        code = v.get("office_code")
        if not code or v.get("kind", "laptop") != "laptop":  # a consignment's chain head, …
            continue
        row = by_office.setdefault(code, dict.fromkeys(COUNTERS, 0))
        for k, n in classify(v, at).items():
            row[k] += n
    return _by_province(by_office)


def from_counters(doc: Mapping[str, Any], at: str) -> dict[str, int]:
    """An office's row from the counter document the audit keeps for it
    (services/audit/counters.py) at the moment ``at``: what the clock moves is
    compared here, with the due moments the document lists."""
    counts = doc.get("counts", {})

    def due(name: str) -> int:
        return sum(int(d["laptops"]) for d in doc.get(name, ()) if passed(d["at"], at))

    c = {k: int(counts.get(k, 0)) for k in COUNTERS}
    c["missing"] = due("transit_due")
    c["overdue"] = due("attestation_due")
    c["in_use"] = int(counts.get("attested_in_use", 0)) - due("attested_in_use_due")
    return c


def counted_rollup(docs: Iterable[Mapping[str, Any]], now: datetime) -> list[dict[str, Any]]:
    """The roll-up from the offices' counter documents (one per office, not one per laptop)."""
    at = codec.format_time(now)
    by_office = {str(d["_id"]): from_counters(d, at) for d in docs}
    return _by_province({code: row for code, row in by_office.items() if row["planned"]})


def differences(
    counter_docs: Iterable[Mapping[str, Any]], views: Iterable[Mapping[str, Any]], now: datetime
) -> list[str]:
    """The offices whose kept counters differ from a recount of their views at ``now``."""

    def rows(table: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
        return {o["code"]: o for p in table for o in p["offices"]}

    kept, recounted = rows(counted_rollup(counter_docs, now)), rows(rollup(views, now))
    return sorted(code for code in kept.keys() | recounted.keys() if kept.get(code) != recounted.get(code))


def _by_province(by_office: Mapping[str, dict[str, int]]) -> list[dict[str, Any]]:
    provinces: dict[str, dict[str, Any]] = {}
    for code in sorted(by_office):
        prov = code[:2]
        p = provinces.setdefault(
            prov, {"code": prov, "name": _region(prov), "totals": dict.fromkeys(COUNTERS, 0), "offices": []}
        )
        office = offices.get(code)
        p["offices"].append(
            {
                "code": code,
                "region_name": office.region_name if office else None,
                "office_name": office.name if office else None,
                **by_office[code],
            }
        )
        for k in COUNTERS:
            p["totals"][k] += by_office[code][k]
    return [provinces[k] for k in sorted(provinces)]


def _region(code: str) -> str | None:
    office = offices.get(code)
    return office.region_name if office else None


def attestations(
    views: Iterable[Mapping[str, Any]], now: datetime, state: str, office: str | None, window_days: float
) -> list[dict[str, Any]]:
    """Received laptops whose next attestation (the view's ``attestation_due_at``) is
    ``overdue`` (past) or ``due`` (within ``window_days``, not yet past), soonest first."""
    at, horizon = codec.format_time(now), codec.format_time(now + timedelta(days=window_days))
    out = []
    for v in views:
        if v.get("kind", "laptop") != "laptop":  # a consignment, an account, …
            continue
        due = v.get("attestation_due_at")
        if due is None or (office and v.get("office_code") != office):
            continue
        is_overdue = passed(due, at)
        if (state == "overdue" and is_overdue) or (state == "due" and passed(due, horizon) and not is_overdue):
            out.append(
                {
                    "asset_id": v["_id"],
                    "office_code": v.get("office_code"),
                    "office_name": v.get("office_name"),
                    "received_at": v["received_at"],
                    "last_attested_at": v.get("last_attested_at"),
                    "due": due,
                }
            )
    return sorted(out, key=lambda x: (x["due"], x["asset_id"]))
