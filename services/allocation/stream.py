"""Allocation worker (faust app ``serah-allocation``, its own consumer group).

In:  ``serah.allocation.commands`` — RegisterLaptop, AllocateLaptop, DispatchLaptop,
     ReissueLabel; PlanConsignment, ScanIntoConsignment, CloseConsignment (for the
     warehouse, and transfers between offices), keyed by consignment id;
     ``serah.events`` — LaptopReceived and the custody facts after it (holders, repair,
     loss, return to the warehouse, write-off, LabelRevoked), so a delivered laptop is
     not dispatched again and only a laptop its office holds free leaves in a transfer.
Out: ``serah.events`` — the decisions (accepted facts and CommandRejected);
     ``serah.deadletters`` — messages it could not read, with the reason.
Key: the asset id everywhere, so a laptop's messages stay in order.
Failures: transient ones (Kafka, MongoDB away, a version race) are retried in
place; anything else is dead-lettered and the stream moves on. Handlers are
idempotent, so faust's at-least-once redelivery changes nothing.
Run: ``python -m services.allocation worker`` (``serah run`` starts it for you).
"""

from __future__ import annotations

import faust

from events import topics
from events.envelope import utcnow
from services.allocation import handlers
from services.allocation.adapters import mongo
from services.allocation.bootstrap import bootstrap
from services.allocation.config import AllocationSettings
from services.common import worker
from services.common.clock import guarded
from services.common.mongo import connect

SERVICE = "allocation"


def build_app(settings: AllocationSettings) -> faust.App:
    app = worker.new_app(SERVICE, settings)
    publisher = worker.KafkaPublisher(app)
    _, db = connect(settings.mongo_url, settings.mongo_db)
    clock = worker.guard_clock(app, db)
    # A transfer depends on facts handover publishes on serah.events: the horizon lets
    # its plan and scans catch up on them before a refusal stands (run_command's rule).
    horizon = worker.Horizon(settings.kafka_bootstrap, app.conf.id, topics.EVENTS)
    rt = bootstrap(
        settings,
        publisher=publisher,
        laptops=mongo.laptop_store(db),
        consignments=mongo.consignment_store(db),
        clock=guarded(utcnow, clock),
        catch_up=horizon.catch_up,
    )
    worker.agent_over(
        app,
        SERVICE,
        topics.ALLOCATION_COMMANDS,
        lambda env: handlers.handle(env, rt),
        publisher,
        handle_batch=lambda envs: handlers.handle_batch(envs, rt),
        batchable=handlers.batchable_command,
        clock=clock,
    )
    worker.agent_over(
        app,
        SERVICE,
        topics.EVENTS,
        lambda env: handlers.on_event(env, rt),
        publisher,
        handle_batch=lambda envs: handlers.on_events(envs, rt),
        clock=clock,
        horizon=horizon,
    )
    worker.add_heartbeat(app, SERVICE, db, clock)
    return app
