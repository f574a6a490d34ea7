"""Issue 3 through the real stack: a lost label is revoked and re-issued, the new
one dispatches at once and is received at the first try once the handover service
has read the re-issue, the old one is refused everywhere; keys rotate;
the published key file verifies labels offline."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from deploy.local.stack import Stack
from events import labels
from tests.conftest import eventually
from tests.e2e.conftest import register
from tests.e2e.test_journey import scan
from tests.settle import settled


def current_label(api: httpx.Client, asset: str, generation: int) -> str:
    def check() -> str | None:
        view = api.get(f"/api/v1/laptops/{asset}").json()
        url = view.get("label_url")  # absent (404) until the audit view has the laptop
        return url if url and labels.parse(url).generation == generation else None

    return eventually(check, what=f"label generation {generation} in the view")  # type: ignore[no-any-return]


def test_a_reissued_label_dispatches_at_once_is_received_at_the_first_try_and_the_old_one_is_refused_at_both(
    api: httpx.Client, stack: Stack
) -> None:
    asset = register(api)["subject"]
    old = current_label(api, asset, 1)
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32.73"}).status_code == 200

    r = api.post(
        f"/api/v1/laptops/{asset}/label/reissue",
        json={"reason": "lost", "note": "stiker hilang"},
        headers={"Idempotency-Key": f"reissue-{asset}"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["event"]["type"] == "id.serah.label.reissued.v1"
    assert r.json()["event"]["data"]["label"]["generation"] == 2
    assert r.json()["event"]["data"]["revoked_generation"] == 1
    # The same request again is the same re-issue, not a third generation.
    again = api.post(
        f"/api/v1/laptops/{asset}/label/reissue",
        json={"reason": "lost", "note": "stiker hilang"},
        headers={"Idempotency-Key": f"reissue-{asset}"},
    )
    assert again.json()["event"]["id"] == r.json()["event"]["id"]

    # Allocation decided the re-issue itself, so the new label dispatches at once.
    new = current_label(api, asset, 2)
    refused = scan(api, "dispatch", old)
    assert refused.status_code == 422 and refused.json()["code"] == "label_revoked", refused.text
    assert "generation 2" in refused.json()["detail"]
    assert scan(api, "dispatch", new).status_code == 200

    # Handover learns the re-issue and the dispatch from serah.events: once it has read
    # them (the stream settled), the new label is received at its first try, no retry.
    settled(stack)
    refused = scan(api, "receipt", old)
    assert refused.status_code == 422 and refused.json()["code"] == "label_revoked", refused.text
    first = scan(api, "receipt", new)
    assert first.status_code == 200 and first.json()["decision"] == "accepted", first.text

    settled(stack)
    history = api.get(f"/api/v1/laptops/{asset}/history").json()["events"]
    types = [e["type"] for e in history]
    assert "id.serah.label.reissued.v1" in types
    reissued = next(e for e in history if e["type"] == "id.serah.label.reissued.v1")
    assert (reissued["data"]["reason"], reissued["data"]["note"]) == ("lost", "stiker hilang")
    assert types.count("id.serah.command.rejected.v1") == 2


def test_a_reissue_needs_a_known_reason_and_a_registered_laptop(api: httpx.Client) -> None:
    asset = register(api)["subject"]
    for body in ({}, {"reason": "bored"}, {"reason": "lost", "extra": 1}, {"reason": "lost", "note": "x" * 1001}):
        r = api.post(f"/api/v1/laptops/{asset}/label/reissue", json=body)
        assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["code"] and r.json()["detail"]
    unknown = labels.asset_id_for_serial("NEVER-" + uuid.uuid4().hex)
    r = api.post(f"/api/v1/laptops/{unknown}/label/reissue", json={"reason": "damaged"})
    assert r.status_code == 404 and r.json()["code"] == "unknown_laptop", r.text


def test_a_label_signed_by_an_older_still_trusted_key_keeps_working(api: httpx.Client, signing_keys: str) -> None:
    # The session's keyring is T1 (active), T0 (older, still trusted).
    ring = labels.parse_keyring(signing_keys)
    assert list(ring) == ["T1", "T0"]
    asset = register(api)["subject"]
    genuine = current_label(api, asset, 1)
    assert labels.parse(genuine).key_id == "T1"
    base = genuine.rsplit("/L/", 1)[0]
    older = labels.format_label(base, asset, 1, "T0", labels.sign(ring["T0"], asset, 1, "T0"))
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "11.01"}).status_code == 200
    r = scan(api, "dispatch", older)
    assert r.status_code == 200, r.text
    retired = labels.format_label(base, asset, 1, "T9", labels.sign(ring["T0"], asset, 1, "T9"))
    assert scan(api, "receipt", retired).json()["code"] == "label_unknown_key"


def test_the_published_key_file_verifies_labels_offline(api: httpx.Client, stack: Stack, tmp_path: Path) -> None:
    r = api.get("/api/v1/label-keys.json")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    doc: dict[str, Any] = r.json()
    assert [(k["key_id"], k["active"]) for k in doc["keys"]] == [("T1", True), ("T0", False)]
    asset = register(api)["subject"]
    label = current_label(api, asset, 1)
    assert labels.verify_offline(label, doc).asset_id == asset

    # The same with the command line: fetch the file, then check with nothing else.
    key_file = tmp_path / "keys.json"
    serah = [sys.executable, "-m", "services.cli.main"]
    out = subprocess.run(
        [
            *serah[:1],
            "-c",
            "from services.cli.main import main; main()",
            "label-keys",
            "--url",
            stack.url,
            "-o",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert json.loads(key_file.read_text()) == doc
    ok = subprocess.run(
        [
            *serah[:1],
            "-c",
            "from services.cli.main import main; main()",
            "verify-label",
            label,
            "--keys",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ok.returncode == 0 and f"GENUINE: {asset}" in ok.stdout
    forged = label[:-2] + ("AA" if not label.endswith("AA") else "BA")
    bad = subprocess.run(
        [
            *serah[:1],
            "-c",
            "from services.cli.main import main; main()",
            "verify-label",
            forged,
            "--keys",
            str(key_file),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert bad.returncode == 2 and "NOT GENUINE" in bad.stdout
