"""Issue 4: ``serah import-plan`` plans consignments through the real stack; receipt
codes are written once, and a re-run plans nothing twice."""

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

from deploy.local.stack import Stack
from tests.builders import SHOWN_CODE
from tests.e2e.test_consignment_journey import laptops, plan
from tests.settle import settled


def test_import_plan_plans_each_consignment_once_and_writes_its_receipt_code_once(
    api: httpx.Client, stack: Stack, tmp_path: Path, mongo: Any
) -> None:
    run = uuid.uuid4().hex[:6]
    units = laptops(api, 3)
    head = "consignment_id;office_code;official_name;official_nip;official_jabatan;legal_basis_kind;"
    head += "legal_basis_number;legal_basis_date;serial;asset_id\n"
    row = "{cid};{office};Andi Wijaya;198001012005011001;Kepala Badan;allocation_decree;KEP-9/2026;05/01/2026;{s};{a}\n"
    text = head
    text += row.format(cid=f"P1-{run}", office="73.71", s=units[0]["serial"], a="")
    text += row.format(cid=f"P1-{run}", office="73.71", s="", a=units[1]["asset_id"])
    text += row.format(cid=f"P2-{run}", office="73.72", s=units[2]["serial"], a="")
    text += row.format(cid=f"P3-{run}", office="99.99", s="X1", a="")  # not an office: rejected with its line
    plan_csv = tmp_path / "plan.csv"
    plan_csv.write_bytes(b"\xef\xbb\xbf" + text.encode())
    cli = [sys.executable, "-m", "services.cli", "import-plan", str(plan_csv), "--url", stack.url]

    out = subprocess.run([*cli, "--manifests", str(tmp_path / "m")], capture_output=True, text=True, timeout=120)
    assert out.returncode == 3, out.stdout + out.stderr  # 3: some rows rejected
    assert "planned 2, already planned 0, rejected rows 1" in out.stdout
    codes = {
        r["consignment_id"]: r["receipt_code"]
        for r in csv.DictReader(plan_csv.with_suffix(".codes.csv").open(encoding="utf-8-sig"))
    }
    assert sorted(codes) == [f"P1-{run}", f"P2-{run}"] and all(SHOWN_CODE.fullmatch(c) for c in codes.values()), codes
    [reject] = list(csv.DictReader(plan_csv.with_suffix(".rejects.csv").open(encoding="utf-8-sig")))
    assert reject["line"] == "5" and reject["code"] == "invalid_value" and "99.99" in reject["reason"]
    view = api.get(f"/api/v1/consignments/P1-{run}").json()
    assert sorted(view["expected"]) == sorted([units[0]["asset_id"], units[1]["asset_id"]]), view

    # the codes file is never overwritten; a re-run into another file plans nothing twice and shows no code
    again = subprocess.run(cli, capture_output=True, text=True, timeout=120)
    assert again.returncode == 1 and "exists" in again.stderr
    rerun = subprocess.run([*cli, "--codes", str(tmp_path / "more.csv")], capture_output=True, text=True, timeout=120)
    assert "planned 0, already planned 2" in rerun.stdout, rerun.stdout + rerun.stderr
    assert not (tmp_path / "more.csv").exists()
    settled(stack)
    for cid in codes:  # planned once each in the audit log, however often the file was run
        planned = mongo.event_log.count_documents({"asset_id": cid, "type": "id.serah.consignment.planned.v1"})
        assert planned == 1, (cid, planned)

    # the manifest written with the plan carries the code, the office, the legal basis and every unit
    pdf = (tmp_path / "m" / f"manifest-P1-{run}.pdf").read_bytes()
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for needed in (
        "SURAT JALAN",
        f"P1-{run}",
        "Badan Kesatuan Bangsa dan Politik Kota Makassar",
        "KEP-9/2026",
        "Andi Wijaya",
        "198001012005011001",
        codes[f"P1-{run}"],
        units[0]["serial"],
        units[1]["serial"],
        units[1]["asset_id"],
        "Lenovo",
        "Pengemudi",
    ):
        assert needed in text, needed


def test_a_manifest_prints_only_the_right_receipt_code(api: httpx.Client) -> None:
    run = uuid.uuid4().hex[:6]
    [unit] = laptops(api, 1)
    code = plan(api, f"M-{run}", [unit["asset_id"]])["receipt_code"]
    url = f"/api/v1/consignments/M-{run}/manifest.pdf"
    blank = api.post(url, json={})
    assert blank.status_code == 200 and blank.headers["content-type"] == "application/pdf"
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(blank.content)).pages)
    assert code not in text and "fill in from the codes file" in text and unit["serial"] in text
    good = api.post(url, json={"receipt_code": code.replace("-", "").lower()})  # printed grouped as shown
    assert code in "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(good.content)).pages)
    for body, status, problem in (
        ({"receipt_code": "WRONGCOD"}, 403, "receipt_code_invalid"),
        ({"receipt_code": "AAAA-BBBB-CCCC-DDDD"}, 403, "receipt_code_invalid"),
        ({"receipt_code": ""}, 422, None),
        ({"other": 1}, 422, None),
    ):
        r = api.post(url, json=body)
        assert r.status_code == status and r.headers["content-type"] == "application/problem+json", r.text
        if problem:
            assert r.json()["code"] == problem
    missing = api.post("/api/v1/consignments/NOPE-404/manifest.pdf", json={})
    assert missing.status_code == 404 and missing.json()["code"] == "unknown_consignment"
