"""The office's pages after receipt in a real browser (Debian's Chromium) against the real
stack, through pages only: office A's tablet plans a transfer of one laptop to office B,
scans it out on the scanning page and dispatches it; office B's tablet receives it on the
receipt pages with the code A's page showed once; the laptop is then B's and the
transfer's BAST downloads from A's page with the bytes its record names. And an office's
staff list: a file with a bad row records nothing and says which line; a good one becomes
the list and hands out the laptop it names; one person is added and one removed."""

from __future__ import annotations

import hashlib
import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser, Page

from deploy.local.stack import Stack
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

GIVER, TAKER = "73.71", "73.72"
WAIT_MS = 30_000


def nip() -> str:
    return "1990" + str(uuid.uuid4().int)[:14]


def received_at_giver(api: httpx.Client, n: int = 1) -> list[dict[str, Any]]:
    """``n`` laptops received at office A (by the API: the first handover is not this test's)."""
    cid, code, units = dispatched(api, n, [OFFICIAL])
    done = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, code))
    assert done.status_code == 200, done.text
    for u in units:
        eventually(
            lambda a=u["asset_id"]: api.get(f"/api/v1/laptops/{a}").json()["status"] == "received", what="received"
        )
    return units


def tablet(browser: Browser, stack: Stack, office: str) -> Any:
    token = device_token(stack, ("recipient",), office, f"tablet kantor {office}")
    return browser.new_context(
        base_url=stack.url, viewport={"width": 360, "height": 780}, extra_http_headers=signed_in(token)
    )


def reloaded_until(page: Page, selector: str, what: str) -> None:
    eventually(lambda: page.reload() and page.locator(selector).count() > 0, what=what)


def test_a_laptop_moves_from_office_a_to_office_b_through_the_pages_and_ends_as_bs_with_its_bast(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    [unit] = received_at_giver(api)
    asset, label = unit["asset_id"], unit["label"]
    receiving = {"name": "Yusuf Hamzah", "nip": nip(), "jabatan": "Sekretaris Badan Kesbangpol"}
    giving = {"name": "Andi Pratama", "nip": nip(), "jabatan": "Kepala Bagian Umum"}

    a, b = tablet(browser, stack, GIVER), tablet(browser, stack, TAKER)
    try:
        # --- office A plans it from its desk's link ---
        page = a.new_page()
        page.goto(f"/kantor/laptop/{asset}")
        page.click("#transfers")
        page.wait_for_url(f"**/kantor/{GIVER}/mutasi")
        reloaded_until(page, f"input[name=asset][value='{asset}']", "the laptop on the office's list")
        transfer = page.input_value("#consignment_id")
        page.select_option("#office_code", TAKER)
        page.fill("#official_name", receiving["name"])
        page.fill("#official_nip", receiving["nip"])
        page.fill("#official_jabatan", receiving["jabatan"])
        page.fill("#legal_number", "KEP-MUT-7/2027")
        page.fill("#legal_date", "2027-01-10")
        page.check(f"input[name=asset][value='{asset}']")
        page.click("#plan-transfer")
        page.wait_for_selector("[data-form=plan]")
        assert page.get_attribute("[data-form=plan]", "data-verdict") == "accepted", page.text_content("main")
        code = page.inner_text("#receipt-code")

        # --- scanned out on the scanning page's transfer mode ---
        page.click("#scan")
        page.wait_for_url("**/pindai?mode=transfer*")
        page.wait_for_selector("#scanner[data-keys]:not([data-keys='0'])", timeout=WAIT_MS)
        assert page.is_checked("input[name=mode][value=transfer]") and page.input_value("#consignment") == transfer
        page.fill("#code", label)
        page.press("#code", "Enter")
        item = page.locator(f"#scans li[data-asset='{asset}'][data-state=done]")
        item.wait_for(timeout=WAIT_MS)
        assert item.get_attribute("data-category") == "accepted", page.inner_text("#verdict")

        # --- and dispatched from the transfer's page ---
        page.goto(f"/kantor/{GIVER}/mutasi/{transfer}")
        reloaded_until(page, "#close", "the scan on the transfer's page")
        assert page.inner_text("#scanned") == "1"
        page.fill("#name", giving["name"])
        page.fill("#nip", giving["nip"])
        page.fill("#jabatan", giving["jabatan"])
        page.check("#sure")
        page.click("#dispatch")
        page.wait_for_selector("[data-form=dispatch]")
        assert page.get_attribute("[data-form=dispatch]", "data-verdict") == "accepted", page.text_content("main")

        # --- office B receives it on its receipt pages ---
        there = b.new_page()
        there.goto("/penerimaan")
        reloaded_until(there, f"#arriving tr[data-consignment='{transfer}']", "the transfer on B's receipt list")
        said = there.inner_text(f"#arriving tr[data-consignment='{transfer}'] .transfer")
        assert said.startswith("Mutasi dari") and f"({GIVER})" in said, said  # where it comes from
        there.click(f"#arriving tr[data-consignment='{transfer}'] a")
        there.wait_for_url(f"**/penerimaan/{transfer}")
        assert there.is_checked(f"[name=official][value='{receiving['nip']}']")
        there.fill("#receipt_code", code)
        there.click("#confirm")
        there.wait_for_selector("[data-verdict]")
        assert there.get_attribute("[data-verdict]", "data-verdict") == "accepted", there.text_content("main")

        eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json()["office_code"] == TAKER, what="B's laptop")

        # --- the transfer's BAST, from A's page ---
        page.goto(f"/kantor/{GIVER}/mutasi/{transfer}")
        reloaded_until(page, "#basts a[download]", "the transfer's BAST on A's page")
        href = page.get_attribute("#basts a[download]", "href")
        assert href is not None
        pdf = eventually(lambda: (r := a.request.get(href)).ok and r.body(), what="the BAST's PDF")
    finally:
        a.close()
        b.close()
    assert pdf.startswith(b"%PDF")
    history = api.get("/api/v1/audit/export.jsonl", params={"subject": transfer}).text
    assert hashlib.sha256(pdf).hexdigest() in history  # the receipt's BAST records these bytes
    laptop = api.get(f"/api/v1/laptops/{asset}").json()
    assert laptop["office_code"] == TAKER and laptop["status"] == "received"


def test_an_office_replaces_its_staff_list_from_a_file_and_adds_and_removes_one_person(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    [unit] = received_at_giver(api)
    asset = unit["asset_id"]
    rina = {"nip": nip(), "name": "Rina Wulandari", "jabatan": "Analis Kebijakan", "unit": "Politik"}
    budi = {"nip": nip(), "name": "Budi Hartono", "jabatan": "Pranata Komputer", "unit": "Umum"}
    header = "office_code,nip,name,jabatan,unit,asset_id,condition\n"
    row = f"{GIVER},{rina['nip']},{rina['name']},{rina['jabatan']},{rina['unit']},{asset},B\n"

    context = tablet(browser, stack, GIVER)
    try:
        page = context.new_page()
        page.goto(f"/kantor/laptop/{asset}")
        page.click("#staff-list")
        page.wait_for_url(f"**/kantor/{GIVER}/pegawai")

        bad = header + row + f"{GIVER},123,Tanpa NIP,Staf,Umum,,\n"
        page.set_input_files("#csv", {"name": "pegawai.csv", "mimeType": "text/csv", "buffer": bad.encode()})
        page.click("#file button[type=submit]")
        page.wait_for_selector("[data-refusal=rows_refused]")
        assert page.get_attribute("#refused-rows tbody tr", "data-line") == "3"
        assert "NIP" in page.inner_text("#refused-rows tbody tr")

        page.set_input_files("#csv", {"name": "pegawai.csv", "mimeType": "text/csv", "buffer": (header + row).encode()})
        page.fill("#official_name", OFFICIAL["name"])
        page.fill("#official_nip", OFFICIAL["nip"])
        page.fill("#official_jabatan", OFFICIAL["jabatan"])
        page.click("#file button[type=submit]")
        page.wait_for_selector("[data-form=file][data-verdict]")
        assert page.get_attribute("[data-form=file]", "data-verdict") == "accepted", page.text_content("main")
        assert page.get_attribute("#handed li", "data-verdict") == "accepted", page.inner_text("#handed")

        for name, value in budi.items():
            page.fill(f"#add #{name}", value)
        page.click("#add button[type=submit]")  # waits for the views to show the list just recorded
        page.wait_for_selector("[data-form=add][data-verdict]")
        assert page.get_attribute("[data-form=add]", "data-verdict") == "accepted", page.text_content("main")
        page.click(f"tr[data-nip='{rina['nip']}'] form.remove button")
        page.wait_for_selector("[data-form=remove][data-verdict]")
        assert page.get_attribute("[data-form=remove]", "data-verdict") == "accepted", page.text_content("main")
        # Rina holds the laptop and is no longer listed: the page says so.
        reloaded_until(page, "#unlisted", "the laptop held by someone no longer listed")
        assert asset in page.inner_text("#unlisted")
    finally:
        context.close()
    listed = eventually(
        lambda: (r := api.get(f"/api/v1/offices/{GIVER}/roster").json())["members"] == [budi] and r,
        what="the list with Budi only",
    )
    assert listed["laptops"][rina["nip"]] == [asset]
