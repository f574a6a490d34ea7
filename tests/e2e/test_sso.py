"""Signing in through an organisation's identity provider: a real Keycloak on loopback
(tests/keycloak.py) and a gateway of the test stack configured to use it. People sign
in at Keycloak's own login form; their roles, NIP, jabatan and office come from
Keycloak's claims; what the gateway makes of them is checked through the API and in
the history."""

from __future__ import annotations

import html
import json
import re
import secrets
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser

from deploy.local import procs
from deploy.local.stack import Stack
from deploy.local.tools import free_port, wait_for_port
from tests.conftest import eventually
from tests.keycloak import CLIENT_ID, Keycloak, start_keycloak

PASSWORD = "sandi-rahasia-penyedia"


def nip() -> str:
    return "19" + str(uuid.uuid4().int)[:16]


@dataclass
class Sso:
    keycloak: Keycloak
    gateway: str  # the URL of the gateway that signs people in through Keycloak

    def person(self, roles: list[str], **attributes: str) -> tuple[str, str]:
        """A new person at the provider: (username, Keycloak user id)."""
        username = f"siti-{secrets.token_hex(4)}"
        return username, self.keycloak.add_user(username, PASSWORD, roles, **attributes)


@pytest.fixture(scope="module")
def sso(stack: Stack, stack_dir: Path) -> Iterator[Sso]:
    """Keycloak, its realm, and a second gateway of the stack pointed at it."""
    keycloak = start_keycloak(stack_dir / "keycloak")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    secret = secrets.token_urlsafe(24)
    keycloak.make_realm(f"{url}/masuk/sso/kembali", secret)
    env = {
        **stack.service_env("gateway"),
        "SERAH_PORT": str(port),
        "SERAH_PUBLIC_BASE_URL": url,
        "SERAH_OIDC_ISSUER": keycloak.issuer,
        "SERAH_OIDC_CLIENT_ID": CLIENT_ID,
        "SERAH_OIDC_CLIENT_SECRET": secret,
        "SERAH_OIDC_DISPLAY_NAME": "Keycloak",
    }
    log = stack_dir / "logs" / "gateway-sso.log"
    gateway = procs.start([sys.executable, "-m", "services.gateway"], log, env)
    try:
        wait_for_port(port, 60, gateway, what=f"the SSO gateway (log: {log})")
        yield Sso(keycloak, url)
    finally:
        procs.stop(gateway)
        keycloak.stop()


def sign_in(sso: Sso, username: str, nxt: str = "/") -> tuple[httpx.Client, httpx.Response]:
    """A browser's round trip, by hand: to the gateway, on to Keycloak's login form, the
    form posted, and back to the gateway with the code. The client (its cookies) and the
    gateway's last answer."""
    browser = httpx.Client(base_url=sso.gateway, timeout=30)
    away = browser.get("/masuk/sso", params={"next": nxt})
    assert away.status_code == 303, away.text
    assert away.headers["location"].startswith(sso.keycloak.issuer + "/protocol/openid-connect/auth?")
    form = browser.get(away.headers["location"])
    assert form.status_code == 200, form.text
    action = re.search(r'<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"', form.text)
    assert action, form.text[:2000]
    # Keycloak marks its cookies Secure even on http://127.0.0.1, which a browser treats as
    # a secure origin and httpx does not: they are sent back by hand.
    jar = "; ".join(f"{c.name}={c.value}" for c in browser.cookies.jar if c.path.startswith("/realms/"))
    back = browser.post(
        html.unescape(action[1]), data={"username": username, "password": PASSWORD}, headers={"Cookie": jar}
    )
    assert back.status_code == 302, back.text[:2000]
    assert back.headers["location"].startswith(f"{sso.gateway}/masuk/sso/kembali?"), back.headers["location"]
    return browser, browser.get(back.headers["location"])


def chain(stack: Stack, token: str, subject: str) -> list[dict[str, Any]]:
    r = httpx.get(
        f"{stack.url}/api/v1/audit/export.jsonl",
        params={"subject": subject},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    lines = [json.loads(x) for x in r.text.splitlines()] if r.status_code == 200 else []
    return [x["event"] for x in lines if x["kind"] == "event"]


def verdict(page: httpx.Response) -> str | None:
    found = re.search(r'data-verdict="([a-z_]+)"', page.text)
    return found[1] if found else None


def test_a_recipient_official_signs_in_through_the_provider_with_the_office_its_claims_name(
    sso: Sso, stack: Stack, token: str
) -> None:
    number = nip()
    username, _ = sso.person(["recipient"], nip=number, jabatan="Kepala Dinas Pendidikan", office="73.71")
    browser, back = sign_in(sso, username, nxt="/masuk?from=sso")
    assert back.status_code == 303 and back.headers["location"] == "/masuk?from=sso", back.text[:500]
    assert "serah_session" in back.cookies
    me = browser.get("/api/v1/me").json()
    # Keycloak also sends its own roles (offline_access, default-roles-serah): not Serah's, passed over.
    assert me["grants"] == [{"role": "recipient", "scope": "73.71"}]
    assert me["actor"] == f"nip:{number}" and me["jabatan"] == "Kepala Dinas Pendidikan"
    assert me["name"] == f"{username.split('-')[0].title()} Pratama"

    # A real session: a change without the session's CSRF token is refused as for any session.
    refused = browser.post("/api/v1/laptops", json={})
    assert refused.status_code == 403 and refused.json()["code"] == "csrf_token_missing"

    # In the history: the account, made by the person themself, vouched for by the provider.
    [created] = eventually(lambda: chain(stack, token, f"account:nip-{number}"), what="the account's chain")
    assert created["type"] == "id.serah.account.created.v1" and created["actor"] == f"nip:{number}"
    assert created["data"]["provider"] == sso.keycloak.issuer
    assert created["data"]["grants"] == [{"role": "recipient", "scope": "73.71"}]

    # A local sign-in with the NIP cannot reach an account the provider vouches for.
    local = httpx.post(f"{stack.url}/api/v1/session", json={"account": number, "password": PASSWORD}, timeout=30)
    assert local.status_code == 401 and local.json()["code"] == "sign_in_refused"


def test_grants_follow_the_provider_at_the_next_sign_in_and_end_the_older_sessions(
    sso: Sso, stack: Stack, token: str
) -> None:
    number = nip()
    username, user_id = sso.person(["warehouse"], nip=number, office="32.73")
    first, _ = sign_in(sso, username)
    assert first.get("/api/v1/me").json()["grants"] == [{"role": "warehouse", "scope": "32.73"}]
    again, _ = sign_in(sso, username)  # unchanged: nothing new in the history
    assert again.get("/api/v1/me").status_code == 200 and first.get("/api/v1/me").status_code == 200

    sso.keycloak.set_roles(user_id, ["auditor", "recipient"])
    later, _ = sign_in(sso, username)
    assert later.get("/api/v1/me").json()["grants"] == [
        {"role": "auditor", "scope": "32.73"},
        {"role": "recipient", "scope": "32.73"},
    ]
    assert first.get("/api/v1/me").status_code == 401  # made under the old grants: ended
    facts = eventually(lambda: chain(stack, token, f"account:nip-{number}")[1:], what="the grants change")
    assert [f["type"] for f in facts] == ["id.serah.account.grants-changed.v1"]
    assert facts[0]["data"]["provider"] == sso.keycloak.issuer and facts[0]["actor"] == f"nip:{number}"


def test_a_sign_in_not_started_by_this_browser_or_brought_back_twice_is_refused(sso: Sso) -> None:
    username, _ = sso.person(["auditor"])
    browser, back = sign_in(sso, username)
    assert back.status_code == 303
    callback = str(back.request.url)
    # The same answer brought back again (a replayed URL): the state was used once.
    assert verdict(browser.get(callback)) == "sso_state"
    # Brought to another browser (no state cookie): refused, and nobody is signed in.
    other = httpx.get(callback, timeout=30)
    assert other.status_code == 400 and verdict(other) == "sso_state" and "serah_session" not in other.cookies
    # A state this gateway never gave.
    forged = httpx.Client(base_url=sso.gateway, timeout=30)
    forged.cookies.set("serah_sso", "x" * 43)
    assert verdict(forged.get("/masuk/sso/kembali", params={"state": "x" * 43, "code": "abc"})) == "sso_state"

    # The right browser and state, but a code the provider never issued: the provider says no.
    fresh = httpx.Client(base_url=sso.gateway, timeout=30)
    away = fresh.get("/masuk/sso")
    state = re.search(r"[?&]state=([^&]+)", away.headers["location"])
    assert state
    made_up = fresh.get("/masuk/sso/kembali", params={"state": state[1], "code": "not-a-code"})
    assert made_up.status_code == 400 and verdict(made_up) == "sso_refused"
    # The person cancelled at the provider.
    away = fresh.get("/masuk/sso")
    state = re.search(r"[?&]state=([^&]+)", away.headers["location"])
    assert state
    cancelled = fresh.get("/masuk/sso/kembali", params={"state": state[1], "error": "access_denied"})
    assert cancelled.status_code == 401 and verdict(cancelled) == "sso_cancelled"
    assert fresh.get("/api/v1/me").status_code == 401


def test_who_the_provider_gives_no_usable_role_is_told_what_to_ask_for(sso: Sso) -> None:
    nobody, _ = sso.person([])
    browser, page = sign_in(sso, nobody)
    assert page.status_code == 403 and verdict(page) == "sso_no_role", page.text[:500]
    assert "serah_roles" in page.text and browser.get("/api/v1/me").status_code == 401

    officeless, _ = sso.person(["recipient"], nip=nip())
    _, page = sign_in(sso, officeless)
    assert page.status_code == 403 and verdict(page) == "sso_claims_unreadable"
    assert "serah_office" in page.text


def test_a_local_account_with_the_same_nip_is_not_taken_over(sso: Sso, api: httpx.Client) -> None:
    number = nip()
    made = api.post(
        "/api/v1/accounts",
        json={"name": "Budi", "nip": number, "grants": [{"role": "auditor"}], "password": "kata sandi lokal panjang"},
    )
    assert made.status_code == 201, made.text
    username, _ = sso.person(["admin"], nip=number)
    browser, page = sign_in(sso, username)
    assert page.status_code == 409 and verdict(page) == "account_not_federated"
    assert browser.get("/api/v1/me").status_code == 401
    account = api.get("/api/v1/accounts").json()
    assert next(a for a in account if a["id"] == f"nip-{number}")["grants"] == [{"role": "auditor", "scope": "*"}]


def test_a_person_signs_in_with_the_browser_through_the_provider_and_signs_out(sso: Sso, browser: Browser) -> None:
    username, _ = sso.person(["auditor"], office="73")
    page = browser.new_page()
    try:
        page.goto(f"{sso.gateway}/masuk?next=/masuk")
        page.click("#sign-in-sso")
        page.fill("#username", username)
        page.fill("#password", PASSWORD)
        page.click("#kc-login")
        page.wait_for_url(f"{sso.gateway}/masuk")  # `next` of the sign-in page is itself
        assert page.text_content("#who") == f"{username.split('-')[0].title()} Pratama"
        page.click("#sign-out")
        page.wait_for_url(f"{sso.gateway}/masuk")
        assert page.locator("#sign-in-sso").is_visible()
        assert page.request.get(f"{sso.gateway}/api/v1/me").status == 401
    finally:
        page.close()
