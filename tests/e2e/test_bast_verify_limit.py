"""Issue 4c: a BAST PDF of a big consignment (over ~700 units it is larger than the
gateway's 64 KiB body limit) can still be verified: the verify route has its own
limit (20 MiB by default); every other route keeps the small one."""

from __future__ import annotations

import hashlib
import secrets

import httpx
import pytest

from tests.conftest import eventually
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def bast(api: httpx.Client) -> tuple[str, bytes]:
    cid, code, units = dispatched(api, 1, [OFFICIAL])
    assert api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt(units, OFFICIAL, code)).status_code == 200
    pdf = eventually(
        lambda: (r := api.get(f"/api/v1/consignments/{cid}/bast.pdf")).status_code == 200 and r.content, what="BAST"
    )
    return cid, pdf


def test_a_pdf_larger_than_the_general_limit_is_verified(api: httpx.Client, bast: tuple[str, bytes]) -> None:
    cid, pdf = bast
    big = pdf + b"%" + secrets.token_bytes(3 * MIB)  # a PDF with bytes appended: well over 64 KiB, not the BAST
    r = api.post(f"/api/v1/consignments/{cid}/bast/verify", content=big, headers={"content-type": "application/pdf"})
    assert r.status_code == 200, r.text
    assert r.json()["matches"] is False and r.json()["sha256"] == hashlib.sha256(big).hexdigest()
    form = api.post(f"/api/v1/consignments/{cid}/bast/verify", files={"file": ("bast.pdf", big, "application/pdf")})
    assert form.status_code == 200 and form.json()["sha256"] == hashlib.sha256(big).hexdigest(), form.text
    same = api.post(f"/api/v1/consignments/{cid}/bast/verify", files={"file": ("bast.pdf", pdf, "application/pdf")})
    assert same.json()["matches"] is True


def test_a_body_over_the_bast_limit_is_refused_before_it_is_read(api: httpx.Client, bast: tuple[str, bytes]) -> None:
    cid, _ = bast
    huge = b"%PDF-" + bytes(21 * MIB)
    r = api.post(f"/api/v1/consignments/{cid}/bast/verify", content=huge, headers={"content-type": "application/pdf"})
    assert r.status_code == 413 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "body_too_large" and "20 MiB" in r.json()["detail"], r.text

    def chunks() -> object:  # no Content-Length: counted while it streams
        for _ in range(22):
            yield bytes(MIB)

    streamed = api.post(f"/api/v1/consignments/{cid}/bast/verify", content=chunks())  # type: ignore[arg-type]
    assert streamed.status_code == 413 and streamed.json()["code"] == "body_too_large"


def test_other_routes_keep_the_small_limit(api: httpx.Client, bast: tuple[str, bytes]) -> None:
    cid, _ = bast
    body = b"x" * (100 * 1024)
    for path in (f"/api/v1/consignments/{cid}/bast/verify/extra", "/api/v1/laptops/bulk", "/api/v1/scans/dispatch"):
        r = api.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 413 and r.json()["code"] == "body_too_large", (path, r.text)
        assert "smaller batches" in r.json()["detail"]


def test_a_plan_or_receipt_of_thousands_of_laptops_fits_but_not_more_than_one_kafka_message(
    api: httpx.Client, bast: tuple[str, bytes]
) -> None:
    cid, _ = bast
    for path in (f"/api/v1/consignments/{cid}/receipt", "/api/v1/consignments"):
        # 100 KiB of malformed JSON passes the size check and is refused for what it is
        r = api.post(path, content=b"x" * (100 * 1024), headers={"content-type": "application/json"})
        assert r.status_code == 400 and r.json()["code"] == "malformed_json", (path, r.text)
        r = api.post(path, content=b"x" * (800 * 1024), headers={"content-type": "application/json"})
        assert r.status_code == 413 and "plan or receipt may be at most 768 KiB" in r.json()["detail"], r.text


def test_an_empty_upload_is_refused_with_what_to_send(api: httpx.Client, bast: tuple[str, bytes]) -> None:
    cid, _ = bast
    for r in (
        api.post(f"/api/v1/consignments/{cid}/bast/verify", content=b""),
        api.post(f"/api/v1/consignments/{cid}/bast/verify", files={"other": ("x.pdf", b"%PDF-1.4", "application/pdf")}),
    ):
        assert r.status_code == 400 and r.json()["code"] == "empty_file", r.text
        assert "form field 'file'" in r.json()["detail"]
