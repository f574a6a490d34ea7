"""The public label page as a phone camera opens it, in a real browser
(Debian Chromium through playwright) against the real stack."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import eventually
from tests.e2e.conftest import register
from tests.e2e.test_label_reissue import current_label


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        # A phone-sized screen: this page is opened by phone cameras.
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
        yield context.new_page()
        browser.close()


def test_scanning_a_genuine_label_shows_the_laptop_and_a_genuine_mark_without_personal_data(
    api: httpx.Client, page: Any
) -> None:
    created = register(api, brand="Acer", model="TravelMate P214")
    asset = created["subject"]
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "74.05"}).status_code == 200
    # The page reads the audit view, which follows the decision within moments.
    eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json()["status"] == "allocated", what="view allocated")
    label = current_label(api, asset, 1)
    page.goto(label)
    page.wait_for_selector("[data-verdict]")
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "genuine"
    assert "Label Serah asli" in page.inner_text("h2") and "Genuine Serah label" in page.content()
    assert page.inner_text("#asset") == asset
    assert page.inner_text("#model") == "Acer TravelMate P214"
    assert "Dialokasikan" in page.inner_text("#status")
    assert page.inner_text("#office") == "Badan Kesatuan Bangsa dan Politik Kabupaten Konawe Selatan"
    body = page.inner_text("body")
    assert "Barang Milik Negara" in body
    assert created["event"]["data"]["laptop"]["serial"] not in body  # nothing beyond what the sticker shows
    page.click("#sign-in")
    page.wait_for_url("**/masuk?next=**")
    assert page.locator("input[name=next]").get_attribute("value") == urlsplit(label).path  # back to this label
    assert page.locator("input#account").is_visible() and page.locator("input#password").is_visible()
    assert "NIP" in page.inner_text("body")  # the sign-in form, in both languages


def test_a_revoked_a_forged_and_an_unknown_label_each_show_a_clear_warning(api: httpx.Client, page: Any) -> None:
    asset = register(api)["subject"]
    old = current_label(api, asset, 1)
    r = api.post(f"/api/v1/laptops/{asset}/label/reissue", json={"reason": "damaged"})
    assert r.status_code == 200, r.text
    current_label(api, asset, 2)

    page.goto(old)
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "label_revoked"
    assert "Label sudah dicabut" in page.inner_text("h2")

    head, sig = old.rsplit("/", 1)
    page.goto(f"{head}/{'A' if sig[0] != 'A' else 'B'}{sig[1:]}")
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "label_forged"
    assert "label palsu" in page.inner_text("h2")
    assert "forged" in page.inner_text("[role=alert]")

    page.goto(old.replace("/1T1/", "/1Z9/"))
    assert page.locator("[data-verdict]").get_attribute("data-verdict") == "label_unknown_key"
