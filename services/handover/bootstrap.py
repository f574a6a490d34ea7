"""Wires real or fake adapters into the handlers' Runtime."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from events.envelope import utcnow
from services.common.commands import Publisher, Runtime
from services.common.laptop_store import LaptopStore
from services.handover.config import HandoverSettings

SOURCE = "/serah/handover"


def bootstrap(
    settings: HandoverSettings,
    publisher: Publisher,
    store: LaptopStore,
    *,
    clock: Callable[[], datetime] = utcnow,
) -> Runtime:
    return Runtime(store=store, publisher=publisher, source=SOURCE, clock=clock, public_keys=settings.public_keys())
