"""The handover promise through the real stack: a laptop in a consignment is
received only through it; a receipt sent before the dispatch stays refused and
no BAST predates the goods leaving; refusals about made-up subjects are decided
at once; a device time outside the window is refused at the door; a command id
names one command; an answer is readable at once."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from deploy.local.stack import Stack
from tests.conftest import eventually
from tests.e2e.conftest import CLOSE, register
from tests.e2e.test_consignment_journey import OFFICIAL, laptops, plan, scan
from tests.settle import settled


def _receipt(code: str, assets: list[str], receipt_id: str | None = None) -> dict[str, object]:
    return {
        "receipt_id": receipt_id or f"r-{uuid.uuid4().hex[:10]}",
        "official": OFFICIAL,
        "receipt_code": code,
        "lines": [{"asset_id": a, "condition": "B", "note": ""} for a in assets],
        "missing": [],
    }


def test_a_single_receipt_scan_of_a_laptop_in_a_dispatched_consignment_is_refused(api: httpx.Client) -> None:
    cid = f"KSB-{uuid.uuid4().hex[:8]}"
    [unit] = laptops(api, 1)
    code = plan(api, cid, [unit["asset_id"]])["receipt_code"]
    assert scan(api, cid, unit["label"]).json()["decision"] == "accepted"
    assert api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE).status_code == 200

    single = api.post("/api/v1/scans/receipt", json={"scan_id": f"r-{uuid.uuid4()}", "label": unit["label"]})
    assert single.status_code == 409, single.text
    assert single.json()["code"] == "in_consignment" and cid in single.json()["detail"]
    assert api.get(f"/api/v1/laptops/{unit['asset_id']}").json()["status"] == "in_transit"

    confirmed = api.post(f"/api/v1/consignments/{cid}/receipt", json=_receipt(code, [unit["asset_id"]]))
    assert confirmed.status_code == 200, confirmed.text
    # The answer is about the consignment; each laptop's record follows from it.
    types = eventually(
        lambda: [e["type"] for e in api.get(f"/api/v1/laptops/{unit['asset_id']}/history").json()["events"]][4:],
        what="the laptop's receipt in its history",
    )
    assert types == ["id.serah.laptop.received.v1"]


def test_a_consignment_receipt_sent_before_the_dispatch_is_refused_and_no_bast_predates_the_dispatch(
    api: httpx.Client, stack: Stack
) -> None:
    cid = f"KSB-{uuid.uuid4().hex[:8]}"
    [unit] = laptops(api, 1)
    code = plan(api, cid, [unit["asset_id"]])["receipt_code"]
    assert scan(api, cid, unit["label"]).json()["decision"] == "accepted"
    early = _receipt(code, [unit["asset_id"]])
    refused = api.post(f"/api/v1/consignments/{cid}/receipt", json=early)
    assert refused.status_code == 409 and refused.json()["code"] == "not_dispatched", refused.text

    closed = api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE)
    assert closed.status_code == 200
    again = api.get(f"/api/v1/scans/{early['receipt_id']}").json()
    assert again["decision"] == "rejected" and again["reason"] == "not_dispatched"
    retried = api.post(f"/api/v1/consignments/{cid}/receipt", json=early)  # the device's retry: the same decision
    assert retried.json()["code"] == "not_dispatched"
    settled(stack)  # no BAST, not even a late one
    assert api.get(f"/api/v1/consignments/{cid}/bast.pdf").status_code == 404

    confirmed = api.post(f"/api/v1/consignments/{cid}/receipt", json=_receipt(code, [unit["asset_id"]]))
    assert confirmed.status_code == 200, confirmed.text
    dispatched_at = closed.json()["event"]["time"]
    assert confirmed.json()["event"]["data"]["confirmed_at"] >= dispatched_at.replace("Z", "+00:00")[:19]


def test_receipts_for_made_up_consignments_are_each_decided_not_left_pending(api: httpx.Client) -> None:
    def receipt_for_nothing(_: int) -> httpx.Response:
        body = _receipt("ABCDEFGH", ["SRHPPSKGESNAC"])
        return api.post(f"/api/v1/consignments/NOPE-{uuid.uuid4().hex[:8]}/receipt", json=body)

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(receipt_for_nothing, range(8)))
    # Each is refused by the handover service (a decision), none answered "pending" (202).
    assert [a.status_code for a in answers] == [404] * 8, [a.text for a in answers]
    assert {a.json()["code"] for a in answers} == {"unknown_consignment"}


@pytest.mark.parametrize(
    "scanned_at",
    ["0995-12-18T10:53:43Z", "1969-12-31T23:59:59Z", "9999-12-31T23:59:59Z", "2020-01-01T00:00:00Z"],
)
def test_a_scan_whose_device_time_is_outside_the_window_is_refused_at_the_door(
    api: httpx.Client, registered: tuple[str, str], scanned_at: str
) -> None:
    _, label = registered
    scan_id = f"d-{uuid.uuid4()}"
    r = api.post("/api/v1/scans/dispatch", json={"scan_id": scan_id, "label": label, "scanned_at": scanned_at})
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "scanned_at_out_of_range" and "set the device's date and time" in r.json()["detail"]
    # Refused before Kafka: no decision will ever exist for it, and the answer said so.
    assert api.get(f"/api/v1/scans/{scan_id}").status_code == 404


def test_a_scan_queued_offline_for_a_week_is_accepted_with_its_device_time(
    api: httpx.Client, registered: tuple[str, str]
) -> None:
    asset, label = registered
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32.73"}).status_code == 200
    when = datetime.now(UTC) - timedelta(days=7)
    r = api.post(
        "/api/v1/scans/dispatch",
        json={"scan_id": f"d-{uuid.uuid4()}", "label": label, "scanned_at": when.isoformat()},
    )
    assert r.status_code == 200, r.text


def test_a_plan_changed_under_the_same_consignment_id_never_mixes_two_decisions(api: httpx.Client) -> None:
    cid = f"KSB-{uuid.uuid4().hex[:8]}"
    [unit] = laptops(api, 1)
    body = {
        "consignment_id": cid,
        "officials": [OFFICIAL],
        "legal_basis": {"kind": "allocation_decree", "number": "KEP-1/2026", "date": "2026-10-01"},
        "expected": [unit["asset_id"]],
    }
    first = api.post("/api/v1/consignments", json=body | {"office_code": "80"})
    assert first.status_code == 422 and first.json()["code"] == "unknown_office", first.text
    second = api.post("/api/v1/consignments", json=body | {"office_code": "73.71"})
    assert second.status_code == 201, second.text
    status = api.get(second.json()["status_url"]).json()
    assert status["decision"] == "accepted" and status["event"]["data"]["office_code"] == "73.71"
    assert first.json()["event"]["id"] != second.json()["event"]["id"]
    assert api.get(first.json()["status_url"]).json()["reason"] == "unknown_office"


def test_a_scan_id_reused_for_a_different_scan_is_refused_and_the_first_decision_stands(
    api: httpx.Client, registered: tuple[str, str]
) -> None:
    asset, label = registered
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32.73"}).status_code == 200
    scan_id = f"d-{uuid.uuid4()}"
    first = api.post("/api/v1/scans/dispatch", json={"scan_id": scan_id, "label": label})
    assert first.status_code == 200, first.text
    elsewhere = {"lat": -6.9, "lon": 107.6}  # the same scan id, a different scan
    other = api.post("/api/v1/scans/dispatch", json={"scan_id": scan_id, "label": label, "location": elsewhere})
    assert other.status_code == 409 and other.json()["code"] == "id_reused", other.text
    assert api.get(f"/api/v1/scans/{scan_id}").json()["event"]["id"] == first.json()["event"]["id"]
    same = api.post("/api/v1/scans/dispatch", json={"scan_id": scan_id, "label": label})
    assert same.json()["event"]["id"] == first.json()["event"]["id"]


def test_what_an_answer_says_is_readable_at_once(api: httpx.Client) -> None:
    for _ in range(10):
        answer = register(api)
        asset = answer["subject"]
        laptop = api.get(f"/api/v1/laptops/{asset}")
        assert laptop.status_code == 200, laptop.text
        assert answer["status_url"] == f"/api/v1/commands/{answer['command_id']}", answer  # not a scan
        assert api.get(answer["status_url"]).status_code == 200
        assert [e["id"] for e in api.get(f"/api/v1/laptops/{asset}/history").json()["events"]] == [
            answer["event"]["id"]
        ]
