"""Issue 4c: a consignment planned by count through the real stack, from the API
and from ``serah import-plan``: stock laptops are picked at dispatch, one beyond
the count is refused, and the receipt and BAST work as for a list plan."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pypdf
import pytest

from deploy.local.stack import Stack
from tests.conftest import eventually
from tests.e2e.conftest import CLOSE
from tests.e2e.test_consignment_journey import LEGAL, OFFICIAL, laptops, plan, scan


def by_count(cid: str, n: Any, **extra: Any) -> dict[str, Any]:
    return {
        "consignment_id": cid,
        "office_code": "73.71",
        "officials": [OFFICIAL],
        "legal_basis": LEGAL,
        "expected_count": n,
        **extra,
    }


def test_a_plan_by_count_is_filled_at_picking_and_refuses_one_more(api: httpx.Client) -> None:
    cid = f"CNT-{uuid.uuid4().hex[:8]}"
    units = laptops(api, 4)
    other = f"CNT-{uuid.uuid4().hex[:8]}"
    plan(api, other, [units[3]["asset_id"]])  # planned for another consignment by serial

    r = api.post("/api/v1/consignments", json=by_count(cid, 2))
    assert r.status_code == 201, r.text
    code = r.json()["receipt_code"]
    view = api.get(f"/api/v1/consignments/{cid}").json()
    assert view["expected"] == [] and view["expected_count"] == 2 and view["missing_count"] == 2

    assert scan(api, cid, units[0]["label"]).json()["decision"] == "accepted"
    taken = scan(api, cid, units[3]["label"])
    assert taken.status_code == 409 and taken.json()["code"] == "belongs_to_other_consignment", taken.text
    assert scan(api, cid, units[1]["label"]).json()["decision"] == "accepted"
    full = scan(api, cid, units[2]["label"])
    assert full.status_code == 409 and full.json()["code"] == "consignment_full", full.text
    assert "close it" in full.json()["detail"]
    again = scan(api, cid, units[0]["label"])
    assert again.status_code == 200 and again.json()["decision"] == "duplicate"

    # Picked laptops are allocated to the office and this consignment; the refused one stays in stock.
    picked = eventually(
        lambda: all(api.get(f"/api/v1/laptops/{u['asset_id']}").json()["status"] == "allocated" for u in units[:2]),
        what="picked laptops allocated",
    )
    assert picked
    assert api.get(f"/api/v1/laptops/{units[2]['asset_id']}").json()["status"] == "registered"
    view = api.get(f"/api/v1/consignments/{cid}").json()
    assert sorted(view["scanned"]) == sorted(u["asset_id"] for u in units[:2]) and view["missing_count"] == 0

    # The driver's manifest lists the picked laptops (the plan itself named none).
    manifest = api.post(f"/api/v1/consignments/{cid}/manifest.pdf", json={"receipt_code": code})
    assert manifest.status_code == 200, manifest.text
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(manifest.content)).pages)
    assert all(u["asset_id"] in text for u in units[:2]) and units[2]["asset_id"] not in text
    assert " of 2 picked" in text  # the count the plan gave, next to what was picked

    assert api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE).status_code == 200
    body = {
        "receipt_id": f"r-{uuid.uuid4().hex[:8]}",
        "official": OFFICIAL,
        "receipt_code": code,
        "lines": [{"asset_id": u["asset_id"], "condition": "B", "note": ""} for u in units[:2]],
    }
    done = eventually(
        lambda: (x := api.post(f"/api/v1/consignments/{cid}/receipt", json=body)).status_code == 200 and x,
        what="receipt",
    )
    assert done.json()["event"]["data"]["complete"] is True
    eventually(lambda: api.get(f"/api/v1/consignments/{cid}/bast.pdf").status_code == 200, what="the BAST")


@pytest.mark.parametrize(
    ("count", "extra"),
    [
        (0, {}),
        (-5, {}),
        (10**12, {}),
        ("3", {}),
        (True, {}),
        (2.5, {}),
        (None, {}),
        (2, {"expected": ["SRH0000000001"]}),
    ],
)
def test_a_plan_with_a_bad_count_or_both_a_count_and_laptops_is_refused_with_a_code(
    api: httpx.Client, count: Any, extra: dict[str, Any]
) -> None:
    r = api.post("/api/v1/consignments", json=by_count(f"BAD-{uuid.uuid4().hex[:8]}", count, **extra))
    assert r.status_code == 422, r.text
    assert r.headers["content-type"] == "application/problem+json"
    assert r.json()["code"] == "invalid_request" and r.json()["errors"]


def test_import_plan_plans_a_consignment_by_count(api: httpx.Client, stack: Stack, tmp_path: Path) -> None:
    cid = f"CSV-{uuid.uuid4().hex[:8]}"
    head = "consignment_id,office_code,official_name,official_nip,official_jabatan,legal_basis_kind,"
    head += "legal_basis_number,legal_basis_date,expected_count\n"
    row = f"{cid},73.71,Andi Wijaya,198001012005011001,Kepala Badan,contract,K-1/2026,2026-01-05,{{n}}\n"
    plan_csv = tmp_path / "plan.csv"
    plan_csv.write_text(head + row.format(n=7) + row.format(n=0).replace(cid, cid + "X"))
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "import-plan", str(plan_csv), "--url", stack.url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 3 and "planned 1, already planned 0, rejected rows 1" in out.stdout, out.stdout
    [reject] = list(csv.DictReader(plan_csv.with_suffix(".rejects.csv").open(encoding="utf-8-sig")))
    assert reject["line"] == "3" and "expected_count" in reject["reason"]
    view = api.get(f"/api/v1/consignments/{cid}").json()
    assert view["expected_count"] == 7 and view["missing_count"] == 7 and view["expected"] == []
