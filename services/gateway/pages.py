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
    "received": ("Diterima oleh kantor", "Received by the office"),
}


def _page(title: str, body: str, ok: bool) -> HTMLResponse:
    colour = "#0a7d32" if ok else "#b00020"
    html = f"""<!doctype html>
<html lang="id"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>{escape(title)} · Serah</title>
<style>body{{font-family:system-ui,sans-serif;margin:0;padding:1rem;max-width:36rem}}
.mark{{border-left:.5rem solid {colour};padding:.5rem 1rem;background:#f6f6f6}}
dt{{font-weight:600;margin-top:.5rem}} .en{{color:#555;font-size:.9em}}</style></head>
<body><h1>Serah</h1>{body}</body></html>"""
    return HTMLResponse(html, status_code=200 if ok else 400)


@router.get("/L/{asset}/{key}/{signature}")
@router.get("/l/{asset}/{key}/{signature}")
async def label_page(request: Request, asset: str, key: str, signature: str) -> HTMLResponse:
    gw: Gateway = request.app.state.gateway
    text = f"/L/{asset}/{key}/{signature}"
    try:
        claim = labels.parse(text)
        labels.verify(claim, gw.issuer.public_keys())
        view = await gw.reads.laptop(claim.asset_id)
        if view is None or view.get("status") in (None, "unknown"):
            raise labels.LabelError(labels.RejectionReason.UNKNOWN_LAPTOP, "this laptop is not registered.")
        labels.check_current(claim, claim.asset_id, view["label_generation"])
    except labels.LabelError as exc:
        body = f"""<div class="mark" role="alert"><h2>Label tidak sah</h2>
<p class="en">Label not valid</p><p>{escape(exc.detail)}</p>
<p>Kode / code: <code>{escape(exc.reason.value)}</code></p></div>"""
        return _page("Label tidak sah", body, ok=False)
    status_id, status_en = STATUS_TEXT.get(view["status"], (view["status"], view["status"]))
    body = f"""<div class="mark"><h2>Label Serah asli</h2><p class="en">Genuine Serah label</p></div>
<dl><dt>Kode aset <span class="en">/ Asset code</span></dt><dd>{escape(claim.asset_id)}</dd>
<dt>Merek / model <span class="en">/ Brand / model</span></dt><dd>{escape(str(view.get("brand")))} {escape(str(view.get("model")))}</dd>
<dt>Status</dt><dd>{escape(status_id)} <span class="en">/ {escape(status_en)}</span></dd>
<dt>Kantor <span class="en">/ Office</span></dt><dd>{escape(view.get("office_name") or "—")}</dd></dl>"""
    return _page(claim.asset_id, body, ok=True)
