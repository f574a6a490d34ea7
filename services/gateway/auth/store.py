"""Where accounts, sessions, devices, sign-ins started at an identity provider and the
key rings last recorded are kept: the gateway's own collections, never published (password and token hashes must
not reach Kafka or an export).
What happens to them is published as events (services/gateway/auth/service.py):
each account, device and key ring document keeps the facts about it not yet published
(``unpublished``, by event id), written in the same single-document update as the
change they record, and crossed off once Kafka has them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Protocol

from pymongo import ReturnDocument
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import DuplicateKeyError

Kind = Literal["account", "device", "key_ring"]


class AlreadyThere(Exception):
    """An account or device with this id exists."""


class IdentityStore(Protocol):
    async def ensure_indexes(self) -> None: ...
    async def count_accounts(self) -> int: ...
    async def account(self, account_id: str) -> dict[str, Any] | None: ...
    async def accounts(self) -> list[dict[str, Any]]: ...
    async def add_account(self, doc: dict[str, Any]) -> None: ...
    async def update_account(
        self, account_id: str, changes: dict[str, Any], fact: dict[str, Any] | None = None
    ) -> dict[str, Any] | None: ...
    async def count_failure(self, account_id: str, at: datetime) -> int: ...
    async def session(self, token_hash: str) -> dict[str, Any] | None: ...
    async def add_session(self, doc: dict[str, Any]) -> None: ...
    async def touch_session(self, token_hash: str, at: datetime) -> None: ...
    async def end_session(self, token_hash: str) -> None: ...
    async def end_sessions_of(self, account_id: str) -> None: ...
    async def device(self, device_id: str) -> dict[str, Any] | None: ...
    async def devices(self) -> list[dict[str, Any]]: ...
    async def add_device(self, doc: dict[str, Any]) -> None: ...
    async def update_device(
        self, device_id: str, changes: dict[str, Any], fact: dict[str, Any] | None = None
    ) -> dict[str, Any] | None: ...
    async def mark_published(self, kind: Kind, doc_id: str, event_id: str) -> None: ...
    async def add_sign_in(self, doc: dict[str, Any], now: datetime) -> None: ...
    async def key_ring(self, purpose: str) -> dict[str, Any] | None: ...
    async def set_key_ring(self, purpose: str, ring: dict[str, Any], fact: dict[str, Any]) -> None: ...
    async def take_sign_in(self, state_key: str) -> dict[str, Any] | None: ...
    async def unpublished(self) -> list[tuple[Kind, str, dict[str, Any]]]: ...


class MongoIdentityStore:
    """Reads by ``_id`` only (FerretDB scans for anything else): sessions are keyed by
    the hash of their token, devices by the id their token names."""

    def __init__(self, db: AsyncDatabase) -> None:  # type: ignore[type-arg]
        self._accounts = db.accounts
        self._sessions = db.sessions
        self._devices = db.devices
        self._sign_ins = db.sign_ins
        self._key_rings = db.key_rings

    async def ensure_indexes(self) -> None:
        return None  # every read is by _id

    async def count_accounts(self) -> int:
        return await self._accounts.count_documents({})

    async def account(self, account_id: str) -> dict[str, Any] | None:
        return await self._accounts.find_one({"_id": account_id})

    async def accounts(self) -> list[dict[str, Any]]:
        return [d async for d in self._accounts.find({}, {"password_hash": 0}).sort("_id", 1)]

    async def add_account(self, doc: dict[str, Any]) -> None:
        try:
            await self._accounts.insert_one(doc)
        except DuplicateKeyError:
            raise AlreadyThere(doc["_id"]) from None

    async def update_account(
        self, account_id: str, changes: dict[str, Any], fact: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        return await self._accounts.find_one_and_update(
            {"_id": account_id}, {"$set": _with_fact(changes, fact)}, return_document=ReturnDocument.AFTER
        )

    async def count_failure(self, account_id: str, at: datetime) -> int:
        doc = await self._accounts.find_one_and_update(
            {"_id": account_id},
            {"$inc": {"failed_logins": 1}, "$set": {"last_failure_at": at}},
            return_document=ReturnDocument.AFTER,
        )
        return int((doc or {}).get("failed_logins", 0))

    async def session(self, token_hash: str) -> dict[str, Any] | None:
        return await self._sessions.find_one({"_id": token_hash})

    async def add_session(self, doc: dict[str, Any]) -> None:
        await self._sessions.insert_one(doc)

    async def touch_session(self, token_hash: str, at: datetime) -> None:
        await self._sessions.update_one({"_id": token_hash}, {"$set": {"last_seen_at": at}})

    async def end_session(self, token_hash: str) -> None:
        await self._sessions.delete_one({"_id": token_hash})

    async def end_sessions_of(self, account_id: str) -> None:
        await self._sessions.delete_many({"account_id": account_id})

    async def device(self, device_id: str) -> dict[str, Any] | None:
        return await self._devices.find_one({"_id": device_id})

    async def devices(self) -> list[dict[str, Any]]:
        return [d async for d in self._devices.find({}, {"token_hash": 0}).sort("_id", 1)]

    async def add_device(self, doc: dict[str, Any]) -> None:
        try:
            await self._devices.insert_one(doc)
        except DuplicateKeyError:
            raise AlreadyThere(doc["_id"]) from None

    async def update_device(
        self, device_id: str, changes: dict[str, Any], fact: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        return await self._devices.find_one_and_update(
            {"_id": device_id}, {"$set": _with_fact(changes, fact)}, return_document=ReturnDocument.AFTER
        )

    async def key_ring(self, purpose: str) -> dict[str, Any] | None:
        return await self._key_rings.find_one({"_id": purpose})

    async def set_key_ring(self, purpose: str, ring: dict[str, Any], fact: dict[str, Any]) -> None:
        await self._key_rings.update_one({"_id": purpose}, {"$set": _with_fact(ring, fact)}, upsert=True)

    async def mark_published(self, kind: Kind, doc_id: str, event_id: str) -> None:
        collection = {"account": self._accounts, "device": self._devices, "key_ring": self._key_rings}[kind]
        await collection.update_one({"_id": doc_id}, {"$unset": {f"unpublished.{event_id}": ""}})

    async def add_sign_in(self, doc: dict[str, Any], now: datetime) -> None:
        # Sign-ins abandoned at the provider are cleared as new ones start (there are few).
        await self._sign_ins.delete_many({"expires_at": {"$lte": now}})
        await self._sign_ins.insert_one(doc)

    async def take_sign_in(self, state_key: str) -> dict[str, Any] | None:
        return await self._sign_ins.find_one_and_delete({"_id": state_key})

    async def unpublished(self) -> list[tuple[Kind, str, dict[str, Any]]]:
        """Read at start-up and then once a minute (``Gateway.republish_every_s``): the
        collections hold an office's people and devices, a few thousand small documents,
        and FerretDB answers a query on anything but ``_id`` by scanning anyway; the filter
        keeps what crosses the wire to the documents with a fact still waiting."""
        waiting: list[tuple[Kind, str, dict[str, Any]]] = []
        every: tuple[tuple[Kind, Any], ...] = (
            ("account", self._accounts),
            ("device", self._devices),
            ("key_ring", self._key_rings),
        )
        for kind, collection in every:
            waits = {"unpublished": {"$exists": True, "$ne": {}}}
            async for doc in collection.find(waits, {"unpublished": 1}):
                waiting += [(kind, doc["_id"], f) for f in (doc.get("unpublished") or {}).values()]
        return waiting


def _with_fact(changes: dict[str, Any], fact: dict[str, Any] | None) -> dict[str, Any]:
    """The change and, in the same update, the fact recording it (kept until published)."""
    return changes if fact is None else {**changes, f"unpublished.{fact['id']}": fact}
