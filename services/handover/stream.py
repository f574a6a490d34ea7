"""Handover worker (faust app ``serah-handover``, its own consumer group).

In:  ``serah.handover.commands`` — ReceiveLaptop (receipt scans);
     ``serah.events`` — LaptopRegistered, LaptopAllocated, LaptopDispatched, to
     know each laptop's label and whether it is on its way.
Out: ``serah.events`` — LaptopReceived or ScanRejected; ``serah.deadletters``.
Key: the asset id everywhere.
Failures: transient ones retried in place, the rest dead-lettered; handlers are
idempotent under redelivery.
Run: ``python -m services.handover`` (``serah run`` starts it for you).
"""

from __future__ import annotations

import dataclasses

import faust

from events import topics
from services.common import worker
from services.common.mongo import connect
from services.handover import handlers
from services.handover.adapters import bast_pdf, mongo
from services.handover.bootstrap import bootstrap
from services.handover.config import HandoverSettings

SERVICE = "handover"


def build_app(settings: HandoverSettings) -> faust.App:
    app = worker.new_app(SERVICE, settings)
    publisher = worker.KafkaPublisher(app)
    _, db = connect(settings.mongo_url, settings.mongo_db)
    rt = bootstrap(settings, publisher, mongo.laptop_store(db))
    receipts = handlers.Receipts(  # issue 4
        dataclasses.replace(rt, store=mongo.consignment_store(db)), mongo.bast_store(db), settings, bast_pdf.render
    )
    worker.agent_over(app, SERVICE, topics.HANDOVER_COMMANDS, lambda env: handlers.handle(env, rt, receipts), publisher)
    worker.agent_over(
        app,
        SERVICE,
        topics.EVENTS,
        lambda env: handlers.on_event(env, rt, receipts),
        publisher,
        handle_batch=lambda envs: handlers.on_events(envs, rt),
        batchable=handlers.batchable_event,
    )
    worker.add_heartbeat(app, SERVICE, db)
    return app
