"""The auditor's pages: roll-ups province → regency/city office, anomalies, overdue
attestations, consignments not yet confirmed, and a laptop's timeline with its chain's
verdict and proof. Every filter is a query parameter, so a finding is shared as a link.

Each page calls the API's own route function for what it shows (``api.audit``,
``api.consignments``), so a page's numbers are the API's numbers by construction, and
the region rules (``scope``) are the API's too. Pages work without script: a table is
the fastest thing to read on a phone on a bad link."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from pydantic import AfterValidator

from services.gateway.api import audit as audit_api
from services.gateway.api import consignments as consignments_api
from services.gateway.api import laptops as laptops_api
from services.gateway.api.laptops import AssetId
from services.gateway.api.scope import region
from services.gateway.deps import GW, AuditorPage
from services.gateway.rollups import COUNTERS
from services.gateway.web import as_page, render
from services.gateway.web.i18n import Words, words

router = APIRouter(include_in_schema=False)

# Each anomaly rule the audit raises, as the page names it. A test checks every rule code
# the audit service uses is here, so a new rule is never shown as a bare code.
RULES: dict[str, tuple[str, str]] = {
    "received_not_dispatched": ("Diterima tanpa pernah dikirim", "Received but never dispatched"),
    "received_twice": ("Diterima dua kali", "Received twice"),
    "label_revoked": ("Label yang dicabut dipindai", "Revoked label scanned"),
    "impossible_travel": ("Perjalanan mustahil", "Impossible travel"),
    "far_from_office": ("Jauh dari kantor", "Far from its office"),
    "office_over_plan": ("Kantor melebihi rencana", "Office over its plan"),
    "not_received_in_time": ("Tidak diterima tepat waktu", "Not received in time"),
    "history_rewritten": ("Riwayat ditulis ulang", "History rewritten"),
    "scanned_while_lost": ("Laptop hilang dipindai", "Lost laptop scanned"),
    "scanned_after_write_off": ("Laptop yang dihapuskan dipindai", "Written-off laptop scanned"),
    "attested_by_other": ("Diatestasi bukan oleh pemegang", "Attested by someone other than its holder"),
    "holder_not_on_office_list": ("Pemegang tidak ada di daftar pegawai", "Holder not on the office's staff list"),
    "transfer_not_received": ("Mutasi tidak diterima", "Transfer never received"),
    "in_repair_too_long": ("Terlalu lama dalam perbaikan", "In repair too long"),
}

# A form sends its empty fields as empty values: the same as not filtering.
# What each event in a history is called on the page. A test checks every event type of
# the contract has a name here.
EVENTS: dict[str, tuple[str, str]] = {
    "id.serah.laptop.registered.v1": ("Didaftarkan", "Registered"),
    "id.serah.laptop.allocated.v1": ("Dialokasikan", "Allocated"),
    "id.serah.laptop.dispatched.v1": ("Dikirim", "Dispatched"),
    "id.serah.laptop.received.v1": ("Diterima", "Received"),
    "id.serah.laptop.usage-attested.v1": ("Penggunaan diatestasi", "Use attested"),
    "id.serah.laptop.anomaly-detected.v1": ("Anomali ditemukan", "Anomaly found"),
    "id.serah.label.reissued.v1": ("Label diterbitkan ulang", "Label re-issued"),
    "id.serah.command.rejected.v1": ("Perintah ditolak", "Command refused"),
    "id.serah.message.dead-lettered.v1": ("Pesan tidak terbaca", "Unreadable message"),
    "id.serah.audit.checkpoint-signed.v1": ("Checkpoint ditandatangani", "Checkpoint signed"),
    "id.serah.consignment.planned.v1": ("Konsinyasi direncanakan", "Consignment planned"),
    "id.serah.consignment.laptop-scanned.v1": ("Dipindai ke konsinyasi", "Scanned into the consignment"),
    "id.serah.consignment.dispatched.v1": ("Konsinyasi dikirim", "Consignment dispatched"),
    "id.serah.consignment.receipt-confirmed.v1": ("Penerimaan dikonfirmasi (BAST)", "Receipt confirmed (BAST)"),
    "id.serah.consignment.receipt-reminder-raised.v1": ("Pengingat penerimaan", "Receipt reminder"),
    "id.serah.consignment.receipt-code-reissued.v1": ("Kode penerimaan diterbitkan ulang", "Receipt code re-issued"),
    "id.serah.account.created.v1": ("Akun dibuat", "Account created"),
    "id.serah.account.grants-changed.v1": ("Peran akun diubah", "Account roles changed"),
    "id.serah.device.enrolled.v1": ("Perangkat didaftarkan", "Device enrolled"),
    "id.serah.device.revoked.v1": ("Perangkat dicabut", "Device revoked"),
    "id.serah.key.ring-changed.v1": ("Kunci diganti", "Keys changed"),
    "id.serah.laptop.assigned.v1": ("Diserahkan kepada pemegang", "Handed to a holder"),
    "id.serah.laptop.assignment-confirmed.v1": ("Dikonfirmasi pemegang", "Confirmed by its holder"),
    "id.serah.laptop.returned-by-holder.v1": ("Dikembalikan pemegang", "Returned by its holder"),
    "id.serah.laptop.repair-started.v1": ("Dikirim untuk perbaikan", "Sent for repair"),
    "id.serah.laptop.repair-finished.v1": ("Kembali dari perbaikan", "Back from repair"),
    "id.serah.laptop.reported-lost.v1": ("Dilaporkan hilang", "Reported lost"),
    "id.serah.laptop.recovered.v1": ("Ditemukan kembali", "Recovered"),
    "id.serah.laptop.returned-to-warehouse.v1": ("Dikembalikan ke gudang", "Returned to the warehouse"),
    "id.serah.laptop.write-off-proposed.v1": ("Penghapusan diusulkan", "Write-off proposed"),
    "id.serah.laptop.write-off-declined.v1": ("Usulan penghapusan ditolak", "Write-off declined"),
    "id.serah.laptop.written-off.v1": ("Dihapuskan dari BMN", "Written off"),
    "id.serah.label.revoked.v1": ("Label dicabut", "Label revoked"),
    "id.serah.office.roster-recorded.v1": ("Daftar pegawai dicatat", "Staff list recorded"),
}

Province = Annotated[str | None, Query(pattern=r"^([0-9]{2})?$"), AfterValidator(lambda v: v or None)]
Office = Annotated[str | None, Query(pattern=r"^([0-9]{2}\.[0-9]{2})?$"), AfterValidator(lambda v: v or None)]
Rule = Annotated[str | None, Query(pattern=r"^([a-z_]{1,64})?$"), AfterValidator(lambda v: v or None)]


def _link(path: str, **query: str | None) -> str:
    given = {k: v for k, v in query.items() if v}
    return f"{path}?{urlencode(given)}" if given else path


# The chart's segments: together they are every laptop planned for a region, each in
# exactly one (a laptop late on the way counts as late, not also as on the way).
SEGMENTS = (
    ("received", "Diterima", "Received", "#0a7d32"),
    ("on_the_way", "Dalam perjalanan", "On the way", "#1f6fb2"),
    ("missing", "Terlambat (hilang?)", "Late (missing?)", "#b00020"),
    ("not_sent", "Belum dikirim", "Not yet sent", "#9e9e9e"),
)


def progress_chart(rows: list[tuple[str, dict[str, int]]], words: Words) -> dict[str, Any]:
    """What the dashboard's chart draws for ``rows`` (a name and its counters each):
    the regions least received first, so the laggards lead."""

    def parts(t: dict[str, int]) -> dict[str, int]:
        return {
            "received": t["received"],
            "on_the_way": max(t["in_transit"] - t["missing"], 0),
            "missing": t["missing"],
            "not_sent": max(t["planned"] - t["dispatched"], 0),
        }

    ordered = sorted(rows, key=lambda r: (r[1]["received"] / r[1]["planned"] if r[1]["planned"] else 1.0, r[0]))
    split = [parts(t) for _, t in ordered]
    return {
        "labels": [name for name, _ in ordered],
        "series": [
            {"key": key, "label": words.tr(id_, en), "colour": colour, "values": [p[key] for p in split]}
            for key, id_, en, colour in SEGMENTS
        ],
    }


@router.get("/audit")
async def dashboard(who: AuditorPage, request: Request, gw: GW, province: Province = None) -> HTMLResponse:
    """The roll-up: every province (or, with ``province``, its offices) and the totals."""
    async with as_page():
        provinces = await audit_api.get_rollups(who, gw, province)
        unconfirmed = await consignments_api.unconfirmed(who, gw)
    totals = {k: sum(p["totals"][k] for p in provinces) for k in COUNTERS}
    mine = region(who, None)
    rows = (
        [(o["region_name"] or o["code"], o) for p in provinces for o in p["offices"]]
        if province
        else [(p["name"] or p["code"], p["totals"]) for p in provinces]
    )
    return render(
        request,
        "audit.html",
        chart=progress_chart(rows, words(request)),
        provinces=provinces,
        province=province,
        totals=totals,
        unconfirmed=len(unconfirmed),
        whole_log=mine is None,
        export_csv=_link("/api/v1/audit/export.csv", province=province or mine),
    )


@router.get("/audit/anomali")
async def anomalies(
    who: AuditorPage,
    request: Request,
    gw: GW,
    rule: Rule = None,
    office: Office = None,
    province: Province = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> HTMLResponse:
    async with as_page():
        found = await audit_api.anomalies(who, gw, rule, office, province, limit)
    return render(
        request, "audit_anomalies.html", found=found, rules=RULES, rule=rule, office=office, province=province
    )


@router.get("/audit/atestasi")
async def attestations(
    who: AuditorPage,
    request: Request,
    gw: GW,
    office: Office = None,
    province: Province = None,
    state: Annotated[str, Query(pattern=r"^(due|overdue)$")] = "overdue",
) -> HTMLResponse:
    async with as_page():
        where = region(who, office or province)  # an auditor of one region reads only that one
        in_office = where is not None and "." in where
        rows = await audit_api.attestations(who, gw, where if in_office else None, None if in_office else where, state)
    return render(request, "audit_attestations.html", rows=rows, state=state, office=office, province=province)


@router.get("/audit/konsinyasi")
async def unconfirmed(who: AuditorPage, request: Request, gw: GW, province: Province = None) -> HTMLResponse:
    """Consignments dispatched and not (fully) received, oldest first."""
    async with as_page():
        where = region(who, province)
        rows: list[dict[str, Any]] = [
            c
            for c in await consignments_api.unconfirmed(who, gw)
            if where is None or str(c.get("office_code") or "").startswith(where)
        ]
    return render(request, "audit_consignments.html", rows=rows, province=province)


@router.get("/audit/laptop")
async def find_laptop(
    who: AuditorPage, asset_id: Annotated[str, Query(pattern=r"^\s*[A-Za-z0-9]{13}\s*$")]
) -> RedirectResponse:
    """The dashboard's "open a laptop" form: to the laptop's page (asset ids read in capitals)."""
    return RedirectResponse(f"/audit/laptop/{asset_id.strip().upper()}", status_code=303)


@router.get("/audit/laptop/{asset_id}")
async def laptop(who: AuditorPage, request: Request, gw: GW, asset_id: AssetId) -> HTMLResponse:
    """The laptop's events, who did each, where, and whether its chain verifies."""
    async with as_page():
        timeline = await audit_api.timeline(who, asset_id, gw)
        about = await laptops_api.get_laptop(who, asset_id, gw)
    return render(request, "audit_laptop.html", timeline=timeline, about=about, events=EVENTS)
