"""``serah demo`` against the real stack: a small roll-out through the API, after which
the auditor's numbers, the consignments in transit, the life after receipt (holders,
repair, a theft, a write-off proposal, a transfer) and the planted anomalies are there."""

from __future__ import annotations

import ast
import re
import subprocess
import sys

import httpx

from deploy.local.stack import Stack
from tests.conftest import eventually


def test_the_demo_fills_the_stack_with_a_roll_out_an_auditor_can_look_at(api: httpx.Client, stack: Stack) -> None:
    kinds = ("received", "held", "in_repair", "lost", "write_off_proposed")

    def counted() -> dict[str, int]:
        totals = api.get("/api/v1/audit/rollups").json()
        return {k: sum(p["totals"][k] for p in totals) for k in kinds}

    before = counted()
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
    stolen = re.search(r"'(SRH[0-9A-Z]{10}): scanned after it was reported stolen'", summary)
    assert early and revoked and stolen, summary
    after = re.search(r"after receipt (\{[^}]*\})", summary)
    assert after, summary
    assert ast.literal_eval(after[1]) == {
        "staff_list": 4,
        "assigned": 4,
        "in_repair": 1,
        "repaired": 1,
        "back_from_repair": 1,
        "write_off_proposed": 1,
        "lost": 1,
        "transferred": 1,
    }, summary

    # Four handed to holders, one still in repair, one stolen, one proposed for write-off.
    least = {"received": 1, "held": 4, "in_repair": 1, "lost": 1, "write_off_proposed": 1}

    def settled() -> bool:
        now = counted()
        return all(now[k] - before[k] >= n for k, n in least.items())

    eventually(settled, what=f"the demo's laptops in the roll-up: {least} more than {before}", timeout_s=90)
    planted = {
        (early[1], "received_not_dispatched"),
        (revoked[1], "label_revoked"),
        (stolen[1], "scanned_while_lost"),
    }

    def found() -> set[tuple[str, str]]:
        anomalies = api.get("/api/v1/audit/anomalies", params={"limit": 1000}).json()
        return {(a["asset_id"], a["rule"]) for a in anomalies if a["asset_id"] in (early[1], revoked[1], stolen[1])}

    eventually(lambda: planted <= found(), what=f"the planted anomalies {planted} (found {found()})", timeout_s=90)
    in_transit = [
        c for c in api.get("/api/v1/consignments/unconfirmed").json() if c["consignment_id"].startswith("D7-")
    ]
    assert in_transit, "some consignments are still on their way"
