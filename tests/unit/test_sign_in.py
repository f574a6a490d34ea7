"""Signing in, sessions, CSRF, lock-out and devices, through the in-process gateway."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from services.gateway.auth.model import Grant, Role
from services.gateway.deps import CSRF_HEADER, SESSION_COOKIE
from tests.builders import NOW
from tests.gateway_fakes import client, rejecting

PASSWORD = "kata sandi yang panjang"
NIP = "198001012005011001"


def run(test: Any) -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.ADMIN),)) as admin:
            made = await admin.post(
                "/api/v1/accounts",
                json={
                    "name": "Siti Rahma",
                    "nip": NIP,
                    "jabatan": "Kepala Kesbangpol",
                    "grants": [{"role": "recipient", "scope": "73.71"}],
                    "password": PASSWORD,
                },
            )
            assert made.status_code == 201, made.text
            assert "password" not in made.text and "hash" not in made.text
            person = httpx.AsyncClient(transport=admin._transport, base_url="http://gateway.test")
            await test(admin, person)

    asyncio.run(go())


def test_a_person_signs_in_with_the_nip_and_acts_with_the_session_and_its_csrf_token() -> None:
    async def test(admin: httpx.AsyncClient, person: httpx.AsyncClient) -> None:
        assert (await person.get("/api/v1/me")).status_code == 401
        r = await person.post("/api/v1/session", json={"account": NIP, "password": PASSWORD})
        assert r.status_code == 200, r.text
        cookie = r.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and SESSION_COOKIE in cookie
        me = (await person.get("/api/v1/me")).json()
        assert me["actor"] == f"nip:{NIP}" and me["grants"] == [{"role": "recipient", "scope": "73.71"}]
        # a change without the CSRF token is refused even with the cookie
        bare = await person.post("/api/v1/scans/receipt", json={"scan_id": "r-1", "label": "x"})
        assert bare.status_code == 403 and bare.json()["code"] == "csrf_token_missing"
        with_token = await person.post(
            "/api/v1/scans/receipt",
            json={"scan_id": "r-1", "label": "x"},
            headers={CSRF_HEADER: r.json()["csrf_token"]},
        )
        assert with_token.status_code == 422 and with_token.json()["code"] == "label_malformed"  # past the door
        out = await person.request("DELETE", "/api/v1/session", headers={CSRF_HEADER: r.json()["csrf_token"]})
        assert out.status_code == 204
        # the session is gone on the server: the old cookie does not work any more
        person.cookies.set(SESSION_COOKIE, r.cookies[SESSION_COOKIE])
        assert (await person.get("/api/v1/me")).status_code == 401

    run(test)


def test_five_wrong_passwords_lock_the_account_and_the_answer_never_says_which_part_was_wrong() -> None:
    async def test(admin: httpx.AsyncClient, person: httpx.AsyncClient) -> None:
        unknown = await person.post("/api/v1/session", json={"account": "199001012015011002", "password": PASSWORD})
        for _ in range(5):
            wrong = await person.post("/api/v1/session", json={"account": NIP, "password": "not the password!"})
            assert wrong.status_code == 401
            assert wrong.json()["detail"] == unknown.json()["detail"]  # no account probing
        locked = await person.post("/api/v1/session", json={"account": NIP, "password": PASSWORD})
        assert locked.status_code == 429 and locked.json()["code"] == "account_locked", locked.text
        assert "minute" in locked.json()["detail"] and 0 < int(locked.headers["retry-after"]) <= 15 * 60
        # the lock ends with time
        admin.gateway.clock = lambda: NOW + timedelta(minutes=16)  # type: ignore[attr-defined]
        admin.gateway.identity.clock = admin.gateway.clock  # type: ignore[attr-defined]
        assert (await person.post("/api/v1/session", json={"account": NIP, "password": PASSWORD})).status_code == 200

    run(test)


def test_a_revoked_device_is_cut_off_at_once_and_no_one_else_is() -> None:
    async def test(admin: httpx.AsyncClient, person: httpx.AsyncClient) -> None:
        grants = [{"role": "warehouse", "scope": "*"}]
        phones = [
            (await admin.post("/api/v1/devices", json={"name": f"HP {n}", "grants": grants})).json() for n in (1, 2)
        ]
        assert all(p["token"].startswith("srh_") and "<svg" in p["enrol_qr_svg"] for p in phones)
        listed = (await admin.get("/api/v1/devices")).json()
        assert "token" not in str(listed) and {p["id"] for p in phones} <= {d["id"] for d in listed}
        as_phone = [{"Authorization": f"Bearer {p['token']}"} for p in phones]
        assert (await person.get("/api/v1/me", headers=as_phone[0])).json()["actor"] == f"device:{phones[0]['id']}"
        revoked = await admin.request("DELETE", f"/api/v1/devices/{phones[0]['id']}")
        assert revoked.status_code == 200 and revoked.json()["revoked_at"]
        cut = await person.get("/api/v1/me", headers=as_phone[0])
        assert cut.status_code == 401 and cut.json()["code"] == "token_refused"
        assert (await person.get("/api/v1/me", headers=as_phone[1])).status_code == 200
        tampered = as_phone[1]["Authorization"][:-2] + "xx"
        assert (await person.get("/api/v1/me", headers={"Authorization": tampered})).status_code == 401

    run(test)


def test_the_actor_comes_from_who_signed_in_never_from_the_request() -> None:
    async def test(admin: httpx.AsyncClient, person: httpx.AsyncClient) -> None:
        body = {"scan_id": "s-1", "label": "x", "actor": "someone-else"}
        r = await admin.post("/api/v1/scans/dispatch", json=body)
        assert r.status_code == 403  # an admin is not the warehouse; and `actor` is not a field
        async with client(rejecting("invalid_command")) as anyone_role:
            r = await anyone_role.post("/api/v1/scans/dispatch", json=body)
            assert r.status_code == 422 and r.json()["code"] == "invalid_request"

    run(test)


@pytest.mark.parametrize("password", ["", "short", "x" * 11])
def test_a_short_password_is_refused_with_a_reason(password: str) -> None:
    async def test(admin: httpx.AsyncClient, person: httpx.AsyncClient) -> None:
        r = await admin.post(
            "/api/v1/accounts",
            json={"name": "A", "grants": [{"role": "auditor"}], "password": password},
        )
        assert r.status_code == 422

    run(test)


def test_the_sign_in_page_signs_a_browser_in_and_out_with_its_form_tokens() -> None:
    async def test(admin: httpx.AsyncClient, browser: httpx.AsyncClient) -> None:
        page = await browser.get("/masuk?next=/bast/KSB-1")
        assert page.status_code == 200 and 'name="password"' in page.text
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        # a form posted without the token its page carried (another site's form) is refused
        forged = await browser.post("/masuk", data={"account": NIP, "password": PASSWORD, "csrf_token": "x"})
        assert forged.status_code == 403 and "kedaluwarsa" in forged.text
        page = await browser.get("/masuk")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        wrong = await browser.post("/masuk", data={"account": NIP, "password": "nope", "csrf_token": token})
        assert wrong.status_code == 401 and "Akun atau kata sandi salah" in wrong.text and "The account" in wrong.text
        page = await browser.get("/masuk")
        token = page.text.split('name="csrf_token" value="')[1].split('"')[0]
        body = {"account": NIP, "password": PASSWORD, "csrf_token": token, "next": "//evil.example/x"}
        ok = await browser.post("/masuk", data=body)
        assert ok.status_code == 303 and ok.headers["location"] == "/", ok.text  # never off the site
        signed = await browser.get("/masuk")
        assert 'id="who"' in signed.text and "Siti Rahma" in signed.text
        csrf = signed.text.split('name="csrf_token" value="')[1].split('"')[0]
        out = await browser.post("/keluar", data={"csrf_token": csrf})
        assert out.status_code == 303
        assert (await browser.get("/api/v1/me")).status_code == 401

    run(test)


@given(st.text(max_size=40))
def test_after_signing_in_the_browser_never_leaves_the_site(path: str) -> None:
    from services.gateway.web.signing import safe_next

    target = safe_next(path)
    assert target.startswith("/") and not target.startswith(("//", "/\\"))
    assert not any(c in target for c in "\r\n\t")
    assert target in (path, "/")


def test_without_an_identity_provider_the_sso_routes_say_so_and_the_page_offers_no_button() -> None:
    async def test(admin: httpx.AsyncClient, browser: httpx.AsyncClient) -> None:
        page = await browser.get("/masuk")
        assert page.status_code == 200 and 'id="sign-in-sso"' not in page.text
        for path in ("/masuk/sso", "/masuk/sso/kembali?state=x&code=y"):
            off = await browser.get(path)
            assert off.status_code == 404 and 'data-verdict="sso_off"' in off.text, path
            assert "Masuk lewat SSO instansi tidak diaktifkan" in off.text and "not set up here" in off.text

    run(test)


# Secrets a client sends back (a CSRF token in a header or a form, a state in a cookie, a
# bearer token) are compared in constant time; any text at all must be a refusal, never a
# 500 (``hmac.compare_digest`` raises on two strings with a character outside ASCII).
secret_texts = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"), min_size=1
)


@given(sent=secret_texts)
@settings(max_examples=40, deadline=None)
def test_any_csrf_token_a_client_sends_is_checked_and_refused_never_an_error(sent: str) -> None:
    async def test(admin: httpx.AsyncClient, person: httpx.AsyncClient) -> None:
        signed = await person.post("/api/v1/session", json={"account": NIP, "password": PASSWORD})
        assert signed.status_code == 200
        header = await person.post(
            "/api/v1/scans/receipt",
            json={"scan_id": "r-1", "label": "x"},
            headers={CSRF_HEADER.encode(): sent.strip().encode("latin-1") or b"x"},
        )
        assert header.status_code == 403 and header.json()["code"] == "csrf_token_missing"
        form = await person.post("/masuk", data={"account": NIP, "password": PASSWORD, "csrf_token": sent})
        assert form.status_code == 403 and "kedaluwarsa" in form.text
        token = await person.get("/api/v1/me", headers={b"authorization": b"Bearer " + sent.encode("latin-1")})
        assert token.status_code == 401

    run(test)


def test_equal_secrets_are_equal_and_any_two_texts_compare_without_error() -> None:
    from events.text import same_secret

    assert same_secret("abc", "abc") and not same_secret("abc", "abd")
    assert not same_secret("tök", "tok") and same_secret("tök", "tök") and not same_secret("\udcff", "x")
