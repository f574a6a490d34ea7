"""Handover worker (faust app ``serah-handover``, its own consumer group).

In:  ``serah.handover.commands`` — ReceiveLaptop (receipt scans); ConfirmReceipt and
     ReissueReceiptCode, keyed by consignment id;
     ``serah.events`` — LaptopRegistered, LaptopAllocated, LaptopDispatched, to
     know each laptop's label and whether it is on its way.
Out: ``serah.events`` — LaptopReceived or CommandRejected; ``serah.deadletters``;
     ReceiptReminderRaised from a timer every SERAH_RECEIPT_REMINDER_SWEEP_S,
     keyed by consignment id, once per consignment and threshold.
Key: the asset id everywhere.
Failures: transient ones retried in place, the rest dead-lettered; handlers are
idempotent under redelivery.
Run: ``python -m services.handover`` (``serah run`` starts it for you).
"""

from __future__ import annotations

import faust

from events import topics
from services.common import worker
from services.common.mongo import connect
from services.handover import handlers
from services.handover.adapters import mongo
from services.handover.bootstrap import bootstrap
from services.handover.config import HandoverSettings

SERVICE = "handover"


def build_app(settings: HandoverSettings) -> faust.App:
    app = worker.new_app(SERVICE, settings)
    publisher = worker.KafkaPublisher(app)
    _, db = connect(settings.mongo_url, settings.mongo_db)
    # Receipts depend on facts allocation publishes on serah.events: the horizon
    # lets a command catch up on them before a refusal stands (run_command).
    horizon = worker.Horizon(settings.kafka_bootstrap, app.conf.id, topics.EVENTS)
    consignments = mongo.consignment_store(db)
    rt = bootstrap(
        settings,
        publisher=publisher,
        laptops=mongo.laptop_store(db),
        consignments=consignments,
        basts=mongo.bast_store(db),
        catch_up=horizon.catch_up,
    )

    @app.task
    async def prepare_indexes() -> None:
        await worker.retrying(consignments.ensure_indexes, what="consignment indexes")

    worker.agent_over(app, SERVICE, topics.HANDOVER_COMMANDS, lambda env: handlers.handle(env, rt), publisher)
    worker.agent_over(
        app,
        SERVICE,
        topics.EVENTS,
        lambda env: handlers.on_event(env, rt),
        publisher,
        handle_batch=lambda envs: handlers.on_events(envs, rt),
        batchable=handlers.batchable_event,
        horizon=horizon,
    )

    # every handover worker sweeps; a reminder's id is derived from the
    # consignment and threshold and its record is version-guarded, so several do no harm.
    @app.timer(interval=settings.receipt_reminder_sweep_s, on_leader=False)
    async def sweep_late_receipts() -> None:
        await worker.retrying(lambda: handlers.sweep_late_receipts(rt), what="late-receipt sweep")

    worker.add_heartbeat(app, SERVICE, db)
    return app
