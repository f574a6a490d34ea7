"""Read-only access to the consignment documents the workers keep.
By _id wherever possible: FerretDB scans for any other query."""

from __future__ import annotations

from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

from events.catalog import ConsignmentPlanned, ReceiptCodeReissued, ReceiptConfirmed

REISSUED = ReceiptCodeReissued.TYPE


class ConsignmentReads:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db

    async def allocation(self, consignment_id: str) -> dict[str, Any] | None:
        """Allocation's record of a planned consignment (None if it was never planned:
        refused commands about an unknown id are recorded too, and plan nothing)."""
        doc = await self._db.allocation_consignments.find_one({"_id": consignment_id}, {"history": 0})
        return doc if doc and doc.get("summary", {}).get("status", "unplanned") != "unplanned" else None

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        """The ConsignmentPlanned data (first event of the consignment's document), as it
        stands now: the newest receipt-code hash, and for a plan by count the laptops picked."""
        doc = await self._db.allocation_consignments.find_one({"_id": consignment_id})
        planned = next((e for e in (doc or {}).get("history", []) if e.get("type") == ConsignmentPlanned.TYPE), None)
        if planned is None:
            return None
        plan: dict[str, Any] = dict(planned.get("data") or {})
        # A re-issued receipt code replaces the planned one (decided by handover).
        hand = await self._db.handover_consignments.find_one({"_id": consignment_id}, {"history": 1})
        reissued = [e for e in (hand or {}).get("history", []) if e.get("type") == REISSUED]
        if reissued:
            plan["receipt_code_hash"] = reissued[-1]["data"]["receipt_code_hash"]
        if plan.get("expected_count") is not None:  # a plan by count lists what was picked
            plan["expected"] = list(doc.get("summary", {}).get("scanned", []))
        return plan

    async def handover(self, consignment_id: str) -> dict[str, Any] | None:
        return await self._db.handover_consignments.find_one({"_id": consignment_id}, {"history": 0})

    async def in_transit(self) -> list[dict[str, Any]]:
        query = {"summary.status": {"$in": ["in_transit", "partly_received"]}}
        return [d async for d in self._db.handover_consignments.find(query, {"history": 0})]

    async def bast(self, consignment_id: str, seq: int) -> dict[str, Any] | None:
        return await self._db.bast_documents.find_one({"_id": f"{consignment_id}-{seq}"})

    async def receipt(self, consignment_id: str, seq: int) -> dict[str, Any] | None:
        """The data of the consignment's ``seq``-th ReceiptConfirmed (what its BAST says)."""
        doc = await self._db.handover_consignments.find_one({"_id": consignment_id}, {"history": 1})
        for event in (doc or {}).get("history", []):
            if event.get("type") == ReceiptConfirmed.TYPE and (event.get("data") or {}).get("seq") == seq:
                return dict(event["data"])
        return None
