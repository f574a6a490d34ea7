"""The store keeps answering when many guarded updates arrive at once.

FerretDB v1 (SQLite) holds two pooled connections per update (the query's open
rows and the write transaction). With its stock pool cap of 100, 100 updates in
flight, or one bulk write of 100+ updates, took every connection and the
database never answered again: the batched workers hung (deploy/local/store.py,
patch 3). Each test uses its own database: the pool is per database."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from pymongo import AsyncMongoClient, UpdateOne

from deploy.local.stack import Stack
from events import codec
from events.catalog import LaptopAllocated
from events.envelope import utcnow
from services.common.streams import Append, MongoStreamStore

# Long enough for a slow shared machine, short enough to fail instead of hanging.
ANSWER_WITHIN_S = 60


def run_on_fresh_db(infra: Stack, body: Callable[[list[Any]], Awaitable[Any]], clients: int = 1) -> Any:
    assert infra.store is not None
    url, name = infra.store.url, f"pool_{uuid.uuid4().hex[:8]}"

    async def go() -> Any:
        conns: list[AsyncMongoClient[dict[str, Any]]] = [AsyncMongoClient(url) for _ in range(clients)]
        try:
            return await asyncio.wait_for(body([c[name] for c in conns]), ANSWER_WITHIN_S)
        finally:
            await conns[0].drop_database(name)
            for c in conns:
                await c.close()

    return asyncio.run(go())


def test_a_bulk_write_of_many_guarded_updates_is_answered(infra: Stack) -> None:
    async def body(dbs: list[Any]) -> Any:
        c = dbs[0].docs
        await c.insert_many([{"_id": f"A{i:04d}", "version": 1} for i in range(250)])
        result = await c.bulk_write(
            [UpdateOne({"_id": f"A{i:04d}", "version": 1}, {"$set": {"version": 2}}) for i in range(250)],
            ordered=False,
        )
        return result.matched_count, await c.count_documents({"version": 2})

    assert run_on_fresh_db(infra, body) == (250, 250)


def test_hundreds_of_concurrent_appends_from_several_workers_all_land(infra: Stack) -> None:
    def event(asset: str, n: int) -> Any:
        body = LaptopAllocated(office_code="91.03", office_name="Kabupaten Contoh")
        return codec.make(body, subject=asset, source="/test/pool", time=utcnow(), id=f"e-{asset}-{n}")

    async def body(dbs: list[Any]) -> Any:
        stores = [MongoStreamStore(db.laptops) for db in dbs]
        assets = [[f"W{w}A{i:04d}" for i in range(200)] for w in range(len(stores))]
        # Three workers, each appending to 200 laptops at once, three rounds:
        # the first round inserts, the next two are guarded updates.
        for n in range(3):
            lost = await asyncio.gather(
                *(
                    store.append_many([Append(a, n, [event(a, n)], {"round": n}) for a in mine])
                    for store, mine in zip(stores, assets, strict=True)
                )
            )
            assert lost == [set()] * len(stores)
        return await dbs[0].laptops.count_documents({"version": 3})

    assert run_on_fresh_db(infra, body, clients=3) == 600


def test_a_read_of_many_ids_returns_exactly_the_documents_its_whole_filter_selects(infra: Stack) -> None:
    # The local FerretDB reads {_id: {$in}} by its index (deploy/local/store.py, patch 4):
    # whatever else the filter says must still hold, and ids that are not strings still match.
    async def body(dbs: list[Any]) -> Any:
        c = dbs[0].docs
        await c.insert_many([{"_id": f"A{i:04d}", "n": i} for i in range(300)] + [{"_id": 7, "n": 7}])
        some = [f"A{i:04d}" for i in range(0, 300, 3)] + ["absent"]

        async def ids(query: dict[str, Any]) -> list[Any]:
            return sorted([d["_id"] async for d in c.find(query)], key=str)

        return (
            await ids({"_id": {"$in": some}}),
            await ids({"_id": {"$in": some}, "n": {"$lt": 30}}),
            await ids({"_id": {"$in": ["A0001", 7]}}),
            await ids({"_id": {"$in": some, "$nin": ["A0000"]}}),
            (await c.update_many({"_id": {"$in": ["A0001", "A0002", "absent"]}}, {"$set": {"u": 1}})).matched_count,
        )

    every, below_30, mixed, but_one, updated = run_on_fresh_db(infra, body)
    assert every == [f"A{i:04d}" for i in range(0, 300, 3)]
    assert below_30 == [f"A{i:04d}" for i in range(0, 30, 3)]
    assert mixed == [7, "A0001"]
    assert but_one == every[1:]
    assert updated == 2
