from __future__ import annotations

from typing import Any

from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase

from services.common.streams import MongoStreamStore

COLLECTION = "handover_laptops"


def laptop_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    return MongoStreamStore(db[COLLECTION])


CONSIGNMENTS = "handover_consignments"
BAST_DOCUMENTS = "bast_documents"


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
