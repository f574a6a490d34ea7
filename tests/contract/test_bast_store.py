"""Issue 4: the BAST store's fake and MongoDB (FerretDB) adapters pass one suite."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest

from deploy.local.stack import Stack
from services.common.mongo import connect
from services.handover.adapters import mongo
from services.handover.bast_store import bast_id
from tests.fakes import FakeBastStore


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
