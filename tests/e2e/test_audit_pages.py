"""The auditor's pages in a real browser (Debian's Chromium) against the real stack: the
numbers are the API's, filters live in the URL, a laptop's page says whether its chain
verifies, the pages fit a phone, and an auditor of one region sees only that region.
Screenshots of each page at 360 px and at desktop width go to .serah/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext

from deploy.local.stack import Stack
from services.gateway.rollups import COUNTERS
from tests.conftest import device_token, eventually, signed_in
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

SHOTS = Path(__file__).resolve().parents[2] / ".serah" / "screenshots"
KEYS = COUNTERS  # every counter the roll-up has is on the page


@pytest.fixture(scope="module")
def world(stack: Stack, token: str) -> dict[str, Any]:
    """A consignment dispatched and received here, so every page has something to show."""
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(token)) as api:
        cid, code, units = dispatched(api, 2, [OFFICIAL])
        done = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, code))
        assert done.status_code == 200, done.text
        asset = units[0]["asset_id"]
        eventually(lambda: api.get(f"/api/v1/audit/laptops/{asset}/timeline").status_code == 200, what="timeline")
    return {"asset": asset, "office": "73.71", "consignment": cid}  # where dispatched() sends them


def auditor(browser: Browser, stack: Stack, scope: str = "*", width: int = 1280) -> BrowserContext:
    token = device_token(stack, ("auditor",), scope, name=f"auditor {scope}")
    return browser.new_context(
        base_url=stack.url,
        viewport={"width": width, "height": 900},
        extra_http_headers={"Authorization": f"Bearer {token}"},
    )


@pytest.fixture
def desk(browser: Browser, stack: Stack) -> Iterator[BrowserContext]:
    context = auditor(browser, stack)
    yield context
    context.close()


def shoot(context: BrowserContext, path: str, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page = context.new_page()
    page.goto(path)
    page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)
    page.close()


def test_the_dashboard_shows_the_apis_numbers_and_drills_down_to_offices(
    desk: BrowserContext, api: httpx.Client, world: dict[str, Any]
) -> None:
    def same() -> dict[str, int] | None:
        page = desk.new_page()
        page.goto("/audit")
        shown = {k: int(re.sub(r"\D", "", page.text_content(f"[data-total={k}]") or "")) for k in KEYS}
        page.close()
        provinces = api.get("/api/v1/audit/rollups").json()
        totals = {k: sum(p["totals"][k] for p in provinces) for k in KEYS}
        return shown if shown == totals else None  # the stream may still be settling: read both again

    shown = eventually(same, what="the dashboard's totals equal the API's")
    assert shown["received"] >= 2 and shown["dispatched"] >= 2

    province = world["office"].split(".")[0]
    page = desk.new_page()
    page.goto("/audit")
    page.click(f"#rollup tr[data-code='{province}'] a")
    page.wait_for_url(f"**/audit?province={province}")
    office_row = page.locator(f"#rollup tr[data-code='{world['office']}']")
    api_office = next(
        o
        for p in api.get("/api/v1/audit/rollups", params={"province": province}).json()
        for o in p["offices"]
        if o["code"] == world["office"]
    )
    cells = [int(re.sub(r"\D", "", c) or 0) for c in office_row.locator("td").all_text_contents()]
    assert cells == [api_office[k] for k in KEYS]
    page.close()


def test_the_dashboards_chart_draws_the_apis_numbers_laggards_first(
    desk: BrowserContext, api: httpx.Client, world: dict[str, Any]
) -> None:
    def drawn() -> dict[str, list[int]] | None:
        page = desk.new_page()
        page.goto("/audit")
        page.wait_for_selector("#chart[data-drawn]")
        names = page.eval_on_selector("#chart-data", "e => JSON.parse(e.textContent).labels")
        series = page.eval_on_selector("#chart", "c => JSON.parse(c.dataset.drawn)")
        # Something was painted: the canvas is not blank.
        painted = page.eval_on_selector(
            "#chart", "c => c.getContext('2d').getImageData(0, 0, c.width, c.height).data.some(v => v !== 0)"
        )
        page.close()
        assert painted
        provinces = {p["name"] or p["code"]: p["totals"] for p in api.get("/api/v1/audit/rollups").json()}
        if set(names) != set(provinces):
            return None
        received, on_the_way, late, not_sent = series
        for i, name in enumerate(names):
            t = provinces[name]
            if (received[i], late[i]) != (t["received"], t["missing"]):
                return None  # the stream may still be settling: read both again
            assert on_the_way[i] == t["in_transit"] - t["missing"]
            assert not_sent[i] == t["planned"] - t["dispatched"]
            assert received[i] + on_the_way[i] + late[i] + not_sent[i] == t["planned"]
        shares = [received[i] / provinces[n]["planned"] for i, n in enumerate(names)]
        assert shares == sorted(shares), "the least received region leads"
        return {"names": names}

    shown = eventually(drawn, what="the chart's bars equal the API's roll-up")
    assert len(shown["names"]) >= 1


def test_a_laptops_page_shows_its_history_and_that_its_chain_verifies(
    desk: BrowserContext, api: httpx.Client, world: dict[str, Any]
) -> None:
    page = desk.new_page()
    page.goto("/audit")
    page.fill("#asset", world["asset"].lower())  # typed from a sticker, in any case
    page.click(".find button")
    page.wait_for_url(f"**/audit/laptop/{world['asset']}")
    assert page.get_attribute("[data-verdict]", "data-verdict") == "verified"
    types = page.eval_on_selector_all("#timeline li", "els => els.map(e => e.dataset.type)")
    assert "id.serah.laptop.received.v1" in types and types[0] == "id.serah.laptop.registered.v1"
    assert page.locator(f"a[href='/api/v1/audit/laptops/{world['asset']}/proof']").count() == 1
    # Its BMN value as the API holds it, written as Rupiah are written.
    held = api.get(f"/api/v1/laptops/{world['asset']}").json()
    assert held["acquisition_value"] == 9_500_000  # what the test registered
    assert page.get_attribute("#about [data-value]", "data-value") == "9500000"
    assert page.text_content("#about [data-value]") == "Rp\u00a09.500.000"
    page.close()


def test_filters_live_in_the_url_so_a_finding_is_shared_as_a_link(desk: BrowserContext) -> None:
    page = desk.new_page()
    page.goto("/audit/anomali")
    page.select_option("#rule", "received_twice")
    page.fill("#province", "73")
    page.click(".filters button")
    page.wait_for_url("**/audit/anomali?rule=received_twice&province=73&office=")
    shared = page.url
    assert page.locator("#anomalies").count() == 1  # the page itself, not a refusal
    rows = page.eval_on_selector_all("#anomalies tbody tr[data-rule]", "els => els.map(e => e.dataset.rule)")
    assert set(rows) <= {"received_twice"}
    counted = int(re.sub(r"\D", "", page.text_content("#count") or ""))
    assert counted == len(rows)
    again = desk.new_page()
    again.goto(shared)  # the colleague who opens the link sees the same filter, chosen
    assert again.input_value("#rule") == "received_twice" and again.input_value("#province") == "73"
    again.close()
    page.close()


def test_an_auditor_of_one_region_is_refused_another_on_a_page_that_says_so(browser: Browser, stack: Stack) -> None:
    context = auditor(browser, stack, scope="32")
    page = context.new_page()
    answer = page.goto("/audit?province=73")
    assert answer is not None and answer.status == 403
    assert page.get_attribute("[data-refusal]", "data-refusal") == "not_your_region"
    assert "di luar wilayah audit Anda" in page.text_content("main")
    mine = page.goto("/audit")
    assert mine is not None and mine.status == 200
    context.close()


def test_a_visitor_who_is_not_signed_in_is_sent_to_sign_in_and_a_warehouse_clerk_is_told_why(
    browser: Browser, stack: Stack
) -> None:
    anonymous = browser.new_context(base_url=stack.url)
    page = anonymous.new_page()
    page.goto("/audit/anomali?rule=received_twice")
    assert page.url.endswith("/masuk?next=/audit/anomali%3Frule%3Dreceived_twice")
    anonymous.close()
    clerk = browser.new_context(
        base_url=stack.url, extra_http_headers=signed_in(device_token(stack, ("warehouse",), name="gudang"))
    )
    page = clerk.new_page()
    answer = page.goto("/audit")
    assert answer is not None and answer.status == 403
    assert page.get_attribute("[data-refusal]", "data-refusal") == "not_allowed"
    clerk.close()


def test_the_pages_fit_a_phone_read_in_english_after_the_switch_and_are_photographed(
    browser: Browser, stack: Stack, world: dict[str, Any]
) -> None:
    pages = {
        "audit-dashboard": "/audit",
        "audit-anomalies": "/audit/anomali",
        "audit-attestations": "/audit/atestasi",
        "audit-consignments": "/audit/konsinyasi",
        "audit-laptop": f"/audit/laptop/{world['asset']}",
    }
    for width in (360, 1280):
        context = auditor(browser, stack, width=width)
        for name, path in pages.items():
            page = context.new_page()
            page.goto(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= width, (name, width)
            page.close()
            shoot(context, path, f"{name}-{width}")
        context.close()
    context = auditor(browser, stack)
    page = context.new_page()
    page.goto("/audit")
    assert page.get_attribute("html", "lang") == "id" and "Dasbor audit" in page.text_content("h1")
    page.click("text=English")
    page.wait_for_url("**/audit")
    assert page.get_attribute("html", "lang") == "en" and "Audit dashboard" in page.text_content("h1")
    context.close()
