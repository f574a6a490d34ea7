"""What the gateway reads about consignments, from published stores only:

- the audit's consignment views: the ``laptop_views`` document of kind
  ``consignment`` (its chain head) holds the summary the audit folds from the
  consignment's events (services/audit/consignment.py), and
  ``unconfirmed_consignments`` lists those awaiting receipt and ``open_consignments``
  those still being picked at the warehouse;
- the handover's BAST document store, ``bast_documents``: each issued BAST's PDF,
  number and recorded SHA-256, under ``<consignment id>-<seq>``; and its other
  documents, ``laptop_documents`` (a holder's berita acara, a write-off proposal),
  under ``<asset id>-<kind>-<seq>``.

The workers' own documents (their per-subject streams) are theirs alone: the
gateway learns what they decided from the events, as the audit recorded them.
Every read is by ``_id`` (FerretDB answers nothing else from an index)."""

from __future__ import annotations

import asyncio
from typing import Any

from pymongo.asynchronous.database import AsyncDatabase

VIEWS = "laptop_views"  # the audit's views, laptops' and consignments'
UNCONFIRMED = "unconfirmed_consignments"  # the audit's list of consignments awaiting receipt
OPEN = "open_consignments"  # the audit's list of consignments still being picked
BAST_DOCUMENTS = "bast_documents"  # the handover's published BAST documents
LAPTOP_DOCUMENTS = "laptop_documents"  # the handover's published custody documents


class ConsignmentReads:
    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._db = db

    # --- the stores, each read by _id ---

    async def _summary_of(self, consignment_id: str) -> dict[str, Any] | None:
        doc = await self._db[VIEWS].find_one({"_id": consignment_id, "kind": "consignment"}, {"consignment": 1})
        return (doc or {}).get("consignment")

    async def _unconfirmed_ids(self) -> list[str]:
        return [d["_id"] async for d in self._db[UNCONFIRMED].find({})]

    async def _open_ids(self) -> list[str]:
        return [d["_id"] async for d in self._db[OPEN].find({})]

    async def bast(self, consignment_id: str, seq: int) -> dict[str, Any] | None:
        return await self._db[BAST_DOCUMENTS].find_one({"_id": f"{consignment_id}-{seq}"})

    async def document(self, document_id: str) -> dict[str, Any] | None:
        return await self._db[LAPTOP_DOCUMENTS].find_one({"_id": document_id})

    # --- what the routes ask ---

    async def summary(self, consignment_id: str) -> dict[str, Any] | None:
        """The audit's summary of a planned consignment (None if it was never planned:
        refused commands about an unknown id are recorded too, and plan nothing)."""
        summary = await self._summary_of(consignment_id)
        return summary if summary and summary.get("status", "unplanned") != "unplanned" else None

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        """The plan as it stands: the ConsignmentPlanned data with the newest receipt-code
        hash, and for a plan by count the laptops picked so far as ``expected``."""
        summary = await self.summary(consignment_id)
        return dict(summary["plan"]) if summary and summary.get("plan") else None

    async def receipt(self, consignment_id: str, seq: int) -> dict[str, Any] | None:
        """The data of the consignment's ``seq``-th ReceiptConfirmed (what its BAST says)."""
        summary = await self.summary(consignment_id)
        return next((dict(r) for r in (summary or {}).get("receipts", []) if r.get("seq") == seq), None)

    async def being_picked(self) -> list[dict[str, Any]]:
        """The summaries of the consignments planned and not yet dispatched."""
        ids = await self._open_ids()
        found = await asyncio.gather(*(self.summary(i) for i in ids))
        return [{"consignment_id": i, **s} for i, s in zip(ids, found, strict=True) if s is not None]

    async def unconfirmed(self) -> list[dict[str, Any]]:
        """The summaries of the consignments awaiting receipt, each with its ``consignment_id``."""
        ids = await self._unconfirmed_ids()
        found = await asyncio.gather(*(self.summary(i) for i in ids))
        return [{"consignment_id": i, **s} for i, s in zip(ids, found, strict=True) if s is not None]
