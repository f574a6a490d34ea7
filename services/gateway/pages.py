"""The pages people read: one layout for all, the home page, and the public page a
phone camera opens when it scans a label (whether the label is genuine and what
the laptop is; no personal data). Indonesian first, English beside it."""

from __future__ import annotations

from html import escape

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from events import labels
from services.gateway.bootstrap import Gateway

router = APIRouter(include_in_schema=False)

STATUS_TEXT = {
    "registered": ("Terdaftar di gudang", "Registered, in the warehouse"),
    "allocated": ("Dialokasikan ke kantor penerima", "Allocated to a recipient office"),
    "in_transit": ("Dalam pengiriman", "In transit"),
    "dispatched": ("Dalam pengiriman", "In transit"),
    "received": ("Diterima oleh kantor", "Received by the office"),
}


# Per reason: a headline and an explanation, in Indonesian (the main text) and English.
# A forged label is a matter for the police, a revoked one usually just an old sticker.
WARNINGS = {
    "label_forged": (
        ("PERINGATAN: label palsu", "WARNING: forged label"),
        (
            "Tanda tangan label ini tidak dibuat oleh Serah. Label ini bukan label resmi.",
            "This label's signature was not made by Serah. It is not an official label.",
        ),
    ),
    "label_unknown_key": (
        ("PERINGATAN: label tidak dikenal", "WARNING: unknown label"),
        (
            "Label ini ditandatangani dengan kunci yang tidak dikenal Serah.",
            "This label is signed with a key Serah does not know.",
        ),
    ),
    "label_revoked": (
        ("Label sudah dicabut", "Revoked label"),
        (
            "Laptop ini sudah mendapat label baru; label lama ini tidak berlaku lagi.",
            "This laptop has a newer label; this old one is no longer valid.",
        ),
    ),
    "label_malformed": (
        ("Label rusak atau tidak lengkap", "Damaged or incomplete label"),
        (
            "Isi kode QR tidak dapat dibaca sebagai label Serah.",
            "The QR code's content cannot be read as a Serah label.",
        ),
    ),
    "label_asset_mismatch": (
        ("Label tidak cocok", "Label does not match"),
        ("Label ini milik laptop lain.", "This label belongs to another laptop."),
    ),
    "unknown_laptop": (
        ("Laptop tidak terdaftar", "Laptop not registered"),
        ("Laptop dengan kode ini tidak terdaftar di Serah.", "No laptop with this code is registered in Serah."),
    ),
}
NOT_VALID = (
    ("Label tidak sah", "Label not valid"),
    ("Label ini tidak dapat diperiksa.", "This label cannot be checked."),
)
# Placeholder target until sign-in exists.
SIGN_IN_URL = "/masuk"
STYLE = """body{font-family:system-ui,sans-serif;margin:0 auto;padding:1rem;max-width:40rem;line-height:1.4}
*{box-sizing:border-box}
code,dd,td,a{overflow-wrap:anywhere}
.mark{border-left:.5rem solid var(--mark);padding:.5rem 1rem;background:#f6f6f6}
.warn{background:#fde8e8}
dt{font-weight:600;margin-top:.5rem} dd{margin-left:0}
.en{color:#555;font-size:.9em} .support{color:#777;font-size:.8em}
table{border-collapse:collapse;width:100%} td,th{border-bottom:1px solid #ddd;padding:.25rem;text-align:left}
input,button{max-width:100%}"""


def layout(title: str, body: str, *, ok: bool = True, status: int = 200) -> HTMLResponse:
    """The one page layout: readable on a phone (viewport, wrapping), nothing from another origin."""
    colour = "#0a7d32" if ok else "#b00020"
    html = f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)} · Serah</title>
<style>:root{{--mark:{colour}}}
{STYLE}</style></head>
<body>{body}</body></html>"""
    return HTMLResponse(html, status_code=status)


def index() -> HTMLResponse:
    body = """<h1>Serah</h1><p>Pelacakan serah terima laptop <span class="en">/ Laptop handover tracking</span></p>
<ul><li><a href="/docs">Dokumentasi API <span class="en">/ API documentation</span></a></li>
<li><a href="/redoc">Referensi API <span class="en">/ API reference</span></a></li>
<li><a href="/healthz">Status layanan <span class="en">/ Service status</span></a></li></ul>"""
    return layout("Serah", body)


def _page(title: str, body: str, ok: bool) -> HTMLResponse:
    return layout(title, f"<h1>Serah</h1>{body}", ok=ok, status=200 if ok else 400)


# Only the first is a label's path; the others are answered (as damaged labels) rather
# than redirected, so no other spelling of a label ever ends on a green page.
@router.get("/L/{asset}/{key}/{signature}")
@router.get("/L/{asset}/{key}/{signature}/")
@router.get("/l/{asset}/{key}/{signature}")
@router.get("/l/{asset}/{key}/{signature}/")
async def label_page(request: Request, asset: str, key: str, signature: str) -> HTMLResponse:
    gw: Gateway = request.app.state.gateway
    try:
        # The path exactly as requested (not re-assembled from its decoded parts),
        # so /l/…, %-escapes or a trailing slash are refused like any other spelling.
        raw = request.scope.get("raw_path") or request.url.path.encode()
        claim = labels.parse_path(raw.decode("latin-1").removeprefix(request.scope.get("root_path", "")))
        labels.verify(claim, gw.issuer.public_keys())
        view = await gw.reads.laptop(claim.asset_id)
        if view is None or view.get("status") in (None, "unknown"):
            raise labels.LabelError(labels.RejectionReason.UNKNOWN_LAPTOP, "this laptop is not registered.")
        labels.check_current(claim, claim.asset_id, view["label_generation"])
    except labels.LabelError as exc:
        (head_id, head_en), (why_id, why_en) = WARNINGS.get(exc.reason.value, NOT_VALID)
        body = f"""<div class="mark warn" role="alert" data-verdict="{escape(exc.reason.value)}">
<h2 id="headline">{escape(head_id)}</h2><p class="en" lang="en">{escape(head_en)}</p>
<p><strong>Label tidak sah.</strong> <span id="why">{escape(why_id)}</span></p>
<p class="en" lang="en">Label not valid. {escape(why_en)}</p>
<p>Jangan gunakan label ini; laporkan ke petugas.</p>
<p class="en" lang="en">Do not rely on this label; report it.</p>
<p class="support">Kode untuk petugas <span lang="en">/ code for support</span>:
<code id="code">{escape(exc.reason.value)}</code></p></div>"""
        return _page(head_id, body, ok=False)
    status_id, status_en = STATUS_TEXT.get(view["status"], (view["status"], view["status"]))
    brand_model = " ".join(str(view.get(k) or "") for k in ("brand", "model")).strip() or "—"
    office = view.get("office_name") or "Gudang pusat / central warehouse"
    body = f"""<div class="mark" data-verdict="genuine"><h2>&#10004; Label Serah asli</h2>
<p class="en">Genuine Serah label (generasi label / label generation {claim.generation})</p></div>
<dl><dt>Kode aset <span class="en">/ Asset code</span></dt><dd id="asset">{escape(claim.asset_id)}</dd>
<dt>Merek / model <span class="en">/ Brand / model</span></dt><dd id="model">{escape(brand_model)}</dd>
<dt>Status</dt><dd id="status">{escape(status_id)} <span class="en">/ {escape(status_en)}</span></dd>
<dt>Kantor pemilik <span class="en">/ Owning office</span></dt><dd id="office">{escape(office)}</dd>
<dt>Barang Milik Negara</dt>
<dd>Milik negara; dilarang diperjualbelikan. <span class="en">/ State property, not for sale.</span></dd></dl>
<p><a id="sign-in" href="{SIGN_IN_URL}">Masuk / Sign in</a> <span class="en">untuk tindakan sesuai peran Anda /
for the actions your role allows</span></p>"""
    return _page(claim.asset_id, body, ok=True)


@router.get("/masuk")
async def sign_in_placeholder() -> HTMLResponse:
    body = """<p>Masuk belum tersedia: fitur peran dan tindakan datang pada rilis berikutnya.</p>
<p class="en">Sign-in is not available yet: roles and their actions come in a later release.</p>"""
    return _page("Masuk", body, ok=True)
