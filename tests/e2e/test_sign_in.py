"""Sign-in against the real stack: the first administrator made from the shell,
a session cookie with its CSRF token, devices enrolled and revoked, office scoping,
and every state-changing route refusing an anonymous client."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from typing import Any

import httpx
import pytest

from deploy.local.stack import Stack
from tests.conftest import device_token, signed_in
from tests.e2e.test_consignment_races import dispatched, receipt
from tests.e2e.test_hostile_routes import ROUTES, Route, world

PASSWORD = "kata sandi yang cukup panjang"


def nip() -> str:
    return "19" + str(uuid.uuid4().int)[:16]


def admin_from_the_shell(stack: Stack, name: str, roles: list[str]) -> str:
    """``serah admin create`` as an operator runs it on the server: the account's NIP."""
    assert stack.store is not None
    number = nip()
    assert stack.kafka is not None
    # As on the server: the shell reaches Kafka, so the account's fact is published at once
    # (not a minute later by the gateway, in the middle of another test's reading of the world).
    env = {
        **os.environ,
        "SERAH_MONGO_URL": stack.store.url,
        "SERAH_MONGO_DB": stack.mongo_db,
        "SERAH_KAFKA_BOOTSTRAP": stack.kafka.bootstrap,
    }
    env["SERAH_ADMIN_PASSWORD"] = PASSWORD
    cli = [sys.executable, "-m", "services.cli", "admin", "create", "--name", name, "--nip", number]
    out = subprocess.run([*cli, *(x for r in roles for x in ("--role", r))], env=env, capture_output=True, text=True)
    assert out.returncode == 0 and f"nip-{number}" in out.stdout, out.stderr
    return number


def sign_in(browser: httpx.Client, number: str) -> dict[str, str]:
    r = browser.post("/api/v1/session", json={"account": number, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"X-CSRF-Token": r.json()["csrf_token"]}


def test_the_first_administrator_signs_in_enrols_a_device_and_revokes_it(stack: Stack) -> None:
    number = admin_from_the_shell(stack, "Admin Pusat", ["admin"])
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        r = browser.post("/api/v1/session", json={"account": number, "password": PASSWORD})
        assert r.status_code == 200, r.text
        csrf = {"X-CSRF-Token": r.json()["csrf_token"]}
        grants = [{"role": "warehouse", "scope": "*"}]
        assert browser.post("/api/v1/devices", json={"name": "HP", "grants": grants}).status_code == 403  # no CSRF
        phone = browser.post("/api/v1/devices", json={"name": "HP gudang", "grants": grants}, headers=csrf).json()
        with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(phone["token"])) as device:
            assert device.get("/api/v1/me").json()["actor"] == f"device:{phone['id']}"
            assert browser.request("DELETE", f"/api/v1/devices/{phone['id']}", headers=csrf).status_code == 200
            cut = device.get("/api/v1/me")
            assert cut.status_code == 401 and cut.json()["code"] == "token_refused"  # at once
        listed = {d["id"]: d for d in browser.get("/api/v1/devices").json()}
        assert listed[phone["id"]]["last_used_at"] and listed[phone["id"]]["revoked_by"] == f"nip:{number}"
        assert browser.request("DELETE", "/api/v1/session", headers=csrf).status_code == 204
        assert browser.get("/api/v1/me").status_code == 401


def test_wrong_passwords_lock_an_account_on_the_real_store(stack: Stack) -> None:
    number = admin_from_the_shell(stack, "Auditor Wilayah", ["auditor:32"])
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        for _ in range(5):
            assert browser.post("/api/v1/session", json={"account": number, "password": "x" * 12}).status_code == 401
        locked = browser.post("/api/v1/session", json={"account": number, "password": PASSWORD})
        assert locked.status_code == 429 and locked.json()["code"] == "account_locked"


def test_an_official_signs_only_for_their_own_office_and_only_as_themselves(api: httpx.Client, stack: Stack) -> None:
    number = admin_from_the_shell(stack, "Andi Pratama", ["recipient:73.71"])
    official = {"name": "Andi Pratama", "nip": number, "jabatan": "Kepala Badan Kesbangpol"}
    other = {"name": "Siti Rahma", "nip": nip(), "jabatan": "Sekretaris"}
    cid, code, units = dispatched(api, 1, [official, other])
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        csrf = sign_in(browser, number)
        as_other = browser.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, other, code), headers=csrf)
        assert as_other.status_code == 403 and as_other.json()["code"] == "not_yourself", as_other.text
    elsewhere = device_token(stack, ("recipient",), scope="32.73", name="tablet Bandung")
    with httpx.Client(base_url=stack.url, timeout=30, headers=signed_in(elsewhere)) as tablet:
        refused = tablet.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, official, code))
        assert refused.status_code == 403 and refused.json()["code"] == "not_your_office", refused.text
    with httpx.Client(base_url=stack.url, timeout=30) as browser:
        csrf = sign_in(browser, number)
        done = browser.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, official, code), headers=csrf)
        assert done.status_code == 200, done.text
        assert done.json()["event"]["actor"] == f"nip:{number}"  # who signed, from the sign-in


CHANGES = [r for r in ROUTES if r.method in ("POST", "PUT", "DELETE")]


@pytest.mark.parametrize("route", CHANGES, ids=lambda r: f"{r.method} {r.template}")
def test_every_change_refuses_an_anonymous_client_and_changes_nothing(route: Route, stack: Stack, mongo: Any) -> None:
    public = {
        ("POST", "/api/v1/session"),
        ("POST", "/api/v1/consignments/{consignment_id}/bast/verify"),
        ("POST", "/api/v1/documents/{document_id}/verify"),  # anyone checks a document against its QR
        ("POST", "/bast/{consignment_id}"),
        ("POST", "/masuk"),
        ("POST", "/keluar"),
    }
    if (route.method, route.template) in public:
        with httpx.Client(base_url=stack.url, timeout=30) as anonymous:
            r = anonymous.request(route.method, route.path(), json={} if route.body is not None else None)
        assert r.status_code != 401, r.text
        return
    before = world(stack, mongo)  # after the stream settled
    with httpx.Client(base_url=stack.url, timeout=30) as anonymous:
        r = anonymous.request(route.method, route.path(), json={} if route.body is not None else None)
    if r.status_code == 303:  # a page's form: to sign in first, and back
        assert r.headers["location"].startswith("/masuk?next="), r.headers
    else:
        assert r.status_code == 401 and r.json()["code"] == "sign_in_required", r.text
    assert world(stack, mongo) == before, f"{route.method} {route.template}: a refused request changed something"
