"""The recipient office's pages in a real browser (Debian's Chromium) against the real
stack: an official signs in, finds the consignment on its way to their office, records
each laptop's condition and the one that did not arrive, is refused with a wrong receipt
code, confirms with the right one, and downloads a BAST whose PDF matches its record."""

from __future__ import annotations

import hashlib
import io
import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser
from pypdf import PdfReader

from deploy.local.stack import Stack
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.test_consignment_races import dispatched

PASSWORD = "kata sandi yang panjang sekali"


def official(api: httpx.Client, office: str) -> dict[str, str]:
    """A recipient official with an account for ``office``: name, NIP and jabatan."""
    nip = "19" + str(uuid.uuid4().int)[:16]
    person = {"name": "Nurul Hidayah", "nip": nip, "jabatan": "Kepala Subbagian Umum"}
    made = api.post(
        "/api/v1/accounts",
        json={**person, "grants": [{"role": "recipient", "scope": office}], "password": PASSWORD},
    )
    assert made.status_code == 201, made.text
    return person


def test_an_official_receives_a_consignment_on_the_page_and_downloads_a_bast_that_matches_its_record(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    person = official(api, "73.71")
    cid, code, units = dispatched(api, 3, [person])
    ok, damaged, lost = (u["asset_id"] for u in units)

    context = browser.new_context(base_url=stack.url, viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.goto("/penerimaan")  # not signed in: to the sign-in form and back
    page.fill("#account", person["nip"])
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/penerimaan")
    page.click(f"#arriving tr[data-consignment='{cid}'] a")
    page.wait_for_url(f"**/penerimaan/{cid}")
    assert page.inner_text("#in-transit") == "3"
    page.select_option(f"#condition-{damaged}", "RR")
    page.fill(f"#note-{damaged}", "Engsel layar longgar")
    page.check(f"[name='missing-{lost}']")
    # The only official a person may sign as is themselves: chosen already.
    assert page.is_checked(f"[name=official][value='{person['nip']}']")

    page.fill("#receipt_code", "AAAA-BBBB-CCCC-DDDD")
    page.click("#confirm")
    page.wait_for_selector("[data-refusal]")
    assert page.get_attribute("[data-refusal]", "data-refusal") == "receipt_code_invalid"
    assert page.is_checked(f"[name='missing-{lost}']")  # what was entered is kept
    page.select_option(f"#condition-{damaged}", "RR")
    page.fill("#receipt_code", code)
    page.click("#confirm")
    page.wait_for_selector("[data-verdict]")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "accepted", page.content()[:2000]
    number = page.inner_text("#bast-number")

    summary = api.get(f"/api/v1/consignments/{cid}").json()
    assert sorted(summary["received"]) == sorted([ok, damaged]) and summary["missing"] == []
    receipt = next(
        e
        for e in eventually(lambda: history(api, cid), what="the receipt in the history")
        if e["type"] == "id.serah.consignment.receipt-confirmed.v1"
    )
    assert receipt["actor"] == f"nip:{person['nip']}" and receipt["data"]["missing"] == [lost]
    conditions = {line["asset_id"]: (line["condition"], line["note"]) for line in receipt["data"]["lines"]}
    assert conditions == {ok: ("B", ""), damaged: ("RR", "Engsel layar longgar")}

    page.click("#bast-page")
    page.wait_for_selector("#sha")
    recorded = page.inner_text("#sha")
    pdf = eventually(
        lambda: (r := page.request.get(f"/api/v1/consignments/{cid}/bast.pdf")).ok and r.body(), what="the BAST PDF"
    )
    assert hashlib.sha256(pdf).hexdigest() == recorded == receipt["data"]["bast_sha256"]
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert number in text and person["name"] in text
    context.close()


def history(api: httpx.Client, cid: str) -> list[dict[str, Any]]:
    import json

    r = api.get("/api/v1/audit/export.jsonl", params={"subject": cid})
    return [x["event"] for x in map(json.loads, r.text.splitlines()) if x["kind"] == "event"] if r.is_success else []


def test_an_office_device_signs_for_any_official_of_the_plan_and_another_office_is_refused_on_a_page(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    planned = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan Kesbangpol"}
    cid, code, _ = dispatched(api, 1, [planned])
    elsewhere = browser.new_context(
        base_url=stack.url, extra_http_headers=signed_in(device_token(stack, ("recipient",), "32.73", "kantor lain"))
    )
    page = elsewhere.new_page()
    answer = page.goto(f"/penerimaan/{cid}")
    assert answer is not None and answer.status == 403
    assert page.get_attribute("[data-refusal]", "data-refusal") == "not_your_office"
    elsewhere.close()

    office = browser.new_context(
        base_url=stack.url, extra_http_headers=signed_in(device_token(stack, ("recipient",), "73.71", "tablet kantor"))
    )
    page = office.new_page()
    page.goto("/penerimaan")
    page.fill("#cid", f" {cid} ")  # copied from a manifest, with the spaces around it
    page.click(".find button")
    page.wait_for_url(f"**/penerimaan/{cid}")
    page.fill("#receipt_code", code)
    sent = {
        name: page.input_value(f"[name='{name}']")
        for name in ("receipt_id", "csrf_token", "asset", "official", "receipt_code")
    }
    page.click("#confirm")
    page.wait_for_selector("[data-verdict]")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "accepted"
    number = page.inner_text("#bast-number")
    # The same form sent again (a double tap, a retry on a bad link): the same receipt.
    again = page.request.post(f"/penerimaan/{cid}", form=sent)
    assert again.status == 200 and f'id="bast-number">{number}<' in again.text()
    receipts = [e for e in eventually(lambda: history(api, cid), what="history") if e["type"].endswith("confirmed.v1")]
    assert len(receipts) == 1 and receipts[0]["actor"].startswith("device:")
    office.close()
