from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.common.streams import MongoStreamStore

COLLECTION = "allocation_laptops"


def laptop_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    return MongoStreamStore(db[COLLECTION])


CONSIGNMENTS = "allocation_consignments"


def consignment_store(db: AsyncDatabase) -> MongoStreamStore:  # type: ignore[type-arg]
    return MongoStreamStore(db[CONSIGNMENTS])
