"""The web pages, in a real browser (Debian's Chromium, headless), with no
network beyond the gateway: nothing may come from a CDN."""

from __future__ import annotations

from typing import Any

from playwright.sync_api import Browser

from deploy.local.stack import Stack


def page_at(browser: Browser, stack: Stack, path: str) -> tuple[Any, list[str]]:
    context = browser.new_context()
    foreign: list[str] = []
    page = context.new_page()
    page.on("request", lambda r: foreign.append(r.url) if not r.url.startswith(stack.url) else None)
    page.goto(stack.url + path)
    return page, foreign


def test_the_api_docs_render_without_any_cdn(browser: Browser, stack: Stack) -> None:
    page, foreign = page_at(browser, stack, "/docs")
    page.wait_for_selector('[data-path="/api/v1/scans/dispatch"]', timeout=20000)
    assert page.locator(".opblock").count() >= 8
    assert foreign == []


def test_a_genuine_label_opens_its_public_page(browser: Browser, stack: Stack, registered: tuple[str, str]) -> None:
    asset, label = registered
    path = label[label.index("/L/") :]
    page, foreign = page_at(browser, stack, path)
    assert page.locator("text=Label Serah asli").is_visible()
    assert page.locator(f"text={asset}").first.is_visible()
    assert foreign == []


def test_a_forged_label_shows_a_warning(browser: Browser, stack: Stack, registered: tuple[str, str]) -> None:
    _, label = registered
    head, sig = label.rsplit("/", 1)
    forged = head[head.index("/L/") :] + "/" + ("A" if sig[0] != "A" else "B") + sig[1:]
    page, _ = page_at(browser, stack, forged)
    assert page.locator("text=Label tidak sah").is_visible()
    assert page.locator("text=label_forged").is_visible()
