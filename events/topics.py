"""Kafka topic names. Every message is keyed by its subject (a laptop's asset id,
a consignment id), so one partition sees all of a subject's messages in order."""

from __future__ import annotations

from dataclasses import dataclass

ALLOCATION_COMMANDS = "serah.allocation.commands"  # register, allocate, dispatch, re-label; plan, scan into, close
# receipts (single, consignment), attestations, receipt codes, custody after receipt, staff lists
HANDOVER_COMMANDS = "serah.handover.commands"
EVENTS = "serah.events"  # every fact any service decided, accepted or rejected
DEAD_LETTERS = "serah.deadletters"  # messages no service could read, with the reason
CHECKPOINTS = "serah.checkpoints"  # signed Merkle roots over every chain: copies outside the database


@dataclass(frozen=True)
class TopicSpec:
    name: str
    # The record (facts, dead letters, checkpoints) is kept; commands are consumed
    # within seconds and age out with the cluster's default retention.
    kept_forever: bool = False


TOPICS: tuple[TopicSpec, ...] = (
    TopicSpec(ALLOCATION_COMMANDS),
    TopicSpec(HANDOVER_COMMANDS),
    TopicSpec(EVENTS, kept_forever=True),
    TopicSpec(DEAD_LETTERS, kept_forever=True),
    TopicSpec(CHECKPOINTS, kept_forever=True),
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
