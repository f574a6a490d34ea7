"""Read-only access to the views the workers maintain."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pymongo import ASCENDING
from pymongo.asynchronous.database import AsyncDatabase


class ReadModels:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db

    async def ping(self) -> None:
        await self._db.command("ping")

    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        return await self._db.laptop_views.find_one({"_id": asset_id})

    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        """Laptop views for label sheets (issue 3), in asset-id order so a sheet is reproducible."""
        cursor = self._db.laptop_views.find(query).sort("_id", ASCENDING).limit(limit)
        return [d async for d in cursor]

    async def history(self, asset_id: str) -> list[dict[str, Any]]:
        return [d async for d in self._db.event_log.find({"asset_id": asset_id}).sort("seq", ASCENDING)]

    async def caused_by(self, scan_id: str) -> list[dict[str, Any]]:
        return [d async for d in self._db.event_log.find({"causationid": scan_id}).sort("seq", ASCENDING)]

    async def heartbeats(self) -> list[dict[str, Any]]:
        return [d async for d in self._db.worker_status.find({})]

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        return [d async for d in self._db.dead_letters.find({}).sort("recorded_at", -1).limit(limit)]


def age_seconds(at: datetime, now: datetime) -> float:
    return (now - at).total_seconds()
