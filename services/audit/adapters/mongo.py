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
    async def put(self, asset_id: str, seq: int, view: dict[str, Any]) -> None: ...


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
        await self._c.create_index("causationid")

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

    async def put(self, asset_id: str, seq: int, view: dict[str, Any]) -> None:
        # Only move forward: a stale refresh (older seq) must not overwrite a newer view.
        try:
            await self._c.update_one(
                {"_id": asset_id, "seq": {"$lt": seq}}, {"$set": {**view, "seq": seq}}, upsert=True
            )
        except DuplicateKeyError:
            pass  # the view is already at this seq or newer


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

    async def put(self, asset_id: str, seq: int, view: dict[str, Any]) -> None:
        if self.views.get(asset_id, {}).get("seq", 0) < seq:
            self.views[asset_id] = {**view, "seq": seq}


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
