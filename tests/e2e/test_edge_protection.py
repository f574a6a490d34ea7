"""The protection at the edge in the real stack: a page and an API answer carry the
security headers, the API docs render in Chromium under their policy without one
violation, and the gateway's access log shows a label page's path without its signature."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
from playwright.sync_api import Browser

from deploy.local.stack import Stack
from tests.conftest import eventually

HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options", "referrer-policy")
# Recorded from the page's first moment, before any of its own scripts run.
WATCH_VIOLATIONS = """
window.__violations = [];
document.addEventListener("securitypolicyviolation",
  e => window.__violations.push(e.violatedDirective + " " + e.blockedURI));
"""


def test_a_page_and_an_api_answer_carry_the_security_headers(
    api: httpx.Client, registered: tuple[str, str], stack: Stack
) -> None:
    asset, label = registered
    page = httpx.get(label, timeout=30)
    answer = api.get(f"/api/v1/laptops/{asset}")
    assert page.status_code == 200 and answer.status_code == 200
    for r in (page, answer):
        assert all(r.headers.get(h) for h in HEADERS), dict(r.headers)
        assert "script-src 'self';" in r.headers["content-security-policy"]
        assert r.headers["permissions-policy"].startswith("camera=(self)")
    # the access log has the label page's path, its signature blanked
    signature = label.rsplit("/", 1)[1]
    log = Path(stack.data) / "logs" / "gateway.log"
    seen = f'"GET /L/{asset}/{label.rsplit("/", 2)[1]}/[redacted] HTTP/1.1" 200'
    eventually(lambda: seen in log.read_text(errors="replace"), what="the label page in the access log")
    assert signature not in log.read_text(errors="replace")


def open_without_violations(browser: Browser, url: str, ready: str, act: Any = None) -> Any:
    page = browser.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.add_init_script(WATCH_VIOLATIONS)
    page.goto(url)
    page.wait_for_selector(ready, timeout=30_000)
    if act is not None:
        act(page)
    page.wait_for_load_state("networkidle")
    assert page.evaluate("window.__violations") == [], url
    assert errors == [], url
    return page


def test_the_api_docs_render_in_chromium_without_a_policy_violation(stack: Stack, browser: Browser) -> None:
    def try_one(page: Any) -> None:  # open an operation: its icons are data: images
        page.locator(".opblock-summary").first.click()
        page.wait_for_selector(".opblock-body")

    swagger = open_without_violations(browser, f"{stack.url}/docs", ".opblock", try_one)
    assert swagger.locator(".opblock").count() > 30
    swagger.close()

    def search(page: Any) -> None:  # ReDoc searches in a worker made from a blob
        page.fill("input.search-input", "receipt")
        page.wait_for_selector("[data-role='search:results'] li")

    redoc = open_without_violations(browser, f"{stack.url}/redoc", "h1", search)
    assert "Serah" in redoc.inner_text("h1")
    redoc.close()
