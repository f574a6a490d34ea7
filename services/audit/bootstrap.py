"""Wires the audit's stores, rules and checkpoint key into its runtime, the same way
allocation and handover are wired: settings and stores in, one runtime out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from events import geo
from services.audit import rules
from services.audit.adapters.mongo import EventLog, ScanIndex, Views
from services.audit.config import AuditSettings
from services.audit.handlers import AuditRuntime


def bootstrap(
    settings: AuditSettings | None,
    *,
    publisher: Any = None,
    log: EventLog,
    views: Views,
    dead_letters: Any,
    scans: ScanIndex,
    checkpoints: Any,
    **overrides: Any,
) -> AuditRuntime:
    """The audit runtime over the given stores (``adapters.mongo.stores(db)`` for the
    real ones; tests/fakes.py gives the in-memory twins). Without ``publisher``,
    anomalies are not raised. ``overrides``: runtime fields a test sets (a clock)."""
    return AuditRuntime(
        log=log,
        views=views,
        dead_letters=dead_letters,
        scans=scans,
        checkpoints=checkpoints,
        publisher=publisher,
        **{**_rules_and_checkpoints(settings), **overrides},
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
            repair_days=settings.repair_days,
        ),
        "locations": geo.office_locations(extra),
        "checkpoint_key": settings.checkpoint_key(),
    }
