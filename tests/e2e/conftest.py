from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, sync_playwright

from deploy.local.stack import Stack
from tests.builders import DISPATCHER
from tests.conftest import new_serial, signed_in

# The body of a close sent by the tests' device: a device names the dispatching official.
CLOSE = {"dispatcher": DISPATCHER}

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless (a test tool's own browser download cannot work here)."""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture(scope="session")
def api(stack: Stack, token: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(token)) as client:
        yield client


def register(api: httpx.Client, **overrides: Any) -> dict[str, Any]:
    body = {
        "serial": new_serial(),
        "brand": "Lenovo",
        "model": "ThinkPad E14 Gen 5",
        "specs": {"cpu": "Intel Core i5-1335U", "ram_gb": 16, "storage_gb": 512},
        **overrides,
    }
    r = api.post("/api/v1/laptops", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def label_of(api: httpx.Client, asset_id: str) -> str:
    r = api.get(f"/api/v1/laptops/{asset_id}")
    assert r.status_code == 200, r.text
    return r.json()["label_url"]  # type: ignore[no-any-return]


@pytest.fixture
def registered(api: httpx.Client) -> tuple[str, str]:
    """A freshly registered laptop: (asset_id, label text)."""
    asset = register(api)["subject"]
    from tests.conftest import eventually

    label = eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json().get("label_url"), what="laptop view")
    return asset, label


@pytest.fixture(autouse=True)
def _every_message_checked_against_its_schema(wire_watch: Any) -> None:
    """Starts the session's wire check (tests/wire.py) with the first end-to-end test."""


@pytest.fixture(autouse=True)
def cli_acts_as_the_test_device(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """``serah`` commands a test runs (import, import-plan, labels) send SERAH_TOKEN, as an
    operator's shell would with a device enrolled for it."""
    if "stack" in request.fixturenames:
        monkeypatch.setenv("SERAH_TOKEN", request.getfixturevalue("token"))


def as_device(stack: Stack, name: str, roles: tuple[str, ...], scope: str = "*") -> tuple[httpx.Client, str]:
    """A client acting as a device enrolled with ``roles`` for ``scope``, and how the
    history records it (``device:<id>``). Close the client when done."""
    from tests.conftest import device_token

    client = httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(device_token(stack, roles, scope, name)))
    return client, client.get("/api/v1/me").json()["actor"]
