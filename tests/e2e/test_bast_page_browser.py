"""The BAST record page (where the BAST's QR points) in a real browser (Debian
Chromium through playwright) against the real stack: someone holding a PDF checks
whether it is the recorded BAST and reads the answer in Indonesian and English;
the officials' names and NIPs, and the PDF, only once signed in."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import sync_playwright

from tests.conftest import eventually
from tests.e2e.conftest import CLOSE
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

PASSWORD = "kata sandi yang panjang"


@pytest.fixture(scope="module")
def page() -> Iterator[Any]:
    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        context = browser.new_context(viewport={"width": 390, "height": 844}, locale="id-ID")
        yield context.new_page()
        browser.close()


def test_the_record_page_tells_whether_a_pdf_is_the_recorded_bast(
    api: httpx.Client, stack: Any, page: Any, tmp_path: Path
) -> None:
    cid, code, units = dispatched(api, 1, [OFFICIAL])
    done = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, code))
    assert done.status_code == 200, done.text
    recorded = done.json()["event"]["data"]
    pdf = eventually(
        lambda: (r := api.get(f"/api/v1/consignments/{cid}/bast.pdf")).status_code == 200 and r.content, what="BAST"
    )
    genuine, altered = tmp_path / "bast.pdf", tmp_path / "bast-altered.pdf"
    genuine.write_bytes(pdf)
    altered.write_bytes(pdf.replace(b"Berita", b"Beritx", 1) if b"Berita" in pdf else pdf + b"\n%x")

    page.goto(f"{stack.url}/bast/{cid}")
    assert page.inner_text("h1") == "Berita Acara Serah Terima"
    assert page.inner_text("#number") == recorded["bast_number"]
    assert page.inner_text("#sha") == recorded["bast_sha256"]
    assert page.get_attribute("#count", "data-received") == "1"
    # not signed in: no official's name or NIP, no PDF to download
    html = page.content()
    for name_or_nip in (OFFICIAL["name"], OFFICIAL["nip"], CLOSE["dispatcher"]["name"], CLOSE["dispatcher"]["nip"]):
        assert name_or_nip not in html
    assert page.query_selector("#pdf") is None

    page.set_input_files("input[name=file]", str(genuine))
    page.click("button[type=submit]")
    page.wait_for_selector("#verdict")
    assert page.get_attribute("#verdict", "data-matches") == "true"
    assert "Cocok" in page.inner_text("#verdict") and "Matches" in page.inner_text("#verdict")

    page.set_input_files("input[name=file]", str(altered))
    page.click("button[type=submit]")
    page.wait_for_selector("#verdict[data-matches='false']")
    assert "Tidak cocok" in page.inner_text("#verdict") and "Does not match" in page.inner_text("#verdict")
    assert page.inner_text("#checked") != recorded["bast_sha256"]

    page.click("button[type=submit]")  # nothing chosen
    page.wait_for_selector("#verdict[data-matches='none']")
    assert "Choose a PDF file first" in page.inner_text("#verdict")

    # Signed in (from the link on the page, and back to it), the page names who handed
    # over and who received, and checking a file keeps showing them.
    nip = "19" + "".join(secrets.choice("0123456789") for _ in range(16))
    person = {"name": "Rina Wulandari", "nip": nip, "jabatan": "Auditor Muda", "grants": [{"role": "auditor"}]}
    assert api.post("/api/v1/accounts", json=person | {"password": PASSWORD}).status_code == 201
    page.goto(f"{stack.url}/bast/{cid}")
    page.click("#sign-in-for-more a")
    page.fill("#account", nip)
    page.fill("#password", PASSWORD)
    page.click("#sign-in")
    page.wait_for_selector("#dispatcher")
    assert CLOSE["dispatcher"]["nip"] in page.inner_text("#dispatcher")  # PIHAK PERTAMA
    assert OFFICIAL["nip"] in page.inner_text("#official")  # PIHAK KEDUA
    page.set_input_files("input[name=file]", str(genuine))
    page.click("button[type=submit]")
    page.wait_for_selector("#verdict[data-matches='true']")
    assert CLOSE["dispatcher"]["name"] in page.inner_text("#dispatcher")

    # The download link on the page gives the very file whose hash was recorded
    # (fetched with the browser's own request context and its session: the PDF is served inline).
    href = page.get_attribute("text=Unduh PDF · Download PDF", "href")
    assert page.request.get(f"{stack.url}{href}").body() == pdf
