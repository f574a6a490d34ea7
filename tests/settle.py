"""Waiting until the stream has settled, so a test may assert that something did
NOT happen (no second BAST, no duplicate event, nothing changed).

An answer from the gateway means one worker decided one command; the other
workers may still be reading the events it produced, and they produce events of
their own as they go. "Settled" is therefore a fixed point: every partition of
every topic a worker group consumes has been committed by that group up to its
end, and reading the ends again shows that nothing new arrived meanwhile. The
workers commit only after a message is handled (its writes stored, its events
acknowledged by the broker), so a committed offset is a handled message.

One helper for the whole suite, so every absence assertion waits the same way:
``settled(stack)`` before the assertion."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from kafka import TopicPartition
from kafka.admin import KafkaAdminClient, OffsetSpec
from kafka.errors import KafkaError

from deploy.local.stack import WORKERS, Stack
from events import topics

assert set(topics.CONSUMED_BY) == set(WORKERS), "every worker of the stack has its topics listed"


@dataclass(frozen=True)
class Snapshot:
    """Log ends of the partitions of interest, and each group's committed offsets."""

    ends: Mapping[TopicPartition, int]
    committed: Mapping[str, Mapping[TopicPartition, int]]
    consumed: Mapping[str, frozenset[str]]

    def lagging(self) -> dict[str, dict[str, int]]:
        """Per group, per "topic[partition]", how many messages it has not committed."""
        out: dict[str, dict[str, int]] = {}
        for group, names in self.consumed.items():
            done = self.committed.get(group, {})
            for tp, end in self.ends.items():
                if tp.topic in names and done.get(tp, 0) < end:
                    out.setdefault(group, {})[f"{tp.topic}[{tp.partition}]"] = end - done.get(tp, 0)
        return out


class OffsetReader:
    """Reads log ends and committed offsets with kafka-python's admin client."""

    def __init__(self, bootstrap: str, groups: Mapping[str, Iterable[str]]) -> None:
        self._admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="serah-test-settle")
        self._groups = {g: frozenset(t) for g, t in groups.items()}
        self._partitions: dict[str, list[int]] = {}

    def _partitions_of(self, topic: str) -> list[int]:
        if topic not in self._partitions:
            [described] = self._admin.describe_topics([topic])
            self._partitions[topic] = sorted(p["partition_index"] for p in described["partitions"])
        return self._partitions[topic]

    def read(self) -> Snapshot:
        offsets = self._admin.list_group_offsets(list(self._groups))
        committed = {
            group: {tp: om.offset for tp, om in offsets.get(group, {}).items() if om.offset >= 0}
            for group in self._groups
        }
        # and whatever else a group has committed offsets for: its own record of what it reads
        consumed = {group: names | {tp.topic for tp in committed[group]} for group, names in self._groups.items()}
        wanted = {TopicPartition(t, p) for names in consumed.values() for t in names for p in self._partitions_of(t)}
        ends = self._admin.list_partition_offsets({tp: OffsetSpec.LATEST for tp in wanted})
        return Snapshot({tp: ends[tp].offset for tp in wanted}, committed, consumed)

    def close(self) -> None:
        self._admin.close()


def wait_settled(read: Callable[[], Snapshot], timeout_s: float, interval_s: float = 0.2) -> Snapshot:
    """Polls ``read`` until two reads in a row find every group committed up to
    the log ends and the ends unchanged between them (nothing was produced while
    it checked); raises AssertionError naming what still lags at the deadline."""
    deadline = time.monotonic() + timeout_s
    previous: Snapshot | None = None
    while True:
        now = read()
        caught_up = not now.lagging()
        if caught_up and previous is not None and not previous.lagging() and previous.ends == now.ends:
            return now
        if time.monotonic() > deadline:
            raise AssertionError(
                f"the stream did not settle within {timeout_s}s; uncommitted per group: {now.lagging()}"
            )
        previous = now
        if not caught_up:
            time.sleep(interval_s)


def settled(stack: Stack, timeout_s: float = 60, groups: Mapping[str, Iterable[str]] | None = None) -> Snapshot:
    """Returns once every worker group of ``stack`` (or the ``groups`` given: group
    id → topics) has handled everything on the topics it reads, including what
    the workers produced while catching up."""
    assert stack.kafka is not None
    wanted = groups if groups is not None else {topics.consumer_group(w): topics.CONSUMED_BY[w] for w in WORKERS}
    reader = OffsetReader(stack.kafka.bootstrap, wanted)
    deadline = time.monotonic() + timeout_s

    def read() -> Snapshot:
        # A fresh broker has no group coordinator until its offsets topic exists.
        while True:
            try:
                return reader.read()
            except KafkaError as exc:
                if not exc.retriable or time.monotonic() > deadline:
                    raise
                time.sleep(0.2)

    try:
        return wait_settled(read, timeout_s)
    finally:
        reader.close()
