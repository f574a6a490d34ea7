"""Audit worker (faust app ``serah-audit``, its own consumer group).

In:  ``serah.events`` — every fact, from every service;
     ``serah.deadletters`` — kept for operators.
Out: ``serah.events`` — AnomalyDetected; ``serah.checkpoints`` —
     CheckpointSigned; MongoDB: ``event_log`` (chained per laptop), ``laptop_views``
     (laptops' and consignments' views), ``unconfirmed_consignments``,
     ``open_consignments``, ``office_counters``, ``scan_index``, ``dead_letters``, ``checkpoints``,
     ``checkpoint_leaves``; unreadable events go to ``serah.deadletters``.
Key: the asset id, so each laptop's chain is appended in partition order.
Failures: transient ones retried in place (holding the partition keeps chains
in order); recording is idempotent by event id.
Run: ``python -m services.audit`` (``serah run`` starts it for you).
"""

from __future__ import annotations

import functools
import logging
from typing import Any

import faust

from events import codec, topics
from events.codec import DecodeError
from services.audit import handlers
from services.audit.adapters import mongo
from services.audit.bootstrap import bootstrap
from services.audit.config import AuditSettings
from services.common import worker
from services.common.mongo import connect

SERVICE = "audit"
log = logging.getLogger(__name__)


def build_app(settings: AuditSettings) -> faust.App:
    app = worker.new_app(SERVICE, settings)
    publisher = worker.KafkaPublisher(app)
    _, db = connect(settings.mongo_url, settings.mongo_db)
    clock = worker.guard_clock(app, db)
    rt = bootstrap(settings, publisher=publisher, **mongo.stores(db))

    @app.task
    async def prepare_indexes() -> None:
        await rt.log.ensure_indexes()
        await rt.views.ensure_indexes()
        await rt.checkpoints.ensure_indexes()

    # periodic signed checkpoints and timed anomaly rules. Every audit
    # worker runs these timers; checkpoints are skipped when no chain moved and
    # anomalies have deterministic ids, so several workers do no harm.
    if rt.checkpoint_key is not None:

        @app.timer(interval=settings.checkpoint_interval_s, on_leader=False)
        async def periodic_checkpoint() -> None:
            if not clock.trusted():  # a checkpoint is dated by this clock
                return
            try:
                await worker.retrying(lambda: handlers.take_checkpoint(rt), what="checkpoint")
            except handlers.HistoryRewritten as exc:
                log.error("checkpoint not signed: %s", exc)  # the anomalies are on serah.events

    @app.timer(interval=settings.sweep_interval_s, on_leader=False)
    async def sweep_overdue() -> None:
        if not clock.trusted():  # a clock jumped ahead would find deliveries overdue that are not
            return
        await worker.retrying(lambda: handlers.sweep_overdue(rt), what="overdue sweep")

    worker.agent_over(
        app,
        SERVICE,
        topics.EVENTS,
        lambda env: handlers.record_event(env, rt),
        publisher,
        handle_batch=lambda envs: handlers.record_events(envs, rt),
        clock=clock,
    )

    async def keep(event: Any) -> None:
        raw = event.value or b""
        try:
            letter = codec.decode(raw)
        except DecodeError:
            await rt.dead_letters.keep_unreadable(f"raw-{event.message.partition}-{event.message.offset}", raw)
        else:
            await handlers.keep_dead_letter(letter, rt)

    # Dead letters are kept, never dead-lettered again (that would loop).
    @app.agent(worker.raw_topic(app, topics.DEAD_LETTERS), name="audit_keep_dead_letters")
    async def keep_dead_letters(stream: Any) -> None:
        async for event in stream.events():
            await worker.retrying(functools.partial(keep, event), what="dead letter")

    worker.add_heartbeat(app, SERVICE, db, clock)
    return app
