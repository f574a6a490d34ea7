"""A process whose clock jumped stamps nothing: its clock is compared with the store's
every few seconds and a step in between shows at once (services/common/clock.py). The
gateway then answers a scan 503 with Retry-After and /healthz names the clock."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from deploy.local.stack import WORKERS
from services.common.clock import ClockGuard, ClockJumped, describe, guarded
from services.common.worker import TRANSIENT, wait_for_clock
from tests.builders import NOW, label_for, new_asset
from tests.gateway_fakes import EmptyReads, client
from tests.unit.test_gateway_answers import accepting


class Wall:
    """time.time() as a test sets it: the real one plus ``step_s``."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.step_s = 0.0
        real = time.time
        monkeypatch.setattr(time, "time", lambda: real() + self.step_s)


def store_clock(off_s: float = 0.0) -> Any:
    async def now() -> datetime:
        return datetime.now(UTC) + timedelta(seconds=off_s)

    return now


def test_a_step_of_the_wall_clock_shows_at_once_and_back_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = Wall(monkeypatch)
    guard = ClockGuard(tolerance_s=60)
    asyncio.run(guard.compare(store_clock()))
    assert guard.trusted() and abs(guard.off_by_s()) < 1
    wall.step_s = 3 * 3600  # jumped three hours ahead, no comparison since
    assert not guard.trusted() and guard.why() == "its clock is 3.0 h ahead of the store's"
    asyncio.run(guard.compare(store_clock()))  # compared while ahead: still off
    assert not guard.trusted()
    wall.step_s = 0.0  # and back
    assert guard.trusted()


def test_a_clock_slowly_off_is_found_by_the_comparison() -> None:
    guard = ClockGuard(tolerance_s=60)
    assert guard.trusted()  # before any comparison
    asyncio.run(guard.compare(store_clock(-90)))  # the store 90 s behind this clock
    assert not guard.trusted() and describe(guard.off_by_s()).endswith("ahead of")
    asyncio.run(guard.compare(store_clock(30)))
    assert guard.trusted()


def test_the_gateway_stamps_no_scan_while_its_clock_is_off_and_healthz_says_why(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wall = Wall(monkeypatch)

    async def run() -> None:
        _, asset = new_asset()
        async with client(accepting) as api:
            wall.step_s = -2 * 3600
            r = await api.post("/api/v1/scans/dispatch", json={"scan_id": f"s-{asset}", "label": label_for(asset)})
            assert r.status_code == 503 and r.headers["retry-after"] == "5", r.text
            assert "clock is 2.0 h behind the store's" in r.json()["detail"]
            assert api.gateway.bus.sent == []  # type: ignore[attr-defined]
            health = await api.get("/healthz")
            assert health.status_code == 503
            assert "the gateway's clock is 2.0 h behind the store's" in health.json()["reasons"]
            wall.step_s = 0.0
            r = await api.post("/api/v1/scans/dispatch", json={"scan_id": f"s-{asset}", "label": label_for(asset)})
            assert r.status_code == 200, r.text

    asyncio.run(run())


class HandoverAhead(EmptyReads):
    async def ping(self) -> datetime:
        return NOW

    async def heartbeats(self) -> list[dict[str, Any]]:
        off = {"handover": 3 * 3600.0}
        return [
            {"service": s, "at": NOW, "assigned_partitions": 2, "clock_off_s": off.get(s, 0.4), "clock_tolerance_s": 60}
            for s in WORKERS
        ]


def test_healthz_names_a_worker_whose_clock_is_off() -> None:
    async def run() -> None:
        async with client(accepting, reads=HandoverAhead()) as api:
            r = await api.get("/healthz")
        assert r.status_code == 503
        assert r.json()["reasons"] == ["the handover worker's clock is 3.0 h ahead of the store's: it waits"]
        assert r.json()["workers"]["handover"]["clock_off_s"] == 3 * 3600.0

    asyncio.run(run())


def test_a_worker_waits_while_its_clock_is_off_and_goes_on_when_it_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = Wall(monkeypatch)
    guard = ClockGuard(tolerance_s=60)

    async def run() -> None:
        assert await wait_for_clock(guard, "test") is True
        wall.step_s = 3600
        waiting = asyncio.create_task(wait_for_clock(guard, "test"))
        await asyncio.sleep(1.5)
        assert not waiting.done()
        wall.step_s = 0
        assert await asyncio.wait_for(waiting, 5) is False

    asyncio.run(run())


def test_a_guarded_clock_tells_no_time_while_off_so_nothing_is_stamped(monkeypatch: pytest.MonkeyPatch) -> None:
    wall = Wall(monkeypatch)
    guard = ClockGuard(tolerance_s=60)
    now = guarded(lambda: NOW, guard)
    assert now() == NOW
    wall.step_s = 3 * 3600
    with pytest.raises(ClockJumped, match="3.0 h ahead"):
        now()
    assert isinstance(ClockJumped("x"), TRANSIENT)  # the message is tried again in place
