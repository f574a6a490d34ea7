"""Audit handlers: record each event once as the next link of its laptop's
chain, and move the laptop's view forward with it.

Two writes per event, each atomic on one document: the log entry (the commit
point of the chain, unique by event id and by (laptop, seq)), then the view,
which also holds the chain head. A crash between them is healed when the event
is redelivered: the entry is found and the view catches up. Then what is derived
from the view: a consignment's place on the list of those awaiting receipt, and
the scan index (last, so a scan found there has everything else in place)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from events import codec, geo, proofs
from events.catalog import (
    CheckpointSigned,
    CommandRejected,
    LaptopAllocated,
    LaptopAssigned,
    LaptopDispatched,
    LaptopReceived,
    OfficeRosterRecorded,
    UsageAttested,
)
from events.envelope import Envelope, utcnow
from services.audit import consignment, counters, domain, rules
from services.audit.adapters.mongo import Advance, EventLog, Link, ScanIndex, Views
from services.common.faults import crash_point
from services.common.streams import VersionConflict

VIEW_FIELDS = frozenset(domain.empty_view("").keys()) | {"consignment"}  # a consignment's summary


@dataclass
class AuditRuntime:
    log: EventLog
    views: Views
    dead_letters: Any  # MongoDeadLetters / FakeDeadLetters
    scans: ScanIndex
    # anomaly rules and checkpoints
    publisher: Any = None  # Publisher; None: anomalies are not detected (tests of the log alone)
    clock: Callable[[], datetime] = utcnow
    thresholds: rules.Thresholds = field(default_factory=rules.Thresholds)
    locations: dict[str, tuple[float, float]] = field(default_factory=geo.office_locations)
    checkpoints: Any = None  # MongoCheckpoints / FakeCheckpoints
    checkpoint_key: tuple[str, bytes] | None = None


def _view_part(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k in VIEW_FIELDS}


async def record_event(event: Envelope, rt: AuditRuntime) -> bool:
    """True if newly recorded, False if it had been recorded before. Then the
    streaming anomaly rules, also on redelivery (their ids are deterministic)."""
    recorded = await _record(event, rt)
    await detect_anomalies(event, rt)
    return recorded


async def _record(event: Envelope, rt: AuditRuntime) -> bool:
    asset = event.subject
    current = await rt.views.get(asset)
    seq, head = (current["seq"], current["head_hash"]) if current else (0, domain.GENESIS)
    link = domain.link_hash(head, event)
    crash_point("before_append", asset)
    try:
        recorded = await rt.log.append(asset, seq + 1, head, link, event)
    except VersionConflict:
        # The log is ahead of the view (a crash after an append whose event
        # will not come again in this order): rebuild the view from the log.
        await refresh_view(asset, rt)
        raise  # retried by the worker, now from the caught-up view
    crash_point("after_append", asset)
    if not recorded:
        entry = await rt.log.get(event.id)
        assert entry is not None
        if seq >= entry["seq"]:
            # Recorded and viewed before: a redelivery, perhaps after a crash
            # between the view and what is derived from it, which only this heals.
            assert current is not None
            await recount_offices(await _offices_ever([(asset, current)], rt), rt)
            await _list_consignment(asset, _view_part(current), rt)
            await _remember_scan(event, rt)
            return False
        if entry["seq"] != seq + 1:
            await refresh_view(asset, rt)
            await _remember_scan(event, rt)
            return False
        link = entry["hash"]
    base = _view_part(current) if current else domain.empty_view(asset)
    view = domain.apply(base, event, rt.thresholds)
    await rt.views.advance(asset, seq, link, event.id, view)
    crash_point("after_view", asset)
    await recount_offices(counters.offices_moved(current, view), rt)
    if event.type in consignment.MOVES_LISTS:
        await _list_consignment(asset, view, rt)
    await _remember_scan(event, rt)
    return recorded


async def _list_consignment(subject: str, view: dict[str, Any], rt: AuditRuntime) -> None:
    """Puts a consignment on the lists of those being picked and those awaiting receipt,
    or takes it off them, as its view says (idempotent, by _id). Laptops are never on them."""
    summary = view.get("consignment")
    if summary is not None:
        await rt.views.list_unconfirmed(subject, consignment.awaiting_receipt(summary))
        await rt.views.list_open(subject, consignment.being_picked(summary))


async def _remember_scan(event: Envelope, rt: AuditRuntime) -> None:
    # Idempotent: the first event a scan caused stays the one it is known by.
    if event.causationid:
        await rt.scans.remember(event.causationid, event.subject, event.id)


@dataclass
class _Chain:
    """One laptop's chain head and view while a batch is folded in memory."""

    seq: int
    head: str
    view: dict[str, Any]
    known: set[str]
    links: list[Link] = field(default_factory=list)
    before: dict[str, Any] | None = None  # the view as stored when the batch began
    redelivered: bool = False  # an event of the batch had been recorded and viewed before
    stored: dict[str, Any] | None = None  # the view document as read (its chain's event ids)


async def record_events(events: list[Envelope], rt: AuditRuntime) -> set[str]:
    """``record_event`` for a batch (registration at scale), with the same two
    commit steps: the log entries, then the views. Each chain is extended in
    memory from its view, then written in rounds: round k inserts the k-th new
    link of every laptop with one insert_many, so a link is only written after
    the one before it was. The views then move with one advance_many (still
    guarded by seq), the scans are indexed with one insert_many, and the
    anomaly rules run per event as before.

    Returns the laptops left undone: a link refused (recorded before: the log is
    ahead of the view, as after a crash) or a view that moved meanwhile. Their
    events go one at a time through record_event, which heals exactly that."""
    chains: dict[str, _Chain] = {}
    for asset, doc in (await rt.views.get_many(list(dict.fromkeys(e.subject for e in events)))).items():
        view = _view_part(doc)
        chains[asset] = _Chain(
            doc["seq"], doc["head_hash"], view, set(doc.get("event_ids") or []), before=view, stored=doc
        )
    for event in events:
        asset = event.subject
        c = chains.setdefault(asset, _Chain(0, domain.GENESIS, domain.empty_view(asset), set()))
        if event.id in c.known:
            c.redelivered = True
            continue  # recorded and viewed before, or twice in this batch
        link = domain.link_hash(c.head, event)
        c.links.append(Link(asset, c.seq + 1, c.head, link, event))
        c.seq, c.head, c.view = c.seq + 1, link, domain.apply(c.view, event, rt.thresholds)
        c.known.add(event.id)
    left: set[str] = set()
    depth = max((len(c.links) for c in chains.values()), default=0)
    crash_point("before_append", chains)
    for k in range(depth):
        left |= await rt.log.append_many([c.links[k] for a, c in chains.items() if len(c.links) > k and a not in left])
    crash_point("after_append", chains)
    moved = [(a, c) for a, c in chains.items() if c.links and a not in left]
    left |= await rt.views.advance_many(
        [Advance(a, c.seq - len(c.links), c.head, [k.event.id for k in c.links], c.view) for a, c in moved]
    )
    crash_point("after_view", chains)
    # Every event of a finished subject, also those recorded before: a crash
    # between the view and these indexes left them out, and a redelivery is the
    # only chance to heal that (the scan index keeps the first event per scan).
    done = [e for e in events if e.subject not in left]
    offices: set[str] = set()
    again: list[tuple[str, dict[str, Any]]] = []
    for subject in dict.fromkeys(e.subject for e in done):
        c = chains[subject]
        offices |= counters.offices_moved(c.before, c.view)
        if c.redelivered and c.stored is not None:
            again.append((subject, c.stored))
    await recount_offices(offices | await _offices_ever(again, rt), rt)
    for subject in dict.fromkeys(e.subject for e in done if e.type in consignment.MOVES_LISTS):
        await _list_consignment(subject, chains[subject].view, rt)
    await rt.scans.remember_many([(e.causationid, e.subject, e.id) for e in done if e.causationid])
    for event in events:
        if event.subject not in left:
            await detect_anomalies(event, rt)  # reads only for the few types a rule can fire on
    return left


SOURCE = "/serah/audit"


async def detect_anomalies(event: Envelope, rt: AuditRuntime) -> list[Envelope]:
    """Streaming rules (services/audit/rules.py) on a just-recorded event. Only the
    events a rule can fire on read the laptop's chain: the hot path stays by _id."""
    if rt.publisher is None:
        return []
    if event.type == OfficeRosterRecorded.TYPE:
        return await _holders_left_off(event, rt)
    if not _may_fire(event):
        return []
    history = await _history_before(event, rt)
    plan = None
    if event.type == LaptopReceived.TYPE:
        office = event.data["office_code"]
        plan = (
            await rt.log.count_for_office(LaptopAllocated.TYPE, office),
            await rt.log.count_for_office(LaptopReceived.TYPE, office),
        )
    roster = None
    if event.type == LaptopAssigned.TYPE:
        office_list = await rt.views.get(f"office:{event.data['office_code']}")
        roster = (office_list or {}).get("roster")
    found = rules.on_event(history, event, rt.thresholds, rt.locations, plan, roster)
    # Stamped with the time of the event that revealed it, not the clock: a
    # redelivered event raises the anomaly again with the same id, and the copy
    # must be the same bytes, not a second version of the fact.
    return await _raise(event.subject, found, rt, causation=event.id, at=event.time)


async def _history_before(event: Envelope, rt: AuditRuntime) -> list[Envelope]:
    """The laptop's events recorded before ``event``, in chain order. Read by _id: the
    view lists its chain's event ids (the store answers a read by laptop by scanning the
    whole log, which made a replay quadratic). A view that does not list the event yet
    (only a crash between the log and the view leaves one so) falls back to the chain."""
    view = await rt.views.get(event.subject)
    ids: list[str] = list((view or {}).get("event_ids") or [])
    if event.id in ids:
        earlier = ids[: ids.index(event.id)]
        entries = await rt.log.get_many(earlier)
        if len(entries) == len(set(earlier)):
            return [codec.from_json(entries[i]["event"]) for i in earlier]
    history = []
    for link in await rt.log.chain(event.subject):
        if link["_id"] == event.id:
            break
        history.append(codec.from_json(link["event"]))
    return history


def _may_fire(event: Envelope) -> bool:
    if not domain.is_laptop_event(event):  # laptop rules never fire on a consignment, an account, …
        return False
    if event.type in (LaptopReceived.TYPE, UsageAttested.TYPE, CommandRejected.TYPE, LaptopAssigned.TYPE):
        return True
    return event.type == LaptopDispatched.TYPE and bool(event.data.get("location"))


async def _holders_left_off(event: Envelope, rt: AuditRuntime) -> list[Envelope]:
    """An office's new staff list: each laptop of the office held by someone it no longer
    names is an anomaly about that laptop, once per list (its key is the list's event)."""
    office, listed = event.data["office_code"], {m["nip"] for m in event.data["members"]}
    raised: list[Envelope] = []
    for view in await rt.views.held_at(office):
        if view.get("holder_nip") not in listed:
            anomaly = rules.not_on_list(view["holder_nip"], office, event.id)
            raised += await _raise(view["_id"], [anomaly], rt, causation=event.id, at=event.time)
    return raised


async def _raise(
    asset_id: str, found: list[rules.Anomaly], rt: AuditRuntime, causation: str | None, at: datetime | None = None
) -> list[Envelope]:
    envelopes = [
        codec.make(
            a.body(),
            subject=asset_id,
            source=SOURCE,
            time=a.at or at or rt.clock(),
            id=a.event_id(asset_id),
            causation_id=causation,
        )
        for a in found
    ]
    if envelopes:
        await rt.publisher.publish(envelopes)
    return envelopes


async def sweep_overdue(rt: AuditRuntime) -> list[Envelope]:
    """Timed rules: late deliveries and overdue attestations, once per finding.
    The views carry the due moments (domain.py), so this only asks which passed."""
    now = rt.clock()
    raised: list[Envelope] = []
    for view in await rt.views.overdue_candidates(codec.format_time(now)):
        asset_id = view["_id"]
        fresh = [a for a in rules.overdue(asset_id, view, now) if await rt.log.get(a.event_id(asset_id)) is None]
        raised += await _raise(asset_id, fresh, rt, causation=None)
    return raised


class HistoryRewritten(Exception):
    """Chains changed under the last signed checkpoint; no new checkpoint is signed."""

    def __init__(self, assets: list[str]) -> None:
        super().__init__(f"{len(assets)} laptop chain(s) no longer match the last checkpoint: {', '.join(assets[:10])}")
        self.assets = assets


async def take_checkpoint(
    rt: AuditRuntime, *, force: bool = False, accept_rewritten: bool = False
) -> dict[str, Any] | None:
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
            rules.Anomaly(
                "history_rewritten",
                f"The chain no longer contains the head checkpoint {latest['checkpoint_id']} "
                f"signed at seq {before[a][0]}: events were changed, deleted or rolled back in the store.",
                f"{latest['checkpoint_id']}",
                None,
                {"checkpoint_id": latest["checkpoint_id"], "seq": before[a][0], "head": before[a][1]},
            )
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
    cp = {
        "checkpoint_id": cid,
        "created_at": created_at,
        "laptops": len(leaves),
        "root": root,
        "key_id": kid,
        "signature": proofs.sign_checkpoint(seed, cid, created_at, len(leaves), root),
    }
    await rt.checkpoints.save(cp, leaves)
    await publish_checkpoints(rt)
    return cp


async def publish_checkpoints(rt: AuditRuntime) -> None:
    """The outbox: every stored checkpoint not yet on Kafka is published (again)."""
    for doc in await rt.checkpoints.unpublished():
        body = CheckpointSigned(
            **{k: doc[k] for k in ("checkpoint_id", "created_at", "laptops", "root", "key_id", "signature")}
        )
        # Stamped with its creation, not the clock: the outbox re-publishes a checkpoint whose
        # publish was not marked (a crash in between), and the copy must be the same bytes.
        created = datetime.strptime(doc["created_at"], "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        env = codec.make(body, subject=doc["checkpoint_id"], source=SOURCE, time=created, id=doc["checkpoint_id"])
        if rt.publisher is not None:
            await rt.publisher.publish([env])
            await rt.checkpoints.mark_published(doc["checkpoint_id"])


async def rebuild_views(rt: AuditRuntime, progress: Callable[[int], None] = lambda n: None) -> int:
    """Recompute every laptop's view from the event log (``serah rebuild``): one
    pass over the log in (laptop, seq) order, views written in bulk, with the
    runtime's thresholds (so changed thresholds reach every view's due moments),
    each consignment put on or taken off the list awaiting receipt, and then
    every office's counters recounted from the rebuilt views."""
    built: list[dict[str, Any]] = []
    total = 0
    current: str | None = None
    events: list[Envelope] = []

    ids: list[str] = []
    head = domain.GENESIS

    def flush() -> None:
        if current is not None:
            built.append(
                {
                    "_id": current,
                    **domain.view(current, events, rt.thresholds),
                    "seq": len(events),
                    "head_hash": head,
                    "event_ids": list(ids),
                }
            )
            progress(len(events))

    offices: set[str] = set()
    async for link in rt.log.all_links():
        if link["asset_id"] != current:
            flush()
            current, events, ids = link["asset_id"], [], []
            if len(built) >= 1000:  # bounded memory: write views in batches as the pass goes
                offices |= await _replace_all(built, rt)
                built = []
        events.append(codec.from_json(link["event"]))
        ids.append(link["_id"])
        head = link["hash"]
        total += 1
    flush()
    offices |= await _replace_all(built, rt)
    await recount_every_office(rt, offices)
    return total


async def _replace_all(views: list[dict[str, Any]], rt: AuditRuntime) -> set[str]:
    """Writes rebuilt views; returns the offices they count in."""
    await rt.views.replace_all(views)
    for v in views:
        await _list_consignment(v["_id"], v, rt)
    return {office for v in views for office in counters.offices_moved(None, v)}


async def _offices_ever(views: list[tuple[str, dict[str, Any]]], rt: AuditRuntime) -> set[str]:
    """Every office these views have counted in, folded again from their chains (read by
    the event ids they list). An event recorded and viewed before recounts them all: a
    crash between a view that left an office and that office's count is healed so."""
    ids = [i for _, v in views for i in v.get("event_ids") or ()]
    entries = await rt.log.get_many(ids) if ids else {}
    offices: set[str] = set()
    for asset, v in views:
        view = domain.empty_view(asset)
        links = sorted((entries[i] for i in v.get("event_ids") or () if i in entries), key=lambda x: x["seq"])
        for link in links:
            view = domain.apply(view, codec.from_json(link["event"]), rt.thresholds)
            offices |= counters.offices_moved(None, view)
    return offices


async def recount_offices(offices: set[str], rt: AuditRuntime) -> None:
    """Recomputes each office's counters from its views. Each count is written over
    the version it read before reading the views, so when two workers count one
    office at once the later view change always lands: the loser counts again."""
    for office in sorted(offices):
        while True:
            version = await rt.views.counters_version(office)
            doc = counters.tally(await rt.views.of_office(office))
            if await rt.views.put_counters(office, version, doc):
                break


async def recount_every_office(rt: AuditRuntime, offices: set[str]) -> None:
    """``offices``: every office a view counts in now; the counters of others go."""
    await rt.views.drop_counters([o for o in await rt.views.counted_offices() if o not in offices])
    await recount_offices(offices, rt)


async def refresh_view(asset_id: str, rt: AuditRuntime) -> dict[str, Any]:
    """The slow path: fold the laptop's whole chain (reads the log by laptop)."""
    links = await rt.log.chain(asset_id)
    events = [codec.from_json(link["event"]) for link in links]
    view = domain.view(asset_id, events, rt.thresholds)
    head = links[-1]["hash"] if links else domain.GENESIS
    before = await rt.views.get(asset_id)
    await rt.views.replace(asset_id, len(links), head, [link["_id"] for link in links], view)
    await recount_offices(counters.offices_moved(None, before) | counters.offices_moved(None, view), rt)
    await _list_consignment(asset_id, view, rt)
    return view


async def keep_dead_letter(event: Envelope, rt: AuditRuntime) -> None:
    await rt.dead_letters.keep(event)
