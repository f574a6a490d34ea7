"""How a decider says no, in the same words in every service.

A refusal is a recorded fact (``CommandRejected``): the refused command's type, a
stable reason code and one sentence saying what is wrong and what to do. Nothing
else changes. A scanned label is refused for the same reasons, in the same order,
wherever it is scanned (``labels.check_scanned_label``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar, Protocol

from events import labels
from events.catalog import CommandRejected, RejectionReason
from events.envelope import Envelope


class Command(Protocol):
    TYPE: ClassVar[str]


class Scan(Command, Protocol):
    """A command that carries the label scanned off a laptop."""

    @property
    def label(self) -> str: ...


class Labelled(Protocol):
    """What a decider knows of a laptop's label."""

    @property
    def asset_id(self) -> str: ...

    @property
    def registered(self) -> bool: ...

    @property
    def label_generation(self) -> int: ...

    @property
    def label_revoked(self) -> bool: ...


def refuse(command: Command | Envelope, reason: RejectionReason, detail: str) -> CommandRejected:
    """The refusal of ``command``: its typed body, or its envelope when the body
    is not even readable."""
    command_type = command.type if isinstance(command, Envelope) else command.TYPE
    return CommandRejected(command_type=command_type, reason=reason, detail=detail)


def label_refused(command: Scan, laptop: Labelled, public_keys: Mapping[str, bytes]) -> CommandRejected | None:
    """The refusal of a scan whose label is not a genuine, current label of
    ``laptop`` (or of an unregistered laptop); None when the label is good."""
    try:
        labels.check_scanned_label(
            command.label,
            laptop.asset_id,
            public_keys,
            registered=laptop.registered,
            current_generation=laptop.label_generation,
            revoked=laptop.label_revoked,
        )
    except labels.LabelError as exc:
        return refuse(command, exc.reason, exc.detail)
    return None
