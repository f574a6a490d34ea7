"""The event log (one document per event, chained per laptop) and the views."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Protocol

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from events import codec
from events.envelope import Envelope
from services.audit.domain import GENESIS
from services.common.laptop_store import VersionConflict


class EventLog(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def get(self, event_id: str) -> dict[str, Any] | None: ...
    async def head(self, asset_id: str) -> tuple[int, str]: ...
    async def append(self, asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> bool: ...
    async def chain(self, asset_id: str) -> list[dict[str, Any]]: ...


class Views(Protocol):
    """One document per laptop: its view, and the head of its chain (``seq``,
    ``head_hash``, the ordered ``event_ids``). Reads and writes go by ``_id``
    only: FerretDB's SQLite backend answers nothing else from an index."""

    async def ensure_indexes(self) -> None: ...
    async def get(self, asset_id: str) -> dict[str, Any] | None: ...
    async def advance(
        self, asset_id: str, expected_seq: int, head_hash: str, event_id: str, view: dict[str, Any]
    ) -> None: ...
    async def replace(self, asset_id: str, seq: int, head_hash: str, event_ids: list[str], view: dict[str, Any]) -> None: ...


class ScanIndex(Protocol):
    async def remember(self, scan_id: str, asset_id: str, event_id: str) -> None: ...


def _entry(asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> dict[str, Any]:
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


class MongoEventLog:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.event_log

    async def ensure_indexes(self) -> None:
        await self._c.create_index([("asset_id", ASCENDING), ("seq", ASCENDING)], unique=True)

    async def get(self, event_id: str) -> dict[str, Any] | None:
        return await self._c.find_one({"_id": event_id})

    async def head(self, asset_id: str) -> tuple[int, str]:
        last = await self._c.find_one({"asset_id": asset_id}, sort=[("seq", DESCENDING)])
        return (last["seq"], last["hash"]) if last else (0, GENESIS)

    async def append(self, asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> bool:
        """True if recorded now, False if this event was already recorded."""
        try:
            await self._c.insert_one(_entry(asset_id, seq, prev_hash, hash_, event))
        except DuplicateKeyError:
            if await self.get(event.id) is not None:
                return False
            raise VersionConflict(asset_id) from None  # another link took this seq
        return True

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return [d async for d in self._c.find({"asset_id": asset_id}).sort("seq", ASCENDING)]


class MongoViews:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.laptop_views

    async def ensure_indexes(self) -> None:
        await self._c.create_index("office_code")
        await self._c.create_index("status")

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

    async def replace(self, asset_id: str, seq: int, head_hash: str, event_ids: list[str], view: dict[str, Any]) -> None:
        doc = {**view, "seq": seq, "head_hash": head_hash, "event_ids": event_ids}
        await self._c.replace_one({"_id": asset_id}, doc, upsert=True)


class MongoScanIndex:
    """scan id -> the laptop and first event it caused, for GET /api/v1/scans/{id}."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.scan_index

    async def remember(self, scan_id: str, asset_id: str, event_id: str) -> None:
        try:
            await self._c.insert_one({"_id": scan_id, "asset_id": asset_id, "event_id": event_id})
        except DuplicateKeyError:
            pass  # the first decision on a scan id is the one it is known by


class FakeEventLog:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        pass  # uniqueness is enforced in append()

    async def get(self, event_id: str) -> dict[str, Any] | None:
        return self.entries.get(event_id)

    async def head(self, asset_id: str) -> tuple[int, str]:
        links = [e for e in self.entries.values() if e["asset_id"] == asset_id]
        if not links:
            return 0, GENESIS
        last = max(links, key=lambda e: e["seq"])
        return last["seq"], last["hash"]

    async def append(self, asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> bool:
        if event.id in self.entries:
            return False
        if any(e["asset_id"] == asset_id and e["seq"] == seq for e in self.entries.values()):
            raise VersionConflict(asset_id)
        self.entries[event.id] = _entry(asset_id, seq, prev_hash, hash_, event)
        return True

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return sorted((e for e in self.entries.values() if e["asset_id"] == asset_id), key=lambda e: e["seq"])


class FakeViews:
    def __init__(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        pass

    async def get(self, asset_id: str) -> dict[str, Any] | None:
        found = self.views.get(asset_id)
        return dict(found) if found else None

    async def advance(
        self, asset_id: str, expected_seq: int, head_hash: str, event_id: str, view: dict[str, Any]
    ) -> None:
        current = self.views.get(asset_id)
        if (current["seq"] if current else 0) != expected_seq:
            raise VersionConflict(asset_id)
        ids = (current["event_ids"] if current else []) + [event_id]
        self.views[asset_id] = {**view, "seq": expected_seq + 1, "head_hash": head_hash, "event_ids": ids}

    async def replace(self, asset_id: str, seq: int, head_hash: str, event_ids: list[str], view: dict[str, Any]) -> None:
        self.views[asset_id] = {**view, "seq": seq, "head_hash": head_hash, "event_ids": list(event_ids)}


class FakeScanIndex:
    def __init__(self) -> None:
        self.scans: dict[str, tuple[str, str]] = {}

    async def remember(self, scan_id: str, asset_id: str, event_id: str) -> None:
        self.scans.setdefault(scan_id, (asset_id, event_id))


class MongoDeadLetters:
    """Dead letters kept for operators (GET /api/v1/dead-letters)."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._c = db.dead_letters

    async def keep(self, event: Envelope) -> None:
        try:
            await self._c.insert_one({"_id": event.id, "recorded_at": datetime.now(UTC), **codec.to_json(event)})
        except DuplicateKeyError:
            pass

    async def keep_unreadable(self, key: str, raw: bytes) -> None:
        try:
            await self._c.insert_one(
                {"_id": key, "recorded_at": datetime.now(UTC), "unreadable": raw.decode("utf-8", "replace")[:65536]}
            )
        except DuplicateKeyError:
            pass


class FakeDeadLetters:
    def __init__(self) -> None:
        self.kept: dict[str, Any] = {}

    async def keep(self, event: Envelope) -> None:
        self.kept.setdefault(event.id, event)

    async def keep_unreadable(self, key: str, raw: bytes) -> None:
        self.kept.setdefault(key, raw)
