"""The gateway only reads the audit's views: its roll-ups and due lists count the due
moments the audit put on each laptop view (the gateway has no thresholds of its
own), and its consignment routes answer from the audit's consignment summary.
In-process, with the audit's fake views behind the gateway's ports."""

from __future__ import annotations

import asyncio
import hashlib
from datetime import datetime, timedelta
from typing import Any

import httpx

from events.catalog import RejectionReason
from services.audit import counters, domain, handlers, rules
from services.gateway.adapters.consignment_reads import ConsignmentReads
from services.gateway.config import GatewaySettings
from tests.audit_data import laptop_history
from tests.builders import NOW, OFFICIAL, RECEIPT_CODE, confirm_receipt, new_asset, plan_consignment, register
from tests.fakes import audit_with_fakes, sent
from tests.gateway_fakes import EmptyReads, client, rejecting
from tests.unit.test_receipt_code_reissue import NEW_CODE, reissue
from tests.unit.test_receipts import World

DAY = timedelta(days=1)
SHORT = rules.Thresholds(transit_days=3, attestation_interval_days=30)


class AuditViews(EmptyReads):
    """Laptop views as the audit folded them, read as AuditReads.views reads them."""

    def __init__(self, views: list[dict[str, Any]]) -> None:
        self.laptops = views

    async def views(self, scope: str | None = None) -> list[dict[str, Any]]:
        return [v for v in self.laptops if not scope or str(v.get("office_code") or "").startswith(scope)]

    async def office_counters(self, scope: str | None = None) -> list[dict[str, Any]]:
        """As the audit keeps them: each office's counters tallied from its views."""
        codes = {str(v["office_code"]) for v in await self.views(scope) if v.get("office_code")}
        return [
            {"_id": code, **counters.tally(v for v in self.laptops if v.get("office_code") == code)}
            for code in sorted(codes)
        ]


def folded(office: str, stage: int, t: rules.Thresholds = SHORT) -> dict[str, Any]:
    asset, events = laptop_history(office, stage)  # dispatched NOW+1d, received NOW+4d
    return {"_id": asset, **domain.view(asset, events, t)}


def ask(path: str, now: datetime, params: dict[str, str] | None = None, **views: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        async with client(rejecting(RejectionReason.INVALID_COMMAND), **views) as api:
            api.gateway.clock = lambda: now  # type: ignore[attr-defined]
            return await api.get(path, params=params)

    return asyncio.run(run())


def office_row(now: datetime, audit: AuditViews, code: str = "32.73") -> dict[str, Any]:
    r = ask("/api/v1/audit/rollups", now, {"province": code[:2]}, audit=audit)
    assert r.status_code == 200, r.text
    return next(o for p in r.json() for o in p["offices"] if o["code"] == code)


def test_the_gateway_keeps_no_threshold_of_the_audit_rules() -> None:
    assert not {"transit_days", "attestation_interval_days"} & set(GatewaySettings.model_fields)


def test_the_roll_up_counts_missing_and_overdue_by_the_moments_on_the_audit_views() -> None:
    audit = AuditViews([folded("32.73", 3), folded("32.73", 4), folded("32.73", 2)])
    assert {k: office_row(NOW + 2 * DAY, audit)[k] for k in ("planned", "in_transit", "missing")} == {
        "planned": 3,
        "in_transit": 1,
        "missing": 0,
    }
    # Three days in transit by the audit's thresholds, not the gateway's: missing after NOW+4d.
    assert office_row(NOW + 5 * DAY, audit)["missing"] == 1
    assert office_row(NOW + 33 * DAY, audit)["overdue"] == 0
    assert office_row(NOW + 35 * DAY, audit)["overdue"] == 1
    # Laptops the audit folded with its default thresholds (14 and 90 days) are neither, then.
    default = AuditViews([folded("32.73", 3, rules.Thresholds()), folded("32.73", 4, rules.Thresholds())])
    assert office_row(NOW + 5 * DAY, default)["missing"] == 0 and office_row(NOW + 35 * DAY, default)["overdue"] == 0


def test_the_due_list_filters_on_the_attestation_due_moment_of_the_audit_view() -> None:
    received = folded("32.73", 4)  # due NOW+34d
    audit = AuditViews([received, folded("32.73", 3)])

    def listed(state: str, now: datetime) -> list[str]:
        r = ask("/api/v1/audit/attestations", now, {"state": state, "office": "32.73"}, audit=audit)
        assert r.status_code == 200, r.text
        return [x["asset_id"] for x in r.json()]

    assert listed("due", NOW + 10 * DAY) == [] and listed("overdue", NOW + 10 * DAY) == []
    assert listed("due", NOW + 25 * DAY) == [received["_id"]]  # within the 14-day window
    assert listed("overdue", NOW + 35 * DAY) == [received["_id"]] and listed("due", NOW + 35 * DAY) == []
    [row] = ask("/api/v1/audit/attestations", NOW + 35 * DAY, {"state": "overdue"}, audit=audit).json()
    assert row["due"] == received["attestation_due_at"] and row["received_at"] == received["received_at"]


# --- consignments ---


class ConsignmentsOverAuditFakes(ConsignmentReads):
    """The gateway's consignment reads over the audit's fake views and a BAST store's documents."""

    def __init__(self, rt: handlers.AuditRuntime, basts: dict[str, dict[str, Any]]) -> None:
        self.rt, self.basts = rt, basts

    async def _summary_of(self, consignment_id: str) -> dict[str, Any] | None:
        view = await self.rt.views.get(consignment_id)
        return (view or {}).get("consignment")

    async def _unconfirmed_ids(self) -> list[str]:
        return await self.rt.views.unconfirmed()

    async def _open_ids(self) -> list[str]:
        return await self.rt.views.open_consignments()

    async def bast(self, consignment_id: str, seq: int) -> dict[str, Any] | None:
        return self.basts.get(f"{consignment_id}-{seq}")


def audited(w: World) -> ConsignmentsOverAuditFakes:
    """The audit's views after everything allocation and handover published."""
    rt = audit_with_fakes()
    for e in [*sent(w.alloc), *sent(w.hand)]:
        asyncio.run(handlers.record_event(e, rt))
    return ConsignmentsOverAuditFakes(rt, w.basts.docs)


def call(method: str, path: str, reads: ConsignmentReads, **kw: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        async with client(rejecting(RejectionReason.INVALID_COMMAND), consignments=reads) as api:
            return await api.request(method, path, **kw)

    return asyncio.run(run())


def test_right_after_its_plan_a_consignment_reads_open_with_its_plan() -> None:
    w = World()
    serial, asset = new_asset()
    w.tell(register(serial, asset))
    w.tell(plan_consignment("C-1", [asset]))
    r = call("GET", "/api/v1/consignments/C-1", audited(w))
    assert r.status_code == 200, r.text
    assert r.json() == {
        "consignment_id": "C-1",
        "status": "open",
        "office_code": "73.71",
        "office_name": "Badan Kesatuan Bangsa dan Politik Kota Makassar",
        "warehouse": None,  # any warehouse picks it
        "expected": [asset],
        "scanned": [],
        "missing": [asset],
        "expected_count": None,
        "missing_count": 1,
        "received": [],
        "in_transit": [],
        "basts": [],
        "reminders": [],
        "receipt_code_generation": 1,
    }
    assert call("GET", "/api/v1/consignments/unconfirmed", audited(w)).json() == []
    unknown = call("GET", "/api/v1/consignments/NOPE", audited(w))
    assert (unknown.status_code, unknown.json()["code"]) == (404, "unknown_consignment")


def test_a_partly_received_consignment_reads_with_its_bast_and_is_listed_unconfirmed() -> None:
    w = World()
    a, b = w.dispatched(2)
    w.confirm(reissue("C-1"))
    w.confirm(confirm_receipt("C-1", [(a, "RR", "layar tergores")], missing=[b], code=NEW_CODE))
    reads = audited(w)
    view = call("GET", "/api/v1/consignments/C-1", reads).json()
    assert view["status"] == "partly_received" and view["received"] == [a] and view["in_transit"] == [b]
    assert view["basts"] == ["/api/v1/consignments/C-1/bast.pdf?seq=1"] and view["receipt_code_generation"] == 2
    [row] = call("GET", "/api/v1/consignments/unconfirmed", reads).json()
    assert (row["consignment_id"], row["status"], row["in_transit"]) == ("C-1", "partly_received", [b])
    assert row["age_days"] == 0 and row["reminders"] == [] and row["reminded_at"] is None

    # The manifest takes only the newest receipt code; the BAST page says what the receipt said.
    new = call("POST", "/api/v1/consignments/C-1/manifest.pdf", reads, json={"receipt_code": NEW_CODE})
    old = call("POST", "/api/v1/consignments/C-1/manifest.pdf", reads, json={"receipt_code": RECEIPT_CODE})
    assert new.status_code == 200 and (old.status_code, old.json()["code"]) == (403, "receipt_code_invalid")
    page = call("GET", "/bast/C-1", reads).text
    assert f"(NIP {OFFICIAL['nip']})" in page and "layar tergores" in page
    assert w.basts.docs["C-1-1"]["recorded_sha256"] in page
    assert hashlib.sha256(bytes(w.basts.docs["C-1-1"]["pdf"])).hexdigest() == w.basts.docs["C-1-1"]["recorded_sha256"]


def test_a_dispatched_consignment_is_listed_in_transit() -> None:
    w = World()
    (a,) = w.dispatched(1)
    [row] = call("GET", "/api/v1/consignments/unconfirmed", audited(w)).json()
    assert (row["status"], row["in_transit"]) == ("in_transit", [a])
    assert call("GET", "/api/v1/consignments/C-1", audited(w)).json()["status"] == "dispatched"
