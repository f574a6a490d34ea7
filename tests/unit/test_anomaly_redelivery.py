"""A fact the audit worker publishes again under the same id — an anomaly on a
redelivered event, an overdue finding not yet recorded, a checkpoint the outbox
re-sends — is the same bytes: readers dedupe by event id and keep whichever copy
came first, so a copy must never be a second version of the fact."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

import pytest

from events import codec
from events.catalog import AnomalyDetected, CheckpointSigned, CommandRejected, ReceiveLaptop, RejectionReason
from events.envelope import Envelope
from services.audit import handlers
from tests.audit_data import event, laptop_history
from tests.builders import NOW
from tests.fakes import FakePublisher, audit_with_fakes


def test_an_event_redelivered_later_raises_its_anomaly_again_as_identical_bytes() -> None:
    pub = FakePublisher()
    now = [NOW]
    rt = audit_with_fakes(publisher=pub, clock=lambda: now[0])
    asset, history = laptop_history("32", 2)  # allocated, never dispatched
    refused = event(
        CommandRejected(command_type=ReceiveLaptop.TYPE, reason=RejectionReason.NOT_DISPATCHED, detail="x"),
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


def test_an_overdue_finding_raised_again_before_it_was_recorded_is_identical_bytes() -> None:
    pub = FakePublisher()
    asset, history = laptop_history("32", 4)  # received, never attested
    now = [history[-1].time + timedelta(days=100)]
    rt = audit_with_fakes(publisher=pub, clock=lambda: now[0])

    async def go() -> None:
        for e in history:
            await handlers.record_event(e, rt)
        await handlers.sweep_overdue(rt)  # published; the worker dies before recording it
        now[0] += timedelta(hours=1)
        await handlers.sweep_overdue(rt)  # the next sweep of the restarted worker

    asyncio.run(go())
    copies = [e for e in pub.sent if e.type == AnomalyDetected.TYPE]
    assert len(copies) == 2 and copies[0].data["rule"] == "never_attested"
    assert codec.encode(copies[0]) == codec.encode(copies[1])
    assert codec.format_time(copies[0].time) == copies[0].data["evidence"]["due"]  # when it became overdue


class _DiesAfterSending(FakePublisher):
    """Sends, then dies before the caller can record that it did (once)."""

    def __init__(self) -> None:
        super().__init__()
        self.armed = True

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        await super().publish(envelopes)
        if self.armed:
            self.armed = False
            raise ConnectionError("died after publishing")


def test_a_checkpoint_published_again_by_the_outbox_is_identical_bytes() -> None:
    pub = _DiesAfterSending()
    now = [NOW]
    rt = audit_with_fakes(publisher=pub, clock=lambda: now[0], checkpoint_key=("A1", b"\x01" * 32))
    _, history = laptop_history("32", 2)

    async def go() -> None:
        for e in history:
            await handlers.record_event(e, rt)
        with pytest.raises(ConnectionError):
            await handlers.take_checkpoint(rt)  # published, not marked published
        now[0] += timedelta(minutes=1)
        await handlers.publish_checkpoints(rt)  # the restarted worker's outbox

    asyncio.run(go())
    copies = [e for e in pub.sent if e.type == CheckpointSigned.TYPE]
    assert len(copies) == 2 and codec.encode(copies[0]) == codec.encode(copies[1])
    assert asyncio.run(rt.checkpoints.unpublished()) == []
