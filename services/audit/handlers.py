"""Audit handlers: record each event once as the next link of its laptop's
chain, and move the laptop's view forward with it.

Two writes per event, each atomic on one document: the log entry (the commit
point of the chain, unique by event id and by (laptop, seq)), then the view,
which also holds the chain head. A crash between them is healed when the event
is redelivered: the entry is found and the view catches up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events import codec
from events.envelope import Envelope
from services.audit import domain
from services.audit.adapters.mongo import EventLog, ScanIndex, Views
from services.common.laptop_store import VersionConflict

VIEW_FIELDS = frozenset(domain.empty_view("").keys())


@dataclass
class AuditRuntime:
    log: EventLog
    views: Views
    dead_letters: Any  # MongoDeadLetters / FakeDeadLetters
    scans: ScanIndex


def _view_part(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k in VIEW_FIELDS}


async def record_event(event: Envelope, rt: AuditRuntime) -> bool:
    """True if newly recorded, False if it had been recorded before."""
    asset = event.subject
    current = await rt.views.get(asset)
    seq, head = (current["seq"], current["head_hash"]) if current else (0, domain.GENESIS)
    link = domain.link_hash(head, event)
    try:
        recorded = await rt.log.append(asset, seq + 1, head, link, event)
    except VersionConflict:
        # The log is ahead of the view (a crash after an append whose event
        # will not come again in this order): rebuild the view from the log.
        await refresh_view(asset, rt)
        raise  # retried by the worker, now from the caught-up view
    if not recorded:
        entry = await rt.log.get(event.id)
        assert entry is not None
        if seq >= entry["seq"]:
            return False  # recorded and viewed before: a plain redelivery
        if entry["seq"] != seq + 1:
            await refresh_view(asset, rt)
            return False
        link = entry["hash"]
    base = _view_part(current) if current else domain.empty_view(asset)
    await rt.views.advance(asset, seq, link, event.id, domain.apply(base, event))
    if event.causationid:
        await rt.scans.remember(event.causationid, asset, event.id)
    return recorded


async def refresh_view(asset_id: str, rt: AuditRuntime) -> dict[str, Any]:
    """The slow path: fold the laptop's whole chain (reads the log by laptop)."""
    links = await rt.log.chain(asset_id)
    events = [codec.from_json(link["event"]) for link in links]
    view = domain.view(asset_id, events)
    head = links[-1]["hash"] if links else domain.GENESIS
    await rt.views.replace(asset_id, len(links), head, [link["_id"] for link in links], view)
    return view


async def keep_dead_letter(event: Envelope, rt: AuditRuntime) -> None:
    await rt.dead_letters.keep(event)
