from __future__ import annotations

import asyncio
from typing import Any

import pytest
from pymongo.errors import AutoReconnect, BulkWriteError, OperationFailure

from events import codec
from events.catalog import MessageDeadLettered
from events.envelope import Envelope
from services.common.worker import StoreRefusals, process_safely, retrying
from tests.builders import allocate, new_asset
from tests.fakes import FakePublisher


def process(raw: bytes, handle: Any, publisher: FakePublisher) -> None:
    asyncio.run(
        process_safely(
            service="t",
            raw=raw,
            key=b"SRHD1M743J0FY",
            topic="topic",
            partition=1,
            offset=7,
            handle=handle,
            publisher=publisher,
        )
    )


async def never(_: Envelope) -> None:
    raise AssertionError("must not be called")


def test_unreadable_messages_are_dead_lettered_with_their_reason_and_bytes() -> None:
    publisher = FakePublisher()
    process(b"\xff not json", never, publisher)
    [letter] = publisher.sent
    assert letter.type == MessageDeadLettered.TYPE
    assert letter.subject == "SRHD1M743J0FY"
    assert letter.data["reason"] == "not_json"
    assert letter.data["offset"] == 7 and "not json" in letter.data["payload"]


def test_a_handler_bug_is_dead_lettered_not_swallowed() -> None:
    publisher = FakePublisher()

    async def boom(_: Envelope) -> None:
        raise ZeroDivisionError("bug")

    process(codec.encode(allocate(new_asset()[1])), boom, publisher)
    [letter] = publisher.sent
    assert letter.data["reason"] == "handler_failed" and "ZeroDivisionError" in letter.data["detail"]


def test_a_transient_store_failure_is_retried_until_it_succeeds() -> None:
    publisher = FakePublisher()
    calls = []

    async def flaky(envelope: Envelope) -> None:
        calls.append(envelope.id)
        if len(calls) < 3:
            raise AutoReconnect("store restarting")

    process(codec.encode(allocate(new_asset()[1])), flaky, publisher)
    assert len(calls) == 3 and publisher.sent == []


@pytest.mark.parametrize("code", [1, 14031])
def test_a_store_that_cannot_write_for_now_is_retried_not_dead_lettered(code: int) -> None:
    """A full disk: FerretDB answers InternalError (1) "disk I/O error", MongoDB
    OutOfDiskSpace (14031). The command is fine; it waits for space, holding the partition."""
    publisher = FakePublisher()
    calls = []

    async def full(envelope: Envelope) -> None:
        calls.append(envelope.id)
        if len(calls) < 3:
            raise OperationFailure("disk I/O error", code)

    process(codec.encode(allocate(new_asset()[1])), full, publisher)
    assert len(calls) == 3 and publisher.sent == []


def test_a_bulk_write_the_full_store_refused_document_by_document_is_retried_too() -> None:
    publisher = FakePublisher()
    calls = []

    async def full(envelope: Envelope) -> None:
        calls.append(envelope.id)
        if len(calls) < 3:
            raise BulkWriteError({"writeErrors": [{"index": 0, "code": 1, "errmsg": "disk I/O error"}]})

    process(codec.encode(allocate(new_asset()[1])), full, publisher)
    assert len(calls) == 3 and publisher.sent == []


def test_a_call_the_store_holds_is_reported_while_it_waits_and_not_once_it_goes_through() -> None:
    """What the heartbeat says (/healthz: the store refuses writes): a full disk may take
    the heartbeat's own update and refuse only what must grow."""
    refusals = StoreRefusals()
    seen: list[str | None] = []

    async def run() -> None:
        calls = 0

        async def append() -> str:
            nonlocal calls
            calls += 1
            seen.append(refusals.report())
            if calls < 3:
                raise OperationFailure("could not extend file: No space left on device", 1)
            return "appended"

        assert await retrying(append, what="an append", refusals=refusals) == "appended"

    asyncio.run(run())
    assert seen[0] is None and seen[1] is not None and "No space left" in seen[2]  # type: ignore[operator]
    assert refusals.report() is None and refusals.waiting == 0
