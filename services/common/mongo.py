from __future__ import annotations

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, OperationFailure

# OperationFailure codes that say the store cannot serve now, not that the request is
# bad: a replica set electing or shutting down (11600, 11602, 91, 189, 10107, 13435), a
# full disk (MongoDB's OutOfDiskSpace, 14031), and FerretDB's InternalError (1), which is
# how it answers when what holds its data cannot: SQLite's "disk I/O error", or
# PostgreSQL stopped, restarting or cutting its connections ("failed to connect",
# "terminating connection"). Retrying is safe: every write is idempotent by its id.
STORE_NOT_READY = (11600, 11602, 91, 189, 10107, 13435, 1, 14031)


def store_not_ready(exc: OperationFailure) -> bool:
    """The store refused for its own state; a bulk write says so per document."""
    if exc.code in STORE_NOT_READY:
        return True
    errors = (exc.details or {}).get("writeErrors", []) if isinstance(exc, BulkWriteError) else []
    return bool(errors) and all(e.get("code") in STORE_NOT_READY for e in errors)


def connect(url: str, database: str) -> tuple[AsyncMongoClient, AsyncDatabase]:  # type: ignore[type-arg]
    """Creates the client; it connects on first use, inside the running loop."""
    client: AsyncMongoClient = AsyncMongoClient(url, serverSelectionTimeoutMS=5000, tz_aware=True)  # type: ignore[type-arg]
    return client, client[database]
