"""A streaming anomaly raised again on redelivery is the same fact, byte for byte:
readers dedupe by event id and keep whichever copy came first."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from events import codec
from events.catalog import AnomalyDetected, ReceiveLaptop, RejectionReason, ScanRejected
from services.audit import handlers
from services.audit.bootstrap import bootstrap_fake
from services.common.worker import FakePublisher
from tests.audit_data import event, laptop_history
from tests.builders import NOW


def test_an_event_redelivered_later_raises_its_anomaly_again_as_identical_bytes() -> None:
    pub = FakePublisher()
    now = [NOW]
    rt = bootstrap_fake(publisher=pub, clock=lambda: now[0])
    asset, history = laptop_history("32", 2)  # allocated, never dispatched
    refused = event(
        ScanRejected(command_type=ReceiveLaptop.TYPE, reason=RejectionReason.NOT_DISPATCHED, detail="x"),
        asset,
        NOW + timedelta(days=3),
    )

    async def go() -> None:
        for e in history:
            await handlers.record_event(e, rt)
        await handlers.record_event(refused, rt)
        now[0] += timedelta(minutes=5)  # the worker crashed before committing; redelivered after a restart
        await handlers.record_event(refused, rt)

    asyncio.run(go())
    copies = [e for e in pub.sent if e.type == AnomalyDetected.TYPE]
    assert len(copies) == 2 and copies[0].data["rule"] == "received_not_dispatched"
    assert codec.encode(copies[0]) == codec.encode(copies[1])
    assert copies[0].time == refused.time  # stamped with the event that revealed it
