"""One laptop's whole life on the real stack, after its receipt: handed to a holder (by
``serah import-holders``, with the office's staff list), confirmed and attested by the
holder in person, given back, transferred to another office (plan, scan, close, receipt,
BAST), repaired, lost (a scan of it raises an anomaly), recovered, returned to the
warehouse, proposed for write-off and approved by another official; its label is then
revoked everywhere. Its chain, and the transfer's, verify offline with ``serah verify``."""

from __future__ import annotations

import csv
import hashlib
import io
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pypdf

from deploy.local.stack import Stack
from events import offices
from tests.conftest import eventually
from tests.e2e.conftest import CLOSE, as_device, register
from tests.e2e.test_journey import scan

PASSWORD = "kata sandi yang panjang"
GIVER, TAKER = "73.71", "73.72"  # Kota Makassar, Kota Parepare


def nip() -> str:
    return "1990" + str(uuid.uuid4().int)[:14]


def official(name: str) -> dict[str, str]:
    return {"name": name, "nip": nip(), "jabatan": "Kepala Bagian Umum"}


@contextmanager
def person(stack: Stack, api: httpx.Client, who: dict[str, str], role: str, scope: str) -> Iterator[httpx.Client]:
    """A person with an account (made by the tests' administrator device), signed in."""
    made = api.post("/api/v1/accounts", json={**who, "grants": [{"role": role, "scope": scope}], "password": PASSWORD})
    assert made.status_code == 201, made.text
    with httpx.Client(base_url=stack.url, timeout=30) as client:
        r = client.post("/api/v1/session", json={"account": who["nip"], "password": PASSWORD})
        assert r.status_code == 200, r.text
        client.headers["X-CSRF-Token"] = r.json()["csrf_token"]
        yield client


def accepted(r: httpx.Response, event_type: str) -> dict[str, Any]:
    assert r.status_code == 200, r.text
    event = r.json()["event"]
    assert event["type"] == f"id.serah.{event_type}", event
    return event  # type: ignore[no-any-return]


def refused(r: httpx.Response, status: int, code: str) -> None:
    assert (r.status_code, r.json().get("code")) == (status, code), r.text


def status(api: httpx.Client, asset: str) -> str:
    return str(api.get(f"/api/v1/laptops/{asset}").json()["status"])


def anomaly(api: httpx.Client, asset: str, rule: str) -> list[dict[str, Any]]:
    found = api.get("/api/v1/audit/anomalies", params={"rule": rule}).json()
    return [a for a in found if a["asset_id"] == asset]


def pdf_of(api: httpx.Client, document_id: str) -> bytes:
    """A document's PDF: stored by handover once its fact is recorded, so a moment after the answer."""
    return eventually(  # type: ignore[no-any-return]
        lambda: (r := api.get(f"/api/v1/documents/{document_id}/pdf")).status_code == 200 and r.content,
        what=f"document {document_id}",
    )


def pdf_text(pdf: bytes) -> str:
    return " ".join("".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages).split())


def receive_consignment(
    office: httpx.Client, cid: str, code: str, signer: dict[str, str], asset: str, condition: str = "B"
) -> dict[str, Any]:
    body = {
        "receipt_id": f"r-{cid}",
        "official": signer,
        "receipt_code": code,
        "lines": [{"asset_id": asset, "condition": condition, "note": ""}],
    }
    return accepted(office.post(f"/api/v1/consignments/{cid}/receipt", json=body), "consignment.receipt-confirmed.v1")


def test_one_laptop_lives_from_receipt_to_write_off_and_its_history_verifies(
    api: httpx.Client, stack: Stack, tmp_path: Path
) -> None:
    run = uuid.uuid4().hex[:6].upper()
    serial = f"LIFE{run}"
    asset = register(api, serial=serial, bmn={"kode_barang": "3100102001", "nup": 7})["subject"]
    label = eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json().get("label_url"), what="label")
    giver, _ = as_device(stack, f"kesbangpol-{GIVER}", ("recipient",), GIVER)
    taker, _ = as_device(stack, f"kesbangpol-{TAKER}", ("recipient",), TAKER)
    signer_a, signer_b = official("Andi Pratama"), official("Yusuf Hamzah")
    holder = {"name": "Rina Wulandari", "nip": nip(), "jabatan": "Analis Kebijakan", "unit": "Bidang Politik"}

    # --- the first handover: a consignment from the warehouse to office A ---
    cid = f"KSB-LIFE-{run}"
    plan = {
        "consignment_id": cid,
        "office_code": GIVER,
        "officials": [signer_a],
        "legal_basis": {"kind": "allocation_decree", "number": "KEP-1/2026", "date": "2026-10-01"},
        "expected": [asset],
    }
    code = api.post("/api/v1/consignments", json=plan).json()["receipt_code"]
    accepted(
        api.post(f"/api/v1/consignments/{cid}/scans", json={"scan_id": f"s-{cid}", "label": label}),
        "consignment.laptop-scanned.v1",
    )
    accepted(api.post(f"/api/v1/consignments/{cid}/close", json=CLOSE), "consignment.dispatched.v1")
    receive_consignment(giver, cid, code, signer_a, asset)
    eventually(lambda: status(api, asset) == "received", what="received at office A")

    # --- the office's staff list and the holder, by serah import-holders ---
    holders = tmp_path / "holders.csv"
    holders.write_text(
        "kode kantor;nip;nama;jabatan;unit kerja;kode aset;kondisi\n"
        f"{GIVER};{holder['nip']};{holder['name']};{holder['jabatan']};{holder['unit']};{asset};B\n"
        f"{GIVER};{signer_a['nip']};{signer_a['name']};{signer_a['jabatan']};Pimpinan;;\n"
    )
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "import-holders",
            str(holders),
            "--url",
            stack.url,
            "--by-name",
            signer_a["name"],
            "--by-nip",
            signer_a["nip"],
            "--by-jabatan",
            signer_a["jabatan"],
        ],
        capture_output=True,
        text=True,
        env=stack.env() | {"SERAH_TOKEN": api.headers["Authorization"].split()[1]},
    )
    assert out.returncode == 0 and "laptops handed out 1" in out.stdout, out.stdout + out.stderr
    assert status(api, asset) == "assigned"
    history = api.get(f"/api/v1/laptops/{asset}/history").json()["events"]
    assigned = next(e for e in history if e["type"] == "id.serah.laptop.assigned.v1")["data"]
    document = assigned["document"]
    berita_acara = pdf_of(api, document["id"])
    record = api.get(f"/api/v1/documents/{document['id']}").json()
    assert record["number"] == document["number"] and record["sha256"] == document["sha256"]
    assert hashlib.sha256(berita_acara).hexdigest() == document["sha256"]
    text = pdf_text(berita_acara)
    assert holder["name"] in text and signer_a["name"] in text and serial in text and document["number"] in text

    # --- the holder confirms and attests in person; an attestation by someone else is flagged ---
    with person(stack, api, {k: holder[k] for k in ("name", "nip", "jabatan")}, "holder", GIVER) as rina:
        accepted(scan(rina, "assignment", label), "laptop.assignment-confirmed.v1")
        attested = accepted(scan(rina, "attestation", label, condition="B"), "laptop.usage-attested.v1")
        assert attested["data"]["attested_by"]["nip"] == holder["nip"]
    assert status(api, asset) == "in_use"
    accepted(scan(giver, "attestation", label, attested_by=signer_a), "laptop.usage-attested.v1")
    eventually(lambda: anomaly(api, asset, "attested_by_other"), what="attested_by_other anomaly")

    # --- given back, then transferred to office B with its BAST ---
    accepted(scan(giver, "holder-return", label, condition="RR", note="baterai lemah"), "laptop.returned-by-holder.v1")
    transfer_id = f"MUT-LIFE-{run}"
    transfer = {
        "consignment_id": transfer_id,
        "from_office": GIVER,
        "office_code": TAKER,
        "officials": [signer_b],
        "legal_basis": {"kind": "transfer_decree", "number": "KEP-MUT-3/2027", "date": "2027-01-10"},
        "expected": [asset],
    }
    refused(taker.post("/api/v1/transfers", json=transfer), 403, "not_your_office")
    planned = giver.post("/api/v1/transfers", json=transfer)
    assert planned.status_code == 201, planned.text
    transfer_code = planned.json()["receipt_code"]
    refused(
        api.post(f"/api/v1/consignments/{transfer_id}/scans", json={"scan_id": f"w-{run}", "label": label}),
        409,
        "wrong_sender",
    )
    accepted(
        giver.post(f"/api/v1/transfers/{transfer_id}/scans", json={"scan_id": f"t-{run}", "label": label}),
        "consignment.laptop-scanned.v1",
    )
    accepted(
        giver.post(f"/api/v1/transfers/{transfer_id}/close", json={"dispatcher": signer_a}), "consignment.dispatched.v1"
    )
    eventually(lambda: status(api, asset) == "in_transit", what="in transit to office B")
    assert api.get(f"/api/v1/laptops/{asset}").json()["office_code"] == GIVER, "office A's until the receipt"
    bast = receive_consignment(taker, transfer_id, transfer_code, signer_b, asset, condition="RR")
    eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json()["office_code"] == TAKER, what="office B's")
    pdf = eventually(
        lambda: (r := api.get(f"/api/v1/consignments/{transfer_id}/bast.pdf")).status_code == 200 and r.content,
        what="transfer BAST",
    )
    assert hashlib.sha256(pdf).hexdigest() == bast["data"]["bast_sha256"]
    text = pdf_text(pdf)
    for needed in ("MUTASI", offices.get(GIVER).name, offices.get(TAKER).name, signer_a["name"], signer_b["name"]):  # type: ignore[union-attr]
        assert needed in text, needed

    # --- repair: while out it cannot be attested ---
    accepted(
        scan(taker, "repair-out", label, vendor="CV Mitra Servis Parepare", reason="engsel patah"),
        "laptop.repair-started.v1",
    )
    refused(scan(taker, "attestation", label), 409, "in_repair")
    accepted(scan(taker, "repair-back", label, condition="B"), "laptop.repair-finished.v1")

    # --- lost: any scan of it is an anomaly; then found ---
    lost = taker.post(
        f"/api/v1/laptops/{asset}/loss",
        json={"request_id": f"loss-{run}", "kind": "stolen", "circumstances": "dicuri", "police_report": "LP/9/2027"},
    )
    accepted(lost, "laptop.reported-lost.v1")
    refused(scan(taker, "attestation", label), 409, "lost")
    eventually(lambda: anomaly(api, asset, "scanned_while_lost"), what="scanned_while_lost anomaly")
    accepted(scan(taker, "recovery", label, condition="RR", note="ditemukan polisi"), "laptop.recovered.v1")

    # --- back to the warehouse, proposed for write-off, approved by another official ---
    accepted(scan(api, "warehouse-return", label, condition="RB"), "laptop.returned-to-warehouse.v1")
    assert status(api, asset) == "registered"
    proposer, approver = official("Dewi Anggraini"), official("Bambang Wijaya")
    with (
        person(stack, api, proposer, "operator", "*") as dewi,
        person(stack, api, approver, "operator", "*") as bambang,
    ):
        proposal = dewi.post(
            f"/api/v1/laptops/{asset}/write-off",
            json={"request_id": f"wo-{run}", "reason": "beyond_repair", "note": "papan induk rusak"},
        )
        proposed = accepted(proposal, "laptop.write-off-proposed.v1")
        assert proposed["data"]["proposer"]["nip"] == proposer["nip"]
        usulan = pdf_of(api, proposed["data"]["document"]["id"])
        assert hashlib.sha256(usulan).hexdigest() == proposed["data"]["document"]["sha256"]
        assert "USULAN PENGHAPUSAN" in pdf_text(usulan)
        refused(
            dewi.post(f"/api/v1/laptops/{asset}/write-off/approval", json={"request_id": f"a1-{run}"}),
            403,
            "same_official",
        )
        approval = bambang.post(
            f"/api/v1/laptops/{asset}/write-off/approval",
            json={"request_id": f"a2-{run}", "decree_number": "KEP-HAPUS-4/2027"},
        )
        accepted(approval, "laptop.written-off.v1")
    assert status(api, asset) == "written_off"

    # --- its label is revoked: every later scan is refused and raised ---
    refused(scan(taker, "attestation", label), 422, "label_revoked")
    eventually(lambda: anomaly(api, asset, "scanned_after_write_off"), what="scanned_after_write_off anomaly")
    eventually(
        lambda: scan(api, "dispatch", label).json().get("code") == "label_revoked", what="allocation refuses it too"
    )
    revoked = api.get("/api/v1/label-revocations").json()
    assert any(r["asset_id"] == asset for r in revoked), "offline scanners learn the revocation"
    types = [e["type"] for e in api.get(f"/api/v1/laptops/{asset}/history").json()["events"]]
    assert types.index("id.serah.laptop.written-off.v1") + 1 == types.index("id.serah.label.revoked.v1")

    # --- the export names each state; the laptop's and the transfer's chains verify offline ---
    rows = [r for r in csv.DictReader(io.StringIO(api.get("/api/v1/audit/export.csv").text)) if r["asset_id"] == asset]
    states = {r["state"] for r in rows}
    assert {"received", "assigned", "in_use", "in_transit", "in_repair", "lost", "written_off"} <= states, states
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "checkpoint", "--force"], env=stack.env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    keys = tmp_path / "keys.json"
    keys.write_text(api.get("/api/v1/audit/checkpoint-keys").text)
    proof = tmp_path / "life.jsonl"
    proof.write_bytes(api.get("/api/v1/audit/export.jsonl", params={"subject": [asset, transfer_id]}).content)
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "services.cli",
            "verify",
            str(proof),
            "--key-file",
            str(keys),
            "--subject",
            asset,
            "--subject",
            transfer_id,
        ],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("INTACT: 2 chains, "), ok.stdout + ok.stderr
