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
