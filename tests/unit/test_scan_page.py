"""The scanning page and what its script reads, in-process: who reaches it and with which
modes, the session's CSRF token and the words it carries, the policy that lets its QR
decoder run, the service worker's scope, and the list of re-issued labels."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from services.gateway.auth.model import Grant, Role
from services.gateway.web import scan
from tests.gateway_fakes import EmptyReads, client, rejecting

PASSWORD = "kata sandi yang panjang"
NIP = "198001012005011001"


def as_person(role: str, test: Callable[[httpx.AsyncClient, str], Awaitable[None]]) -> None:
    """``test`` gets a browser signed in as a person holding ``role``, and the session's CSRF token."""

    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.ADMIN),)) as admin:
            made = await admin.post(
                "/api/v1/accounts",
                json={
                    "name": "Budi Santoso",
                    "nip": NIP,
                    "grants": [{"role": role, "scope": "*"}],
                    "password": PASSWORD,
                },
            )
            assert made.status_code == 201, made.text
            async with httpx.AsyncClient(transport=admin._transport, base_url="http://gateway.test") as person:
                r = await person.post("/api/v1/session", json={"account": NIP, "password": PASSWORD})
                assert r.status_code == 200, r.text
                await test(person, r.json()["csrf_token"])

    asyncio.run(go())


def modes(page: str) -> list[str]:
    return re.findall(r'name="mode" value="([a-z-]+)"', page)


def test_a_signed_out_visitor_is_sent_to_sign_in_and_back() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=None) as anonymous:
            r = await anonymous.get("/pindai")
            assert r.status_code == 303 and r.headers["location"] == "/masuk?next=/pindai"

    asyncio.run(go())


def test_warehouse_staff_get_the_warehouse_modes_the_session_token_and_a_policy_that_runs_the_decoder() -> None:
    async def test(person: httpx.AsyncClient, csrf: str) -> None:
        r = await person.get("/pindai")
        assert r.status_code == 200, r.text
        assert modes(r.text) == ["consignment", "dispatch", "warehouse-return"]
        assert f'data-csrf="{csrf}"' in r.text
        assert '<script type="module" src="/static/web/build/scan.js"></script>' in r.text
        assert "<script>" not in r.text  # nothing inline: the site's policy forbids it
        policy = r.headers["content-security-policy"]
        assert "script-src 'self' 'wasm-unsafe-eval'" in policy and "unsafe-inline" not in policy.split("style-src")[0]
        assert r.headers["cache-control"] == "private, no-cache"
        assert 'href="/pindai" aria-current="page">Pindai<' in r.text  # in the header, for this role
        assert 'data-r-label-forged="Tanda tangan label tidak cocok' in r.text  # Indonesian first
        english = await person.get("/pindai", params={"lang": "en"})
        assert 'data-r-label-forged="The label&#x27;s signature does not match' in english.text
        assert "Into a consignment" in english.text and "Masuk ke kiriman" not in english.text

    as_person("warehouse", test)


def test_a_person_without_a_scanning_role_is_told_why_not() -> None:
    async def test(person: httpx.AsyncClient, csrf: str) -> None:
        r = await person.get("/pindai")
        assert r.status_code == 403
        assert 'data-refusal="not_allowed"' in r.text and modes(r.text) == [] and 'id="scanner"' not in r.text
        assert 'href="/pindai"' not in (await person.get("/")).text  # and the header does not offer it

    as_person("auditor", test)


def test_a_recipient_device_gets_the_office_modes_and_no_csrf_token() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.RECIPIENT, scope="73.71"),)) as device:
            r = await device.get("/pindai")
            assert r.status_code == 200
            assert modes(r.text) == [
                "receipt",
                "attestation",
                "holder-return",
                "repair-out",
                "repair-back",
                "recovery",
                "transfer",
            ]
            assert 'data-csrf=""' in r.text

    asyncio.run(go())


def test_a_holder_confirms_and_attests_the_laptop_they_hold() -> None:
    async def test(person: httpx.AsyncClient, csrf: str) -> None:
        r = await person.get("/pindai")
        assert r.status_code == 200 and modes(r.text) == ["attestation", "assignment"]
        assert 'href="/pindai" aria-current="page">Pindai<' in r.text

    as_person("holder", test)


def test_each_mode_sends_a_route_that_lets_in_exactly_its_roles_and_takes_its_fields() -> None:
    from services.gateway.app import create_app
    from tests.gateway_fakes import settings
    from tests.unit.test_authorisation import EXPECTED

    schema = create_app(settings()).openapi()
    for name, mode in scan.MODES.items():
        assert EXPECTED[("POST", mode.route)] == frozenset(mode.roles), name
        operation = schema["paths"][mode.route]["post"]
        ref = operation["requestBody"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
        takes = set(schema["components"]["schemas"][ref]["properties"])
        assert set(mode.fields) <= takes, (name, set(mode.fields) - takes)
        assert {"scan_id", "label"} <= takes, name


def test_every_word_of_the_script_is_there_in_both_languages() -> None:
    keys = [key for key, _, _ in scan.WORDS]
    assert len(keys) == len(set(keys))
    assert all(id_.strip() and en.strip() for _, id_, en in scan.WORDS)
    assert set(scan.MODE_NAMES) == set(scan.MODES)


def test_the_service_worker_may_control_the_scanning_page() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=None) as anonymous:
            r = await anonymous.get("/pindai/sw.js")
            assert r.status_code == 200 and r.headers["content-type"].startswith("text/javascript")
            assert r.headers["service-worker-allowed"] == "/pindai"
            assert r.headers["cache-control"] == "no-cache"  # a new release's worker replaces the old
            assert b"serah-scan-" in r.content

    asyncio.run(go())


class Reissued(EmptyReads):
    """Three laptops: one with its first label, two re-issued."""

    VIEWS = [
        {"_id": "SRH0000000001", "kind": "laptop", "label_generation": 1},
        {"_id": "SRH0000000002", "kind": "laptop", "label_generation": 2},
        {"_id": "SRH0000000003", "kind": "laptop", "label_generation": 5},
        {"_id": "SRH0000000004", "kind": "laptop", "label_generation": 1, "label_revoked": True},  # written off
    ]

    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        [reissued, revoked] = query["$or"]
        least = reissued["label_generation"]["$gte"]
        return [
            v
            for v in self.VIEWS
            if v["label_generation"] >= least or v.get("label_revoked") == revoked["label_revoked"]
        ][:limit]


def test_the_revocation_list_names_each_re_issued_label_with_its_current_generation_and_revoked_ones_past_it() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.WAREHOUSE),), reads=Reissued()) as api:
            r = await api.get("/api/v1/label-revocations")
            assert r.status_code == 200, r.text
            assert r.json() == [
                {"asset_id": "SRH0000000002", "generation": 2},
                {"asset_id": "SRH0000000003", "generation": 5},
                {"asset_id": "SRH0000000004", "generation": 2},  # its generation 1 too is revoked
            ]
            # It takes no input: whatever is sent along changes nothing.
            hostile = await api.get(
                "/api/v1/label-revocations",
                params={"label_generation": "0", "limit": "-1", "$where": "1", "asset_id": "../../x\x00"},
                headers={"Range": "bytes=0-1", "X-Forwarded-For": "' OR 1=1"},
            )
            assert hostile.status_code == 200 and hostile.json() == r.json()
            api.headers.pop("Authorization")
            refused = await api.get("/api/v1/label-revocations")
            assert refused.status_code == 401 and refused.json()["code"] == "sign_in_required"

    asyncio.run(go())
