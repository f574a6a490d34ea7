"""What a device sees while Kafka or the store is away: 503 with Retry-After and a
sentence saying to send the same request again, never a 500 (in-process, with fakes;
tests/faults proves the same against a broker and a store really stopped)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from typing import Any

import pytest
from pymongo.errors import OperationFailure, ServerSelectionTimeoutError

from deploy.local.stack import WORKERS
from events.envelope import Envelope
from services.gateway.adapters.kafka import CommandBus
from services.gateway.adapters.mongo import StoreWriteProbe
from services.gateway.ports import Unavailable
from tests.builders import NOW, label_for, new_asset
from tests.gateway_fakes import EmptyReads, FakeStoreProbe, client
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


class StoreRefusing(EmptyReads):
    """FerretDB reached, its PostgreSQL stopped: every command answered with InternalError."""

    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        raise OperationFailure("failed to connect to `user=postgres database=postgres`: connection refused", code=1)


class StoreBug(EmptyReads):
    async def laptop(self, asset_id: str) -> dict[str, Any] | None:
        raise OperationFailure("unknown operator: $bogus", code=2)


def test_a_read_while_the_stores_database_is_away_answers_503_with_retry_after() -> None:
    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting, reads=StoreRefusing()) as api:
            r = await api.get(f"/api/v1/laptops/{asset}")
        assert r.status_code == 503, r.text
        assert r.headers["retry-after"] == "5"
        assert r.json()["code"] == "unavailable" and "store" in r.json()["detail"]

    asyncio.run(run())


def test_a_store_error_that_is_not_an_outage_is_not_disguised_as_one() -> None:
    """It reaches the server's error handler (a 500, logged), not the outage's 503."""

    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting, reads=StoreBug()) as api:
            with pytest.raises(OperationFailure, match="bogus"):
                await api.get(f"/api/v1/laptops/{asset}")

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


def test_healthz_names_a_store_that_answers_reads_but_refuses_writes_first() -> None:
    """A full disk: reads still work, writes fail (FerretDB's code 1 "disk I/O error")."""
    full = FakeStoreProbe()
    full.refusing = OperationFailure("disk I/O error", code=1)

    async def run() -> None:
        async with client(accepting, store_probe=full) as api:
            r = await api.get("/healthz")
        assert r.status_code == 503, r.text
        assert r.json()["reasons"][0] == "the store refuses writes"
        assert r.json()["store"]["ok"] is False and r.json()["store"]["writable"] is False
        full.refusing = None
        async with client(accepting, store_probe=full) as api:
            r = await api.get("/healthz")
        assert "the store refuses writes" not in r.json().get("reasons", [])
        assert r.json()["store"] == {"ok": True, "writable": True}

    asyncio.run(run())


class _Collection:
    def __init__(self) -> None:
        self.writes = 0
        self.refusing: Exception | None = None

    async def update_one(self, *args: Any, **kwargs: Any) -> None:
        self.writes += 1
        if self.refusing is not None:
            raise self.refusing


def test_the_store_probe_writes_at_most_once_a_second_and_tells_every_asker_the_same() -> None:
    collection = _Collection()
    probe = StoreWriteProbe({"store_probes": collection}, every_s=60)  # type: ignore[arg-type]

    async def run() -> None:
        await asyncio.gather(*(probe.write() for _ in range(20)))
        assert collection.writes == 1
        collection.refusing = OperationFailure("disk I/O error", code=1)
        await probe.write()  # the answer of a moment ago
        fresh = StoreWriteProbe({"store_probes": collection}, every_s=0)  # type: ignore[arg-type]
        with pytest.raises(OperationFailure):
            await fresh.write()

    asyncio.run(run())


class StoreClock(EmptyReads):
    """The store's clock three hours behind the gateway's; every worker beat 3 s ago by it."""

    at = NOW - timedelta(hours=3)

    async def ping(self) -> datetime:
        return self.at

    async def heartbeats(self) -> list[dict[str, Any]]:
        return [{"service": s, "at": self.at - timedelta(seconds=3), "assigned_partitions": 2} for s in WORKERS]


def test_healthz_judges_workers_by_the_store_s_clock_whatever_the_gateway_s_says() -> None:
    async def run() -> None:
        async with client(accepting, reads=StoreClock()) as api:
            r = await api.get("/healthz")
        assert r.status_code == 200, r.text
        assert all(w["alive"] and w["ready"] for w in r.json()["workers"].values())

    asyncio.run(run())


class WorkerHeldByTheStore(StoreClock):
    """The store takes the heartbeats (updates in place) but refuses what must grow."""

    async def heartbeats(self) -> list[dict[str, Any]]:
        beats = await super().heartbeats()
        beats[0]["store_refusing"] = "could not extend file: No space left on device"
        return beats


def test_healthz_names_the_store_refusing_writes_when_a_worker_waits_on_its_refusals() -> None:
    async def run() -> None:
        async with client(accepting, reads=WorkerHeldByTheStore()) as api:
            r = await api.get("/healthz")
        assert r.status_code == 503, r.text
        assert r.json()["reasons"][0] == "the store refuses writes"
        assert r.json()["store"]["writable"] is False
        assert "No space left" in r.json()["workers"][WORKERS[0]]["store_refusing"]

    asyncio.run(run())


def test_the_health_probe_starts_over_with_a_new_kafka_client_after_a_failure(monkeypatch: pytest.MonkeyPatch) -> None:
    """A client that lost its broker can keep failing on its stale connection long after
    the broker is back; /healthz would say Kafka is down for as long."""
    from services.gateway.adapters import kafka

    made: list[Any] = []

    class Admin:
        def __init__(self, **_: Any) -> None:
            self.fails = not made  # the first client lost its broker
            self.closed = False
            made.append(self)

        def describe_cluster(self) -> dict[str, Any]:
            if self.fails:
                raise RuntimeError("NodeNotReadyError('No node_id provided')")
            return {"brokers": [{"node_id": 1}]}

        def close(self) -> None:
            self.closed = True

    monkeypatch.setattr(kafka, "KafkaAdminClient", Admin)
    probe = kafka.KafkaProbe("127.0.0.1:9")
    with pytest.raises(RuntimeError):
        probe.brokers()
    assert probe.brokers() == 1
    assert len(made) == 2 and made[0].closed
