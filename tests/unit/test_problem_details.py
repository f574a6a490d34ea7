"""Every refusal the gateway gives is one RFC 9457 problem whose ``status`` and
``title`` are those of the HTTP response carrying it, whichever route answers and
whoever decided the status."""

from __future__ import annotations

import ast
import asyncio
import uuid
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.catalog import RejectionReason
from services.gateway.errors import REJECTION_STATUS, ApiError, problem
from tests.builders import DISPATCHER, label_for, new_asset
from tests.gateway_fakes import client, rejecting

GATEWAY = Path(__file__).resolve().parents[2] / "services" / "gateway"
OFFICIAL = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan Kesbangpol"}
LEGAL = {"kind": "allocation_decree", "number": "KEP-734/SJ/2026", "date": "2026-10-01"}


def command_requests() -> list[tuple[str, str, dict[str, Any]]]:
    """One valid request to every route that sends a command to a deciding service."""
    serial, asset = new_asset()
    label = label_for(asset)
    scan = {"scan_id": f"s-{uuid.uuid4()}", "label": label}
    laptop = {"serial": serial, "brand": "HP", "model": "ProBook", "specs": {"cpu": "i5", "ram_gb": 8, "storage_gb": 1}}
    cid = "KSB-73.71-001"
    return [
        ("register", "/api/v1/laptops", laptop),
        ("allocate", f"/api/v1/laptops/{asset}/allocation", {"office_code": "73.71"}),
        ("reissue label", f"/api/v1/laptops/{asset}/label/reissue", {"reason": "damaged"}),
        ("dispatch", "/api/v1/scans/dispatch", scan),
        ("receipt", "/api/v1/scans/receipt", scan),
        ("attestation", "/api/v1/scans/attestation", scan),
        (
            "plan",
            "/api/v1/consignments",
            {
                "consignment_id": cid,
                "office_code": "73.71",
                "officials": [OFFICIAL],
                "legal_basis": LEGAL,
                "expected": [asset],
            },
        ),
        ("scan into", f"/api/v1/consignments/{cid}/scans", scan),
        ("close", f"/api/v1/consignments/{cid}/close", {"dispatcher": DISPATCHER}),
        (
            "confirm receipt",
            f"/api/v1/consignments/{cid}/receipt",
            {"receipt_id": "r-1", "official": OFFICIAL, "receipt_code": "ABCDEFGH", "lines": [{"asset_id": asset}]},
        ),
        ("reissue code", f"/api/v1/consignments/{cid}/receipt-code", {"request_id": "q-1", "reason": "lost"}),
    ]


def assert_problem_agrees(r: httpx.Response) -> dict[str, Any]:
    assert r.headers["content-type"] == "application/problem+json", r.text
    body: dict[str, Any] = r.json()
    assert body["status"] == r.status_code, body
    assert body["title"] == HTTPStatus(r.status_code).phrase, body
    return body


def test_every_rejection_reason_has_its_status_decided_in_one_table() -> None:
    assert set(REJECTION_STATUS) == set(RejectionReason)
    assert all(400 <= s < 500 for s in REJECTION_STATUS.values())


@pytest.mark.parametrize("reason", list(RejectionReason))
def test_a_refusal_carries_the_status_of_its_response_on_every_command_route(reason: RejectionReason) -> None:
    async def run() -> None:
        async with client(rejecting(reason)) as api:
            for name, path, body in command_requests():
                r = await api.post(path, json=body)
                if reason == RejectionReason.ALREADY_IN_CONSIGNMENT and "/consignments" in path:
                    # a second scan of the same laptop is harmless: a 200 that says so
                    assert r.status_code == 200, (name, r.text)
                    assert r.json()["decision"] == "duplicate" and r.json()["reason"] == reason, (name, r.text)
                    continue
                assert r.status_code == REJECTION_STATUS[reason], (name, r.text)
                body = assert_problem_agrees(r)
                assert body["code"] == reason and body["decision"] == "rejected", (name, body)

    asyncio.run(run())


def test_a_refused_receipt_code_and_an_unexpected_laptop_say_403_and_422_in_the_body_too() -> None:
    async def run() -> None:
        _, asset = new_asset()
        cases = {
            RejectionReason.RECEIPT_CODE_INVALID: 403,
            RejectionReason.OFFICIAL_NOT_AUTHORISED: 403,
            RejectionReason.NOT_EXPECTED: 422,
        }
        for reason, status in cases.items():
            async with client(rejecting(reason)) as api:
                r = await api.post(
                    "/api/v1/consignments/KSB-1/receipt",
                    json={
                        "receipt_id": "r-2",
                        "official": OFFICIAL,
                        "receipt_code": "X",
                        "lines": [{"asset_id": asset}],
                    },
                )
                assert (r.status_code, r.json()["status"], r.json()["title"]) == (
                    status,
                    status,
                    HTTPStatus(status).phrase,
                )

    asyncio.run(run())


def api_error_statuses() -> set[int]:
    """The status of every ``ApiError(...)`` raised anywhere in the gateway."""
    found = set()
    for path in GATEWAY.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ApiError":
                first = node.args[0]
                assert isinstance(first, ast.Constant), f"{path}:{node.lineno}: give ApiError a literal status"
                found.add(first.value)
    return found


def test_every_api_error_raised_in_the_gateway_renders_a_body_that_agrees_with_its_status() -> None:
    statuses = api_error_statuses()
    assert {400, 403, 404, 422} <= statuses
    for status in statuses:
        error = ApiError(status, "some_code", "Some sentence.")
        r = httpx.Response(
            status,
            headers={"content-type": "application/problem+json"},
            content=problem(error.status, error.code, error.detail).body,
        )
        assert_problem_agrees(r)


@given(st.sampled_from([s for s in HTTPStatus if s >= 400]), st.sampled_from([s for s in HTTPStatus if s >= 400]))
def test_a_problem_whose_status_is_changed_afterwards_renders_the_new_status(first: int, then: int) -> None:
    response = problem(first, "code", "detail", extra="kept")
    response.status_code = then
    r = httpx.Response(response.status_code, headers=dict(response.headers), content=response.body)
    body = assert_problem_agrees(r)
    assert body["extra"] == "kept" and int(r.headers["content-length"]) == len(response.body)


def test_errors_raised_by_the_framework_agree_with_their_status() -> None:
    async def run() -> None:
        async with client(rejecting(RejectionReason.INVALID_COMMAND)) as api:
            responses = [
                await api.post(
                    "/api/v1/scans/dispatch", content=b"{not json", headers={"content-type": "application/json"}
                ),
                await api.post("/api/v1/scans/dispatch", json={"unknown": 1}),
                await api.get("/api/v1/no-such-route"),
                await api.delete("/api/v1/scans/dispatch"),
                await api.post("/api/v1/scans/dispatch", content=b"x" * 70_000),
                await api.get("/api/v1/laptops/SRHAAAAAAAAAA"),
                await api.get("/api/v1/offices/99.99"),
            ]
            assert [r.status_code for r in responses] == [400, 422, 404, 405, 413, 404, 404]
            for r in responses:
                assert_problem_agrees(r)

    asyncio.run(run())
