"""The public page a phone camera opens when it scans a label. It says whether
the label is genuine and what the laptop is; no personal data."""

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


# A distinct headline per reason: a forged label is a matter for the police, a
# revoked one usually just an old sticker left on the laptop.
WARNINGS = {
    "label_forged": ("PERINGATAN: label palsu", "WARNING: forged label — not issued by Serah"),
    "label_unknown_key": ("PERINGATAN: label tidak dikenal", "WARNING: label signed with an unknown key"),
    "label_revoked": ("Label sudah dicabut", "Revoked label — this laptop has a newer label"),
    "label_malformed": ("Label rusak atau tidak lengkap", "Damaged or incomplete label"),
    "unknown_laptop": ("Laptop tidak terdaftar", "Laptop not registered"),
}
# Placeholder target until sign-in exists (a later issue adds roles and actions).
SIGN_IN_URL = "/masuk"


def _page(title: str, body: str, ok: bool) -> HTMLResponse:
    colour = "#0a7d32" if ok else "#b00020"
    html = f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)} · Serah</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:36rem}}
.mark{{border-left:.5rem solid {colour};padding:.5rem 1rem;background:#f6f6f6}}
.warn{{background:#fde8e8}}
dt{{font-weight:600;margin-top:.5rem}} .en{{color:#555;font-size:.9em}}</style></head>
<body><h1>Serah</h1>{body}</body></html>"""
    return HTMLResponse(html, status_code=200 if ok else 400)


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
        head_id, head_en = WARNINGS.get(exc.reason.value, ("Label tidak sah", "Label not valid"))
        body = f"""<div class="mark warn" role="alert" data-verdict="{escape(exc.reason.value)}">
<h2>{escape(head_id)}</h2><p class="en">{escape(head_en)}</p>
<p><strong>Label tidak sah</strong> <span class="en">/ Label not valid</span></p><p>{escape(exc.detail)}</p>
<p>Jangan gunakan label ini; laporkan ke petugas. <span class="en">Do not rely on this label; report it.</span></p>
<p>Kode / code: <code>{escape(exc.reason.value)}</code></p></div>"""
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
