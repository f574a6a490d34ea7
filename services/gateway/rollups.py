"""Roll-ups per province → regency/city → office, from laptop views.

Each regency/city has exactly one recipient office (its Kesbangpol), and each
province one more (the provincial office, listed under the province with its own
code), so the regency/city level and the office level coincide; a row carries
both the region name and the office name.

Counters (a laptop counts in every one that applies):
- planned: allocated to the office (it has an office);
- dispatched: scanned out of the warehouse (dispatched_at set);
- in_transit: dispatched, not yet received;
- received: received by the office (whatever happened after);
- in_use: received, attested in use, and the attestation is not overdue;
- overdue: received, and the next attestation is past due;
- missing: in transit longer than the transit limit (not received in time);
- anomalies: anomaly events recorded about laptops of the office.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from events import codec, offices

COUNTERS = ("planned", "dispatched", "in_transit", "received", "in_use", "overdue", "missing", "anomalies")


def classify(view: Mapping[str, Any], now: datetime, transit_days: float, attestation_days: float) -> dict[str, int]:
    status = view.get("status")
    c = dict.fromkeys(COUNTERS, 0)
    if not view.get("office_code") or view.get("kind") == "consignment":  # not a laptop
        return c
    c["planned"] = 1
    c["dispatched"] = int(bool(view.get("dispatched_at")))
    c["in_transit"] = int(status == "in_transit")
    c["received"] = int(status == "received")
    if status == "in_transit" and view.get("dispatched_at"):
        c["missing"] = int(view["dispatched_at"] < codec.format_time(now - timedelta(days=transit_days)))
    if status == "received" and view.get("received_at"):
        base = view.get("last_attested_at") or view["received_at"]
        overdue = base < codec.format_time(now - timedelta(days=attestation_days))
        c["overdue"] = int(overdue)
        c["in_use"] = int(bool(view.get("last_attested_at")) and view.get("in_use") is True and not overdue)
    c["anomalies"] = int(view.get("anomalies") or 0)
    return c


def rollup(
    views: Iterable[Mapping[str, Any]], now: datetime, transit_days: float, attestation_days: float
) -> list[dict[str, Any]]:
    by_office: dict[str, dict[str, int]] = {}
    for v in views:
        code = v.get("office_code")
        if not code or v.get("kind") == "consignment":  # a consignment's chain head
            continue
        row = by_office.setdefault(code, dict.fromkeys(COUNTERS, 0))
        for k, n in classify(v, now, transit_days, attestation_days).items():
            row[k] += n
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
    views: Iterable[Mapping[str, Any]],
    now: datetime,
    state: str,
    office: str | None,
    attestation_days: float,
    window_days: float,
) -> list[dict[str, Any]]:
    """Received laptops whose next attestation is ``overdue`` (past due) or ``due``
    (due within ``window_days``, not yet overdue), soonest first."""
    out = []
    for v in views:
        if v.get("kind") == "consignment":  # not a laptop
            continue
        if v.get("status") != "received" or not v.get("received_at") or (office and v.get("office_code") != office):
            continue
        base = datetime.strptime(v.get("last_attested_at") or v["received_at"], "%Y-%m-%dT%H:%M:%S.%fZ")
        due = codec.format_time(base.replace(tzinfo=now.tzinfo) + timedelta(days=attestation_days))
        is_overdue = due < codec.format_time(now)
        soon = due < codec.format_time(now + timedelta(days=window_days))
        if (state == "overdue" and is_overdue) or (state == "due" and soon and not is_overdue):
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
