"""The handover's own stores beside its streams (the BAST documents, the held
receipts): their fakes and MongoDB (FerretDB) adapters pass one suite."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

import pytest

from deploy.local.stack import Stack
from services.common.commands import Mark
from services.common.mongo import connect
from services.handover.adapters import mongo
from services.handover.bast_store import bast_id
from services.handover.held import HeldReceipt
from tests.builders import NOW, new_asset, receive
from tests.fakes import FakeBastStore, FakeHeldReceipts


@pytest.fixture(params=["fake", "mongo"])
def with_store(request: pytest.FixtureRequest) -> Any:
    def run(fn: Any) -> Any:
        async def go() -> Any:
            if request.param == "fake":
                return await fn(FakeBastStore())
            infra: Stack = request.getfixturevalue("infra")
            assert infra.store is not None
            client, db = connect(infra.store.url, f"contract_bast_{uuid.uuid4().hex[:8]}")
            try:
                return await fn(mongo.bast_store(db))
            finally:
                await client.close()

        return asyncio.run(go())

    return run


def test_a_stored_bast_comes_back_byte_for_byte_and_a_rewrite_replaces_it(with_store: Any) -> None:
    async def check(store: Any) -> None:
        key = bast_id("KSB-1", 1)
        assert key == "KSB-1-1"
        assert await store.get(key) is None
        pdf = bytes(range(256)) * 4
        await store.put(key, {"consignment_id": "KSB-1", "seq": 1, "pdf": pdf, "recorded_sha256": "a" * 64})
        await store.put(key, {"consignment_id": "KSB-1", "seq": 1, "pdf": pdf, "recorded_sha256": "a" * 64})
        got = await store.get(key)
        assert got is not None and bytes(got["pdf"]) == pdf and got["_id"] == key and got["seq"] == 1
        assert await store.get(bast_id("KSB-1", 2)) is None

    with_store(check)


@pytest.fixture(params=["fake", "mongo"])
def with_held(request: pytest.FixtureRequest) -> Any:
    def run(fn: Any) -> Any:
        async def go() -> Any:
            if request.param == "fake":
                return await fn(FakeHeldReceipts())
            infra: Stack = request.getfixturevalue("infra")
            assert infra.store is not None
            client, db = connect(infra.store.url, f"contract_held_{uuid.uuid4().hex[:8]}")
            try:
                return await fn(mongo.held_receipts(db))
            finally:
                await client.close()

        return asyncio.run(go())

    return run


def test_a_receipt_is_held_once_with_its_first_mark_and_deadline_until_released(with_held: Any) -> None:
    async def check(store: Any) -> None:
        _, asset = new_asset()
        first = HeldReceipt(receive(asset, scan_id=f"r-{asset}"), NOW, NOW + timedelta(minutes=15), Mark(2, 40))
        assert await store.get(first.command.id) is None and await store.all() == []
        assert await store.hold(first) == first
        later = HeldReceipt(first.command, NOW + timedelta(minutes=1), NOW + timedelta(minutes=16), Mark(2, 41))
        assert await store.hold(later) == first  # redelivered: the first stands
        other = HeldReceipt(receive(asset, scan_id=f"r2-{asset}"), NOW, NOW + timedelta(minutes=15), Mark(0, 1))
        await store.hold(other)
        assert sorted(h.command.id for h in await store.all()) == sorted([first.command.id, other.command.id])
        assert await store.get(first.command.id) == first
        await store.release(first.command.id)
        await store.release(first.command.id)  # twice: harmless
        assert [h.command.id for h in await store.all()] == [other.command.id]

    with_held(check)
