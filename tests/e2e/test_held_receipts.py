"""A receipt scanned moments after its dispatch, on the real stack, while a worker is
behind: answered ``202 pending`` and decided when the dispatch arrives, never
refused for the person to scan again. The allocation worker paused (the dispatch is
in Kafka, undecided: the handover holds the receipt), or the handover worker paused
(it has not read the dispatch: it catches up before deciding)."""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import Any

import httpx

from deploy.local.stack import Stack
from tests.conftest import eventually
from tests.settle import settled


@contextmanager
def paused(stack: Stack, worker: str) -> Iterator[subprocess.Popen[bytes]]:
    """The worker SIGSTOPped (a stall: GC, swap, a stuck disk) until the block ends,
    well inside its group's session timeout, so it keeps its partitions."""
    proc = stack.services[worker]
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGCONT)


def in_background(call: Any) -> tuple[threading.Thread, list[httpx.Response]]:
    out: list[httpx.Response] = []
    t = threading.Thread(target=lambda: out.append(call()), daemon=True)
    t.start()
    return t, out


def decision(api: httpx.Client, scan_id: str) -> dict[str, Any]:
    def asked() -> dict[str, Any] | None:
        r = api.get(f"/api/v1/scans/{scan_id}")
        return r.json() if r.status_code == 200 else None

    return eventually(asked, timeout_s=60, what=f"the decision on {scan_id}")  # type: ignore[no-any-return]


def allocated(api: httpx.Client, registered: tuple[str, str]) -> tuple[str, str]:
    asset, label = registered
    assert api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32.73"}).status_code == 200
    return asset, label


def test_a_receipt_sent_while_its_dispatch_is_undecided_is_held_then_received(
    api: httpx.Client, stack: Stack, registered: tuple[str, str]
) -> None:
    asset, label = allocated(api, registered)
    dispatch_id, receipt_id = f"d-{uuid.uuid4()}", f"r-{uuid.uuid4()}"
    with paused(stack, "allocation"):
        sending, dispatched = in_background(
            lambda: api.post("/api/v1/scans/dispatch", json={"scan_id": dispatch_id, "label": label})
        )
        time.sleep(0.5)  # the dispatch is in Kafka; the receipt a moment later
        started = time.monotonic()
        receipt = api.post(
            "/api/v1/scans/receipt", json={"scan_id": receipt_id, "label": label, "condition": "RR", "note": "lecet"}
        )
        took = time.monotonic() - started
    assert receipt.status_code == 202, receipt.text
    assert receipt.json()["reason"] == "awaiting_dispatch" and asset in receipt.json()["detail"]
    assert took < 4.5, f"held, yet answered after {took:.1f} s"
    sending.join(30)
    assert dispatched[0].status_code in (200, 202), dispatched[0].text

    received = decision(api, receipt_id)
    assert received["decision"] == "accepted", received
    assert received["event"]["type"] == "id.serah.laptop.received.v1"
    assert received["event"]["data"]["condition"] == "RR"
    assert decision(api, dispatch_id)["decision"] == "accepted"
    again = api.post(
        "/api/v1/scans/receipt", json={"scan_id": receipt_id, "label": label, "condition": "RR", "note": "lecet"}
    )
    assert again.status_code == 200 and again.json()["event"]["id"] == received["event"]["id"]

    settled(stack)
    history = [e["type"] for e in api.get(f"/api/v1/laptops/{asset}/history").json()["events"]]
    assert history.count("id.serah.laptop.dispatched.v1") == 1 and history.count("id.serah.laptop.received.v1") == 1
    assert history.index("id.serah.laptop.dispatched.v1") < history.index("id.serah.laptop.received.v1")
    assert "id.serah.laptop.anomaly-detected.v1" not in history
    assert api.get(f"/api/v1/laptops/{asset}").json()["status"] == "received"


def test_a_receipt_sent_while_the_handover_worker_is_behind_is_pending_then_received(
    api: httpx.Client, stack: Stack, registered: tuple[str, str]
) -> None:
    asset, label = allocated(api, registered)
    assert api.post("/api/v1/scans/dispatch", json={"scan_id": f"d-{uuid.uuid4()}", "label": label}).status_code == 200
    receipt_id = f"r-{uuid.uuid4()}"
    with paused(stack, "handover"):
        receipt = api.post("/api/v1/scans/receipt", json={"scan_id": receipt_id, "label": label})
    assert receipt.status_code == 202, receipt.text  # in Kafka; nobody has decided it yet
    assert receipt.headers["location"] == f"/api/v1/scans/{receipt_id}"
    assert decision(api, receipt_id)["decision"] == "accepted"
    assert api.get(f"/api/v1/laptops/{asset}").json()["status"] == "received"


def test_an_attestation_made_while_the_handover_worker_is_behind_is_taken_after_its_receipt(
    api: httpx.Client, stack: Stack, registered: tuple[str, str]
) -> None:
    """The receipt and then an attestation both wait in Kafka while handover is behind: the
    receipt is decided after the attestation was made, yet the attestation comes after the
    receipt as the people made them, and is recorded, not refused ``not_received``."""
    asset, label = allocated(api, registered)
    assert api.post("/api/v1/scans/dispatch", json={"scan_id": f"d-{uuid.uuid4()}", "label": label}).status_code == 200
    receipt_id, attestation_id = f"r-{uuid.uuid4()}", f"a-{uuid.uuid4()}"
    with paused(stack, "handover"):
        assert api.post("/api/v1/scans/receipt", json={"scan_id": receipt_id, "label": label}).status_code == 202
        attestation = api.post("/api/v1/scans/attestation", json={"scan_id": attestation_id, "label": label})
        assert attestation.status_code == 202, attestation.text
        time.sleep(1.0)  # handover decides both well after the attestation was made
    received = decision(api, receipt_id)
    assert received["decision"] == "accepted", received
    attested = decision(api, attestation_id)
    assert attested["decision"] == "accepted", attested
    assert attested["event"]["type"] == "id.serah.laptop.usage-attested.v1"
    receipt = received["event"]
    decided, scanned = datetime.fromisoformat(receipt["time"]), datetime.fromisoformat(receipt["data"]["received_at"])
    assert decided - scanned > timedelta(seconds=1), "handover was not behind: the test proves nothing"
