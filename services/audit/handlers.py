"""Audit handlers: record each event once as the next link of its laptop's
chain, then bring the laptop's view up to date."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from events import codec
from events.envelope import Envelope
from services.audit import domain
from services.audit.adapters.mongo import EventLog, Views


@dataclass
class AuditRuntime:
    log: EventLog
    views: Views
    dead_letters: Any  # DeadLetterStore


async def record_event(event: Envelope, rt: AuditRuntime) -> bool:
    """True if newly recorded. A redelivered event is not recorded twice, but the
    view is refreshed anyway: the crash may have come between the two writes."""
    recorded = False
    if await rt.log.get(event.id) is None:
        seq, prev = await rt.log.head(event.subject)
        recorded = await rt.log.append(event.subject, seq + 1, prev, domain.link_hash(prev, event), event)
    await refresh_view(event.subject, rt)
    return recorded


async def refresh_view(asset_id: str, rt: AuditRuntime) -> dict[str, Any]:
    links = await rt.log.chain(asset_id)
    events = [codec.from_json(link["event"]) for link in links]
    view = domain.view(asset_id, events)
    await rt.views.put(asset_id, len(links), view)
    return view


async def keep_dead_letter(event: Envelope, rt: AuditRuntime) -> None:
    await rt.dead_letters.keep(event)
