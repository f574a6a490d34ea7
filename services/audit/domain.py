"""Audit rules, in business words.

- Every event any service emits is recorded exactly once, in the order the
  laptop's partition delivered it, as the next link of that laptop's chain:
  each link's hash covers the event's canonical JSON and the previous link's
  hash, so changing, removing, reordering or inserting an event breaks every
  later hash. The first link's previous hash is 64 zeros.
- A laptop's current view (what the gateway shows) is a fold over its recorded
  events, so it can be rebuilt from the log at any time and must equal the live one.
- Status is the laptop's lifecycle state (``events.lifecycle``: registered →
  allocated → in_transit → received, then assigned / in_use, in_repair, lost,
  write_off_proposed, written_off, or back to registered when returned to the
  warehouse); rejections do not move it but are counted, so a laptop with many
  refused scans stands out. The view names the holder (``holder_nip``), the repair
  under way, the loss, the write-off and a revoked label; during a transfer the
  office stays the giving one (``office_code``) and ``transfer_to`` names the next,
  which becomes the office on receipt.
- The view carries the moments the timed rules (services/audit/rules.py) judge
  by, computed here once from the audit's thresholds: ``transit_due_at``
  (dispatched + ``transit_days``, while in transit) and ``attestation_due_at``
  (the last attestation, or else the receipt, + ``attestation_interval_days``,
  while at its office, held or not) and ``repair_due_at`` (sent for repair +
  ``repair_days``, while in repair). Past it, a laptop is missing / its attestation
  overdue / too long in repair: the
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
  laptops or consignments counts them. An office's staff list (``office:<code>``)
  is chained the same way; its view keeps the NIPs on the list (``roster``), which
  the holder rule compares with. A subject of a kind this fold does not
  know is chained the same way and marked with its kind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from events import codec, lifecycle, offices
from events.catalog import (
    AnomalyDetected,
    CommandRejected,
    LabelReissued,
    LabelRevoked,
    LaptopAllocated,
    LaptopAssigned,
    LaptopDispatched,
    LaptopReceived,
    LaptopRecovered,
    LaptopRegistered,
    LaptopReportedLost,
    LaptopReturnedByHolder,
    LaptopReturnedToWarehouse,
    LaptopWrittenOff,
    OfficeRosterRecorded,
    RepairFinished,
    RepairStarted,
    UsageAttested,
)
from events.envelope import Envelope
from events.lifecycle import State
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
        # after receipt: who holds it, repair, loss, transfer, write-off
        "holder_nip": None,
        "holder_name": None,
        "repair_vendor": None,
        "repair_started_at": None,
        "repair_due_at": None,
        "lost_at": None,
        "transfer_to": None,
        "written_off_at": None,
        "label_revoked": False,
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
    if not is_laptop_event(e):  # an account, a device, an office's list: chained, but not a laptop
        v["kind"] = codec.subject_kind(e)
        if e.type == OfficeRosterRecorded.TYPE:
            v["roster"] = [m["nip"] for m in d["members"]]
        return v
    v["status"] = lifecycle.after(State(v["status"]), e.type, d).value
    at = codec.format_time(e.time)
    if e.type == LaptopRegistered.TYPE:
        v.update(
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
    elif e.type == LaptopAllocated.TYPE and d.get("from_office"):
        v.update(transfer_to=d["office_code"])  # a transfer planned: it stays at its office until it leaves
    elif e.type == LaptopAllocated.TYPE:
        v.update(office_code=d["office_code"], office_name=d["office_name"], consignment_id=d.get("consignment_id"))
    elif e.type == LaptopDispatched.TYPE and d.get("from_office"):
        # the giving office answers for it until the receipt at the next
        v.update(transfer_to=d["office_code"], consignment_id=d.get("consignment_id"))
    elif e.type == LaptopDispatched.TYPE:
        v.update(office_code=d["office_code"], consignment_id=d.get("consignment_id"))
    elif e.type == LaptopReceived.TYPE:
        office = offices.get(d["office_code"])
        v.update(
            office_code=d["office_code"],
            office_name=office.name if office else v["office_name"],
            condition=d["condition"],
            transfer_to=None,
        )
    elif e.type == LaptopAssigned.TYPE:
        v.update(holder_nip=d["holder"]["nip"], holder_name=d["holder"]["name"], condition=d["condition"])
    elif e.type == LaptopReturnedByHolder.TYPE:
        v.update(holder_nip=None, holder_name=None, condition=d["condition"])
    elif e.type == RepairStarted.TYPE:
        v.update(repair_vendor=d["vendor"], repair_started_at=at, condition=d["condition"])
    elif e.type == RepairFinished.TYPE:
        v.update(repair_vendor=None, repair_started_at=None, condition=d["condition"])
    elif e.type == LaptopReportedLost.TYPE:
        v.update(lost_at=at, holder_nip=None, holder_name=None, repair_vendor=None, repair_started_at=None)
    elif e.type == LaptopRecovered.TYPE:
        v.update(lost_at=None, condition=d["condition"])
    elif e.type == LaptopReturnedToWarehouse.TYPE:
        v.update(
            office_code=None,
            office_name=None,
            consignment_id=None,
            holder_nip=None,
            holder_name=None,
            transfer_to=None,
            condition=d["condition"],
        )
    elif e.type == LaptopWrittenOff.TYPE:
        v.update(written_off_at=at)
    elif e.type == LabelRevoked.TYPE:
        v.update(label_revoked=True)
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


# At its office and in someone's hands: a laptop that is due an attestation of use.
ATTESTED = frozenset({State.RECEIVED.value, State.ASSIGNED.value, State.IN_USE.value})


def _fold_due(v: dict[str, Any], t: Thresholds) -> None:
    """The moments the timed rules judge by: due dates only while they can pass."""
    in_transit = v["status"] == "in_transit" and v["dispatched_at"]
    v["transit_due_at"] = _plus(v["dispatched_at"], t.transit_days) if in_transit else None
    at_office = v["status"] in ATTESTED and v["received_at"]
    since = v["last_attested_at"] or v["received_at"]
    v["attestation_due_at"] = _plus(since, t.attestation_interval_days) if at_office else None
    in_repair = v["status"] == State.IN_REPAIR.value and v["repair_started_at"]
    v["repair_due_at"] = _plus(v["repair_started_at"], t.repair_days) if in_repair else None


def _plus(at: str, days: float) -> str:
    moment = datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    return codec.format_time(moment + timedelta(days=days))
