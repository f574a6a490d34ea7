from __future__ import annotations

from pymongo.asynchronous.database import AsyncDatabase

from services.common.laptop_store import MongoLaptopStore

COLLECTION = "handover_laptops"


def laptop_store(db: AsyncDatabase) -> MongoLaptopStore:  # type: ignore[type-arg]
    return MongoLaptopStore(db[COLLECTION])


# issue 4
CONSIGNMENTS = "handover_consignments"
BAST_DOCUMENTS = "bast_documents"


def consignment_store(db: AsyncDatabase) -> MongoLaptopStore:  # type: ignore[type-arg]
    return MongoLaptopStore(db[CONSIGNMENTS])


def bast_store(db: AsyncDatabase):  # type: ignore[no-untyped-def,type-arg]
    from services.handover.bast_store import MongoBastStore

    return MongoBastStore(db[BAST_DOCUMENTS])
