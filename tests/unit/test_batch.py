"""Registration at scale: the batch path decides, stores, publishes and records
exactly what the one-at-a-time path does, and leaves nothing half done."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from types import SimpleNamespace
from typing import Any

import pytest

from events import codec, topics
from events.catalog import (
    AllocateLaptop,
    CommandRejected,
    LaptopAllocated,
    LaptopDispatched,
    LaptopRegistered,
    MessageDeadLettered,
)
from events.envelope import Envelope
from services.allocation import handlers
from services.allocation.handlers import AllocationRuntime
from services.audit import handlers as audit
from services.common.commands import learn_many
from services.common.streams import Append, SubjectStream
from services.common.worker import process_batch
from tests.builders import allocate, dispatch, new_asset, register
from tests.fakes import FakeStreamStore, allocation_with_fakes, audit_with_fakes, docs, sent


def runtime(store: FakeStreamStore | None = None) -> AllocationRuntime:
    rt = allocation_with_fakes()
    if store is not None:
        rt.laptops.store = store
    return rt


def one_at_a_time(commands: list[Envelope]) -> AllocationRuntime:
    rt = runtime()
    for c in commands:
        asyncio.run(handlers.handle(c, rt))
    return rt


def batched(commands: list[Envelope], rt: AllocationRuntime | None = None) -> tuple[AllocationRuntime, set[str]]:
    rt = rt or runtime()
    left = asyncio.run(handlers.handle_batch(commands, rt))
    return rt, left


def histories(rt: AllocationRuntime) -> dict[str, list[str]]:
    return {a: [e["id"] for e in d["history"]] for a, d in docs(rt.laptops).items()}


def a_burst() -> list[Envelope]:
    out = []
    for _ in range(5):
        serial, asset = new_asset()
        out += [register(serial, asset), allocate(asset), dispatch(asset)]
    _, unknown = new_asset()
    out.append(dispatch(unknown))  # a refusal about a laptop nobody registered
    return out


def test_a_batch_decides_and_publishes_exactly_what_one_at_a_time_does() -> None:
    commands = a_burst()
    slow = one_at_a_time(commands)
    fast, left = batched(commands)
    assert left == set()
    assert sent(fast) == sent(slow)
    assert histories(fast) == histories(slow)
    assert [docs(rt.laptops)[a]["summary"] for rt in (fast,) for a in histories(fast)] == [
        docs(slow.laptops)[a]["summary"] for a in histories(slow)
    ]


def test_two_commands_for_the_same_laptop_in_one_batch_are_decided_in_order_in_one_append() -> None:
    serial, asset = new_asset()
    rt, left = batched([allocate(asset), register(serial, asset), allocate(asset), dispatch(asset)])
    assert left == set()
    types = [e.type for e in sent(rt)]
    assert types == [CommandRejected.TYPE, LaptopRegistered.TYPE, LaptopAllocated.TYPE, LaptopDispatched.TYPE]
    doc = docs(rt.laptops)[asset]
    # every decision is recorded, the refusal that came before the laptop was known too
    assert doc["version"] == 1 and [e["type"] for e in doc["history"]] == types
    assert doc["summary"]["status"] == "dispatched"


def test_a_redelivered_command_replays_its_events_in_a_batch_and_stores_nothing_new() -> None:
    serial, asset = new_asset()
    first = register(serial, asset)
    rt = runtime()
    [original] = asyncio.run(handlers.handle(first, rt))
    before = histories(rt)
    later = runtime(rt.laptops.store)  # type: ignore[arg-type]  # another worker, another clock reading
    _, left = batched([first, first], later)
    assert left == set()
    assert sent(later) == [original, original]  # same ids, same time: readers dedupe
    assert histories(later) == before


def test_a_serial_already_registered_by_another_command_is_refused_in_a_batch() -> None:
    serial, asset = new_asset()
    rt, _ = batched([register(serial, asset)])
    again = register(serial, asset).model_copy(update={"id": "second-import"})
    _, left = batched([again], rt)
    assert left == set()
    assert sent(rt)[-1].data["reason"] == "already_registered"


class StaleStore(FakeStreamStore):
    """Another worker appends right after this one read: its version guard must lose."""

    def __init__(self, race_on: str, other: Envelope) -> None:
        super().__init__()
        self.race_on, self.other = race_on, other

    async def append_many(self, appends: Sequence[Append]) -> set[str]:
        if self.race_on not in self.docs:
            await self.append(self.race_on, 0, [self.other], {"status": "registered"})
        return await super().append_many(appends)


def test_a_lost_version_race_leaves_only_that_laptop_undone_and_unwritten() -> None:
    serial, asset = new_asset()
    serial2, asset2 = new_asset()
    store = StaleStore(asset, register(serial, asset).model_copy(update={"id": "won-the-race"}))
    rt, left = batched([register(serial, asset), allocate(asset), register(serial2, asset2)], runtime(store))
    assert left == {asset}
    assert [e.subject for e in sent(rt)] == [asset2]  # nothing of the loser was published
    assert [e["id"] for e in store.docs[asset]["history"]] == ["won-the-race"]  # nor written


def test_a_rule_failing_in_the_middle_of_a_batch_leaves_that_laptop_to_the_slow_path() -> None:
    serial, asset = new_asset()
    serial2, asset2 = new_asset()
    bad = register(serial2, asset2).model_copy(update={"data": {"laptop": {"serial": 1}, "label": None}})
    rt, left = batched([register(serial, asset), bad, allocate(asset2)])
    # an undecodable body is a decided refusal (invalid_command), not a crash
    assert left == set() and [e.type for e in sent(rt)][1] == CommandRejected.TYPE

    def boom(*_: Any) -> list[Any]:
        raise ZeroDivisionError("bug in a rule")

    rt = runtime()
    original = handlers._decider  # noqa: SLF001 - inject a failing rule for one laptop
    try:
        handlers._decider = lambda t, r: boom if t == AllocateLaptop.TYPE else original(t, r)  # type: ignore[assignment]  # noqa: SLF001
        _, left = batched([register(serial, asset), allocate(asset), register(serial2, asset2)], rt)
    finally:
        handlers._decider = original  # noqa: SLF001
    assert left == {asset}
    assert asset not in histories(rt) and asset2 in histories(rt)


def message(env: Envelope, offset: int) -> Any:
    return SimpleNamespace(
        key=env.subject.encode(),
        value=codec.encode(env),
        message=SimpleNamespace(topic=topics.ALLOCATION_COMMANDS, partition=0, offset=offset),
    )


def test_a_worker_batch_that_fails_half_way_converges_one_message_at_a_time() -> None:
    commands = a_burst()
    expected = one_at_a_time(commands)

    class HalfWritten(FakeStreamStore):
        calls = 0

        async def append_many(self, appends: Sequence[Append]) -> set[str]:
            self.calls += 1
            if self.calls == 1:  # the store goes away after half the appends
                for a in appends[: len(appends) // 2]:
                    await self.append(a.subject, a.expected_version, a.events, a.summary)
                raise RuntimeError("store lost mid-batch")
            return await super().append_many(appends)

    rt = runtime(HalfWritten())

    async def go() -> None:
        await process_batch(
            "allocation",
            [message(c, i) for i, c in enumerate(commands)],
            lambda env: handlers.handle(env, rt),
            rt.laptops.publisher,
            handle_batch=lambda envs: handlers.handle_batch(envs, rt),
            batchable=handlers.batchable_command,
        )

    asyncio.run(go())
    assert histories(rt) == histories(expected)
    assert {e.id for e in sent(rt)} == {e.id for e in sent(expected)}  # replayed ids, nothing new
    assert not [e for e in sent(rt) if e.type == MessageDeadLettered.TYPE]


def test_learning_a_batch_folds_each_fact_once() -> None:
    source = one_at_a_time(a_burst())
    facts = [e for e in sent(source) if e.type != CommandRejected.TYPE]
    rt = runtime()
    assert asyncio.run(learn_many(facts[:4], rt.laptops)) == set()
    assert asyncio.run(learn_many(facts + facts, rt.laptops)) == set()
    for asset, ids in histories(rt).items():
        assert ids == [e.id for e in facts if e.subject == asset]


@pytest.mark.parametrize("split", [1, 3, 7])
def test_audit_records_a_batch_as_the_same_chains_and_views_as_one_at_a_time(split: int) -> None:
    events = [e for e in sent(one_at_a_time(a_burst()))]
    slow = audit_with_fakes()
    for e in events:
        asyncio.run(audit.record_event(e, slow))
    fast = audit_with_fakes()
    for start in range(0, len(events), split):
        chunk = events[start : start + split]
        assert asyncio.run(audit.record_events(chunk + chunk, fast)) == set()  # each delivered twice
    assert fast.log.entries.keys() == slow.log.entries.keys()  # type: ignore[attr-defined]
    for k, entry in slow.log.entries.items():  # type: ignore[attr-defined]
        mine = fast.log.entries[k]  # type: ignore[attr-defined]
        assert (mine["seq"], mine["prev_hash"], mine["hash"]) == (entry["seq"], entry["prev_hash"], entry["hash"])
    assert fast.views.views == slow.views.views  # type: ignore[attr-defined]
    assert fast.scans.scans == slow.scans.scans  # type: ignore[attr-defined]


def test_audit_leaves_a_laptop_whose_log_is_ahead_of_its_view_to_the_healing_path() -> None:
    events = [e for e in sent(one_at_a_time(a_burst())) if e.type != CommandRejected.TYPE]
    rt = audit_with_fakes()
    asyncio.run(audit.record_events(events[:1], rt))
    asset = events[0].subject
    second = events[1]
    head = rt.views.views[asset]["head_hash"]  # type: ignore[attr-defined]
    from services.audit import domain

    asyncio.run(rt.log.append(asset, 2, head, domain.link_hash(head, second), second))  # crash: log, not view
    left = asyncio.run(audit.record_events(events[1:], rt))
    assert left == {asset}
    assert all(e.subject not in left for e in events[3:])  # the other laptops are done
    for e in [e for e in events if e.subject == asset]:
        asyncio.run(audit.record_event(e, rt))  # what the worker does with what was left
    chain = asyncio.run(rt.log.chain(asset))
    assert [link["_id"] for link in chain] == [e.id for e in events if e.subject == asset]
    assert rt.views.views[asset]["seq"] == len(chain)  # type: ignore[attr-defined]


def test_a_laptop_doc_built_in_a_batch_replays_like_a_stored_one() -> None:
    serial, asset = new_asset()
    c = register(serial, asset)
    rt, _ = batched([c])
    doc = SubjectStream(asset, 1, [codec.from_json(e) for e in docs(rt.laptops)[asset]["history"]])
    assert doc.replay_of(c) == sent(rt)
