from __future__ import annotations

import contextlib
from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

from services.common.streams import MongoStreamStore
from services.handover.held import HeldReceipt

COLLECTION = "handover_laptops"


def laptop_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    return MongoStreamStore(db[COLLECTION])


CONSIGNMENTS = "handover_consignments"
BAST_DOCUMENTS = "bast_documents"
# the holder's berita acara and write-off proposals, by document id (<asset>-<kind>-<seq>)
LAPTOP_DOCUMENTS = "laptop_documents"
ROSTERS = "handover_rosters"


def consignment_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    # The late-receipt sweep selects consignments by status: an index reads only those.
    return MongoStreamStore(db[CONSIGNMENTS], promoted=("status",))


class MongoBastStore:
    """Issued BAST PDFs; a replace by ``_id`` so writing the same receipt again is harmless."""

    def __init__(self, collection: AsyncCollection) -> None:  # type: ignore[type-arg]
        self._c = collection

    async def put(self, doc_id: str, doc: dict[str, Any]) -> None:
        await self._c.replace_one({"_id": doc_id}, {"_id": doc_id, **doc}, upsert=True)

    async def get(self, doc_id: str) -> dict[str, Any] | None:
        return await self._c.find_one({"_id": doc_id})


def bast_store(db: AsyncDatabase) -> MongoBastStore:  # type: ignore[type-arg]
    return MongoBastStore(db[BAST_DOCUMENTS])


HELD_RECEIPTS = "held_receipts"


class MongoHeldReceipts:
    """Held receipts by command id (services/handover/held.py); written once per command."""

    def __init__(self, collection: AsyncCollection) -> None:  # type: ignore[type-arg]
        self._c = collection

    async def hold(self, held: HeldReceipt) -> HeldReceipt:
        doc = held.document()
        # Held by another at the same moment (a duplicate key on the upsert): theirs is kept.
        with contextlib.suppress(DuplicateKeyError):
            await self._c.update_one({"_id": doc["_id"]}, {"$setOnInsert": doc}, upsert=True)
        kept = await self.get(held.command.id)
        assert kept is not None
        return kept

    async def get(self, command_id: str) -> HeldReceipt | None:
        doc = await self._c.find_one({"_id": command_id})
        return HeldReceipt.of(doc) if doc else None

    async def all(self) -> list[HeldReceipt]:
        return [HeldReceipt.of(d) async for d in self._c.find({})]

    async def release(self, command_id: str) -> None:
        await self._c.delete_one({"_id": command_id})


def held_receipts(db: AsyncDatabase) -> MongoHeldReceipts:  # type: ignore[type-arg]
    return MongoHeldReceipts(db[HELD_RECEIPTS])


def document_store(db: AsyncDatabase) -> MongoBastStore:  # type: ignore[type-arg]
    """Documents issued with custody facts: kept like BASTs, one replace by ``_id``."""
    return MongoBastStore(db[LAPTOP_DOCUMENTS])


def roster_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    return MongoStreamStore(db[ROSTERS])
