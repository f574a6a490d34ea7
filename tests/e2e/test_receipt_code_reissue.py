"""Issue 4c: re-issuing a receipt code through the real stack: the new code is shown
once, the old one stops working at receipt and on the manifest, the new manifest
prints the new code, and the audit chain of the consignment records the re-issue."""

from __future__ import annotations

import io
import uuid
from typing import Any

import httpx
import pypdf
import pytest

from deploy.local.stack import Stack
from events.catalog import ReceiptCodeReissued
from tests.builders import SHOWN_CODE
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt
from tests.settle import settled


def reissue(api: httpx.Client, cid: str, request_id: str | None = None) -> httpx.Response:
    body = {"request_id": request_id or f"re-{uuid.uuid4().hex[:8]}", "reason": "sopir kehilangan surat jalan"}
    return api.post(f"/api/v1/consignments/{cid}/receipt-code", json=body)


def test_a_reissued_code_replaces_the_old_one_at_receipt_and_on_the_manifest(
    api: httpx.Client, stack: Stack, mongo: Any
) -> None:
    cid, old, units = dispatched(api, 2, [OFFICIAL])
    r = reissue(api, cid, request_id=f"re-{cid}")
    assert r.status_code == 200, r.text
    new = r.json()["receipt_code"]
    assert SHOWN_CODE.fullmatch(new) and new != old and r.json()["event"]["data"]["generation"] == 2

    assert api.get(f"/api/v1/consignments/{cid}").json()["receipt_code_generation"] == 2
    replay = reissue(api, cid, request_id=f"re-{cid}")  # the same request again: no second code
    assert replay.status_code == 200 and replay.json()["receipt_code"] is None and replay.json()["replayed"] is True

    manifest = api.post(f"/api/v1/consignments/{cid}/manifest.pdf", json={"receipt_code": old})
    assert manifest.status_code == 403 and manifest.json()["code"] == "receipt_code_invalid"
    manifest = api.post(f"/api/v1/consignments/{cid}/manifest.pdf", json={"receipt_code": new})
    assert manifest.status_code == 200, manifest.text
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(manifest.content)).pages)
    assert new in text and old not in text

    stale = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, old))
    assert stale.status_code == 403 and stale.json()["code"] == "receipt_code_invalid", stale.text
    done = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, new))
    assert done.status_code == 200 and done.json()["event"]["data"]["complete"] is True, done.text

    settled(stack)  # the audit has read everything the answers above came from
    link = mongo.event_log.find_one({"asset_id": cid, "type": ReceiptCodeReissued.TYPE})
    assert link is not None, "the re-issue is not in the audit log"
    assert link["event"]["data"]["reason"] == "sopir kehilangan surat jalan"
    after = reissue(api, cid)
    assert after.status_code == 409 and after.json()["code"] == "already_received", after.text


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"request_id": "r-1"},
        {"reason": "lost"},
        {"request_id": "r 1", "reason": "lost"},
        {"request_id": "r-1", "reason": ""},
        {"request_id": "r-1", "reason": "x" * 501},
        {"request_id": "r-1", "reason": "lost", "receipt_code_hash": "hmac-sha256:R1:" + "0" * 64},
        [],
        "lost",
    ],
)
def test_a_bad_reissue_request_is_refused_with_a_code(api: httpx.Client, body: Any) -> None:
    r = api.post("/api/v1/consignments/ANY-1/receipt-code", json=body)
    assert r.status_code == 422 and r.json()["code"] == "invalid_request", r.text
    assert r.headers["content-type"] == "application/problem+json"


def test_a_code_for_an_unknown_consignment_is_not_issued(api: httpx.Client) -> None:
    r = reissue(api, f"NOPE-{uuid.uuid4().hex[:8]}")
    assert r.status_code == 404 and r.json()["code"] == "unknown_consignment", r.text
    assert "receipt_code" not in r.json()
