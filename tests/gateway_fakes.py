"""The gateway in-process (``create_app``) with fakes behind its ports: a command
bus that answers every command at once with a chosen decision, and empty views."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from pydantic import SecretStr

from events import codec, labels
from events.catalog import CommandRejected
from events.envelope import Envelope
from services.gateway.app import create_app
from services.gateway.bootstrap import Gateway
from services.gateway.config import GatewaySettings
from services.gateway.identity import LabelIssuer
from tests.builders import NOW, SEED

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
    def __init__(self) -> None:
        self.waiting: dict[tuple[str, str], asyncio.Future[Envelope]] = {}

    def expect(self, command: Envelope) -> asyncio.Future[Envelope]:
        future: asyncio.Future[Envelope] = asyncio.get_running_loop().create_future()
        self.waiting[(command.id, command.subject)] = future
        return future

    def forget(self, command: Envelope, future: asyncio.Future[Envelope]) -> None:
        self.waiting.pop((command.id, command.subject), None)


class FakeBus:
    def __init__(self, waiter: FakeWaiter, decide: Decide) -> None:
        self.waiter, self.decide, self.sent = waiter, decide, []

    async def send(self, command: Envelope) -> None:
        self.sent.append(command)
        future = self.waiter.waiting.get((command.id, command.subject))
        if future is not None and not future.done():
            future.set_result(self.decide(command))


class EmptyReads:
    """Views of a store that holds nothing yet."""

    LISTS = {"unconfirmed", "history", "heartbeats", "label_views", "checkpoints", "chain", "views", "anomalies"}
    STREAMS = {"all_links", "export_lines"}

    async def recorded(self, scan_id: str, event: Envelope) -> bool:
        # The fake deciding services' answers count as recorded by the audit at once,
        # so an answer does not wait for read-your-writes.
        return True

    def __getattr__(self, name: str) -> Any:
        async def nothing(*_: Any, **__: Any) -> Any:
            return [] if name in self.LISTS else None

        async def no_items(*_: Any, **__: Any) -> Any:
            for item in ():
                yield item

        return no_items if name in self.STREAMS else nothing


class FakeGateway(Gateway):
    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def settings(**overrides: Any) -> GatewaySettings:
    return GatewaySettings(label_signing_keys=SecretStr(labels.format_keyring({"K1": SEED})), **overrides)


def client(decide: Decide, *, decision_timeout_s: float = 5.0, **views: Any) -> httpx.AsyncClient:
    """An HTTP client talking to an in-process gateway whose deciding services answer with
    ``decide``; ``views`` (``reads``, ``audit``, ``consignments``) replace the empty ones.
    The gateway is at ``client.gateway`` (its fake bus keeps what was ``sent``)."""
    s = settings(decision_timeout_s=decision_timeout_s)
    waiter = FakeWaiter()
    gw = FakeGateway(
        settings=s,
        bus=FakeBus(waiter, decide),  # type: ignore[arg-type]
        waiter=waiter,  # type: ignore[arg-type]
        reads=views.get("reads", EmptyReads()),
        probe=None,  # type: ignore[arg-type]
        issuer=LabelIssuer(s.signing_keys(), s.public_base_url),
        clock=lambda: NOW,
        audit=views.get("audit", EmptyReads()),
        consignments=views.get("consignments", EmptyReads()),
    )
    app = create_app(s, gateway=gw)
    app.state.gateway = gw
    api = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gateway.test")
    api.gateway = gw  # type: ignore[attr-defined]
    return api
