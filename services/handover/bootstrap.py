"""Wires real or fake adapters into the handlers' Runtime."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime

from events.envelope import utcnow
from services.common.commands import Publisher, Runtime, known_already
from services.common.laptop_store import LaptopStore
from services.handover.config import HandoverSettings

SOURCE = "/serah/handover"


def bootstrap(
    settings: HandoverSettings,
    publisher: Publisher,
    store: LaptopStore,
    *,
    clock: Callable[[], datetime] = utcnow,
    catch_up: Callable[[Sequence[str]], Awaitable[None]] = known_already,
) -> Runtime:
    max_ahead, max_age = settings.scan_window()
    return Runtime(
        store=store,
        publisher=publisher,
        source=SOURCE,
        clock=clock,
        public_keys=settings.public_keys(),
        catch_up=catch_up,
        scan_max_ahead=max_ahead,
        scan_max_age=max_age,
    )
