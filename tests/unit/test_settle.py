"""The settle helper returns only at a fixed point: every group committed up to
the log ends, and the ends unchanged across two reads. Driven with scripted reads."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable, Iterator

import pytest
from kafka import TopicPartition

from events import topics
from tests.settle import Snapshot, wait_settled

EVENTS = TopicPartition(topics.EVENTS, 0)
COMMANDS = TopicPartition(topics.HANDOVER_COMMANDS, 0)
GROUP = topics.consumer_group("handover")
CONSUMED = {GROUP: frozenset(topics.CONSUMED_BY["handover"])}


def snap(events_end: int, commands_end: int, events_done: int, commands_done: int) -> Snapshot:
    return Snapshot(
        {EVENTS: events_end, COMMANDS: commands_end},
        {GROUP: {EVENTS: events_done, COMMANDS: commands_done}},
        CONSUMED,
    )


def script(*snapshots: Snapshot) -> tuple[Callable[[], Snapshot], list[Snapshot]]:
    """Reads return the snapshots in turn, then repeat the last one forever."""
    seen: list[Snapshot] = []
    it: Iterator[Snapshot] = iter(snapshots)

    def read() -> Snapshot:
        seen.append(next(it, snapshots[-1]))
        return seen[-1]

    return read, seen


def test_a_group_that_stays_behind_the_log_end_makes_it_fail_naming_the_group_and_partition() -> None:
    read, _ = script(snap(5, 2, 4, 2))
    with pytest.raises(AssertionError, match=re.escape(GROUP) + ".*" + re.escape(f"{topics.EVENTS}[0]': 1")):
        wait_settled(read, timeout_s=0.5, interval_s=0.01)


def test_a_partition_the_group_never_committed_counts_as_unread() -> None:
    unread = Snapshot({EVENTS: 3, COMMANDS: 0}, {GROUP: {}}, CONSUMED)
    assert unread.lagging() == {GROUP: {f"{topics.EVENTS}[0]": 3}}
    read, _ = script(unread)
    with pytest.raises(AssertionError):
        wait_settled(read, timeout_s=0.3, interval_s=0.01)


def test_it_waits_while_the_group_catches_up_and_returns_once_it_has() -> None:
    read, seen = script(snap(5, 2, 1, 2), snap(5, 2, 3, 2), snap(5, 2, 5, 2))
    done = wait_settled(read, timeout_s=5, interval_s=0.01)
    assert not done.lagging() and len(seen) == 4  # the last read confirms the ends did not move


def test_events_produced_while_it_checks_are_waited_for_too() -> None:
    # caught up, but a worker produced two more events (it consumed a command) before
    # the confirming read: not settled until those are committed as well
    read, seen = script(snap(5, 2, 5, 2), snap(7, 2, 5, 2), snap(7, 2, 7, 2))
    done = wait_settled(read, timeout_s=5, interval_s=0.01)
    assert done.ends[EVENTS] == 7 and len(seen) == 4


def test_ends_that_keep_moving_never_count_as_settled() -> None:
    counter = itertools.count()

    def read() -> Snapshot:
        n = next(counter)
        return snap(n, 0, n, 0)  # always committed, never the same twice

    with pytest.raises(AssertionError, match="did not settle"):
        wait_settled(read, timeout_s=0.3, interval_s=0.01)
