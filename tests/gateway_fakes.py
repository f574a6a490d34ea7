"""The gateway in-process (``create_app``) with fakes behind its ports: a command
bus that answers every command at once with a chosen decision, and empty views."""

from __future__ import annotations

import asyncio
import copy
import secrets
from collections.abc import AsyncIterator, Callable
from datetime import datetime
from typing import Any

import httpx
from fastapi import FastAPI
from pydantic import SecretStr
from pymongo.errors import DuplicateKeyError

from events import codec, labels, proofs
from events.catalog import CommandRejected
from events.envelope import Envelope
from services.gateway.app import create_app
from services.gateway.auth.model import Grant, Role
from services.gateway.auth.service import TOKEN_PREFIX, Identity, digest
from services.gateway.auth.store import AlreadyThere
from services.gateway.bootstrap import Gateway
from services.gateway.config import GatewaySettings
from services.gateway.identity import LabelIssuer
from tests.builders import NOW, RECEIPT_CODE_KEYS, SEED

Decide = Callable[[Envelope], Envelope]


def rejecting(reason: str) -> Decide:
    """A deciding service that refuses every command with ``reason``."""

    def decide(command: Envelope) -> Envelope:
        body = CommandRejected(command_type=command.type, reason=reason, detail=f"refused: {reason}")  # type: ignore[arg-type]
        return codec.make(
            body, subject=command.subject, source="/test", time=NOW, id=f"r-{command.id}", causation_id=command.id
        )

    return decide


class FakeWaiter:
    """The twin of adapters.kafka.DecisionWaiter (port: ``ports.Decisions``)."""

    def __init__(self) -> None:
        self.waiting: dict[tuple[str, str], asyncio.Future[Envelope]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def expect(self, command: Envelope) -> asyncio.Future[Envelope]:
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self.waiting[(command.id, command.subject)] = future
        return future

    def forget(self, command: Envelope, future: asyncio.Future[Envelope]) -> None:
        self.waiting.pop((command.id, command.subject), None)


class FakeBus:
    """A command bus whose deciding services answer at once with ``decide`` (port: ``ports.CommandBus``)."""

    def __init__(self, waiter: FakeWaiter, decide: Decide) -> None:
        self.waiter, self.decide = waiter, decide
        self.sent: list[Envelope] = []
        self.published: list[Envelope] = []

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def send(self, command: Envelope) -> None:
        self.sent.append(command)
        future = self.waiter.waiting.get((command.id, command.subject))
        if future is not None and not future.done():
            future.set_result(self.decide(command))

    async def publish(self, event: Envelope) -> None:
        self.published.append(event)


class FakeProbe:
    """Kafka as /healthz sees it: one broker, nothing lagging (port: ``ports.KafkaProbe``)."""

    def brokers(self) -> int:
        return 1

    def lag(self, group: str, topic_names: list[str]) -> int:
        return 0

    def close(self) -> None:
        return None


class FakeStoreProbe:
    """A store that takes writes (port: ``ports.StoreProbe``); ``refusing`` makes it refuse."""

    refusing: Exception | None = None

    async def write(self) -> None:
        if self.refusing is not None:
            raise self.refusing


class EmptyReads:
    """Views of a store that holds nothing yet (ports ``Views``, ``AuditViews`` and
    ``ConsignmentViews``); a test subclasses it to hold what it needs."""

    # Views
    async def ping(self) -> datetime:
        return NOW

    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        return None

    async def label_views(self, query: dict[str, Any], limit: int) -> list[dict[str, Any]]:
        return []

    async def history(self, asset_id: str) -> list[dict[str, Any]]:
        return []

    async def scan(self, scan_id: str) -> dict[str, Any] | None:
        return None

    async def recorded(self, scan_id: str, event: Envelope) -> bool:
        # The fake deciding services' answers count as recorded by the audit at once,
        # so an answer does not wait for read-your-writes.
        return True

    async def heartbeats(self) -> list[dict[str, Any]]:
        return []

    async def dead_letters(self, limit: int) -> list[dict[str, Any]]:
        return []

    async def held(self, command_id: str) -> dict[str, Any] | None:
        return None

    # AuditViews
    async def checkpoints(self) -> list[dict[str, Any]]:
        return []

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return []

    async def all_links(self) -> AsyncIterator[dict[str, Any]]:
        for link in ():
            yield link

    async def verdict(self, asset_id: str, links: list[dict[str, Any]], keys: dict[str, bytes]) -> proofs.ChainVerdict:
        return (await self.verifier(keys))(asset_id, links)

    async def verifier(self, keys: dict[str, bytes]) -> Callable[[str, list[dict[str, Any]]], proofs.ChainVerdict]:
        return lambda asset_id, links: proofs.chain_verdict(
            asset_id, [proofs.event_line(x) for x in links], None, None, keys
        )

    async def export_lines(self, subjects: list[str] | None = None) -> AsyncIterator[dict[str, Any]]:
        for line in ():
            yield line

    async def unknown_chains(self, subjects: list[str]) -> list[str]:
        return list(subjects)

    async def views(self, province: str | None = None) -> list[dict[str, Any]]:
        return []

    async def office_counters(self, province: str | None = None) -> list[dict[str, Any]]:
        return []

    async def anomalies(
        self, rule: str | None, office: str | None, province: str | None, limit: int
    ) -> list[dict[str, Any]]:
        return []

    # ConsignmentViews
    async def summary(self, consignment_id: str) -> dict[str, Any] | None:
        return None

    async def plan(self, consignment_id: str) -> dict[str, Any] | None:
        return None

    async def receipt(self, consignment_id: str, seq: int) -> dict[str, Any] | None:
        return None

    async def unconfirmed(self) -> list[dict[str, Any]]:
        return []

    async def being_picked(self) -> list[dict[str, Any]]:
        return []

    async def bast(self, consignment_id: str, seq: int) -> dict[str, Any] | None:
        return None

    async def document(self, document_id: str) -> dict[str, Any] | None:
        return None


class FakeGateway(Gateway):
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


class FakeIdentityStore:
    """The twin of services.gateway.auth.store.MongoIdentityStore (tests/contract holds them alike)."""

    def __init__(self) -> None:
        self.accounts_: dict[str, dict[str, Any]] = {}
        self.sessions_: dict[str, dict[str, Any]] = {}
        self.devices_: dict[str, dict[str, Any]] = {}
        self.sign_ins_: dict[str, dict[str, Any]] = {}
        self.key_rings_: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        return None

    async def count_accounts(self) -> int:
        return len(self.accounts_)

    async def account(self, account_id: str) -> dict[str, Any] | None:
        doc = self.accounts_.get(account_id)
        return dict(doc) if doc else None

    async def accounts(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k != "password_hash"} for _, d in sorted(self.accounts_.items())]

    async def add_account(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.accounts_:
            raise AlreadyThere(doc["_id"])
        self.accounts_[doc["_id"]] = dict(doc)

    async def update_account(
        self, account_id: str, changes: dict[str, Any], fact: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        return _update(self.accounts_, account_id, changes, fact)

    async def count_failure(self, account_id: str, at: datetime) -> int:
        doc = self.accounts_.get(account_id)
        if doc is None:
            return 0
        doc["failed_logins"] = doc.get("failed_logins", 0) + 1
        doc["last_failure_at"] = at
        return int(doc["failed_logins"])

    async def session(self, token_hash: str) -> dict[str, Any] | None:
        return self.sessions_.get(token_hash)

    async def add_session(self, doc: dict[str, Any]) -> None:
        self.sessions_[doc["_id"]] = dict(doc)

    async def touch_session(self, token_hash: str, at: datetime) -> None:
        if token_hash in self.sessions_:
            self.sessions_[token_hash]["last_seen_at"] = at

    async def end_session(self, token_hash: str) -> None:
        self.sessions_.pop(token_hash, None)

    async def end_sessions_of(self, account_id: str) -> None:
        for key in [k for k, v in self.sessions_.items() if v["account_id"] == account_id]:
            del self.sessions_[key]

    async def device(self, device_id: str) -> dict[str, Any] | None:
        doc = self.devices_.get(device_id)
        return dict(doc) if doc else None

    async def devices(self) -> list[dict[str, Any]]:
        return [{k: v for k, v in d.items() if k != "token_hash"} for _, d in sorted(self.devices_.items())]

    async def add_device(self, doc: dict[str, Any]) -> None:
        if doc["_id"] in self.devices_:
            raise AlreadyThere(doc["_id"])
        self.devices_[doc["_id"]] = dict(doc)

    async def update_device(
        self, device_id: str, changes: dict[str, Any], fact: dict[str, Any] | None = None
    ) -> dict[str, Any] | None:
        return _update(self.devices_, device_id, changes, fact)

    async def key_ring(self, purpose: str) -> dict[str, Any] | None:
        doc = self.key_rings_.get(purpose)
        return copy.deepcopy(doc) if doc is not None else None

    async def set_key_ring(self, purpose: str, ring: dict[str, Any], fact: dict[str, Any]) -> None:
        doc = self.key_rings_.setdefault(purpose, {"_id": purpose})
        doc.update(copy.deepcopy(ring))
        doc.setdefault("unpublished", {})[fact["id"]] = copy.deepcopy(fact)

    async def mark_published(self, kind: str, doc_id: str, event_id: str) -> None:
        docs = {"account": self.accounts_, "device": self.devices_, "key_ring": self.key_rings_}[kind]
        doc = docs.get(doc_id)
        if doc is not None:
            doc["unpublished"] = {k: v for k, v in (doc.get("unpublished") or {}).items() if k != event_id}

    async def add_sign_in(self, doc: dict[str, Any], now: datetime) -> None:
        self.sign_ins_ = {k: v for k, v in self.sign_ins_.items() if v["expires_at"] > now}
        if doc["_id"] in self.sign_ins_:
            raise DuplicateKeyError("sign-in")
        self.sign_ins_[doc["_id"]] = dict(doc)

    async def take_sign_in(self, state_key: str) -> dict[str, Any] | None:
        return self.sign_ins_.pop(state_key, None)

    async def unpublished(self) -> list[tuple[Any, str, dict[str, Any]]]:
        return [
            (kind, doc_id, fact)
            for kind, docs in (("account", self.accounts_), ("device", self.devices_), ("key_ring", self.key_rings_))
            for doc_id, doc in docs.items()
            for fact in (doc.get("unpublished") or {}).values()
        ]


def _update(
    docs: dict[str, dict[str, Any]], doc_id: str, changes: dict[str, Any], fact: dict[str, Any] | None
) -> dict[str, Any] | None:
    if doc_id not in docs:
        return None
    docs[doc_id].update(copy.deepcopy(changes))
    if fact is not None:
        docs[doc_id]["unpublished"] = {**(docs[doc_id].get("unpublished") or {}), fact["id"]: fact}
    return copy.deepcopy(docs[doc_id])


# Every role, everywhere: what the in-process tests act as unless they say otherwise.
ALL_ROLES = tuple(Grant(role=r, scope="*") for r in Role)


def enrolled(store: FakeIdentityStore, grants: tuple[Grant, ...] = ALL_ROLES, now: datetime = NOW) -> str:
    """A device with ``grants`` put straight into the fake store, and its bearer token
    (in the format the gateway's Identity.from_token reads, or it refuses it)."""
    device_id = f"dev-{secrets.token_hex(6)}"
    token = f"{TOKEN_PREFIX}{device_id}_{secrets.token_urlsafe(32)}"
    store.devices_[device_id] = {
        "_id": device_id,
        "name": "test device",
        "grants": [g.model_dump(mode="json") for g in grants],
        "token_hash": digest(token),
        "enrolled_at": now,
        "enrolled_by": "test",
        "last_used_at": None,
        "revoked_at": None,
        "revoked_by": None,
    }
    return token


def settings(**overrides: Any) -> GatewaySettings:
    return GatewaySettings(
        label_signing_keys=SecretStr(labels.format_keyring({"K1": SEED})),
        receipt_code_keys=SecretStr(labels.format_keyring(RECEIPT_CODE_KEYS)),
        **overrides,
    )


def gateway_app(decide: Decide, s: GatewaySettings | None = None, **views: Any) -> FastAPI:
    """An in-process gateway whose deciding services answer with ``decide``; ``views``
    (``reads``, ``audit``, ``consignments``) replace the empty ones. The gateway is at
    ``app.state.gateway`` (its fake bus keeps what was ``sent``)."""
    s = s or settings()
    waiter = FakeWaiter()
    identities = FakeIdentityStore()
    bus = FakeBus(waiter, decide)
    gw = FakeGateway(
        settings=s,
        bus=bus,
        waiter=waiter,
        reads=views.get("reads", EmptyReads()),
        probe=FakeProbe(),
        store_probe=views.get("store_probe", FakeStoreProbe()),
        issuer=LabelIssuer(s.signing_keys(), s.public_base_url),
        clock=lambda: NOW,
        audit=views.get("audit", EmptyReads()),
        consignments=views.get("consignments", EmptyReads()),
        identity=Identity(identities, lambda: NOW, publish=bus.publish),
        receipt_code_keys=s.receipt_code_keyring(),
    )
    app = create_app(s, gateway=gw)
    app.state.gateway = gw
    return app


def client(
    decide: Decide,
    *,
    decision_timeout_s: float = 5.0,
    grants: tuple[Grant, ...] | None = ALL_ROLES,
    **views: Any,
) -> httpx.AsyncClient:
    """An HTTP client talking to ``gateway_app(decide, **views)``, acting as a device that
    holds ``grants`` (None: anonymous). The gateway is at ``client.gateway``."""
    app = gateway_app(decide, settings(decision_timeout_s=decision_timeout_s), **views)
    gw = app.state.gateway
    headers = {"Authorization": f"Bearer {enrolled(gw.identity.store, grants)}"} if grants is not None else {}
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test", headers=headers)
    api.gateway = gw  # type: ignore[attr-defined]
    return api
