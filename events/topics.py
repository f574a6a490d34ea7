"""Kafka topic names. Every message is keyed by the asset id it is about, so
one partition sees all of a laptop's messages in order."""

from __future__ import annotations

from dataclasses import dataclass

ALLOCATION_COMMANDS = "serah.allocation.commands"
HANDOVER_COMMANDS = "serah.handover.commands"
EVENTS = "serah.events"
DEAD_LETTERS = "serah.deadletters"
CHECKPOINTS = "serah.checkpoints"  # signed checkpoints, copies outside the database


@dataclass(frozen=True)
class TopicSpec:
    name: str
    purpose: str
    # The record (facts, dead letters, checkpoints) is kept; commands are consumed
    # within seconds and age out with the cluster's default retention.
    kept_forever: bool = False


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(ALLOCATION_COMMANDS, "commands for the allocation service (register, allocate, dispatch scans)"),
    TopicSpec(HANDOVER_COMMANDS, "commands for the handover service (receipt scans)"),
    TopicSpec(EVENTS, "every fact any service decided, accepted or rejected", kept_forever=True),
    TopicSpec(DEAD_LETTERS, "messages no service could read, with the reason", kept_forever=True),
    TopicSpec(CHECKPOINTS, "signed Merkle roots over every laptop's hash chain", kept_forever=True),
)


# Which topics each worker's consumer group reads, in one place: the workers
# subscribe to these (services/*/stream.py, checked by a test), the gateway's
# /healthz reports each group's lag on them, and tests wait on them before
# asserting that something did not happen.
CONSUMED_BY: dict[str, tuple[str, ...]] = {
    "allocation": (ALLOCATION_COMMANDS, EVENTS),
    "handover": (HANDOVER_COMMANDS, EVENTS),
    "audit": (EVENTS, DEAD_LETTERS),
}


def consumer_group(worker: str) -> str:
    """A worker's Kafka consumer group, which is also its faust app id."""
    return f"serah-{worker}"
