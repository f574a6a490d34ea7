"""Read-only access to the views the workers maintain, and the store probe of /healthz."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from collections.abc import Awaitable, Callable, Hashable
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from pymongo.asynchronous.database import AsyncDatabase

from events.envelope import Envelope
from services.common.streams import READ_CHUNK

K = TypeVar("K", bound=Hashable)

# The handover service's receipts held until their dispatch is decided (published for readers).
HELD_RECEIPTS = "held_receipts"


class Coalesced(Generic[K]):
    """Questions asked while a round is in flight wait for the next round, which
    answers all of them with one call of ``among`` (the keys it finds hold)."""

    def __init__(self, among: Callable[[list[K]], Awaitable[set[K]]]) -> None:
        self._among = among
        self._waiting: dict[K, list[asyncio.Future[bool]]] = {}
        self._rounds: asyncio.Task[None] | None = None

    async def ask(self, key: K) -> bool:
        future: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.setdefault(key, []).append(future)
        if self._rounds is None or self._rounds.done():
            self._rounds = asyncio.create_task(self._run_rounds())
        return await future

    async def _run_rounds(self) -> None:
        while self._waiting:
            asked, self._waiting = self._waiting, {}
            try:
                found = await self._among(list(asked))
            except Exception as exc:  # noqa: BLE001 - each asker gets the failure of its round
                for futures in asked.values():
                    for f in futures:
                        if not f.done():
                            f.set_exception(exc)
                continue
            for key, futures in asked.items():
                for f in futures:
                    if not f.done():
                        f.set_result(key in found)


class ReadModels:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db
        self._recorded: Coalesced[tuple[str, str, str]] | None = None

    async def ping(self) -> datetime:
        local: datetime = (await self._db.command("hello"))["localTime"]
        return local if local.tzinfo else local.replace(tzinfo=UTC)

    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        # a consignment's chain head is not a laptop
        return await self._db.laptop_views.find_one({"_id": asset_id, "kind": "laptop"})

    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Laptop views for label sheets, in asset-id order so a sheet is reproducible."""
        query = {**query, "kind": "laptop"}  # consignments, accounts and devices are not laptops
        by_id = query.get("_id")
        if isinstance(by_id, dict) and "$in" in by_id:
            # By asset ids: one read by _id each, concurrently, with the rest of the
            # filter. FerretDB/SQLite answers $in by scanning every view (measured:
            # 10,000 labels in 482 s at 100,000 laptops); a read by _id uses the key.
            rest = {k: v for k, v in query.items() if k != "_id"}
            views = self._db.laptop_views
            found = await asyncio.gather(*(views.find_one({**rest, "_id": a}) for a in dict.fromkeys(by_id["$in"])))
            return sorted((d for d in found if d is not None), key=lambda d: d["_id"])[:limit]
        cursor = self._db.laptop_views.find(query).sort("_id", 1).limit(limit)
        return [d async for d in cursor]

    async def history(self, asset_id: str) -> list[dict[str, Any]]:
        # By _id only (the view lists its chain): FerretDB's SQLite backend
        # would scan the whole log for a query on any other field; one $in on _id
        # is an index lookup on both of its backends and on MongoDB.
        view = await self._db.laptop_views.find_one({"_id": asset_id}, {"event_ids": 1})
        if not view or not view.get("event_ids"):
            return []
        ids = list(view["event_ids"])
        links = [
            link
            for start in range(0, len(ids), READ_CHUNK)
            async for link in self._db.event_log.find({"_id": {"$in": ids[start : start + READ_CHUNK]}})
        ]
        return sorted(links, key=lambda link: link["seq"])

    async def scan(self, scan_id: str) -> dict[str, Any] | None:
        """The first event a scan caused, or None if it is not decided (yet)."""
        entry = await self._db.scan_index.find_one({"_id": scan_id})
        return await self._db.event_log.find_one({"_id": entry["event_id"]}) if entry else None

    async def recorded(self, scan_id: str, event: Envelope) -> bool:
        """Whether the audit service has recorded ``event`` (caused by ``scan_id``)
        in its subject's view and indexed the scan: its last two writes.

        Every answer waits on this, asking again every few milliseconds until it
        holds, so concurrent questions share one round: two reads by ``$in`` on
        ``_id`` for all of them instead of two reads each (50 scanners waiting made
        2,500 reads a second and starved the workers of the store)."""
        if self._recorded is None:
            self._recorded = Coalesced(self._recorded_among)
        return await self._recorded.ask((scan_id, event.subject, event.id))

    async def _recorded_among(self, asked: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        # The scan index is the audit's last write: an entry naming the event means
        # the view had it first. Only a scan id used before (its entry names the first
        # decision) needs the view itself, so the views, large documents, are rarely read.
        scan_ids = list(dict.fromkeys(scan_id for scan_id, _, _ in asked))
        indexed = {
            d["_id"]: d.get("event_id")
            async for d in self._db.scan_index.find({"_id": {"$in": scan_ids}}, {"event_id": 1})
        }
        found = {a for a in asked if indexed.get(a[0]) == a[2]}
        others = [a for a in asked if a[0] in indexed and a not in found]
        if others:
            subjects = list(dict.fromkeys(subject for _, subject, _ in others))
            events = {
                d["_id"]: set(d.get("event_ids", ()))
                async for d in self._db.laptop_views.find({"_id": {"$in": subjects}}, {"event_ids": 1})
            }
            found |= {a for a in others if a[2] in events.get(a[1], ())}
        return found

    async def heartbeats(self) -> list[dict[str, Any]]:
        return [d async for d in self._db.worker_status.find({})]

    async def held(self, command_id: str) -> dict[str, Any] | None:
        return await self._db[HELD_RECEIPTS].find_one({"_id": command_id}, {"subject": 1, "until": 1})

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        return [d async for d in self._db.dead_letters.find({}).sort("recorded_at", -1).limit(limit)]


PROBES = "store_probes"


class StoreWriteProbe:
    """Writes one small document of this gateway's own (``store_probes``, by _id) to
    learn whether the store takes writes. /healthz may be asked many times a second:
    an answer is reused for ``every_s``, so the probe costs the store a write a second
    at most, whoever asks."""

    def __init__(self, db: AsyncDatabase, every_s: float = 1.0) -> None:  # type: ignore[type-arg]
        self._c = db[PROBES]
        self._id = f"gateway:{socket.gethostname()}:{os.getpid()}"
        self._every_s = every_s
        self._last: tuple[float, BaseException | None] | None = None
        self._lock = asyncio.Lock()

    async def write(self) -> None:
        async with self._lock:
            now = time.monotonic()
            if self._last is None or now - self._last[0] >= self._every_s:
                try:
                    await self._c.update_one({"_id": self._id}, {"$set": {"at": datetime.now(UTC)}}, upsert=True)
                    self._last = (now, None)
                except Exception as exc:  # noqa: BLE001 - any refusal is the answer, given to every asker
                    self._last = (now, exc)
            failure = self._last[1]
        if failure is not None:
            raise failure
