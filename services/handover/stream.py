"""Handover worker (faust app ``serah-handover``, its own consumer group).

In:  ``serah.handover.commands`` — ReceiveLaptop (receipt scans), AttestUsage, and every
     custody command after receipt (holders, repair, loss and recovery, return to the
     warehouse, write-off: services/handover/lifecycle.py); ConfirmReceipt and
     ReissueReceiptCode, keyed by consignment id; RecordOfficeRoster, keyed by
     ``office:<code>``;
     ``serah.events`` — LaptopRegistered, LaptopAllocated, LaptopDispatched, to
     know each laptop's label and whether it is on its way.
Out: ``serah.events`` — the facts decided (LaptopReceived, LaptopAssigned, …, LaptopWrittenOff
     with LabelRevoked) or CommandRejected; ``serah.deadletters``;
     ReceiptReminderRaised from a timer every SERAH_RECEIPT_REMINDER_SWEEP_S,
     keyed by consignment id, once per consignment and threshold.
Held: a receipt that may only be early because the allocation service has not yet
     decided a dispatch sent before it waits in ``held_receipts`` and is decided by a
     timer every SERAH_RECEIPT_HOLD_CHECK_S (services/handover/held.py).
Key: the asset id everywhere.
Failures: transient ones retried in place, the rest dead-lettered; handlers are
idempotent under redelivery.
Run: ``python -m services.handover`` (``serah run`` starts it for you).
"""

from __future__ import annotations

import faust

from events import topics
from events.envelope import utcnow
from services.common import worker
from services.common.clock import guarded
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
    clock = worker.guard_clock(app, db)
    # Receipts depend on facts allocation publishes on serah.events: the horizon
    # lets a command catch up on them before a refusal stands (run_command).
    horizon = worker.Horizon(settings.kafka_bootstrap, app.conf.id, topics.EVENTS)
    # A receipt is not refused as premature while a dispatch sent before it may still be
    # undecided: how far the allocation service has decided its commands (handlers.hold_receipt).
    allocation = worker.Horizon(
        settings.kafka_bootstrap, topics.consumer_group("allocation"), topics.ALLOCATION_COMMANDS
    )
    consignments = mongo.consignment_store(db)
    rt = bootstrap(
        settings,
        publisher=publisher,
        laptops=mongo.laptop_store(db),
        consignments=consignments,
        basts=mongo.bast_store(db),
        held=mongo.held_receipts(db),
        backlog=allocation,
        documents=mongo.document_store(db),
        rosters=mongo.roster_store(db),
        catch_up=horizon.catch_up,
        clock=guarded(utcnow, clock),
    )
    worker.agent_over(
        app, SERVICE, topics.HANDOVER_COMMANDS, lambda env: handlers.handle(env, rt), publisher, clock=clock
    )

    @app.task
    async def prepare_indexes() -> None:
        await worker.retrying(consignments.ensure_indexes, what="consignment indexes")

    worker.agent_over(
        app,
        SERVICE,
        topics.EVENTS,
        lambda env: handlers.on_event(env, rt),
        publisher,
        handle_batch=lambda envs: handlers.on_events(envs, rt),
        batchable=handlers.batchable_event,
        horizon=horizon,
        clock=clock,
    )

    # every handover worker sweeps; a reminder's id is derived from the
    # consignment and threshold and its record is version-guarded, so several do no harm.
    @app.timer(interval=settings.receipt_reminder_sweep_s, on_leader=False)
    async def sweep_late_receipts() -> None:
        if not clock.trusted():  # a clock jumped ahead would find reminders due that are not
            return
        await worker.retrying(lambda: handlers.sweep_late_receipts(rt), what="late-receipt sweep")

    # every handover worker looks; deciding a held receipt twice replays the first decision.
    @app.timer(interval=settings.receipt_hold_check_s, on_leader=False)
    async def decide_held_receipts() -> None:
        if not clock.trusted():
            return
        await worker.retrying(lambda: handlers.decide_held_receipts(rt), what="held receipts")

    worker.add_heartbeat(app, SERVICE, db, clock)
    return app
