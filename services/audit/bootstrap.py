"""Wires real or fake adapters into the audit runtime."""

from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.audit.adapters import mongo
from services.audit.handlers import AuditRuntime


def bootstrap(db: AsyncDatabase) -> AuditRuntime:  # type: ignore[type-arg]
    return AuditRuntime(
        log=mongo.MongoEventLog(db),
        views=mongo.MongoViews(db),
        dead_letters=mongo.MongoDeadLetters(db),
        scans=mongo.MongoScanIndex(db),
    )


def bootstrap_fake() -> AuditRuntime:
    return AuditRuntime(
        log=mongo.FakeEventLog(), views=mongo.FakeViews(), dead_letters=mongo.FakeDeadLetters(), scans=mongo.FakeScanIndex()
    )
