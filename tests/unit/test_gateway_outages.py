"""What a device sees while Kafka or the store is away: 503 with Retry-After and a
sentence saying to send the same request again, never a 500 (in-process, with fakes;
tests/faults proves the same against a broker and a store really stopped)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.errors import ServerSelectionTimeoutError

from events.envelope import Envelope
from services.gateway.adapters.kafka import CommandBus
from services.gateway.ports import Unavailable
from tests.builders import label_for, new_asset
from tests.gateway_fakes import EmptyReads, client
from tests.unit.test_gateway_answers import accepting


class StoreAway(EmptyReads):
    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        raise ServerSelectionTimeoutError("127.0.0.1:27017: [Errno 111] Connection refused")


def test_a_scan_while_kafka_is_away_answers_503_with_retry_after() -> None:
    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting) as api:

            async def away(command: Envelope) -> None:
                raise Unavailable("Kafka")

            api.gateway.bus.send = away  # type: ignore[attr-defined]
            r = await api.post("/api/v1/scans/dispatch", json={"scan_id": f"s-{asset}", "label": label_for(asset)})
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.headers["content-type"] == "application/problem+json"
        assert r.json()["code"] == "unavailable" and "Kafka" in r.json()["detail"]

    asyncio.run(run())


def test_a_read_while_the_store_is_away_answers_503_with_retry_after() -> None:
    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting, reads=StoreAway()) as api:
            r = await api.get(f"/api/v1/laptops/{asset}")
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.json()["code"] == "unavailable" and "store" in r.json()["detail"]

    asyncio.run(run())


def test_the_command_bus_gives_up_on_a_silent_broker_within_its_timeout() -> None:
    """aiokafka would wait up to its 40 s request timeout; the bus says Unavailable at once."""

    class Silent:
        async def send_and_wait(self, *args: Any, **kwargs: Any) -> None:
            await asyncio.sleep(3600)

    async def run() -> None:
        bus = CommandBus("127.0.0.1:1", timeout_s=0.2)
        bus._producer = Silent()  # type: ignore[assignment]
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(Unavailable):
            await bus.send(accepting_command())
        assert loop.time() - started < 2

    asyncio.run(run())


def accepting_command() -> Envelope:
    from events import codec
    from events.catalog import DispatchLaptop
    from tests.builders import NOW

    _, asset = new_asset()
    return codec.make(DispatchLaptop(label=label_for(asset)), subject=asset, source="/t", time=NOW, id="c-1")
