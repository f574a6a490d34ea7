"""The gateway's answer to a command, in-process with fakes: it waits for the
audit to record the decision before answering (read-your-writes), within the
decision timeout; and a device time outside the window is refused at the door."""

from __future__ import annotations

import asyncio
from typing import Any

from events import codec
from events.catalog import LaptopDispatched
from events.envelope import Envelope
from tests.builders import NOW, label_for, new_asset
from tests.gateway_fakes import EmptyReads, client


def accepting(command: Envelope) -> Envelope:
    body = LaptopDispatched(office_code="32.73")
    return codec.make(
        body, subject=command.subject, source="/t", time=NOW, id=f"e-{command.id}", causation_id=command.id
    )


class SlowAudit(EmptyReads):
    """The audit records a decision only after it has been asked ``lag`` times."""

    def __init__(self, lag: int) -> None:
        self.lag, self.asked = lag, 0

    async def recorded(self, scan_id: str, event: Envelope) -> bool:
        self.asked += 1
        return self.asked > self.lag


def dispatch_body(asset: str, **extra: Any) -> dict[str, Any]:
    return {"scan_id": f"s-{asset}", "label": label_for(asset), **extra}


def test_an_answer_waits_until_the_audit_has_recorded_its_decision() -> None:
    async def run() -> None:
        _, asset = new_asset()
        audit = SlowAudit(lag=5)
        async with client(accepting, reads=audit) as api:
            r = await api.post("/api/v1/scans/dispatch", json=dispatch_body(asset))
        assert r.status_code == 200, r.text
        assert audit.asked == 6  # asked until it said yes, then answered

    asyncio.run(run())


def test_an_answer_does_not_wait_past_the_decision_timeout_for_a_lagging_audit() -> None:
    async def run() -> None:
        _, asset = new_asset()
        audit = SlowAudit(lag=10**9)
        async with client(accepting, reads=audit, decision_timeout_s=0.3) as api:
            r = await api.post("/api/v1/scans/dispatch", json=dispatch_body(asset))
        assert r.status_code == 200 and r.json()["decision"] == "accepted", r.text

    asyncio.run(run())


def test_a_device_time_outside_the_window_is_refused_before_anything_is_sent() -> None:
    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting) as api:
            for when in ("0995-12-18T10:53:43Z", "2020-01-01T00:00:00Z", "2999-01-01T00:00:00+07:00"):
                r = await api.post("/api/v1/scans/dispatch", json=dispatch_body(asset, scanned_at=when))
                assert r.status_code == 422 and r.json()["code"] == "scanned_at_out_of_range", r.text
            sent = api.gateway.bus.sent  # type: ignore[attr-defined]
            assert sent == []

    asyncio.run(run())
