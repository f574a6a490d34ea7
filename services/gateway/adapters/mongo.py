"""Read-only access to the views the workers maintain."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from events.envelope import Envelope


class ReadModels:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db

    async def ping(self) -> None:
        await self._db.command("ping")

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
        # would scan the whole log for a query on any other field.
        view = await self._db.laptop_views.find_one({"_id": asset_id}, {"event_ids": 1})
        if not view:
            return []
        links = await asyncio.gather(*(self._db.event_log.find_one({"_id": i}) for i in view.get("event_ids", [])))
        return sorted((link for link in links if link), key=lambda link: link["seq"])

    async def scan(self, scan_id: str) -> dict[str, Any] | None:
        """The first event a scan caused, or None if it is not decided (yet)."""
        entry = await self._db.scan_index.find_one({"_id": scan_id})
        return await self._db.event_log.find_one({"_id": entry["event_id"]}) if entry else None

    async def recorded(self, scan_id: str, event: Envelope) -> bool:
        """Whether the audit service has recorded ``event`` (caused by ``scan_id``)
        in its subject's view and indexed the scan: its last two writes."""
        view = await self._db.laptop_views.find_one({"_id": event.subject}, {"event_ids": 1})
        if view is None or event.id not in view.get("event_ids", ()):
            return False
        return await self._db.scan_index.find_one({"_id": scan_id}, {"_id": 1}) is not None

    async def heartbeats(self) -> list[dict[str, Any]]:
        return [d async for d in self._db.worker_status.find({})]

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        return [d async for d in self._db.dead_letters.find({}).sort("recorded_at", -1).limit(limit)]
