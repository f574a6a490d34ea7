"""The BAST record page, where the BAST's QR code points: what the BAST records
(number, date, office, officials, legal basis, the laptops with links to their
pages, the PDF's SHA-256), and a form to check whether a PDF is the recorded one."""

from __future__ import annotations

import html
from typing import Any

from fastapi.responses import HTMLResponse

from events.catalog import LabelRef
from services.common.indonesian import tanggal
from services.gateway import pages
from services.gateway.bootstrap import Gateway
from services.handover.bast import CONDITIONS, LEGAL_KINDS


async def facts(gw: Gateway, consignment_id: str, seq: int, doc: dict[str, Any] | None) -> dict[str, Any]:
    """What the BAST records, for its page: the receipt, the plan and each laptop's public page."""
    if doc is None:
        return {}
    receipt = await gw.consignments.receipt(consignment_id, seq) or {}
    plan = await gw.consignments.plan(consignment_id) or {}
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
    return {"receipt": receipt, "plan": plan, "pages": pages}


def _laptop_link(asset_id: str, pages: dict[str, str]) -> str:
    href = pages.get(asset_id) or f"/api/v1/laptops/{asset_id}"
    # A label URL is the gateway's own public address: keep its path, so the link stays on this site.
    path = href[href.upper().index("/L/") :] if "/L/" in href.upper() else href
    return f"<a href='{html.escape(path)}'>{html.escape(asset_id)}</a>"


def _record(consignment_id: str, seq: int, doc: dict[str, Any], facts: dict[str, Any]) -> str:
    cid = html.escape(consignment_id)
    receipt, plan, pages = facts.get("receipt", {}), facts.get("plan", {}), facts.get("pages", {})
    official = receipt.get("official") or {}
    legal = plan.get("legal_basis") or {}
    rows = []
    if receipt.get("confirmed_at"):
        rows.append(("Tanggal", "Date", f"<span id='date'>{tanggal(receipt['confirmed_at'])}</span>"))
    if plan.get("office_name") or receipt.get("office_code"):
        office = f"{plan.get('office_name') or ''} ({plan.get('office_code') or receipt.get('office_code')})"
        rows.append(("Kantor penerima", "Receiving office", f"<span id='office'>{html.escape(office)}</span>"))
    if official:
        who = f"{official.get('name', '')}, {official.get('jabatan', '')} (NIP {official.get('nip', '')})"
        rows.append(("Pejabat penerima", "Receiving official", f"<span id='official'>{html.escape(who)}</span>"))
    authorised = [f"{o.get('name', '')}, {o.get('jabatan', '')}" for o in plan.get("officials", [])]
    if authorised:
        names = "<br>".join(html.escape(a) for a in authorised)
        rows.append(("Pejabat berwenang", "Authorised officials", f"<span id='officials'>{names}</span>"))
    if legal:
        kind = LEGAL_KINDS.get(legal.get("kind", ""), legal.get("kind", ""))
        basis = (
            f"{kind} Nomor {legal.get('number', '')} tanggal {tanggal(legal['date'])}" if legal.get("date") else kind
        )
        rows.append(("Dasar hukum", "Legal basis", f"<span id='legal'>{html.escape(basis)}</span>"))
    facts_html = "".join(
        f"<dt>{i} <span class='en' lang='en'>/ {e}</span></dt><dd>{value}</dd>" for i, e, value in rows
    )
    lines = "".join(
        f"<tr><td>{_laptop_link(line['asset_id'], pages)}</td>"
        f"<td>{html.escape(CONDITIONS.get(line.get('condition', ''), str(line.get('condition', ''))))}</td>"
        f"<td>{html.escape(line.get('note') or '')}</td></tr>"
        for line in receipt.get("lines", [])
    )
    missing = "".join(f"<li>{_laptop_link(a, pages)}</li>" for a in receipt.get("missing", []))
    laptops = (
        (
            "<h2>Laptop diterima <span class='en' lang='en'>/ Laptops received</span></h2>"
            "<table id='laptops'><tr><th>Kode aset</th><th>Kondisi</th><th>Catatan</th></tr>"
            f"{lines}</table>"
        )
        if lines
        else ""
    )
    if missing:
        laptops += (
            f"<h2>Tidak diterima <span class='en' lang='en'>/ Not received</span></h2><ul id='missing'>{missing}</ul>"
        )
    return (
        "<dl><dt>Nomor <span class='en' lang='en'>/ Number</span></dt>"
        f"<dd><b id='number'>{html.escape(doc['number'])}</b></dd>"
        f"{facts_html}<dt>SHA-256</dt><dd><code id='sha'>{html.escape(doc['recorded_sha256'])}</code></dd></dl>"
        f"{laptops}<p><a id='pdf' href='/api/v1/consignments/{cid}/bast.pdf?seq={seq}'>Unduh PDF · Download PDF</a>"
        f" · <a id='consignment' href='/api/v1/consignments/{cid}'>Data konsinyasi "
        "<span class='en' lang='en'>/ Consignment data</span></a></p>"
    )


def render(
    consignment_id: str,
    seq: int,
    doc: dict[str, Any] | None,
    facts: dict[str, Any],
    checked: str | None = None,
    tried: bool = False,
) -> HTMLResponse:
    cid = html.escape(consignment_id)
    if doc is None:
        body = (
            f"<p>Belum ada BAST untuk konsinyasi {cid}.</p>"
            "<p class='en' lang='en'>No BAST for this consignment yet.</p>"
        )
    else:
        verdict = ""
        if tried and checked is None:
            verdict = (
                "<p id='verdict' data-matches='none'>Pilih berkas PDF terlebih dahulu · Choose a PDF file first.</p>"
            )
        elif checked is not None and checked == doc["recorded_sha256"]:
            verdict = (
                "<p id='verdict' data-matches='true'><b>Cocok</b>: berkas ini adalah BAST yang tercatat · "
                "<b>Matches</b>: this file is the recorded BAST.</p>"
            )
        elif checked is not None:
            verdict = (
                "<p id='verdict' data-matches='false'><b>Tidak cocok</b>: berkas ini berbeda dari BAST yang tercatat; "
                "unduh salinan asli di bawah · <b>Does not match</b>: this file differs from the recorded BAST; "
                "download the original below.</p>"
                f"<p>SHA-256 berkas · of the file: <code id='checked'>{html.escape(checked)}</code></p>"
            )
        body = (
            f"{verdict}{_record(consignment_id, seq, doc, facts)}"
            f"<form method='post' enctype='multipart/form-data' action='/bast/{cid}?seq={seq}'>"
            "<label>Periksa berkas PDF · Check a PDF file: "
            "<input type='file' name='file' accept='application/pdf'></label> "
            "<button type='submit'>Periksa · Check</button></form>"
        )
    return pages.layout(
        f"BAST {consignment_id}",
        "<h1>Berita Acara Serah Terima</h1>"
        f"<p>Konsinyasi <span class='en' lang='en'>/ consignment</span> {cid}</p>{body}",
    )
