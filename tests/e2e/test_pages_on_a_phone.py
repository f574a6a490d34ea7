"""Every kind of page, in a real browser (Debian's Chromium) at a phone's 360 px
width against the real stack: nothing is wider than the screen, and nothing is
fetched from, or pointed at, another site."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from deploy.local.stack import Stack
from tests.conftest import eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

WIDTH = 360


def offsite(url: str, own: str) -> bool:
    """A URL on another site; a script's in-memory ``blob:`` of this page is not one."""
    return bool(re.match(r"(?i)^(blob:)?(https?:)?//", url)) and not url.removeprefix("blob:").lower().startswith(
        own.lower()
    )


@pytest.fixture(scope="module")
def paths(stack: Stack, token: str) -> dict[str, str]:
    """One page of every kind, for laptops and a consignment made here."""
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(token)) as api:
        cid, code, units = dispatched(api, 2, [OFFICIAL])
        done = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, code))
        assert done.status_code == 200, done.text
        lost = units[1]["asset_id"]
        eventually(lambda: api.get(f"/api/v1/laptops/{lost}").json()["status"] == "received", what="received")
        loss = {"request_id": f"loss-{lost}", "kind": "lost", "circumstances": "tertinggal di kereta"}
        assert api.post(f"/api/v1/laptops/{lost}/loss", json=loss).status_code == 200
        eventually(lambda: api.get(f"/api/v1/laptops/{lost}").json()["status"] == "lost", what="lost")
        lost_label = units[1]["label"]
        eventually(lambda: api.get(f"/bast/{cid}").text.count("id='laptops'"), what="BAST page")
        label = units[0]["label"]
        genuine = label[label.upper().index("/L/") :]
        head, sig = genuine.rsplit("/", 1)
        asset = units[0]["asset_id"]
    return {
        "home": "/",
        "API docs": "/docs",
        "API reference": "/redoc",
        "sign-in": "/masuk",
        "genuine label": genuine,
        "lost laptop's label": lost_label[lost_label.upper().index("/L/") :],
        "forged label": f"{head}/{'A' if sig[0] != 'A' else 'B'}{sig[1:]}",
        "damaged label": f"/L/{asset}/1/x",
        "unknown key": f"/L/{asset}/1Z9/{sig}",
        "BAST": f"/bast/{cid}",
        "no BAST yet": f"/bast/{cid}?seq=9",
    }


KINDS = [
    "home",
    "API docs",
    "API reference",
    "sign-in",
    "genuine label",
    "lost laptop's label",
    "forged label",
    "damaged label",
    "unknown key",
    "BAST",
    "no BAST yet",
]
READY = {"API docs": ".opblock", "API reference": "[data-section-id]"}


@pytest.mark.parametrize("kind", KINDS)
def test_a_page_fits_a_360_px_phone_and_stays_on_this_site(
    kind: str, browser: Browser, stack: Stack, paths: dict[str, str]
) -> None:
    context = browser.new_context(viewport={"width": WIDTH, "height": 740}, locale="id-ID")
    page = context.new_page()
    foreign: list[str] = []
    page.on("request", lambda r: foreign.append(r.url) if offsite(r.url, stack.url) else None)
    page.goto(stack.url + paths[kind])
    if kind in READY:
        page.wait_for_selector(READY[kind], timeout=30_000)
    page.wait_for_load_state("networkidle")
    width = page.evaluate("document.documentElement.scrollWidth")
    links = page.eval_on_selector_all("[src],[href],[action]", "els => els.map(e => e.src || e.href || e.action)")
    context.close()
    assert width <= WIDTH, f"{kind} is {width} px wide"
    assert foreign == []
    assert [u for u in links if offsite(u, stack.url)] == []


class Urls(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.urls += [v for k, v in attrs if k in ("src", "href", "action") and v]


@pytest.mark.parametrize("kind", KINDS)
def test_a_page_as_served_names_no_other_site(kind: str, api: httpx.Client, paths: dict[str, Any]) -> None:
    page = Urls()
    page.feed(api.get(paths[kind]).text)
    assert [u for u in page.urls if offsite(u, str(api.base_url).rstrip("/"))] == []
