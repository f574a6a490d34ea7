"""Audit handlers: record each event once as the next link of its laptop's
chain, then bring the laptop's view up to date."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from events import codec, geo, proofs
from events.catalog import CheckpointSigned, LaptopAllocated, LaptopReceived
from events.envelope import Envelope, utcnow
from services.audit import domain, rules
from services.audit.adapters.mongo import EventLog, Views


@dataclass
class AuditRuntime:
    log: EventLog
    views: Views
    dead_letters: Any  # DeadLetterStore
    # issue 5: anomaly rules and checkpoints
    publisher: Any = None  # Publisher; None: anomalies are detected but not published (views only)
    clock: Callable[[], datetime] = utcnow
    thresholds: rules.Thresholds = field(default_factory=rules.Thresholds)
    locations: dict[str, tuple[float, float]] = field(default_factory=geo.office_locations)
    checkpoints: Any = None  # MongoCheckpoints / FakeCheckpoints
    checkpoint_key: tuple[str, bytes] | None = None


async def record_event(event: Envelope, rt: AuditRuntime) -> bool:
    """True if newly recorded. A redelivered event is not recorded twice, but the
    view is refreshed anyway: the crash may have come between the two writes."""
    recorded = False
    if await rt.log.get(event.id) is None:
        seq, prev = await rt.log.head(event.subject)
        recorded = await rt.log.append(event.subject, seq + 1, prev, domain.link_hash(prev, event), event)
    links = await rt.log.chain(event.subject)  # one read serves the view and the rules
    view = domain.view(event.subject, [codec.from_json(link["event"]) for link in links])
    await rt.views.put(event.subject, len(links), view)
    await detect_anomalies(event, rt, links)
    return recorded


SOURCE = "/serah/audit"


async def detect_anomalies(event: Envelope, rt: AuditRuntime, links: list[dict[str, Any]]) -> list[Envelope]:
    """Streaming rules (services/audit/rules.py) on a just-recorded event, given the
    laptop's chain. Runs again on redelivery: anomaly ids are deterministic, so a
    repeat is deduped by id."""
    if rt.publisher is None:
        return []
    history = []
    for link in links:
        if link["_id"] == event.id:
            break
        history.append(codec.from_json(link["event"]))
    plan = None
    if event.type == LaptopReceived.TYPE:
        office = event.data["office_code"]
        plan = (
            await rt.log.count_for_office(LaptopAllocated.TYPE, office),
            await rt.log.count_for_office(LaptopReceived.TYPE, office),
        )
    found = rules.on_event(history, event, rt.thresholds, rt.locations, plan)
    return await _raise(event.subject, found, rt, causation=event.id)


async def _raise(asset_id: str, found: list[rules.Anomaly], rt: AuditRuntime, causation: str | None) -> list[Envelope]:
    envelopes = [
        codec.make(a.body(), subject=asset_id, source=SOURCE, time=rt.clock(), id=a.event_id(asset_id),
                   causation_id=causation)
        for a in found
    ]
    if envelopes:
        await rt.publisher.publish(envelopes)
    return envelopes


async def sweep_overdue(rt: AuditRuntime) -> list[Envelope]:
    """Timed rules: late deliveries and overdue attestations, once per finding."""
    now = rt.clock()
    t = rt.thresholds
    transit_before = codec.format_time(now - timedelta(days=t.transit_days))
    attested_before = codec.format_time(now - timedelta(days=t.attestation_interval_days))
    raised: list[Envelope] = []
    for view in await rt.views.overdue_candidates(transit_before, attested_before):
        asset_id = view["_id"]
        fresh = [a for a in rules.overdue(asset_id, view, now, t) if await rt.log.get(a.event_id(asset_id)) is None]
        raised += await _raise(asset_id, fresh, rt, causation=None)
    return raised


class HistoryRewritten(Exception):
    """Chains changed under the last signed checkpoint; no new checkpoint is signed."""

    def __init__(self, assets: list[str]) -> None:
        super().__init__(f"{len(assets)} laptop chain(s) no longer match the last checkpoint: {', '.join(assets[:10])}")
        self.assets = assets


async def take_checkpoint(rt: AuditRuntime, *, force: bool = False, accept_rewritten: bool = False) -> dict[str, Any] | None:
    """Sign a Merkle root over every chain head, store it, publish it.
    Without ``force`` nothing is taken when no chain moved since the last one."""
    if rt.checkpoint_key is None:
        raise RuntimeError("no checkpoint signing key: set SERAH_AUDIT_SIGNING_KEY (serah keygen prints one)")
    latest = await rt.checkpoints.latest()
    before = {a: (s, h) for a, s, h in await rt.checkpoints.leaves(latest["checkpoint_id"])} if latest else {}
    heads, kept = await rt.checkpoints.heads_and_links({a: s for a, (s, _) in before.items()})
    rewritten = [a for a, (_, h) in sorted(before.items()) if kept.get(a) != h]
    if rewritten and latest is not None:
        # Never sign over a history that changed under a signed checkpoint: that
        # would launder the damage. Raise it instead, and let operators look.
        found = [
            rules.Anomaly("history_rewritten", f"The chain no longer contains the head checkpoint {latest['checkpoint_id']} "
                          f"signed at seq {before[a][0]}: events were changed, deleted or rolled back in the store.",
                          f"{latest['checkpoint_id']}", None,
                          {"checkpoint_id": latest["checkpoint_id"], "seq": before[a][0], "head": before[a][1]})
            for a in rewritten
        ]
        for a, anomaly in zip(rewritten, found, strict=True):
            if rt.publisher is not None and await rt.log.get(anomaly.event_id(a)) is None:
                await _raise(a, [anomaly], rt, causation=None)
        if not accept_rewritten:  # an operator re-baselines after investigating (serah checkpoint --accept-rewritten)
            raise HistoryRewritten(rewritten)
    leaves = [[a, heads[a][0], heads[a][1]] for a in sorted(heads)]
    root = proofs.ProofIndex("-", leaves).root()
    if latest is not None and latest["root"] == root and not force:
        await publish_checkpoints(rt)
        return None
    now = rt.clock()
    created_at = codec.format_time(now)
    cid = "cp-" + now.strftime("%Y%m%dT%H%M%S%fZ")
    kid, seed = rt.checkpoint_key
    cp = {"checkpoint_id": cid, "created_at": created_at, "laptops": len(leaves), "root": root, "key_id": kid,
          "signature": proofs.sign_checkpoint(seed, cid, created_at, len(leaves), root)}
    await rt.checkpoints.save(cp, leaves)
    await publish_checkpoints(rt)
    return cp


async def publish_checkpoints(rt: AuditRuntime) -> None:
    """The outbox: every stored checkpoint not yet on Kafka is published (again)."""
    for doc in await rt.checkpoints.unpublished():
        body = CheckpointSigned(**{k: doc[k] for k in ("checkpoint_id", "created_at", "laptops", "root", "key_id", "signature")})
        env = codec.make(body, subject=doc["checkpoint_id"], source=SOURCE, time=rt.clock(), id=doc["checkpoint_id"])
        if rt.publisher is not None:
            await rt.publisher.publish([env])
            await rt.checkpoints.mark_published(doc["checkpoint_id"])


async def rebuild_views(rt: AuditRuntime, progress: Callable[[int], None] = lambda n: None) -> int:
    """Recompute every laptop's view from the event log (``serah rebuild``): one
    pass over the log in (laptop, seq) order, views written in bulk."""
    built: list[dict[str, Any]] = []
    total = 0
    current: str | None = None
    events: list[Envelope] = []

    def flush() -> None:
        if current is not None:
            built.append({"_id": current, **domain.view(current, events), "seq": len(events)})
            progress(len(events))

    async for link in rt.log.all_links():
        if link["asset_id"] != current:
            flush()
            current, events = link["asset_id"], []
            if len(built) >= 1000:  # bounded memory: write views in batches as the pass goes
                await rt.views.replace_all(built)
                built = []
        events.append(codec.from_json(link["event"]))
        total += 1
    flush()
    await rt.views.replace_all(built)
    return total


async def refresh_view(asset_id: str, rt: AuditRuntime) -> dict[str, Any]:
    links = await rt.log.chain(asset_id)
    events = [codec.from_json(link["event"]) for link in links]
    view = domain.view(asset_id, events)
    await rt.views.put(asset_id, len(links), view)
    return view


async def keep_dead_letter(event: Envelope, rt: AuditRuntime) -> None:
    await rt.dead_letters.keep(event)
