"""Issue 5: what auditors read — event log, checkpoints and proofs, views for
roll-ups and due lists. Also used by ``serah export`` (no gateway needed)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from events import proofs
from events.catalog import AnomalyDetected


class AuditReads:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db

    async def checkpoints(self) -> list[dict[str, Any]]:
        return [d async for d in self._db.checkpoints.find({}).sort("created_at", ASCENDING)]

    async def latest_checkpoint(self) -> dict[str, Any] | None:
        return await self._db.checkpoints.find_one({}, sort=[("created_at", DESCENDING)])

    async def proof_index(self, checkpoint: dict[str, Any] | None) -> proofs.ProofIndex | None:
        if checkpoint is None:
            return None
        leaves: list[list[Any]] = []
        cursor = self._db.checkpoint_leaves.find({"checkpoint_id": checkpoint["checkpoint_id"]}).sort(
            "chunk", ASCENDING
        )
        async for d in cursor:
            leaves += [[a, int(n), h] for a, n, h in (x.split("|") for x in d["heads"])]  # "asset|seq|head"
        return proofs.ProofIndex(checkpoint["checkpoint_id"], leaves)

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return [d async for d in self._db.event_log.find({"asset_id": asset_id}).sort("seq", ASCENDING)]

    async def all_links(self) -> AsyncIterator[dict[str, Any]]:
        cursor = self._db.event_log.find({}).sort([("asset_id", ASCENDING), ("seq", ASCENDING)]).batch_size(5000)
        async for d in cursor:
            yield d

    async def export_lines(self, exported_at: str, asset_id: str | None = None) -> AsyncIterator[dict[str, Any]]:
        """The JSON Lines export that ``serah verify`` checks: a header, every
        checkpoint, every event (per laptop in chain order), then each laptop's
        inclusion proof in the latest checkpoint. ``asset_id`` narrows it to one laptop."""
        cps = await self.checkpoints()
        latest = cps[-1] if cps else None
        index = await self.proof_index(latest)
        yield proofs.header_line(
            exported_at, "laptop" if asset_id else "all", latest["checkpoint_id"] if latest else None
        )
        for cp in cps:
            yield proofs.checkpoint_public(cp)
        links = self._iter(await self.chain(asset_id)) if asset_id else self.all_links()
        async for link in links:
            yield proofs.event_line(link)
        if index is not None:
            for a in [asset_id] if asset_id else index.assets():
                if (p := index.proof(a)) is not None:
                    yield p

    @staticmethod
    async def _iter(items: list[dict[str, Any]]) -> AsyncIterator[dict[str, Any]]:
        for item in items:
            yield item

    async def views(self, province: str | None = None) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"office_code": {"$regex": f"^{province}"}} if province else {}
        query["kind"] = {"$ne": "consignment"}  # issue 4: consignments are chained, not laptops
        return [d async for d in self._db.laptop_views.find(query)]

    async def anomalies(
        self, rule: str | None, office: str | None, province: str | None, limit: int
    ) -> list[dict[str, Any]]:
        query: dict[str, Any] = {"type": AnomalyDetected.TYPE}
        if rule:
            query["event.data.rule"] = rule
        if office:
            query["event.data.office_code"] = office
        elif province:
            query["event.data.office_code"] = {"$regex": f"^{province}"}
        return [d async for d in self._db.event_log.find(query).sort("recorded_at", DESCENDING).limit(limit)]
