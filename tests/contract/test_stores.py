"""One suite, run against the in-memory fakes and the real MongoDB adapters on
the session's MongoDB-wire server, so the fakes the unit tests use cannot drift."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from deploy.local.stack import Stack
from services.audit.adapters import mongo as audit_mongo
from services.audit.domain import GENESIS
from services.common.mongo import connect
from services.common.streams import Append, MongoStreamStore, VersionConflict
from tests import fakes
from tests.builders import allocate, new_asset
from tests.fakes import FakeStreamStore


@pytest.fixture(params=["fake", "mongo"])
def backend(request: pytest.FixtureRequest) -> Iterator[str]:
    yield request.param


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def with_db(backend: str, request: pytest.FixtureRequest, make: Any, fake: Any) -> Any:
    if backend == "fake":
        return lambda: fake()
    infra: Stack = request.getfixturevalue("infra")
    assert infra.store is not None
    name = f"contract_{uuid.uuid4().hex[:8]}"

    def factory() -> Any:  # a client per event loop: asyncio.run makes a new loop each call
        _, db = connect(infra.store.url, infra.mongo_db)  # type: ignore[union-attr]
        return make(db, name)

    return factory


@pytest.fixture
def laptop_store(backend: str, request: pytest.FixtureRequest) -> Any:
    fake = FakeStreamStore()
    return with_db(backend, request, lambda db, name: MongoStreamStore(db[name]), lambda: fake)


@pytest.fixture
def event_log(backend: str, request: pytest.FixtureRequest) -> Any:
    fake = fakes.FakeEventLog()

    def make(db: Any, name: str) -> Any:
        log = audit_mongo.MongoEventLog(db)
        log._c = db[name]  # noqa: SLF001 - a fresh collection per test
        return log

    return with_db(backend, request, make, lambda: fake)


def test_a_new_laptop_document_is_created_at_version_one(laptop_store: Any) -> None:
    _, asset = new_asset()
    event = allocate(asset)

    async def go() -> Any:
        store = laptop_store()
        assert await store.load(asset) is None
        await store.append(asset, 0, [event], {"status": "x"})
        return await store.load(asset)

    doc = run(go())
    assert doc.version == 1 and doc.history == [event]


def test_appends_are_guarded_by_version(laptop_store: Any) -> None:
    _, asset = new_asset()
    a, b, c = allocate(asset), allocate(asset), allocate(asset)

    async def go() -> Any:
        store = laptop_store()
        await store.append(asset, 0, [a], {})
        with pytest.raises(VersionConflict):
            await store.append(asset, 0, [b], {})  # a second creator loses
        await store.append(asset, 1, [b, c], {"status": "s"})
        with pytest.raises(VersionConflict):
            await store.append(asset, 1, [c], {})  # a stale writer loses
        return await store.load(asset)

    doc = run(go())
    assert doc.version == 2 and [e.id for e in doc.history] == [a.id, b.id, c.id]


def test_documents_can_be_found_by_summary(laptop_store: Any) -> None:
    _, asset = new_asset()
    marker = uuid.uuid4().hex

    async def go() -> Any:
        store = laptop_store()
        await store.append(asset, 0, [allocate(asset)], {"status": marker})
        return await store.find_by(status=marker)

    assert [d.subject for d in run(go())] == [asset]


@pytest.fixture
def promoting_store(backend: str, request: pytest.FixtureRequest) -> Any:
    fake = FakeStreamStore()
    return with_db(backend, request, lambda db, name: MongoStreamStore(db[name], promoted=("status",)), lambda: fake)


def test_summaries_are_found_by_a_promoted_field_as_they_change(promoting_store: Any) -> None:
    _, asset = new_asset()
    _, other = new_asset()
    marker, later = uuid.uuid4().hex, uuid.uuid4().hex

    async def go() -> Any:
        store = promoting_store()
        if hasattr(store, "ensure_indexes"):
            await store.ensure_indexes()
        await store.append(asset, 0, [allocate(asset)], {"status": marker, "n": 1})
        await store.append_many([Append(other, 0, [allocate(other)], {"status": marker, "n": 2})])
        first = sorted(await store.summaries_by(status=marker))
        await store.append(asset, 1, [allocate(asset)], {"status": later, "n": 3})
        return first, await store.summaries_by(status=marker), await store.summaries_by(status=later)

    first, still, moved = run(go())
    assert first == sorted([(asset, {"status": marker, "n": 1}), (other, {"status": marker, "n": 2})])
    assert still == [(other, {"status": marker, "n": 2})]
    assert moved == [(asset, {"status": later, "n": 3})]


def test_the_event_log_records_each_event_once_and_refuses_a_fork(event_log: Any) -> None:
    _, asset = new_asset()
    a, b = allocate(asset), allocate(asset)

    async def go() -> Any:
        log = event_log()
        await log.ensure_indexes()
        assert await log.head(asset) == (0, GENESIS)
        assert await log.append(asset, 1, GENESIS, "1" * 64, a) is True
        assert await log.append(asset, 1, GENESIS, "1" * 64, a) is False  # same event again
        with pytest.raises(VersionConflict):
            await log.append(asset, 1, GENESIS, "2" * 64, b)  # another event at the same place
        assert await log.append(asset, 2, "1" * 64, "3" * 64, b) is True
        return await log.head(asset), await log.chain(asset), await log.get(b.id)

    head, chain, got = run(go())
    assert head == (2, "3" * 64)
    assert [link["_id"] for link in chain] == [a.id, b.id]
    assert got["prev_hash"] == "1" * 64


def test_batched_appends_write_each_subject_once_and_report_lost_races(laptop_store: Any) -> None:
    from services.common.streams import Append

    _, a = new_asset()
    _, b = new_asset()
    _, c = new_asset()
    ea, eb, ec, late = allocate(a), allocate(b), allocate(c), allocate(b)

    async def go() -> Any:
        store = laptop_store()
        await store.append(b, 0, [eb], {"status": "x"})  # b exists at version 1
        await store.append(c, 0, [ec], {"status": "x"})
        assert set(await store.load_many([a, b, c, b])) == {b, c}
        left = await store.append_many(
            [
                Append(a, 0, [ea], {"status": "new"}),  # new subject
                Append(b, 1, [late], {"status": "moved"}),  # existing, right version
                Append(c, 0, [allocate(c)], {"status": "lost"}),  # lost race: c exists
            ]
        )
        left2 = await store.append_many([Append(a, 0, [allocate(a)], {"status": "again"})])
        return left, left2, await store.load_many([a, b, c])

    left, left2, docs = run(go())
    assert left == {c} and left2 == {a}
    assert docs[a].version == 1 and docs[a].history == [ea]
    assert docs[b].version == 2 and docs[b].history == [eb, late]
    assert docs[c].history == [ec]


def test_many_subjects_are_read_in_chunks_and_the_absent_are_left_out(
    laptop_store: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from services.common import streams

    monkeypatch.setattr(streams, "READ_CHUNK", 2)
    assets = [new_asset()[1] for _ in range(5)]

    async def go() -> Any:
        store = laptop_store()
        for a in assets[:3]:
            await store.append(a, 0, [allocate(a)], {"status": "x"})
        return await store.load_many([*reversed(assets), assets[0]])

    docs = run(go())
    assert set(docs) == set(assets[:3])
    assert all(docs[a].subject == a and docs[a].version == 1 for a in assets[:3])


def test_a_batch_of_appends_to_existing_subjects_lands_except_where_the_version_moved(laptop_store: Any) -> None:
    from services.common.streams import Append

    assets = [new_asset()[1] for _ in range(4)]
    first = {a: allocate(a) for a in assets}

    async def go() -> Any:
        store = laptop_store()
        for a in assets:
            await store.append(a, 0, [first[a]], {"status": "x"})
        await store.append(assets[1], 1, [allocate(assets[1])], {"status": "moved"})  # now at version 2
        later = {a: allocate(a) for a in assets}
        left = await store.append_many([Append(a, 1, [later[a]], {"status": "later"}) for a in assets])
        return left, later, await store.load_many(assets)

    left, later, docs = run(go())
    assert left == {assets[1]}
    for a in (assets[0], assets[2], assets[3]):
        assert docs[a].version == 2 and docs[a].history == [first[a], later[a]]
    assert later[assets[1]] not in docs[assets[1]].history
