"""A receipt the handover service holds until its dispatch is decided is answered
202 pending at once, saying why and until when; not after the whole decision
timeout. Asked for later, it says the same until it is decided (in-process, fakes)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from events.envelope import Envelope
from tests.builders import label_for, new_asset
from tests.gateway_fakes import EmptyReads, client
from tests.unit.test_gateway_answers import accepting


class Holding(EmptyReads):
    """The handover holds every receipt it is sent."""

    def __init__(self) -> None:
        self.holding: dict[str, dict[str, Any]] = {}

    async def held(self, command_id: str) -> dict[str, Any] | None:
        return self.holding.get(command_id)


def test_a_held_receipt_is_answered_pending_with_the_reason_well_before_the_timeout() -> None:
    reads = Holding()

    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting, decision_timeout_s=5.0, reads=reads) as api:

            async def hold(command: Envelope) -> None:  # durable in Kafka; the handover holds it
                reads.holding[command.id] = {
                    "_id": command.id,
                    "subject": command.subject,
                    "until": "2026-11-02T10:15:00",
                }

            api.gateway.bus.send = hold  # type: ignore[attr-defined]
            started = time.monotonic()
            r = await api.post(
                "/api/v1/scans/receipt", json={"scan_id": f"r-{asset}", "label": label_for(asset), "condition": "B"}
            )
            took = time.monotonic() - started
            assert r.status_code == 202, r.text
            body = r.json()
            assert body["decision"] == "pending" and body["reason"] == "awaiting_dispatch"
            assert asset in body["detail"] and "2026-11-02 10:15 UTC" in body["detail"]
            assert r.headers["location"] == f"/api/v1/scans/r-{asset}"
            assert took < 2.0, took

            asked = await api.get(f"/api/v1/scans/r-{asset}")
            assert asked.status_code == 404 and "held until the dispatch" in asked.json()["detail"]

    asyncio.run(run())


def test_a_receipt_not_held_and_not_decided_waits_out_the_timeout_as_before() -> None:
    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting, decision_timeout_s=0.6, reads=Holding()) as api:

            async def lost_in_thought(command: Envelope) -> None:
                return None

            api.gateway.bus.send = lost_in_thought  # type: ignore[attr-defined]
            started = time.monotonic()
            r = await api.post("/api/v1/scans/receipt", json={"scan_id": f"r-{asset}", "label": label_for(asset)})
            assert r.status_code == 202 and r.json()["reason"] is None
            assert time.monotonic() - started >= 0.55
            asked = await api.get(f"/api/v1/scans/r-{asset}")
            assert asked.status_code == 404 and "ask again in a moment" in asked.json()["detail"]

    asyncio.run(run())
