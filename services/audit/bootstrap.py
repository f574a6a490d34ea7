"""Wires real or fake adapters into the audit runtime."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from events import geo
from services.audit import rules
from services.audit.adapters import mongo
from services.audit.config import AuditSettings
from services.audit.handlers import AuditRuntime


def bootstrap(db: AsyncDatabase, settings: AuditSettings | None = None, publisher: Any = None) -> AuditRuntime:  # type: ignore[type-arg]
    return AuditRuntime(
        log=mongo.MongoEventLog(db),
        views=mongo.MongoViews(db),
        dead_letters=mongo.MongoDeadLetters(db),
        scans=mongo.MongoScanIndex(db),
        checkpoints=mongo.MongoCheckpoints(db),
        publisher=publisher,
        **_rules_and_checkpoints(settings),
    )


def bootstrap_fake(settings: AuditSettings | None = None, publisher: Any = None, **kw: Any) -> AuditRuntime:
    log = mongo.FakeEventLog()
    return AuditRuntime(
        log=log,
        views=mongo.FakeViews(),
        dead_letters=mongo.FakeDeadLetters(),
        scans=mongo.FakeScanIndex(),
        checkpoints=mongo.FakeCheckpoints(log),
        publisher=publisher,
        **{**_rules_and_checkpoints(settings), **kw},
    )


def _rules_and_checkpoints(settings: AuditSettings | None) -> dict[str, Any]:
    if settings is None:
        return {}
    extra: dict[str, tuple[float, float]] = {}
    if settings.office_locations_file:
        raw = json.loads(Path(settings.office_locations_file).read_text())
        extra = {str(k): (float(v[0]), float(v[1])) for k, v in raw.items()}
    return {
        "thresholds": rules.Thresholds(
            max_travel_kmh=settings.max_travel_kmh,
            min_travel_km=settings.min_travel_km,
            max_office_distance_km=settings.max_office_distance_km,
            transit_days=settings.transit_days,
            attestation_interval_days=settings.attestation_interval_days,
        ),
        "locations": geo.office_locations(extra),
        "checkpoint_key": settings.checkpoint_key(),
    }
