"""Wires real or fake adapters into the handlers' Runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from events.envelope import utcnow
from services.allocation.config import AllocationSettings
from services.common.commands import Publisher, Runtime, known_already, runtime
from services.common.streams import StreamStore

SOURCE = "/serah/allocation"


def bootstrap(
    settings: AllocationSettings,
    publisher: Publisher,
    store: StreamStore,
    *,
    clock: Callable[[], datetime] = utcnow,
    catch_up: Callable[[Sequence[str]], Awaitable[None]] = known_already,
) -> Runtime:
    return runtime(settings, source=SOURCE, publisher=publisher, store=store, clock=clock, catch_up=catch_up)
