"""``serah demo`` against the real stack: a small roll-out through the API, after which
the auditor's numbers, the consignments in transit and the planted anomalies are there."""

from __future__ import annotations

import re
import subprocess
import sys

import httpx

from deploy.local.stack import Stack
from tests.conftest import eventually


def test_the_demo_fills_the_stack_with_a_roll_out_an_auditor_can_look_at(api: httpx.Client, stack: Stack) -> None:
    before = api.get("/api/v1/audit/rollups").json()
    received_before = sum(p["totals"]["received"] for p in before)
    out = subprocess.run(
        [sys.executable, "-m", "services.cli", "demo", "--url", stack.url, "--laptops", "40", "--offices", "8"]
        + ["--seed", "7"],
        env=stack.env() | {"SERAH_TOKEN": str(api.headers["authorization"]).split()[1]},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    summary = out.stdout.strip().splitlines()[-2]
    assert summary.startswith("serah demo: 40 laptops;"), out.stdout
    early = re.search(r"'(SRH[0-9A-Z]{10}): received but never dispatched'", summary)
    revoked = re.search(r"'(SRH[0-9A-Z]{10}): its revoked label scanned'", summary)
    assert early and revoked, summary

    def settled() -> bool:
        totals = api.get("/api/v1/audit/rollups").json()
        return sum(p["totals"]["received"] for p in totals) > received_before

    eventually(settled, what="received laptops in the roll-up", timeout_s=90)
    planted = {(early[1], "received_not_dispatched"), (revoked[1], "label_revoked")}

    def found() -> set[tuple[str, str]]:
        anomalies = api.get("/api/v1/audit/anomalies", params={"limit": 1000}).json()
        return {(a["asset_id"], a["rule"]) for a in anomalies if a["asset_id"] in (early[1], revoked[1])}

    eventually(lambda: planted <= found(), what=f"the planted anomalies {planted} (found {found()})", timeout_s=90)
    in_transit = [
        c for c in api.get("/api/v1/consignments/unconfirmed").json() if c["consignment_id"].startswith("D7-")
    ]
    assert in_transit, "some consignments are still on their way"
