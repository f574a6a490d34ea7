"""What auditors read — event log, checkpoints and proofs, chain verdicts, views
for roll-ups and due lists. Also used by ``serah export`` (no gateway needed)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from pymongo import ASCENDING, DESCENDING
from pymongo.asynchronous.database import AsyncDatabase

from events import proofs
from events.catalog import AnomalyDetected
from services.gateway.rollups import VIEW_FIELDS


class AuditReads:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db
        self._index: proofs.ProofIndex | None = None

    async def checkpoints(self) -> list[dict[str, Any]]:
        return [d async for d in self._db.checkpoints.find({}).sort("created_at", ASCENDING)]

    async def latest_checkpoint(self) -> dict[str, Any] | None:
        return await self._db.checkpoints.find_one({}, sort=[("created_at", DESCENDING)])

    async def proof_index(self, checkpoint: dict[str, Any] | None) -> proofs.ProofIndex | None:
        """The checkpoint's chain list as stored, kept for the newest checkpoint read
        (a history read verifies against it; it changes only with a new checkpoint)."""
        if checkpoint is None:
            return None
        cid = checkpoint["checkpoint_id"]
        if self._index is not None and self._index.checkpoint_id == cid:
            return self._index
        leaves: list[list[Any]] = []
        async for d in self._db.checkpoint_leaves.find({"checkpoint_id": cid}).sort("chunk", ASCENDING):
            leaves += [[a, int(n), h] for a, n, h in (x.split("|") for x in d["heads"])]  # "asset|seq|head"
        self._index = proofs.ProofIndex(cid, leaves)
        return self._index

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return [d async for d in self._db.event_log.find({"asset_id": asset_id}).sort("seq", ASCENDING)]

    async def all_links(self) -> AsyncIterator[dict[str, Any]]:
        cursor = self._db.event_log.find({}).sort([("asset_id", ASCENDING), ("seq", ASCENDING)]).batch_size(5000)
        async for d in cursor:
            yield d

    async def verdict(self, asset_id: str, links: list[dict[str, Any]], keys: dict[str, bytes]) -> proofs.ChainVerdict:
        """Whether this chain verifies now, against the newest checkpoint (events/proofs.py)."""
        return (await self.verifier(keys))(asset_id, links)

    async def verifier(self, keys: dict[str, bytes]) -> Callable[[str, list[dict[str, Any]]], proofs.ChainVerdict]:
        """A verdict function for many chains against one reading of the newest checkpoint."""
        latest = await self.latest_checkpoint()
        index = await self.proof_index(latest)

        def verdict(asset_id: str, links: list[dict[str, Any]]) -> proofs.ChainVerdict:
            return proofs.chain_verdict(asset_id, [proofs.event_line(x) for x in links], latest, index, keys)

        return verdict

    async def export_lines(self, subjects: list[str] | None = None) -> AsyncIterator[dict[str, Any]]:
        """The JSON Lines export that ``serah verify`` checks: a header, the newest
        checkpoint, every event (per chain in chain-id order, each in seq order),
        then the checkpoint's whole chain list. ``subjects`` narrows it to those
        chains, each with its inclusion proof instead of the whole list."""
        latest = await self.latest_checkpoint()
        index = await self.proof_index(latest)
        yield proofs.header_line()
        if latest is not None:
            yield proofs.checkpoint_public(latest)
        if subjects is None:
            async for link in self.all_links():
                yield proofs.event_line(link)
            if index is not None:
                for line in index.leaves_lines():
                    yield line
            return
        wanted = sorted(set(subjects))
        for a in wanted:
            for link in await self.chain(a):
                yield proofs.event_line(link)
        if index is not None:
            for a in wanted:
                if (p := index.proof(a)) is not None:
                    yield p

    async def unknown_chains(self, subjects: list[str]) -> list[str]:
        """Those of ``subjects`` (laptops or consignments) that have no chain."""
        heads = await asyncio.gather(*(self._db.laptop_views.find_one({"_id": s}, {"_id": 1}) for s in subjects))
        return [s for s, head in zip(subjects, heads, strict=True) if head is None]

    async def views(self, province: str | None = None) -> list[dict[str, Any]]:
        """The laptops' views (of one province or office code prefix), the fields roll-ups read."""
        query: dict[str, Any] = {"office_code": {"$regex": f"^{province}"}} if province else {}
        query["kind"] = "laptop"  # consignments, accounts and devices are chained, but are not laptops
        return [d async for d in self._db.laptop_views.find(query, dict.fromkeys(VIEW_FIELDS, 1))]

    async def office_counters(self, province: str | None = None) -> list[dict[str, Any]]:
        """The counter document of each office (of one province or office code prefix):
        one small document per office, 552 in all."""
        docs = [d async for d in self._db.office_counters.find({})]
        return [d for d in docs if not province or str(d["_id"]).startswith(province)]

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
