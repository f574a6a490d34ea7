from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.common.laptop_store import MongoLaptopStore

COLLECTION = "allocation_laptops"


def laptop_store(db: AsyncDatabase) -> MongoLaptopStore:  # type: ignore[type-arg]
    return MongoLaptopStore(db[COLLECTION])


CONSIGNMENTS = "allocation_consignments"


def consignment_store(db: AsyncDatabase) -> MongoLaptopStore:  # type: ignore[type-arg]
    return MongoLaptopStore(db[CONSIGNMENTS])
