"""The event log (one document per event, chained per laptop), the views, and
the list of consignments awaiting receipt."""

from __future__ import annotations

import contextlib
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING, UpdateOne
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError

from events import codec
from events.catalog import LaptopAllocated, LaptopReceived
from events.envelope import Envelope
from events.text import storable
from services.audit import counters
from services.audit.domain import GENESIS
from services.common.streams import READ_CHUNK, VersionConflict


class EventLog(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def get(self, event_id: str) -> dict[str, Any] | None: ...
    async def get_many(self, event_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    async def head(self, asset_id: str) -> tuple[int, str]: ...
    async def append(self, asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> bool: ...
    async def chain(self, asset_id: str) -> list[dict[str, Any]]: ...
    async def append_many(self, links: list[Link]) -> set[str]: ...
    def all_links(self) -> AsyncIterator[dict[str, Any]]: ...
    async def count_for_office(self, type_: str, office_code: str) -> int: ...


class Views(Protocol):
    """One document per laptop: its view, and the head of its chain (``seq``,
    ``head_hash``, the ordered ``event_ids``). Reads and writes go by ``_id``
    only: FerretDB's SQLite backend answers nothing else from an index."""

    async def ensure_indexes(self) -> None: ...
    async def get(self, asset_id: str) -> dict[str, Any] | None: ...
    async def advance(
        self, asset_id: str, expected_seq: int, head_hash: str, event_id: str, view: dict[str, Any]
    ) -> None: ...
    async def replace(
        self, asset_id: str, seq: int, head_hash: str, event_ids: list[str], view: dict[str, Any]
    ) -> None: ...
    async def get_many(self, asset_ids: list[str]) -> dict[str, dict[str, Any]]: ...
    async def advance_many(self, advances: list[Advance]) -> set[str]: ...
    async def list_unconfirmed(self, consignment_id: str, awaiting: bool) -> None: ...
    async def unconfirmed(self) -> list[str]: ...
    async def list_open(self, consignment_id: str, picking: bool) -> None: ...
    async def open_consignments(self) -> list[str]: ...
    async def overdue_candidates(self, now: str) -> list[dict[str, Any]]: ...
    async def held_at(self, office_code: str) -> list[dict[str, Any]]: ...
    async def all(self) -> list[dict[str, Any]]: ...
    async def replace_all(self, views: list[dict[str, Any]]) -> None: ...
    # Each office's counters (services/audit/counters.py), guarded by their version.
    async def of_office(self, office_code: str) -> list[dict[str, Any]]: ...
    async def counters_version(self, office_code: str) -> int: ...
    async def put_counters(self, office_code: str, expected_version: int, doc: dict[str, Any]) -> bool: ...
    async def counted_offices(self) -> list[str]: ...
    async def drop_counters(self, office_codes: list[str]) -> None: ...


class ScanIndex(Protocol):
    async def remember(self, scan_id: str, asset_id: str, event_id: str) -> None: ...
    async def remember_many(self, scans: list[tuple[str, str, str]]) -> None: ...


# --- registration at scale: the batch forms (one round trip per kind of write) ---


@dataclass
class Link:
    """One entry of the event log: the ``append`` arguments."""

    asset_id: str
    seq: int
    prev_hash: str
    hash: str
    event: Envelope


@dataclass
class Advance:
    """A view moved from ``expected_seq`` over the links of ``event_ids``."""

    asset_id: str
    expected_seq: int
    head_hash: str
    event_ids: list[str]
    view: dict[str, Any]


def _failed_indexes(exc: BulkWriteError) -> set[int]:
    """The positions a bulk write refused as duplicates; anything else is raised again."""
    errors = exc.details.get("writeErrors", [])
    if any(e.get("code") != 11000 for e in errors):
        raise exc
    return {int(e["index"]) for e in errors}


def log_entry(asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> dict[str, Any]:
    return {
        "_id": event.id,
        "asset_id": asset_id,
        "seq": seq,
        "prev_hash": prev_hash,
        "hash": hash_,
        "type": event.type,
        "causationid": event.causationid,
        "recorded_at": datetime.now(UTC),
        "event": codec.to_json(event),
    }


# The office counts of the office_over_plan rule, kept beside the log: the store answers
# only _id from an index, so counting the log's entries per office read the whole log on
# every receipt. Each office's event ids of a type are spread over a few small documents
# ({_id: "type|office|bucket", ids: [...]}) and added with $addToSet: adding one again is
# harmless, so a redelivered event that finds its entry already recorded adds it again
# (healing a crash between the two writes). A count is one read of those documents by _id.
TALLIES = "office_tallies"
TALLIED = (LaptopAllocated.TYPE, LaptopReceived.TYPE)
TALLY_BUCKETS = 16


def _tally_ids(type_: str, office_code: str) -> list[str]:
    return [f"{type_}|{office_code}|{b:x}" for b in range(TALLY_BUCKETS)]


def _tally_id(event: Envelope) -> str | None:
    office = event.data.get("office_code")
    if event.type not in TALLIED or not isinstance(office, str):
        return None
    return f"{event.type}|{office}|{int(hashlib.sha256(event.id.encode()).hexdigest()[:4], 16) % TALLY_BUCKETS:x}"


class MongoEventLog:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.event_log
        self._tallies = db[TALLIES]

    async def _tally(self, events: list[Envelope]) -> None:
        updates = [
            UpdateOne({"_id": tid}, {"$addToSet": {"ids": e.id}}, upsert=True)
            for e in events
            if (tid := _tally_id(e)) is not None
        ]
        for attempt in (1, 2):  # two first upserts of one document at once: one loses, and is tried again
            try:
                if updates:
                    await self._tallies.bulk_write(updates, ordered=False)
                return
            except BulkWriteError as exc:
                if attempt == 2 or any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("asset_id", ASCENDING), ("seq", ASCENDING)], unique=True)
        await self._count_what_was_recorded_before_the_tallies()

    async def _count_what_was_recorded_before_the_tallies(self) -> None:
        """A log recorded without office tallies gets them in one pass at start-up."""
        if await self._tallies.find_one({}) is not None or await self._c.find_one({}) is None:
            return
        batch: list[Envelope] = []
        async for d in self._c.find({"type": {"$in": list(TALLIED)}}, {"event": 1}).batch_size(5000):
            batch.append(codec.from_json(d["event"]))
            if len(batch) >= 5000:
                await self._tally(batch)
                batch = []
        await self._tally(batch)

    async def get(self, event_id: str) -> dict[str, Any] | None:
        return await self._c.find_one({"_id": event_id})

    async def get_many(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        """Entries by event id: read through the _id index (a read by laptop is a whole-log scan)."""
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(event_ids), READ_CHUNK):
            async for doc in self._c.find({"_id": {"$in": event_ids[start : start + READ_CHUNK]}}):
                found[doc["_id"]] = doc
        return found

    async def head(self, asset_id: str) -> tuple[int, str]:
        last = await self._c.find_one({"asset_id": asset_id}, sort=[("seq", DESCENDING)])
        return (last["seq"], last["hash"]) if last else (0, GENESIS)

    async def append(self, asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> bool:
        """True if recorded now, False if this event was already recorded."""
        try:
            await self._c.insert_one(log_entry(asset_id, seq, prev_hash, hash_, event))
        except DuplicateKeyError:
            if await self.get(event.id) is not None:
                await self._tally([event])
                return False
            raise VersionConflict(asset_id) from None  # another link took this seq
        await self._tally([event])
        return True

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return [d async for d in self._c.find({"asset_id": asset_id}).sort("seq", ASCENDING)]

    async def append_many(self, links: list[Link]) -> set[str]:
        """``append`` for many laptops at once (at most one link per laptop, so no
        link can depend on another of the same call). Returns the laptops whose
        link was refused (already recorded, or its seq taken): those were not written."""
        if len({link.asset_id for link in links}) != len(links):
            raise ValueError("append_many takes at most one link per laptop")
        if not links:
            return set()
        try:
            await self._c.insert_many(
                [log_entry(k.asset_id, k.seq, k.prev_hash, k.hash, k.event) for k in links], ordered=False
            )
        except BulkWriteError as exc:
            failed = _failed_indexes(exc)
            # The refused ones go through append one at a time, which tallies what was recorded.
            await self._tally([k.event for i, k in enumerate(links) if i not in failed])
            return {links[i].asset_id for i in failed}
        await self._tally([k.event for k in links])
        return set()

    async def all_links(self) -> AsyncIterator[dict[str, Any]]:
        """Every link, per laptop in chain order (rebuild)."""
        async for d in self._c.find({}).sort([("asset_id", ASCENDING), ("seq", ASCENDING)]).batch_size(5000):
            yield d

    async def count_for_office(self, type_: str, office_code: str) -> int:
        """How many recorded events of this type name this office (plan vs received)."""
        if type_ not in TALLIED:
            return int(await self._c.count_documents({"type": type_, "event.data.office_code": office_code}))
        docs = self._tallies.find({"_id": {"$in": _tally_ids(type_, office_code)}})
        return sum([len(d.get("ids", [])) async for d in docs])


UNCONFIRMED = "unconfirmed_consignments"
OPEN = "open_consignments"
COUNTERS = "office_counters"


class MongoViews:
    """``laptop_views``, ``unconfirmed_consignments`` and ``open_consignments``: one
    ``{_id: consignment id}`` per consignment awaiting receipt (or still being picked),
    so listing them reads a few small documents instead of scanning every view
    (FerretDB answers only ``_id`` from an index)."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.laptop_views
        self._unconfirmed = db[UNCONFIRMED]
        self._open = db[OPEN]
        self._counters = db[COUNTERS]

    async def ensure_indexes(self) -> None:
        await self._c.create_index("office_code")
        await self._c.create_index("status")
        # A page of an office's laptops in asset-id order (the label list): equality on
        # office and kind, then the index's own order, so the store reads one page.
        await self._c.create_index([("office_code", ASCENDING), ("kind", ASCENDING), ("_id", ASCENDING)])

    async def get(self, asset_id: str) -> dict[str, Any] | None:
        return await self._c.find_one({"_id": asset_id})

    async def advance(
        self, asset_id: str, expected_seq: int, head_hash: str, event_id: str, view: dict[str, Any]
    ) -> None:
        """Moves the view one link forward, only from ``expected_seq``."""
        try:
            result = await self._c.update_one(
                {"_id": asset_id, "seq": expected_seq},
                {"$set": {**view, "seq": expected_seq + 1, "head_hash": head_hash}, "$push": {"event_ids": event_id}},
                upsert=expected_seq == 0,
            )
        except DuplicateKeyError:
            raise VersionConflict(asset_id) from None
        if result.matched_count == 0 and result.upserted_id is None:
            raise VersionConflict(asset_id)

    async def replace(
        self, asset_id: str, seq: int, head_hash: str, event_ids: list[str], view: dict[str, Any]
    ) -> None:
        doc = {**view, "seq": seq, "head_hash": head_hash, "event_ids": event_ids}
        await self._c.replace_one({"_id": asset_id}, doc, upsert=True)

    async def get_many(self, asset_ids: list[str]) -> dict[str, dict[str, Any]]:
        # One $in on _id per chunk: an index lookup (see MongoStreamStore.load_many).
        ids = list(dict.fromkeys(asset_ids))
        found: dict[str, dict[str, Any]] = {}
        for start in range(0, len(ids), READ_CHUNK):
            async for doc in self._c.find({"_id": {"$in": ids[start : start + READ_CHUNK]}}):
                found[doc["_id"]] = doc
        return found

    async def advance_many(self, advances: list[Advance]) -> set[str]:
        """``advance`` for many laptops, each still guarded by its ``seq``: new views
        in one insert_many, the others in one bulk write. Returns the laptops whose
        view had moved meanwhile (not written); the others are done."""
        if len({a.asset_id for a in advances}) != len(advances):
            raise ValueError("advance_many takes at most one advance per laptop")
        conflicts: set[str] = set()
        new = [a for a in advances if a.expected_seq == 0]
        if new:
            docs = [
                {"_id": a.asset_id, **a.view, "seq": len(a.event_ids), "head_hash": a.head_hash}
                | {"event_ids": a.event_ids}
                for a in new
            ]
            try:
                await self._c.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                conflicts |= {new[i].asset_id for i in _failed_indexes(exc)}
        old = [a for a in advances if a.expected_seq != 0]
        if old:
            # One bulk write of guarded updates, as MongoStreamStore.append_many: when some
            # lost their race, the views say which advances landed.
            result = await self._c.bulk_write(
                [
                    UpdateOne(
                        {"_id": a.asset_id, "seq": a.expected_seq},
                        {
                            "$set": {**a.view, "seq": a.expected_seq + len(a.event_ids), "head_hash": a.head_hash},
                            "$push": {"event_ids": {"$each": a.event_ids}},
                        },
                    )
                    for a in old
                ],
                ordered=False,
            )
            if result.matched_count != len(old):
                views = await self.get_many([a.asset_id for a in old])
                conflicts |= {
                    a.asset_id for a in old if a.event_ids[0] not in views.get(a.asset_id, {}).get("event_ids", ())
                }
        return conflicts

    async def overdue_candidates(self, now: str) -> list[dict[str, Any]]:
        """Views with a due moment before ``now``: a timed rule may fire on them.
        Times are fixed-format UTC strings, so string order is time order."""
        query = {
            "$or": [
                {"transit_due_at": {"$lt": now}},
                {"attestation_due_at": {"$lt": now}},
                {"repair_due_at": {"$lt": now}},
            ]
        }
        return [d async for d in self._c.find(query)]

    async def held_at(self, office_code: str) -> list[dict[str, Any]]:
        """The views of the office's laptops that someone holds (rare: when a staff list is recorded)."""
        return [d async for d in self._c.find({"office_code": office_code, "holder_nip": {"$ne": None}})]

    async def list_unconfirmed(self, consignment_id: str, awaiting: bool) -> None:
        if awaiting:
            with contextlib.suppress(DuplicateKeyError):
                await self._unconfirmed.insert_one({"_id": consignment_id})
        else:
            await self._unconfirmed.delete_one({"_id": consignment_id})

    async def unconfirmed(self) -> list[str]:
        return sorted([d["_id"] async for d in self._unconfirmed.find({})])

    async def list_open(self, consignment_id: str, picking: bool) -> None:
        if picking:
            with contextlib.suppress(DuplicateKeyError):
                await self._open.insert_one({"_id": consignment_id})
        else:
            await self._open.delete_one({"_id": consignment_id})

    async def open_consignments(self) -> list[str]:
        return sorted([d["_id"] async for d in self._open.find({})])

    async def all(self) -> list[dict[str, Any]]:
        return [d async for d in self._c.find({})]

    async def replace_all(self, views: list[dict[str, Any]]) -> None:
        """Rebuild: write every view as computed from the log. Delete and
        re-insert per batch: on FerretDB/SQLite one upsert per document is ~100x
        slower. A live refresh landing in between wins (duplicate key, newer or equal)."""
        from pymongo.errors import BulkWriteError

        for start in range(0, len(views), 1000):
            batch = views[start : start + 1000]
            await self._c.delete_many({"_id": {"$in": [v["_id"] for v in batch]}})
            try:
                await self._c.insert_many(batch, ordered=False)
            except BulkWriteError as exc:
                if any(e.get("code") != 11000 for e in exc.details.get("writeErrors", [])):
                    raise

    async def of_office(self, office_code: str) -> list[dict[str, Any]]:
        """The office's views, the fields its counters read (by the ``office_code`` index)."""
        return [d async for d in self._c.find({"office_code": office_code}, dict.fromkeys(counters.FIELDS, 1))]

    async def counters_version(self, office_code: str) -> int:
        doc = await self._counters.find_one({"_id": office_code}, {"version": 1})
        return int(doc["version"]) if doc else 0

    async def put_counters(self, office_code: str, expected_version: int, doc: dict[str, Any]) -> bool:
        """Writes the office's counters only over ``expected_version`` (0: none yet);
        False when another count landed first."""
        new = {**doc, "version": expected_version + 1}
        if expected_version == 0:
            try:
                await self._counters.insert_one({"_id": office_code, **new})
            except DuplicateKeyError:
                return False
            return True
        result = await self._counters.replace_one({"_id": office_code, "version": expected_version}, new)
        return result.matched_count == 1

    async def counted_offices(self) -> list[str]:
        return sorted([d["_id"] async for d in self._counters.find({}, {"_id": 1})])

    async def drop_counters(self, office_codes: list[str]) -> None:
        if office_codes:
            await self._counters.delete_many({"_id": {"$in": office_codes}})


class MongoScanIndex:
    """scan id -> the laptop and first event it caused, for GET /api/v1/scans/{id}."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.scan_index

    async def remember(self, scan_id: str, asset_id: str, event_id: str) -> None:
        # The first decision on a scan id is the one it is known by.
        with contextlib.suppress(DuplicateKeyError):
            await self._c.insert_one({"_id": scan_id, "asset_id": asset_id, "event_id": event_id})

    async def remember_many(self, scans: list[tuple[str, str, str]]) -> None:
        """(scan id, asset, event id) in decision order; the first per scan id wins."""
        first: dict[str, dict[str, str]] = {}
        for scan_id, asset_id, event_id in scans:
            first.setdefault(scan_id, {"_id": scan_id, "asset_id": asset_id, "event_id": event_id})
        if first:
            try:
                await self._c.insert_many(list(first.values()), ordered=False)
            except BulkWriteError as exc:
                _failed_indexes(exc)  # duplicates: known by an earlier decision already


class MongoDeadLetters:
    """Dead letters kept for operators (GET /api/v1/dead-letters)."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.dead_letters

    async def keep(self, event: Envelope) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self._c.insert_one({"_id": event.id, "recorded_at": datetime.now(UTC), **codec.to_json(event)})

    async def keep_unreadable(self, key: str, raw: bytes) -> None:
        with contextlib.suppress(DuplicateKeyError):
            await self._c.insert_one(
                {
                    "_id": key,
                    "recorded_at": datetime.now(UTC),
                    "unreadable": storable(raw.decode("utf-8", "replace")[:65536]),
                }
            )


CHUNK = 5000  # checkpoint leaves per document: far below the 16 MiB document limit


class MongoCheckpoints:
    """``checkpoints`` (one document per signed checkpoint) and ``checkpoint_leaves``
    (the heads it covers, in chunks of "asset|seq|head" strings: FerretDB v1 refuses
    nested arrays). The checkpoint document is written after all
    its leaves, so a checkpoint that exists is complete."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db

    async def ensure_indexes(self) -> None:
        await self._db.checkpoints.create_index("created_at")
        await self._db.checkpoint_leaves.create_index([("checkpoint_id", ASCENDING), ("chunk", ASCENDING)])

    async def heads(self) -> dict[str, tuple[int, str]]:
        return (await self.heads_and_links({}))[0]

    async def heads_and_links(self, keep: dict[str, int]) -> tuple[dict[str, tuple[int, str]], dict[str, str]]:
        """Every chain's head, and in the same pass the hash at seq ``keep[asset]``
        (the previous checkpoint's heads, to check chains only grew)."""
        heads: dict[str, tuple[int, str]] = {}
        kept: dict[str, str] = {}
        cursor = self._db.event_log.find({}, {"asset_id": 1, "seq": 1, "hash": 1, "_id": 0}, batch_size=10000)
        async for d in cursor:
            if d["seq"] > heads.get(d["asset_id"], (0, ""))[0]:
                heads[d["asset_id"]] = (d["seq"], d["hash"])
            if keep.get(d["asset_id"]) == d["seq"]:
                kept[d["asset_id"]] = d["hash"]
        return heads, kept

    async def latest(self) -> dict[str, Any] | None:
        return await self._db.checkpoints.find_one({}, sort=[("created_at", DESCENDING)])

    async def all(self) -> list[dict[str, Any]]:
        return [d async for d in self._db.checkpoints.find({}).sort("created_at", ASCENDING)]

    async def save(self, checkpoint: dict[str, Any], leaves: list[list[Any]]) -> None:
        cid = checkpoint["checkpoint_id"]
        for n, start in enumerate(range(0, len(leaves), CHUNK)):
            doc = {
                "_id": f"{cid}:{n:06d}",
                "checkpoint_id": cid,
                "chunk": n,
                "heads": [f"{a}|{n_}|{h}" for a, n_, h in leaves[start : start + CHUNK]],
            }
            await self._db.checkpoint_leaves.replace_one({"_id": doc["_id"]}, doc, upsert=True)
        with contextlib.suppress(DuplicateKeyError):
            await self._db.checkpoints.insert_one({"_id": cid, **checkpoint, "published": False})

    async def leaves(self, checkpoint_id: str) -> list[list[Any]]:
        out: list[list[Any]] = []
        async for d in self._db.checkpoint_leaves.find({"checkpoint_id": checkpoint_id}).sort("chunk", ASCENDING):
            out += [[a, int(n), h] for a, n, h in (x.split("|") for x in d["heads"])]
        return out

    async def unpublished(self) -> list[dict[str, Any]]:
        return [d async for d in self._db.checkpoints.find({"published": False})]

    async def mark_published(self, checkpoint_id: str) -> None:
        await self._db.checkpoints.update_one({"_id": checkpoint_id}, {"$set": {"published": True}})


def stores(db: AsyncDatabase) -> dict[str, Any]:  # type: ignore[type-arg]
    """The audit's stores in ``db``, as ``bootstrap`` takes them."""
    return {
        "log": MongoEventLog(db),
        "views": MongoViews(db),
        "dead_letters": MongoDeadLetters(db),
        "scans": MongoScanIndex(db),
        "checkpoints": MongoCheckpoints(db),
    }
