from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase


def connect(url: str, database: str) -> tuple[AsyncMongoClient, AsyncDatabase]:  # type: ignore[type-arg]
    """Creates the client; it connects on first use, inside the running loop."""
    client: AsyncMongoClient = AsyncMongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=True)  # type: ignore[type-arg]
    return client, client[database]
