"""What the BAST record page shows, the page a BAST's QR code opens: what the BAST
records, and the verdict on a PDF someone sent to check.

Anyone holding the paper may check it: the number, the date, the receiving office,
how many laptops were received and not received, and the PDF's SHA-256. Who signed
(names and NIPs of the officials on both sides), the legal basis and the laptops
themselves are shown only to someone signed in."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Literal

from events.catalog import CONDITIONS, LEGAL_KINDS, LabelRef
from services.common.indonesian import tanggal
from services.gateway.bootstrap import Gateway


@dataclass(frozen=True)
class Laptop:
    asset_id: str
    href: str  # its label page, on this site; its API record when it has no label
    condition: str = ""
    note: str = ""


@dataclass(frozen=True)
class Record:
    number: str
    sha256: str
    date: str | None = None
    office: str | None = None
    received_count: int = 0
    missing_count: int = 0
    full: bool = False  # what follows is filled for someone signed in only
    dispatcher: str | None = None  # who handed over: PIHAK PERTAMA
    official: str | None = None  # who signed for the office: PIHAK KEDUA
    officials: list[str] = field(default_factory=list)  # who the plan authorised
    legal_basis: str | None = None
    received: list[Laptop] = field(default_factory=list)
    missing: list[Laptop] = field(default_factory=list)


Verdict = Literal["true", "false", "none"]  # the file matches, does not, no file was sent


async def facts(
    gw: Gateway, consignment_id: str, seq: int, doc: dict[str, Any] | None, signed_in: bool
) -> dict[str, Any]:
    """What the BAST records, for its page: the receipt, the plan, and for someone signed
    in who dispatched and each laptop's public page."""
    if doc is None:
        return {}
    receipt = await gw.consignments.receipt(consignment_id, seq) or {}
    plan = await gw.consignments.plan(consignment_id) or {}
    if not signed_in:
        return {"receipt": receipt, "plan": plan}
    dispatcher = ((await gw.consignments.summary(consignment_id)) or {}).get("dispatcher")
    assets = [line["asset_id"] for line in receipt.get("lines", [])] + list(receipt.get("missing", []))
    views = await gw.reads.label_views({"_id": {"$in": assets}}, len(assets)) if assets else []
    pages = {
        v["_id"]: gw.issuer.url(
            v["_id"],
            LabelRef(generation=v["label_generation"], key_id=v.get("label_key_id") or gw.issuer.active_key_id),
        )
        for v in views or []
        if v.get("label_generation")
    }
    return {"receipt": receipt, "plan": plan, "pages": pages, "dispatcher": dispatcher}


def record(doc: dict[str, Any], facts: dict[str, Any], signed_in: bool) -> Record:
    receipt, plan, pages = facts.get("receipt", {}), facts.get("plan", {}), facts.get("pages", {})
    office = None
    if plan.get("office_name") or receipt.get("office_code"):
        office = f"{plan.get('office_name') or ''} ({plan.get('office_code') or receipt.get('office_code')})"
    public = Record(
        number=doc["number"],
        sha256=doc["recorded_sha256"],
        date=tanggal(receipt["confirmed_at"]) if receipt.get("confirmed_at") else None,
        office=office,
        received_count=len(receipt.get("lines", [])),
        missing_count=len(receipt.get("missing", [])),
    )
    if not signed_in:
        return public
    official = receipt.get("official") or {}
    dispatcher = facts.get("dispatcher") or {}
    legal = plan.get("legal_basis") or {}
    basis = None
    if legal:
        kind = LEGAL_KINDS.get(legal.get("kind", ""), legal.get("kind", ""))
        basis = (
            f"{kind} Nomor {legal.get('number', '')} tanggal {tanggal(legal['date'])}" if legal.get("date") else kind
        )
    return replace(
        public,
        full=True,
        dispatcher=_person(dispatcher),
        official=_person(official),
        officials=[f"{o.get('name', '')}, {o.get('jabatan', '')}" for o in plan.get("officials", [])],
        legal_basis=basis,
        received=[
            Laptop(
                line["asset_id"],
                _page(line["asset_id"], pages),
                CONDITIONS.get(line.get("condition", ""), str(line.get("condition", ""))),
                line.get("note") or "",
            )
            for line in receipt.get("lines", [])
        ],
        missing=[Laptop(a, _page(a, pages)) for a in receipt.get("missing", [])],
    )


def _person(p: dict[str, Any]) -> str | None:
    return f"{p.get('name', '')}, {p.get('jabatan', '')} (NIP {p.get('nip', '')})" if p else None


def verdict(recorded_sha256: str, checked: str | None) -> Verdict:
    if checked is None:
        return "none"
    return "true" if checked == recorded_sha256 else "false"


def _page(asset_id: str, pages: dict[str, str]) -> str:
    href = pages.get(asset_id) or f"/api/v1/laptops/{asset_id}"
    # A label URL is the gateway's own public address: keep its path, so the link stays on this site.
    return href[href.upper().index("/L/") :] if "/L/" in href.upper() else href
