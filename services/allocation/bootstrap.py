"""Wires real or fake adapters into what the allocation handlers need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial

from events.envelope import utcnow
from services.allocation import consignment, domain
from services.allocation.config import AllocationSettings
from services.allocation.handlers import AllocationRuntime
from services.common.commands import Publisher, known_already, runtime
from services.common.streams import StreamStore

SOURCE = "/serah/allocation"


def bootstrap(
    settings: AllocationSettings,
    *,
    publisher: Publisher,
    laptops: StreamStore,
    consignments: StreamStore,
    clock: Callable[[], datetime] = utcnow,
    catch_up: Callable[[Sequence[str]], Awaitable[None]] = known_already,
) -> AllocationRuntime:
    # Both aggregates run on the same plumbing; each has its own rules and store.
    wired = partial(runtime, settings, source=SOURCE, publisher=publisher, clock=clock, catch_up=catch_up)
    return AllocationRuntime(
        laptops=wired(aggregate=domain, store=laptops),
        consignments=wired(aggregate=consignment, store=consignments),
    )
