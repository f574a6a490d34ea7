"""A BAST PDF larger than the gateway's 64 KiB body limit (a big consignment's, or
one with long notes) can still be verified, and a genuine one matches: the verify
route has its own limit (20 MiB by default), over which it is refused; every
other route keeps the small one."""

from __future__ import annotations

import hashlib
import random
import secrets
import string
from collections.abc import Iterator

import httpx
import pytest

from deploy.local.stack import Stack
from services.gateway.config import GatewaySettings
from tests.conftest import eventually
from tests.e2e.test_consignment_journey import OFFICIAL
from tests.e2e.test_consignment_races import dispatched, receipt
from tests.settle import settled

MIB = 1024 * 1024


UNITS = 55
GENERAL_LIMIT = GatewaySettings.model_fields["max_body_bytes"].default


def long_note(rng: random.Random) -> str:
    """1,000 characters of words that do not compress much, like a careful inspector's note."""
    words = []
    while sum(len(w) + 1 for w in words) < 990:
        words.append("".join(rng.choice(string.ascii_letters + string.digits) for _ in range(8)))
    return " ".join(words)[:1000]


@pytest.fixture(scope="module")
def bast(api: httpx.Client, stack: Stack) -> Iterator[tuple[str, bytes]]:
    """A genuine BAST larger than the general body limit: every unit received damaged
    with a long note (each note is printed twice, in the list and in the table)."""
    settled(stack, timeout_s=180)  # start from a quiet stream: 55 laptops wait for their views below
    cid, code, units = dispatched(api, UNITS, [OFFICIAL])
    rng = random.Random(cid)
    body = receipt(units, OFFICIAL, code)
    body["lines"] = [{"asset_id": u["asset_id"], "condition": "RR", "note": long_note(rng)} for u in units]
    r = api.post(f"/api/v1/consignments/{cid}/receipt", json=body)
    assert r.status_code == 200, r.text
    pdf = eventually(
        lambda: (r := api.get(f"/api/v1/consignments/{cid}/bast.pdf")).status_code == 200 and r.content, what="BAST"
    )
    assert len(pdf) > GENERAL_LIMIT, f"the BAST is only {len(pdf)} bytes: not larger than the general limit"
    yield cid, pdf
    settled(stack, timeout_s=180)  # leave the stream as quiet as it was found


def test_a_genuine_bast_larger_than_the_general_limit_matches_and_one_byte_more_does_not(
    api: httpx.Client, bast: tuple[str, bytes]
) -> None:
    cid, pdf = bast
    recorded = hashlib.sha256(pdf).hexdigest()
    raw = api.post(f"/api/v1/consignments/{cid}/bast/verify", content=pdf, headers={"content-type": "application/pdf"})
    assert raw.status_code == 200, raw.text
    assert raw.json()["matches"] is True and raw.json()["sha256"] == raw.json()["recorded_sha256"] == recorded
    form = api.post(f"/api/v1/consignments/{cid}/bast/verify", files={"file": ("bast.pdf", pdf, "application/pdf")})
    assert form.status_code == 200 and form.json()["matches"] is True, form.text

    # the page a person uses says so too
    page = api.post(f"/bast/{cid}", files={"file": ("bast.pdf", pdf, "application/pdf")})
    assert page.status_code == 200 and "data-matches='true'" in page.text, page.text[-2000:]

    altered = pdf + b"%"
    r = api.post(
        f"/api/v1/consignments/{cid}/bast/verify", content=altered, headers={"content-type": "application/pdf"}
    )
    assert r.status_code == 200 and r.json()["matches"] is False
    assert r.json()["sha256"] == hashlib.sha256(altered).hexdigest()


def test_a_pdf_of_several_mib_is_read_whole_and_hashed(api: httpx.Client, bast: tuple[str, bytes]) -> None:
    cid, pdf = bast
    big = pdf + b"%" + secrets.token_bytes(3 * MIB)  # well over 64 KiB, under the BAST limit, not the BAST
    r = api.post(f"/api/v1/consignments/{cid}/bast/verify", content=big, headers={"content-type": "application/pdf"})
    assert r.status_code == 200, r.text
    assert r.json()["matches"] is False and r.json()["sha256"] == hashlib.sha256(big).hexdigest()
    form = api.post(f"/api/v1/consignments/{cid}/bast/verify", files={"file": ("bast.pdf", big, "application/pdf")})
    assert form.status_code == 200 and form.json()["sha256"] == hashlib.sha256(big).hexdigest(), form.text


def test_a_body_over_the_bast_limit_is_refused_before_it_is_read(api: httpx.Client, bast: tuple[str, bytes]) -> None:
    cid, pdf = bast
    huge = pdf + bytes(21 * MIB - len(pdf))  # the genuine BAST, padded past the limit
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
