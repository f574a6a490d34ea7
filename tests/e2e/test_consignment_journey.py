"""Issue 4, done-when: a consignment of 25 laptops to the Kesbangpol office of
Kota Makassar (73.71) through the real stack, down to the BAST PDF's text."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx
import pypdf

from deploy.local.stack import Stack
from tests.builders import SHOWN_CODE
from tests.conftest import eventually
from tests.e2e.conftest import CLOSE, register
from tests.settle import settled

SENDER = CLOSE["dispatcher"]  # whom the tests' device names as dispatching: the BAST's PIHAK PERTAMA
OFFICIAL = {"name": "Andi Pratama", "nip": "198001012005011001", "jabatan": "Kepala Badan Kesbangpol"}
LEGAL = {"kind": "allocation_decree", "number": "KEP-734/SJ/2026", "date": "2026-10-01"}


def laptops(api: httpx.Client, n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(n):
        serial = f"MKS{uuid.uuid4().hex[:9].upper()}"
        bmn = {"kode_barang": "3100102001", "nup": i + 1, "acquisition_year": 2026, "acquisition_value": 9_500_000}
        asset = register(api, serial=serial, bmn=bmn)["subject"]
        out.append({"asset_id": asset, "serial": serial})
    for laptop in out:
        asset = laptop["asset_id"]
        laptop["label"] = eventually(
            lambda asset=asset: api.get(f"/api/v1/laptops/{asset}").json().get("label_url"), what="laptop view"
        )
    return out


def plan(
    api: httpx.Client,
    cid: str,
    assets: list[str],
    office: str = "73.71",
    officials: list[dict[str, str]] | None = None,
    **more: str,
) -> dict[str, Any]:
    body = {
        "consignment_id": cid,
        "office_code": office,
        "officials": officials or [OFFICIAL],
        "legal_basis": LEGAL,
        "expected": assets,
        **more,
    }
    r = api.post("/api/v1/consignments", json=body)
    assert r.status_code == 201, r.text
    return r.json()  # type: ignore[no-any-return]


def scan(api: httpx.Client, cid: str, label: str, scan_id: str | None = None) -> httpx.Response:
    return api.post(
        f"/api/v1/consignments/{cid}/scans", json={"scan_id": scan_id or f"s-{uuid.uuid4()}", "label": label}
    )


def test_a_consignment_of_25_laptops_is_dispatched_received_and_its_bast_says_so(api: httpx.Client) -> None:
    run = uuid.uuid4().hex[:6]
    cid, other_cid = f"KSB-7371-{run}", f"KSB-7372-{run}"
    units = laptops(api, 26)
    ours, stray = units[:25], units[25]
    code = plan(api, cid, [u["asset_id"] for u in ours])["receipt_code"]
    plan(api, other_cid, [stray["asset_id"]], office="73.72")

    # dispatch: 25 scans, one laptop of another consignment, one duplicate
    for u in ours:
        assert scan(api, cid, u["label"]).json()["decision"] == "accepted"
    wrong = scan(api, cid, stray["label"])
    assert wrong.status_code == 409 and wrong.json()["code"] == "belongs_to_other_consignment"
    dup = scan(api, cid, ours[0]["label"])
    assert (
        dup.status_code == 200
        and dup.json()["decision"] == "duplicate"
        and dup.json()["reason"] == "already_in_consignment"
    )
    view = api.get(f"/api/v1/consignments/{cid}").json()
    assert len(view["scanned"]) == 25 and view["missing"] == []
    closed = api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE)
    assert closed.status_code == 200, closed.text
    late = scan(api, cid, ours[1]["label"])
    assert late.status_code == 409 and late.json()["code"] == "consignment_closed"
    eventually(
        lambda: api.get(f"/api/v1/laptops/{ours[24]['asset_id']}").json()["status"] == "in_transit", what="in transit"
    )
    assert cid in [c["consignment_id"] for c in eventually(lambda: api.get("/api/v1/consignments/unconfirmed").json())]

    # receipt: one laptop lightly damaged (RR), one missing
    damaged, lost = ours[3], ours[7]
    lines = [
        {
            "asset_id": u["asset_id"],
            "condition": "RR" if u is damaged else "B",
            "note": "engsel longgar" if u is damaged else "",
        }
        for u in ours
        if u is not lost
    ]
    receipt = {
        "receipt_id": f"r-{run}",
        "official": OFFICIAL,
        "receipt_code": code,
        "lines": lines,
        "missing": [lost["asset_id"]],
    }
    wrong_code = api.post(
        f"/api/v1/consignments/{cid}/receipt", json=receipt | {"receipt_id": f"rx-{run}", "receipt_code": "WRONGCOD"}
    )
    assert wrong_code.status_code == 403 and wrong_code.json()["code"] == "receipt_code_invalid"
    confirmed = api.post(f"/api/v1/consignments/{cid}/receipt", json=receipt)
    assert confirmed.status_code == 200, confirmed.text
    recorded = confirmed.json()["event"]["data"]
    assert recorded["complete"] is False and recorded["missing"] == [lost["asset_id"]]

    pdf = eventually(
        lambda: (r := api.get(f"/api/v1/consignments/{cid}/bast.pdf")).status_code == 200 and r.content, what="BAST"
    )
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    for needed in (
        recorded["bast_number"],
        "Badan Kesatuan Bangsa dan Politik Kota Makassar",
        OFFICIAL["name"],
        OFFICIAL["nip"],
        OFFICIAL["jabatan"],
        SENDER["name"],
        SENDER["nip"],
        LEGAL["number"],
        "PIHAK PERTAMA",
        "PIHAK KEDUA",
        "Rusak Ringan (RR)",
        f"TIDAK DITERIMA (missing): {lost['serial']}",
        "tanggung jawab",
        "rangkap asli",
    ):
        assert needed in text, needed
    for u in ours:
        if u is not lost:
            assert u["serial"] in text, u["serial"]
    # the stored hash is the hash of what we downloaded, and the record page can check it
    check = api.post(f"/api/v1/consignments/{cid}/bast/verify", files={"file": ("bast.pdf", pdf, "application/pdf")})
    assert check.status_code == 200, check.text
    assert check.json()["matches"] is True
    assert api.post(f"/api/v1/consignments/{cid}/bast/verify", content=pdf + b"x").json()["matches"] is False
    assert recorded["bast_sha256"] in api.get(f"/bast/{cid}").text

    assert eventually(
        lambda: api.get(f"/api/v1/laptops/{damaged['asset_id']}").json()["status"] == "received", what="received"
    )
    assert api.get(f"/api/v1/laptops/{lost['asset_id']}").json()["status"] == "in_transit"
    again = api.post(
        f"/api/v1/consignments/{cid}/receipt",
        json=receipt | {"receipt_id": f"r2-{run}", "lines": lines[:1], "missing": []},
    )
    assert again.status_code == 422 and again.json()["code"] == "not_expected"


def test_consignment_endpoints_refuse_hostile_input_with_a_code(api: httpx.Client) -> None:
    bad_plan = {
        "consignment_id": "../etc",
        "office_code": "73.71",
        "officials": [],
        "legal_basis": LEGAL,
        "expected": [],
    }
    r = api.post("/api/v1/consignments", json=bad_plan)
    assert (
        r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json") and r.json()["code"]
    )
    bad_nip = {
        "consignment_id": "X1",
        "office_code": "73.71",
        "officials": [OFFICIAL | {"nip": "123"}],
        "legal_basis": LEGAL,
        "expected": ["SRHPPSKGESNAC"],
    }
    assert api.post("/api/v1/consignments", json=bad_nip).status_code == 422
    r = api.post("/api/v1/consignments/NOPE-1/scans", json={"scan_id": "s1", "label": "not a label"})
    assert r.status_code in (404, 422) and r.json()["code"] in ("unknown_consignment", "label_malformed")
    r = api.get("/api/v1/consignments/NOPE-1")
    assert r.status_code == 404 and r.json()["code"] == "unknown_consignment"
    r = api.get("/api/v1/consignments/NOPE-1/bast.pdf")
    assert r.status_code == 404 and r.json()["code"] == "unknown_bast"
    r = api.post("/api/v1/consignments/NOPE-1/close", json=CLOSE)
    assert r.status_code == 404 and r.json()["code"] == "unknown_consignment"
    r = api.post(
        "/api/v1/consignments/NOPE-1/receipt",
        json={"receipt_id": "r", "official": OFFICIAL, "receipt_code": "x", "lines": []},
    )
    assert r.status_code == 422


def test_consignments_are_chained_and_verifiable_in_the_audit_export_but_never_counted_as_laptops(
    api: httpx.Client, stack: Stack, tmp_path: Path
) -> None:
    def office_row() -> dict[str, Any]:
        for p in api.get("/api/v1/audit/rollups", params={"province": "73"}).json():
            for o in p["offices"]:
                if o["code"] == "73.72":
                    return dict(o)
        return {"dispatched": 0, "in_transit": 0, "anomalies": 0}

    run = uuid.uuid4().hex[:6]
    cid = f"KSB-7372-{run}"
    units = laptops(api, 2)
    # The roll-up is shared by every test of the run: measure this test's part of it.
    settled(stack)
    before = office_row()
    code = plan(api, cid, [u["asset_id"] for u in units], office="73.72")["receipt_code"]
    assert SHOWN_CODE.fullmatch(code), code
    # re-posting the plan replays it: its first code stands, so no (invalid) new code is shown
    again = plan(api, cid, [u["asset_id"] for u in units], office="73.72")
    assert again["receipt_code"] is None and again["replayed"] is True, again
    assert scan(api, cid, units[0]["label"]).json()["decision"] == "accepted"
    assert scan(api, cid, units[0]["label"]).json()["decision"] == "duplicate"  # a rejection about the consignment
    assert api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE).status_code == 200

    # the roll-up counts the two laptops, not the consignment, and no laptop rule fired on it:
    # one laptop more dispatched and in transit (the other was never scanned), no anomaly more
    eventually(lambda: office_row()["dispatched"] > before["dispatched"], what="73.72 in the roll-up")
    settled(stack)
    row = office_row()
    delta = {k: row[k] - before[k] for k in ("dispatched", "in_transit", "anomalies")}
    assert delta == {"dispatched": 1, "in_transit": 1, "anomalies": 0}, (before, row)
    views = [api.get(f"/api/v1/laptops/{u['asset_id']}").json() for u in units]
    assert sorted(v["status"] for v in views) == ["allocated", "in_transit"]

    # the consignment's events are in the export and the whole export verifies offline
    env = stack.env()
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "checkpoint", "--force"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    keys = tmp_path / "keys.json"
    keys.write_text(api.get("/api/v1/audit/checkpoint-keys").text)
    export = api.get("/api/v1/audit/export.jsonl").text.splitlines()
    assert any(f'"subject":"{cid}"' in line for line in export)
    # The consignment's chain verifies on its own against the checkpoint's signed root:
    # an export of that chain carries its inclusion proof, and the verifier is told
    # which chain to check (the file cannot say so: nothing unsigned decides a verdict).
    part = tmp_path / "consignment.jsonl"
    part.write_bytes(api.get("/api/v1/audit/export.jsonl", params={"subject": cid}).content)
    kinds = [json.loads(line)["kind"] for line in part.read_text().splitlines()]
    assert kinds.count("event") >= 4 and kinds.count("proof") == 1, kinds
    # the export keeps the code's keyed hash only: neither the code nor its plain SHA-256
    bare = code.replace("-", "")
    assert '"receipt_code_hash":"hmac-sha256:R1:' in part.read_text()
    assert bare not in part.read_text() and hashlib.sha256(bare.encode()).hexdigest() not in part.read_text()
    ok = subprocess.run(
        [sys.executable, "-m", "services.cli", "verify", str(part), "--key-file", str(keys), "--subject", cid],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("INTACT: 1 chain, "), ok.stdout + ok.stderr
