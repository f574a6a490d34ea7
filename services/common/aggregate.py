"""A subject's state is a fold over its stream, and the fold is written once, here.

Each aggregate (a laptop or a consignment, as one service sees it) gives its
``initial`` state for a subject id, how one event changes a state (``evolve``)
and the ``summary`` kept beside the stream for queries; the rules module of the
aggregate is itself such an object (its three functions). Deciders then receive
the state, never the stored document: ``decide(state, command, …) -> facts``."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Protocol, TypeVar

from events.envelope import Envelope

S = TypeVar("S")


class Aggregate(Protocol[S]):
    def initial(self, subject: str) -> S: ...

    def evolve(self, state: S, event: Envelope) -> S: ...

    def summary(self, state: S) -> dict[str, Any]: ...


def fold(aggregate: Aggregate[S], subject: str, history: Iterable[Envelope]) -> S:
    """The state of ``subject`` after ``history``."""
    state = aggregate.initial(subject)
    for event in history:
        state = aggregate.evolve(state, event)
    return state
