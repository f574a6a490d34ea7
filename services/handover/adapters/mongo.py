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
# the holder's berita acara and write-off proposals, by document id (<asset>-<kind>-<seq>)
LAPTOP_DOCUMENTS = "laptop_documents"
ROSTERS = "handover_rosters"


def consignment_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    return MongoStreamStore(db[CONSIGNMENTS])


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


def document_store(db: AsyncDatabase) -> MongoBastStore:  # type: ignore[type-arg]
    """Documents issued with custody facts: kept like BASTs, one replace by ``_id``."""
    return MongoBastStore(db[LAPTOP_DOCUMENTS])


def roster_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    return MongoStreamStore(db[ROSTERS])
