"""Concurrent questions to the store share one round (services/gateway/adapters/mongo.py)."""

from __future__ import annotations

import asyncio

import pytest

from services.gateway.adapters.mongo import Coalesced


def test_questions_asked_together_are_answered_by_one_round_each_with_its_own_answer() -> None:
    rounds: list[list[str]] = []

    async def among(keys: list[str]) -> set[str]:
        rounds.append(sorted(keys))
        await asyncio.sleep(0.01)
        return {k for k in keys if k.startswith("yes")}

    async def go() -> list[bool]:
        c = Coalesced(among)
        first = asyncio.create_task(c.ask("yes-0"))
        await asyncio.sleep(0)  # the first round is in flight; the rest wait for the next
        rest = await asyncio.gather(*(c.ask(k) for k in ["yes-1", "no-1", "yes-2", "yes-1"]))
        return [await first, *rest]

    assert asyncio.run(go()) == [True, True, False, True, True]
    assert rounds == [["yes-0"], ["no-1", "yes-1", "yes-2"]]


def test_a_failed_round_fails_its_askers_and_the_next_round_is_asked_afresh() -> None:
    calls = 0

    async def among(keys: list[str]) -> set[str]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ConnectionError("store away")
        return set(keys)

    async def go() -> bool:
        c = Coalesced(among)
        with pytest.raises(ConnectionError):
            await c.ask("a")
        return await c.ask("a")

    assert asyncio.run(go()) is True
