"""The authorisation matrix: every route × every role (and anonymous, and a revoked
device), asserting the exact set that gets past the door. The expected table is
written here, independently of the rules the routes state; a route missing from it,
or a rule that differs from it, fails."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute

from services.gateway.app import create_app
from services.gateway.auth.model import Grant, Role
from services.gateway.deps import rule_of
from tests.gateway_fakes import client, enrolled, rejecting, settings

ANYONE = frozenset({"anonymous", *Role})
SIGNED_IN = frozenset(Role)


def only(*roles: Role) -> frozenset[str]:
    return frozenset(roles)


EXPECTED: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/docs"): ANYONE,
    ("GET", "/redoc"): ANYONE,
    ("GET", "/static/redoc/redoc.standalone.js"): ANYONE,
    ("GET", "/"): ANYONE,
    ("GET", "/masuk"): ANYONE,
    ("GET", "/bahasa/{lang}"): ANYONE,
    ("GET", "/audit"): only(Role.AUDITOR),
    ("GET", "/penerimaan"): only(Role.RECIPIENT),
    ("GET", "/gudang"): only(Role.WAREHOUSE),
    ("GET", "/gudang/buka"): only(Role.WAREHOUSE),
    ("GET", "/gudang/{consignment_id}"): only(Role.WAREHOUSE),
    ("POST", "/gudang/{consignment_id}/kirim"): only(Role.WAREHOUSE),
    ("POST", "/gudang/{consignment_id}/manifest"): only(Role.WAREHOUSE),
    ("GET", "/kantor/laptop"): only(Role.RECIPIENT, Role.OPERATOR),
    ("GET", "/kantor/laptop/{asset_id}"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/laptop/{asset_id}/pemegang"): only(Role.RECIPIENT),
    ("POST", "/kantor/laptop/{asset_id}/kehilangan"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/laptop/{asset_id}/penghapusan"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/laptop/{asset_id}/penghapusan/setuju"): only(Role.OPERATOR),
    ("POST", "/kantor/laptop/{asset_id}/penghapusan/tolak"): only(Role.OPERATOR),
    ("GET", "/kantor/{code}/mutasi"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/{code}/mutasi"): only(Role.RECIPIENT, Role.OPERATOR),
    ("GET", "/kantor/{code}/mutasi/{consignment_id}"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/{code}/mutasi/{consignment_id}/kirim"): only(Role.RECIPIENT),
    ("GET", "/kantor/{code}/pegawai"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/{code}/pegawai"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/{code}/pegawai/tambah"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/kantor/{code}/pegawai/hapus"): only(Role.RECIPIENT, Role.OPERATOR),
    ("GET", "/penerimaan/buka"): only(Role.RECIPIENT),
    ("GET", "/penerimaan/{consignment_id}"): only(Role.RECIPIENT),
    ("POST", "/penerimaan/{consignment_id}"): only(Role.RECIPIENT),
    ("GET", "/audit/anomali"): only(Role.AUDITOR),
    ("GET", "/audit/atestasi"): only(Role.AUDITOR),
    ("GET", "/audit/konsinyasi"): only(Role.AUDITOR),
    ("GET", "/audit/laptop"): only(Role.AUDITOR),
    ("GET", "/audit/laptop/{asset_id}"): only(Role.AUDITOR),
    ("POST", "/masuk"): ANYONE,
    ("GET", "/masuk/sso"): ANYONE,
    ("GET", "/masuk/sso/kembali"): ANYONE,
    ("POST", "/keluar"): ANYONE,
    ("GET", "/l/{asset}/{key}/{signature}"): ANYONE,
    ("GET", "/l/{asset}/{key}/{signature}/"): ANYONE,
    ("GET", "/L/{asset}/{key}/{signature}"): ANYONE,
    ("GET", "/L/{asset}/{key}/{signature}/"): ANYONE,
    ("GET", "/pindai"): only(Role.WAREHOUSE, Role.RECIPIENT, Role.HOLDER),
    ("GET", "/pindai/sw.js"): ANYONE,
    ("GET", "/bast/{consignment_id}"): ANYONE,
    ("POST", "/bast/{consignment_id}"): ANYONE,
    ("GET", "/healthz"): ANYONE,
    # laptops
    ("POST", "/api/v1/laptops"): only(Role.OPERATOR),
    ("POST", "/api/v1/laptops/bulk"): only(Role.OPERATOR),
    ("GET", "/api/v1/laptops/{asset_id}"): SIGNED_IN,
    ("GET", "/api/v1/laptops/{asset_id}/history"): SIGNED_IN,
    ("GET", "/api/v1/laptops/{asset_id}/qr.svg"): only(Role.OPERATOR),
    ("GET", "/api/v1/laptops/{asset_id}/qr.png"): only(Role.OPERATOR),
    ("POST", "/api/v1/laptops/{asset_id}/allocation"): only(Role.OPERATOR),
    ("POST", "/api/v1/laptops/{asset_id}/label/reissue"): only(Role.OPERATOR),
    ("GET", "/api/v1/labels"): only(Role.OPERATOR),
    ("GET", "/api/v1/labels.pdf"): only(Role.OPERATOR),
    ("GET", "/api/v1/label-keys"): ANYONE,
    ("GET", "/api/v1/label-keys.json"): ANYONE,
    ("GET", "/api/v1/label-revocations"): SIGNED_IN,
    ("GET", "/api/v1/offices"): ANYONE,
    ("GET", "/api/v1/offices/{code}"): ANYONE,
    # scans and decisions
    ("POST", "/api/v1/scans/dispatch"): only(Role.WAREHOUSE),
    ("POST", "/api/v1/scans/receipt"): only(Role.RECIPIENT),
    ("POST", "/api/v1/scans/attestation"): only(Role.RECIPIENT, Role.HOLDER),
    # custody after receipt
    ("POST", "/api/v1/laptops/{asset_id}/holder"): only(Role.RECIPIENT),
    ("POST", "/api/v1/scans/assignment"): only(Role.HOLDER),
    ("POST", "/api/v1/scans/holder-return"): only(Role.RECIPIENT),
    ("POST", "/api/v1/scans/repair-out"): only(Role.RECIPIENT),
    ("POST", "/api/v1/scans/repair-back"): only(Role.RECIPIENT),
    ("POST", "/api/v1/laptops/{asset_id}/loss"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/api/v1/scans/recovery"): only(Role.RECIPIENT),
    ("POST", "/api/v1/scans/warehouse-return"): only(Role.WAREHOUSE),
    ("POST", "/api/v1/laptops/{asset_id}/write-off"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/api/v1/laptops/{asset_id}/write-off/approval"): only(Role.OPERATOR),
    ("POST", "/api/v1/laptops/{asset_id}/write-off/decline"): only(Role.OPERATOR),
    ("POST", "/api/v1/offices/{code}/roster"): only(Role.RECIPIENT, Role.OPERATOR),
    ("GET", "/api/v1/offices/{code}/roster"): only(Role.RECIPIENT, Role.OPERATOR),
    ("GET", "/api/v1/documents/{document_id}"): ANYONE,
    ("GET", "/api/v1/documents/{document_id}/pdf"): SIGNED_IN,
    ("POST", "/api/v1/documents/{document_id}/verify"): ANYONE,
    # transfers between offices (received through the consignment's receipt)
    ("POST", "/api/v1/transfers"): only(Role.RECIPIENT, Role.OPERATOR),
    ("POST", "/api/v1/transfers/{consignment_id}/scans"): only(Role.RECIPIENT),
    ("POST", "/api/v1/transfers/{consignment_id}/close"): only(Role.RECIPIENT),
    ("GET", "/api/v1/scans/{scan_id}"): SIGNED_IN,
    ("GET", "/api/v1/commands/{command_id}"): SIGNED_IN,
    # consignments
    ("POST", "/api/v1/consignments"): only(Role.OPERATOR),
    ("POST", "/api/v1/consignments/{consignment_id}/receipt-code"): only(Role.OPERATOR),
    ("POST", "/api/v1/consignments/{consignment_id}/scans"): only(Role.WAREHOUSE),
    ("POST", "/api/v1/consignments/{consignment_id}/close"): only(Role.WAREHOUSE),
    ("POST", "/api/v1/consignments/{consignment_id}/manifest.pdf"): only(Role.WAREHOUSE, Role.OPERATOR),
    ("POST", "/api/v1/consignments/{consignment_id}/receipt"): only(Role.RECIPIENT),
    ("GET", "/api/v1/consignments/unconfirmed"): SIGNED_IN,
    ("GET", "/api/v1/consignments/{consignment_id}"): SIGNED_IN,
    ("GET", "/api/v1/consignments/{consignment_id}/bast.pdf"): SIGNED_IN,
    ("POST", "/api/v1/consignments/{consignment_id}/bast/verify"): ANYONE,
    # audit
    ("GET", "/api/v1/audit/checkpoint-keys"): ANYONE,
    ("GET", "/api/v1/audit/checkpoints"): only(Role.AUDITOR),
    ("GET", "/api/v1/audit/laptops/{asset_id}/timeline"): only(Role.AUDITOR),
    ("GET", "/api/v1/audit/laptops/{asset_id}/proof"): only(Role.AUDITOR),
    ("GET", "/api/v1/audit/export.jsonl"): only(Role.AUDITOR),
    ("GET", "/api/v1/audit/export.csv"): only(Role.AUDITOR),
    ("GET", "/api/v1/audit/anomalies"): only(Role.AUDITOR),
    ("GET", "/api/v1/audit/rollups"): only(Role.AUDITOR),
    ("GET", "/api/v1/audit/attestations"): SIGNED_IN,
    # identity
    ("POST", "/api/v1/session"): ANYONE,
    ("DELETE", "/api/v1/session"): SIGNED_IN,
    ("GET", "/api/v1/me"): SIGNED_IN,
    ("POST", "/api/v1/accounts"): only(Role.ADMIN),
    ("GET", "/api/v1/accounts"): only(Role.ADMIN),
    ("PUT", "/api/v1/accounts/{account_id}/grants"): only(Role.ADMIN),
    ("POST", "/api/v1/devices"): only(Role.ADMIN),
    ("GET", "/api/v1/devices"): only(Role.ADMIN),
    ("DELETE", "/api/v1/devices/{device_id}"): only(Role.ADMIN),
}

# A well-formed value for each path parameter (a malformed one would be refused for
# its form, which says nothing about who may call the route).
PARAM = {
    "asset_id": "SRHPPSKGESNAC",
    "asset": "SRHPPSKGESNAC",
    "key": "1K1",
    "signature": "A" * 86,
    "scan_id": "s-1",
    "command_id": "c-1",
    "code": "32.73",
    "consignment_id": "KSB-73.71-001",
    "account_id": "nip-198001012005011001",
    "device_id": "dev-0123456789ab",
    "lang": "en",
    "document_id": "SRHPPSKGESNAC-assignment-1",
}
# Query parameters a route requires (a form's field), given where the route's path is asked for.
QUERY = {
    "/audit/laptop": "?asset_id=SRHPPSKGESNAC",
    "/penerimaan/buka": "?consignment_id=KSB-73.71-001",
    "/gudang/buka": "?consignment_id=KSB-73.71-001",
    "/kantor/laptop": "?asset_id=SRHPPSKGESNAC",
}


def routes() -> Iterator[APIRoute]:
    def walk(items: list[Any]) -> Iterator[APIRoute]:
        for r in items:
            if isinstance(r, APIRoute):
                yield r
            elif hasattr(r, "original_router"):
                yield from walk(r.original_router.routes)

    yield from walk(create_app(settings()).routes)


OPERATIONS = sorted({(m, r.path) for r in routes() for m in r.methods})


def test_every_route_states_who_may_call_it_and_the_table_knows_every_route() -> None:
    def rules(dependant: Any) -> list[Any]:
        found = [rule_of(dependant.call)] if rule_of(dependant.call) else []
        return found + [x for d in dependant.dependencies for x in rules(d)]

    unstated = [(sorted(r.methods), r.path) for r in routes() if not rules(r.dependant)]
    assert unstated == [], "give each route allow(...) or public (services/gateway/deps.py)"
    assert sorted(EXPECTED) == OPERATIONS, "add the new route to EXPECTED with who may call it"


def path(template: str) -> str:
    for name, value in PARAM.items():
        template = template.replace("{" + name + "}", value)
    assert "{" not in template, template
    return template + QUERY.get(template, "")


async def status_of(api: httpx.AsyncClient, method: str, url: str) -> tuple[int, str]:
    r = await api.request(method, url, json={} if method in ("POST", "PUT") else None)
    if r.headers.get("content-type", "").startswith("application/problem"):
        return r.status_code, r.json().get("code", "")
    # A page refuses as a page: to the sign-in form (and back), or the reason on a page.
    if r.status_code == 303 and r.headers["location"].startswith("/masuk?next="):
        return 401, "sign_in_required"
    found = re.search(r'data-refusal="([a-z_]+)"', r.text)
    return r.status_code, found[1] if found else ""


def refused(status: int, code: str) -> bool:
    return (status, code) in {(401, "sign_in_required"), (401, "token_refused"), (403, "not_allowed")}


@pytest.mark.parametrize("who", ["anonymous", *Role, "revoked device"], ids=str)
def test_exactly_the_expected_callers_get_past_the_door_of_every_route(who: str) -> None:
    grants = None if who in ("anonymous", "revoked device") else (Grant(role=Role(who), scope="*"),)

    async def run() -> list[tuple[str, str, int, str]]:
        wrong = []
        async with client(rejecting("invalid_command"), grants=grants) as api:
            if who == "revoked device":
                token = enrolled(api.gateway.identity.store, (Grant(role=Role.ADMIN),))  # type: ignore[attr-defined]
                device_id = token.split("_")[1]
                await api.gateway.identity.store.update_device(device_id, {"revoked_at": "now"})  # type: ignore[attr-defined]
                api.headers["Authorization"] = f"Bearer {token}"
            for method, template in OPERATIONS:
                status, code = await status_of(api, method, path(template))
                allowed = who in EXPECTED[(method, template)] and who != "revoked device"
                if refused(status, code) == allowed:
                    wrong.append((method, template, status, code))
        return wrong

    assert asyncio.run(run()) == []


def test_an_auditor_of_one_region_reads_that_region_and_is_refused_another() -> None:
    async def run() -> None:
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.AUDITOR, scope="32"),)) as api:
            mine = await api.get("/api/v1/audit/rollups")
            assert mine.status_code == 200, mine.text
            other = await api.get("/api/v1/audit/rollups", params={"province": "73"})
            assert other.status_code == 403 and other.json()["code"] == "not_your_region"
            assert (await api.get("/api/v1/audit/anomalies", params={"office": "32.73"})).status_code == 200
            assert (await api.get("/api/v1/audit/anomalies", params={"office": "73.71"})).status_code == 403
            assert (await api.get("/api/v1/audit/export.csv", params={"province": "73"})).status_code == 403
            whole = await api.get("/api/v1/audit/export.jsonl")
            assert whole.status_code == 403 and whole.json()["code"] == "not_your_region"
            # a laptop nobody knows is outside every region: refused, not revealed
            assert (await api.get("/api/v1/audit/laptops/SRHPPSKGESNAC/timeline")).status_code == 403
        async with client(rejecting("invalid_command"), grants=(Grant(role=Role.AUDITOR),)) as everywhere:
            assert (await everywhere.get("/api/v1/audit/rollups", params={"province": "73"})).status_code == 200

    asyncio.run(run())


def test_the_contract_names_the_same_roles_the_gateway_grants() -> None:
    import typing

    from events.catalog import RoleName

    assert set(typing.get_args(RoleName)) == {r.value for r in Role}
