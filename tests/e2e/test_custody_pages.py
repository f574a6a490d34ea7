"""The office's desk for a laptop in a real browser (Debian's Chromium) against the real
stack: the office's tablet opens a received laptop by its asset id, hands it to a holder
and downloads the berita acara the handing over issued (its bytes are the ones whose
SHA-256 the fact records), then reports it stolen with the police report's number."""

from __future__ import annotations

import hashlib
from typing import Any

import httpx
from playwright.sync_api import Browser

from deploy.local.stack import Stack
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

HOLDER = {"name": "Rina Wulandari", "nip": "199002022015032001", "jabatan": "Analis Kebijakan", "unit": "Politik"}


def test_an_office_hands_a_laptop_to_a_holder_keeps_the_record_and_reports_it_stolen(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    cid, code, units = dispatched(api, 1, [OFFICIAL])
    done = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, code))
    assert done.status_code == 200, done.text
    asset = units[0]["asset_id"]
    eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json()["status"] == "received", what="received")

    token = device_token(stack, ("recipient",), "73.71", "tablet kantor 73.71 meja")
    context = browser.new_context(
        base_url=stack.url, viewport={"width": 360, "height": 780}, extra_http_headers=signed_in(token)
    )
    try:
        page = context.new_page()
        page.goto("/penerimaan")
        page.fill("#asset", asset.lower())  # typed from its sticker
        page.click("form[action='/kantor/laptop'] button")
        page.wait_for_url(f"**/kantor/laptop/{asset}")

        for name, value in HOLDER.items():
            page.fill(f"#holder_{name}", value)
        page.fill("#holder-official_name", OFFICIAL["name"])
        page.fill("#holder-official_nip", OFFICIAL["nip"])
        page.fill("#holder-official_jabatan", OFFICIAL["jabatan"])
        page.click("#holder button[type=submit]")
        page.wait_for_selector("[data-form=holder]")
        assert page.get_attribute("[data-form=holder]", "data-verdict") == "accepted", page.text_content("main")

        href = page.get_attribute("[data-form=holder] a[download]", "href")
        assert href is not None
        fetched = eventually(lambda: (r := context.request.get(href)).ok and r, what="the berita acara's PDF")
        pdf = fetched.body()
        assert pdf.startswith(b"%PDF")
        history = api.get(f"/api/v1/laptops/{asset}/history").json()["events"]
        assigned: Any = next(e for e in history if e["type"] == "id.serah.laptop.assigned.v1")
        record = api.get(f"/api/v1/documents/{assigned['data']['document']['id']}").json()
        assert hashlib.sha256(pdf).hexdigest() == record["sha256"] == assigned["data"]["document"]["sha256"]

        page.select_option("#loss_kind", "stolen")
        page.fill("#circumstances", "dicuri dari mobil dinas di parkiran")
        page.fill("#police_report", "LP/123/XI/2026")
        page.click("#loss button[type=submit]")
        page.wait_for_selector("[data-form=loss]")
        assert page.get_attribute("[data-form=loss]", "data-verdict") == "accepted", page.text_content("main")
    finally:
        context.close()
    lost = eventually(
        lambda: next(
            (
                e
                for e in api.get(f"/api/v1/laptops/{asset}/history").json()["events"]
                if e["type"] == "id.serah.laptop.reported-lost.v1"
            ),
            None,
        ),
        what="the loss in the history",
    )
    assert lost["data"]["police_report"] == "LP/123/XI/2026" and lost["data"]["kind"] == "stolen"
