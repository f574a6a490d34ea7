"""The warehouse's pages in a real browser (Debian's Chromium) against the real stack: a
consignment's pick view follows the scans, the manifest downloads, and closing it says
what leaves and dispatches it once, as the signed-in official or as the shared device
naming the official on shift."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
from playwright.sync_api import Browser

from deploy.local.stack import Stack
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL, laptops, plan, scan

PASSWORD = "kata sandi gudang yang panjang"


def planned(api: httpx.Client, n: int) -> tuple[str, list[dict[str, Any]]]:
    cid = f"GDG-{uuid.uuid4().hex[:8]}"
    units = laptops(api, n)
    plan(api, cid, [u["asset_id"] for u in units])
    eventually(lambda: api.get(f"/api/v1/consignments/{cid}").status_code == 200, what="the plan")
    return cid, units


def test_a_clerk_follows_the_pick_downloads_the_manifest_and_dispatches_as_themselves(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    nip = "19" + str(uuid.uuid4().int)[:16]
    clerk = {"name": "Yohanes Manurung", "nip": nip, "jabatan": "Kepala Gudang"}
    made = api.post("/api/v1/accounts", json={**clerk, "grants": [{"role": "warehouse"}], "password": PASSWORD})
    assert made.status_code == 201, made.text
    cid, units = planned(api, 3)
    assert scan(api, cid, units[0]["label"]).json()["decision"] == "accepted"
    assert scan(api, cid, units[1]["label"]).json()["decision"] == "accepted"

    context = browser.new_context(base_url=stack.url, viewport={"width": 360, "height": 800})
    page = context.new_page()
    page.goto("/gudang")
    page.fill("#account", nip)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_url("**/gudang")
    row = f"#picking tr[data-consignment='{cid}']"
    eventually(lambda: page.reload() and page.locator(row).count() == 1, what="the consignment on the pick list")
    page.click(f"{row} a")
    page.wait_for_url(f"**/gudang/{cid}")
    eventually(lambda: page.reload() and page.inner_text("#scanned") == "2", what="the pick view's scans")
    assert page.inner_text("#expected") == "3" and page.inner_text("#missing") == "1"
    assert page.inner_text("#missing-list") == units[2]["asset_id"]
    assert page.get_attribute("#scan", "href") == f"/pindai?mode=consignment&consignment={cid}"

    with page.expect_download() as download:
        page.click("#manifest")
    pdf = download.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")

    leaving = page.inner_text("#leaving")
    assert leaving.startswith("2 laptop akan berangkat") and "; 1 yang direncanakan belum dipindai" in leaving
    page.check("#sure")
    page.click("#dispatch")
    page.wait_for_selector("[data-verdict]")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "accepted"
    history = eventually(
        lambda: [
            e
            for e in api.get("/api/v1/audit/export.jsonl", params={"subject": cid}).text.splitlines()
            if "consignment.dispatched" in e
        ],
        what="the dispatch in the history",
    )
    assert len(history) == 1 and nip in history[0]  # PIHAK PERTAMA is the clerk who closed it
    context.close()


def test_the_shared_device_names_the_official_on_shift_and_a_second_confirmation_is_the_same_dispatch(
    api: httpx.Client, stack: Stack, browser: Browser
) -> None:
    cid, units = planned(api, 1)
    assert scan(api, cid, units[0]["label"]).json()["decision"] == "accepted"
    context = browser.new_context(
        base_url=stack.url, extra_http_headers=signed_in(device_token(stack, ("warehouse",), name="HP gudang"))
    )
    page = context.new_page()
    page.goto(f"/gudang/{cid}")
    eventually(lambda: page.reload() and page.locator("#dispatch").count() == 1, what="the close form")
    form = {n: page.input_value(f"[name='{n}']") for n in ("close_id", "csrf_token")}
    page.check("#sure")
    page.click("#dispatch")  # without the official: the browser asks for the fields first
    assert page.locator("[data-verdict]").count() == 0
    page.fill("#name", OFFICIAL["name"])
    page.fill("#nip", OFFICIAL["nip"])
    page.fill("#jabatan", OFFICIAL["jabatan"])
    page.click("#dispatch")
    page.wait_for_selector("[data-verdict]")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "accepted"
    again = page.request.post(
        f"/gudang/{cid}/kirim", form={**form, **{k: OFFICIAL[k] for k in ("name", "nip", "jabatan")}}
    )
    assert again.status == 200 and 'data-verdict="accepted"' in again.text()
    dispatches = eventually(
        lambda: [
            e
            for e in api.get("/api/v1/audit/export.jsonl", params={"subject": cid}).text.splitlines()
            if "consignment.dispatched" in e
        ],
        what="the dispatch",
    )
    assert len(dispatches) == 1
    context.close()


def test_a_warehouse_device_picks_only_its_own_warehouses_consignments(api: httpx.Client, stack: Stack) -> None:
    units = laptops(api, 2)
    cid = f"GDG-{uuid.uuid4().hex[:8]}"
    plan(api, cid, [u["asset_id"] for u in units], warehouse="G-MKS1")
    assert eventually(lambda: api.get(f"/api/v1/consignments/{cid}").json().get("warehouse"), what="plan") == "G-MKS1"
    grants = {"makassar": "G-MKS1", "jakarta": "G-JKT1"}
    clients = {
        name: httpx.Client(
            base_url=stack.url, timeout=30, headers=signed_in(device_token(stack, ("warehouse",), scope, f"HP {name}"))
        )
        for name, scope in grants.items()
    }
    try:
        refused = scan(clients["jakarta"], cid, units[0]["label"])
        assert refused.status_code == 403 and refused.json()["code"] == "not_your_warehouse", refused.text
        assert scan(clients["makassar"], cid, units[0]["label"]).json()["decision"] == "accepted"
        alone = clients["makassar"].post(
            "/api/v1/scans/dispatch", json={"scan_id": f"s-{cid}", "label": units[1]["label"]}
        )
        assert alone.status_code == 403 and alone.json()["code"] == "not_your_warehouse"
    finally:
        for c in clients.values():
            c.close()
