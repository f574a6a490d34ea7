"""The audit through the whole stack: anomalies within seconds, usage attestation,
a signed checkpoint, one laptop's proof verified offline by ``serah verify``,
exports, timeline and history with their chain verdict, roll-ups and due lists.
Tampering with the store is tested on a database of its own
(tests/integration/test_tamper_evidence.py): this stack's store is shared."""

from __future__ import annotations

import csv
import io
import json
import secrets
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from deploy.local.stack import Stack
from tests.conftest import eventually
from tests.e2e.conftest import as_device
from tests.e2e.test_journey import scan

SURABAYA = {"lat": -7.25, "lon": 112.75}
BANDUNG = {"lat": -6.91, "lon": 107.61}


def anomalies(api: httpx.Client, **params: Any) -> list[dict[str, Any]]:
    r = api.get("/api/v1/audit/anomalies", params=params)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def test_an_auditor_sees_anomalies_attestations_and_a_provable_history(
    api: httpx.Client, registered: tuple[str, str], stack: Stack, tmp_path: Path
) -> None:
    asset, label = registered
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32"}).status_code == 200
    office, kesbangpol = as_device(stack, "kesbangpol-32", ("recipient",), "32")
    assert scan(api, "dispatch", label, "d-" + asset).status_code == 200
    r = scan(office, "receipt", label, "r-" + asset, location=SURABAYA, note='=HYPERLINK("x")')
    assert r.status_code == 200, r.text

    # A receipt 560 km from Bandung: flagged within seconds, with evidence.
    far = eventually(
        lambda: [a for a in anomalies(api, rule="far_from_office", office="32") if a["asset_id"] == asset],
        what="far_from_office anomaly",
    )
    assert far[0]["evidence"]["distance_km"] > 500 and far[0]["caused_by"]

    # Scanning it for receipt again is refused, and raises an anomaly.
    assert scan(api, "receipt", label).json()["code"] == "already_received"
    eventually(
        lambda: [a for a in anomalies(api, rule="received_twice", province="32") if a["asset_id"] == asset],
        what="received_twice anomaly",
    )

    # Usage attestation, at the office this time.
    r = office.post(
        "/api/v1/scans/attestation",
        json={"scan_id": "att-" + asset, "label": label, "condition": "RR", "location": BANDUNG},
    )
    assert r.status_code == 200 and r.json()["event"]["type"] == "id.serah.laptop.usage-attested.v1", r.text

    timeline = eventually(
        lambda: (
            (t := api.get(f"/api/v1/audit/laptops/{asset}/timeline").json())
            and any(e["type"].endswith("usage-attested.v1") for e in t["events"])
            and sum(e["type"].endswith("anomaly-detected.v1") for e in t["events"]) >= 3
            and t
        ),
        what="timeline with attestation and anomalies",
    )  # far ×2 (receipt, none at Bandung) + twice
    assert timeline["chain"]["status"] == "verified", timeline["chain"]
    receipt = next(e for e in timeline["events"] if e["command_id"] == "r-" + asset)
    assert receipt["actor"] == kesbangpol and receipt["place"]["location"]["lat"] == SURABAYA["lat"]
    assert receipt["actor_name"] == "kesbangpol-32" and receipt["actor_nip"] is None  # the device, by its name

    # A signed checkpoint on demand; the laptop's proof verifies offline.
    env = stack.env()
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "checkpoint", "--force"], env=env, capture_output=True, text=True
    )
    assert out.returncode == 0 and out.stdout.startswith("checkpoint cp-"), out.stdout + out.stderr
    keys = tmp_path / "keys.json"
    keys.write_text(api.get("/api/v1/audit/checkpoint-keys").text)
    proof = tmp_path / "laptop.jsonl"
    proof.write_bytes(api.get(f"/api/v1/audit/laptops/{asset}/proof").content)
    ok = subprocess.run(
        [sys.executable, "-m", "services.cli", "verify", str(proof), "--key-file", str(keys), "--subject", asset],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("INTACT: 1 chain, "), ok.stdout + ok.stderr
    after = api.get(f"/api/v1/audit/laptops/{asset}/timeline").json()
    assert all(e["checkpointed"] for e in after["events"])
    # The laptop's history carries the same verdict as the timeline, signed up to its last event.
    history = api.get(f"/api/v1/laptops/{asset}/history").json()
    assert history["chain"] == after["chain"] and after["chain"]["signed_to_seq"] == len(after["events"])

    # The CSV export is spreadsheet-safe; the JSON Lines export starts with its header.
    rows = list(csv.DictReader(io.StringIO(api.get("/api/v1/audit/export.csv", params={"province": "32"}).text)))
    mine = [x for x in rows if x["asset_id"] == asset]
    assert any(x["note"] == '\'=HYPERLINK("x")' for x in mine)
    first = api.get("/api/v1/audit/export.jsonl").text.splitlines()[0]
    assert first == '{"kind":"header","format":"serah-export/2"}'

    # Roll-up for the province shows the office with a received, attested laptop.
    prov = next(p for p in api.get("/api/v1/audit/rollups", params={"province": "32"}).json() if p["code"] == "32")
    office = next(o for o in prov["offices"] if o["code"] == "32")
    assert office["received"] >= 1 and office["in_use"] >= 1 and office["anomalies"] >= 3


def test_audit_endpoints_refuse_bad_input_with_problem_details(api: httpx.Client) -> None:
    for path, code in (
        ("/api/v1/audit/anomalies?rule=DROP%20TABLE", 422),
        ("/api/v1/audit/anomalies?limit=0", 422),
        ("/api/v1/audit/rollups?province=3", 422),
        ("/api/v1/audit/attestations?state=later", 422),
        ("/api/v1/audit/laptops/not-an-asset/timeline", 422),
        ("/api/v1/audit/laptops/SRH0000000000/timeline", 404),
        ("/api/v1/audit/laptops/SRH0000000000/proof", 404),
    ):
        r = api.get(path)
        assert r.status_code == code, (path, r.text)
        assert r.headers["content-type"].startswith("application/problem+json") and r.json()["code"], path
    r = api.post("/api/v1/scans/attestation", json={"scan_id": str(uuid.uuid4()), "label": "hello"})
    assert (r.status_code, r.json()["code"]) == (422, "label_malformed")
    r = api.post("/api/v1/scans/attestation", json={"scan_id": str(uuid.uuid4()), "label": "x", "in_use": "maybe"})
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")


def test_a_freshly_received_laptop_is_neither_due_nor_overdue(api: httpx.Client, registered: tuple[str, str]) -> None:
    asset, label = registered
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "53.71"}).status_code == 200
    assert scan(api, "dispatch", label).status_code == 200
    assert scan(api, "receipt", label).status_code == 200
    eventually(lambda: api.get(f"/api/v1/laptops/{asset}").json()["status"] == "received", what="received view")
    for state in ("due", "overdue"):
        r = api.get("/api/v1/audit/attestations", params={"state": state, "office": "53.71"})
        assert r.status_code == 200 and asset not in [x["asset_id"] for x in r.json()]
    r = api.get("/api/v1/audit/rollups", params={"province": "53"})
    office = next(o for p in r.json() for o in p["offices"] if o["code"] == "53.71")
    assert office["received"] >= 1 and office["overdue"] == 0


def test_who_may_act_is_chained_and_verifiable_like_any_subject(
    api: httpx.Client, stack: Stack, tmp_path: Path
) -> None:
    me = api.get("/api/v1/me").json()
    nip = "19" + "".join(secrets.choice("0123456789") for _ in range(16))
    password = "kata sandi yang panjang"
    made = api.post(
        "/api/v1/accounts",
        json={
            "name": "Rina Wulandari",
            "nip": nip,
            "jabatan": "Auditor Muda",
            "grants": [{"role": "auditor"}],
            "password": password,
        },
    )
    assert made.status_code == 201, made.text
    account = f"account:nip-{nip}"

    def chain(subject: str) -> list[dict[str, Any]]:
        r = api.get("/api/v1/audit/export.jsonl", params={"subject": subject})
        lines = [json.loads(x) for x in r.text.splitlines()] if r.status_code == 200 else []
        return [x["event"] for x in lines if x["kind"] == "event"]

    [created] = eventually(lambda: chain(account), what="the account's chain")
    assert created["type"] == "id.serah.account.created.v1" and created["subjectkind"] == "account"
    assert created["actor"] == me["actor"]  # the administrator who made it
    assert created["data"]["name"] == "Rina Wulandari" and created["data"]["nip"] == nip
    assert password not in json.dumps(created) and "argon2" not in json.dumps(created)
    # the tests' own device, enrolled from the server's shell, is in the history too, by whoever ran it
    [enrolled] = eventually(lambda: chain(me["actor"]), what="the device's chain")
    assert enrolled["type"] == "id.serah.device.enrolled.v1" and enrolled["actor"].startswith("shell:")

    # signed into a checkpoint and proved offline like a laptop's chain
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "checkpoint", "--force"], env=stack.env(), capture_output=True, text=True
    )
    assert out.returncode == 0, out.stdout + out.stderr
    keys = tmp_path / "keys.json"
    keys.write_text(api.get("/api/v1/audit/checkpoint-keys").text)
    proof = tmp_path / "account.jsonl"
    proof.write_bytes(api.get("/api/v1/audit/export.jsonl", params={"subject": account}).content)
    ok = subprocess.run(
        [sys.executable, "-m", "services.cli", "verify", str(proof), "--key-file", str(keys), "--subject", account],
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("INTACT: 1 chain, "), ok.stdout + ok.stderr


def test_the_key_rings_the_gateway_started_with_are_in_the_history(
    api: httpx.Client, stack: Stack, public_keys: dict[str, bytes]
) -> None:
    import base64

    def chain(subject: str) -> list[dict[str, Any]]:
        r = api.get("/api/v1/audit/export.jsonl", params={"subject": subject})
        lines = [json.loads(x) for x in r.text.splitlines()] if r.status_code == 200 else []
        return [x["event"] for x in lines if x["kind"] == "event"]

    # Tests that run a gateway with keys of their own against the same Kafka add their rings to
    # the same chains: the stack's is the one recorded with the stack's keys.
    ours = list(public_keys)

    def stacks(subject: str, accepted: list[str] | None = None) -> list[dict[str, Any]]:
        return [
            e
            for e in chain(subject)
            if e["data"]["previous"] == [] and (accepted is None or e["data"]["accepted"] == accepted)
        ]

    labels, *_ = eventually(lambda: stacks("key:label-signing", ours), what="the label key ring's chain")
    assert labels["type"] == "id.serah.key.ring-changed.v1" and labels["actor"] == "system:gateway"
    assert labels["data"]["previous"] == []
    assert labels["data"]["active"] == next(iter(public_keys)) and labels["data"]["accepted"] == list(public_keys)
    assert labels["data"]["public_keys"] == {
        kid: base64.urlsafe_b64encode(raw).decode().rstrip("=") for kid, raw in public_keys.items()
    }
    receipt_kids = [k.split(":", 1)[0] for k in stack.env()["SERAH_RECEIPT_CODE_KEYS"].split(",")]
    codes, *_ = eventually(lambda: stacks("key:receipt-codes", receipt_kids), what="the receipt code key ring's chain")
    assert codes["data"]["public_keys"] == {} and codes["data"]["active"]
    secret = stack.env()["SERAH_RECEIPT_CODE_KEYS"].split(":", 1)[1]
    assert secret not in json.dumps(codes)  # only the key's id, never the key
    checkpoint_kids = [k.split(":", 1)[0] for k in stack.env()["SERAH_AUDIT_PUBLIC_KEYS"].split(",")]
    checkpoints, *_ = eventually(
        lambda: stacks("key:audit-checkpoints", checkpoint_kids), what="the checkpoint key ring's chain"
    )
    assert checkpoints["data"].get("active") is None and checkpoints["data"]["accepted"]  # it only verifies
