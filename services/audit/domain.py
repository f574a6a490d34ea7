"""Audit rules, in business words.

- Every event any service emits is recorded exactly once, in the order the
  laptop's partition delivered it, as the next link of that laptop's chain:
  each link's hash covers the event's canonical JSON and the previous link's
  hash, so changing, removing, reordering or inserting an event breaks every
  later hash. The first link's previous hash is 64 zeros.
- A laptop's current view (what the gateway shows) is a fold over its recorded
  events, so it can be rebuilt from the log at any time and must equal the live one.
- Status moves registered → allocated → in_transit → received; rejections do
  not move it but are counted, so a laptop with many refused scans stands out.
- The view carries the moments the timed rules (services/audit/rules.py) judge
  by, computed here once from the audit's thresholds: ``transit_due_at``
  (dispatched + ``transit_days``, while in transit) and ``attestation_due_at``
  (the last attestation, or else the receipt, + ``attestation_interval_days``,
  while received). Past it, a laptop is missing / its attestation overdue: the
  audit's sweep raises the anomaly, and roll-ups and due lists only compare these
  moments with the clock. Changed thresholds apply to a laptop's next event; to
  apply them to every view at once, run ``serah rebuild`` with the new settings.
- Consignments are subjects too: their events are chained and verified
  like a laptop's, but their view is marked ``kind: "consignment"`` so laptop
  views, roll-ups, attestation lists and anomaly rules never count them as laptops.
  It holds the consignment's summary (services/audit/consignment.py).
- Accounts and devices are subjects too (who may act: created, granted, enrolled,
  revoked): chained and verified the same way, their view marked ``kind:
  "account"`` or ``"device"`` and nothing else folded, so nothing that counts
  laptops or consignments counts them. A subject of a kind this fold does not
  know is chained the same way and marked with its kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from events import codec
from events.catalog import (
    AnomalyDetected,
    CommandRejected,
    LabelReissued,
    LaptopAllocated,
    LaptopDispatched,
    LaptopReceived,
    LaptopRegistered,
    UsageAttested,
)
from events.envelope import Envelope
from services.audit import consignment
from services.audit.rules import Thresholds

GENESIS = "0" * 64


def is_consignment_event(e: Envelope) -> bool:
    """True if ``e``'s subject is a consignment id (a consignment fact, or a
    consignment command's refusal): kept in its own chain, never a laptop."""
    return codec.subject_kind(e) == "consignment"


def is_laptop_event(e: Envelope) -> bool:
    """True if ``e``'s subject is a laptop: only these move a laptop's view."""
    return codec.subject_kind(e) == "laptop"


def canonical(event: Envelope) -> bytes:
    """The bytes a link's hash covers: the CloudEvent as JSON with sorted keys."""
    return orjson.dumps(codec.to_json(event), option=orjson.OPT_SORT_KEYS)


def link_hash(prev_hash: str, event: Envelope) -> str:
    return hashlib.sha256(bytes.fromhex(prev_hash) + canonical(event)).hexdigest()


def empty_view(asset_id: str) -> dict[str, Any]:
    return {
        "asset_id": asset_id,
        "kind": "laptop",  # or "consignment", "account", "device": whose chain head this is
        "status": "unknown",
        "serial": None,
        "brand": None,
        "model": None,
        "label_generation": None,
        "label_key_id": None,
        "kode_barang": None,  # printed on label sheets
        "nup": None,
        "acquisition_year": None,  # the BMN record, shown to auditors
        "acquisition_value": None,  # Rupiah
        "import_batch": None,
        "office_code": None,
        "office_name": None,
        "consignment_id": None,
        "condition": None,
        "rejections": 0,
        "events": 0,
        "last_event_at": None,
        # when things happened, attestation and anomalies
        "dispatched_at": None,
        "received_at": None,
        "last_attested_at": None,
        "attestations": 0,
        "in_use": None,
        "anomalies": 0,
        "anomaly_rules": [],
        # when a timed rule's threshold is passed (see the module docstring)
        "transit_due_at": None,
        "attestation_due_at": None,
    }


def apply(current: dict[str, Any], e: Envelope, t: Thresholds) -> dict[str, Any]:
    """One step of the fold: the view after event ``e``, its due moments by the
    thresholds ``t``. Pure; returns a new dict."""
    v = dict(current)
    d = e.data
    v["events"] += 1
    v["last_event_at"] = codec.format_time(e.time)
    if is_consignment_event(e):  # chained, but not a laptop
        v["kind"] = "consignment"
        if e.type == CommandRejected.TYPE:
            v["rejections"] += 1
        v["consignment"] = consignment.apply(v.get("consignment") or consignment.empty(), e)
        return v
    if not is_laptop_event(e):  # an account, a device: chained, but not a laptop
        v["kind"] = codec.subject_kind(e)
        return v
    if e.type == LaptopRegistered.TYPE:
        v.update(
            status="registered",
            serial=d["laptop"]["serial"],
            brand=d["laptop"]["brand"],
            model=d["laptop"]["model"],
            label_generation=d["label"]["generation"],
            label_key_id=d["label"]["key_id"],
            condition=d["laptop"].get("bmn", {}).get("condition", "B"),
            kode_barang=d["laptop"].get("bmn", {}).get("kode_barang"),  # label sheets
            nup=d["laptop"].get("bmn", {}).get("nup"),
            acquisition_year=d["laptop"].get("bmn", {}).get("acquisition_year"),
            acquisition_value=d["laptop"].get("bmn", {}).get("acquisition_value"),
            import_batch=d.get("import_batch"),
        )
    elif e.type == LaptopAllocated.TYPE:
        v.update(
            status="allocated",
            office_code=d["office_code"],
            office_name=d["office_name"],
            consignment_id=d.get("consignment_id"),
        )
    elif e.type == LaptopDispatched.TYPE:
        v.update(status="in_transit", office_code=d["office_code"], consignment_id=d.get("consignment_id"))
    elif e.type == LaptopReceived.TYPE:
        v.update(status="received", condition=d["condition"])
    elif e.type == LabelReissued.TYPE:
        v.update(label_generation=d["label"]["generation"], label_key_id=d["label"]["key_id"])
    elif e.type == CommandRejected.TYPE:
        v["rejections"] += 1
    _fold_times(v, e)
    _fold_due(v, t)
    return v


def view(asset_id: str, events: Sequence[Envelope], t: Thresholds) -> dict[str, Any]:
    v = empty_view(asset_id)
    for e in events:
        v = apply(v, e, t)
    return v


def _fold_times(v: dict[str, Any], e: Envelope) -> None:
    """When things happened (dispatch, receipt, attestation) and which anomalies
    were raised: what the timed rules read."""
    at = codec.format_time(e.time)
    if e.type == LaptopDispatched.TYPE:
        v["dispatched_at"] = at
    elif e.type == LaptopReceived.TYPE and v["received_at"] is None:
        v["received_at"] = at
    elif e.type == UsageAttested.TYPE:
        v.update(last_attested_at=at, in_use=e.data.get("in_use", True), condition=e.data["condition"])
        v["attestations"] += 1
    elif e.type == AnomalyDetected.TYPE:
        v["anomalies"] += 1
        if e.data["rule"] not in v["anomaly_rules"]:
            v["anomaly_rules"] = [*v["anomaly_rules"], e.data["rule"]]


def _fold_due(v: dict[str, Any], t: Thresholds) -> None:
    """The moments the timed rules judge by: due dates only while they can pass."""
    in_transit = v["status"] == "in_transit" and v["dispatched_at"]
    v["transit_due_at"] = _plus(v["dispatched_at"], t.transit_days) if in_transit else None
    received = v["status"] == "received" and v["received_at"]
    since = v["last_attested_at"] or v["received_at"]
    v["attestation_due_at"] = _plus(since, t.attestation_interval_days) if received else None


def _plus(at: str, days: float) -> str:
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return codec.format_time(moment + timedelta(days=days))
