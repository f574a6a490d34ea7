"""Issue 4, bad input and races through the real stack: two officials confirming
one consignment at once, one scan id from two devices, an official of another
office, scans and closes after closing."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from deploy.local.stack import Stack
from tests.conftest import eventually
from tests.e2e.test_consignment_journey import LEGAL, OFFICIAL, laptops, scan

SECOND = {"name": "Siti Rahma", "nip": "198502022010012002", "jabatan": "Sekretaris Badan Kesbangpol"}


def dispatched(api: httpx.Client, n: int, officials: list[dict[str, str]]) -> tuple[str, str, list[dict[str, Any]]]:
    cid = f"RACE-{uuid.uuid4().hex[:8]}"
    units = laptops(api, n)
    body = {
        "consignment_id": cid,
        "office_code": "73.71",
        "officials": officials,
        "legal_basis": LEGAL,
        "expected": [u["asset_id"] for u in units],
    }
    r = api.post("/api/v1/consignments", json=body)
    assert r.status_code == 201, r.text
    for u in units:
        assert scan(api, cid, u["label"]).json()["decision"] == "accepted"
    assert api.post(f"/api/v1/consignments/{cid}/close").status_code == 200
    eventually(
        lambda: cid in [c["consignment_id"] for c in api.get("/api/v1/consignments/unconfirmed").json()],
        what="dispatched",
    )
    return cid, r.json()["receipt_code"], units


def receipt(units: list[dict[str, Any]], official: dict[str, str], code: str) -> dict[str, Any]:
    return {
        "receipt_id": f"r-{uuid.uuid4().hex[:8]}",
        "official": official,
        "receipt_code": code,
        "lines": [{"asset_id": u["asset_id"], "condition": "B", "note": ""} for u in units],
        "missing": [],
    }


def test_two_officials_confirming_one_consignment_at_once_give_one_receipt_and_one_bast(
    api: httpx.Client, stack: Stack
) -> None:
    cid, code, units = dispatched(api, 2, [OFFICIAL, SECOND])

    def confirm(official: dict[str, str]) -> httpx.Response:
        with httpx.Client(base_url=stack.url, timeout=30) as device:  # two phones, two connections
            return device.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, official, code))

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(confirm, [OFFICIAL, SECOND]))
    statuses = sorted(a.status_code for a in answers)
    assert statuses[0] == 200 and statuses[1] in (409, 422), [a.text for a in answers]
    loser = next(a for a in answers if a.status_code != 200)
    assert loser.json()["code"] in ("already_received", "not_expected"), loser.text
    view = eventually(lambda: (v := api.get(f"/api/v1/consignments/{cid}").json())["basts"] and v, what="BAST")
    assert len(view["basts"]) == 1
    assert api.get(f"/api/v1/consignments/{cid}/bast.pdf", params={"seq": 2}).json()["code"] == "unknown_bast"


def test_the_same_scan_id_from_two_devices_is_one_scan(api: httpx.Client, stack: Stack) -> None:
    cid = f"RACE-{uuid.uuid4().hex[:8]}"
    units = laptops(api, 2)
    body = {
        "consignment_id": cid,
        "office_code": "73.71",
        "officials": [OFFICIAL],
        "legal_basis": LEGAL,
        "expected": [u["asset_id"] for u in units],
    }
    assert api.post("/api/v1/consignments", json=body).status_code == 201
    scan_id = f"s-{uuid.uuid4().hex[:8]}"

    def send(_: int) -> httpx.Response:
        with httpx.Client(base_url=stack.url, timeout=30) as device:
            return device.post(
                f"/api/v1/consignments/{cid}/scans", json={"scan_id": scan_id, "label": units[0]["label"]}
            )

    with ThreadPoolExecutor(2) as pool:
        answers = list(pool.map(send, [1, 2]))
    assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]
    assert [a.json()["decision"] for a in answers] == ["accepted", "accepted"]
    assert answers[0].json()["event"]["id"] == answers[1].json()["event"]["id"]  # one decision, told twice
    view = api.get(f"/api/v1/consignments/{cid}").json()
    assert view["scanned"] == [units[0]["asset_id"]]


def test_an_official_not_named_for_the_office_cannot_confirm_even_with_the_code(api: httpx.Client) -> None:
    cid, code, units = dispatched(api, 1, [OFFICIAL])
    r = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, SECOND, code))
    assert r.status_code == 403 and r.json()["code"] == "official_not_authorised", r.text
    assert r.headers["content-type"].startswith("application/problem+json") and r.json()["detail"]
    assert api.get(f"/api/v1/consignments/{cid}").json()["basts"] == []


def test_scans_and_closes_after_closing_are_refused_and_change_nothing(api: httpx.Client) -> None:
    cid, _, units = dispatched(api, 1, [OFFICIAL])
    late = scan(api, cid, units[0]["label"])
    assert late.status_code == 409 and late.json()["code"] == "consignment_closed"
    again = api.post(f"/api/v1/consignments/{cid}/close")
    assert again.status_code == 409 and again.json()["code"] == "consignment_closed"
    view = api.get(f"/api/v1/consignments/{cid}").json()
    assert view["scanned"] == [units[0]["asset_id"]] and view["status"] == "dispatched"
