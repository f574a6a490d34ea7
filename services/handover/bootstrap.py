"""Wires real or fake adapters into what the handover handlers need."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from functools import partial

from events.envelope import utcnow
from services.common.commands import Backlog, NoBacklog, Publisher, known_already, runtime
from services.common.streams import StreamStore
from services.handover import consignment, domain, roster
from services.handover.adapters import bast_pdf, document_pdf
from services.handover.bast import Bast
from services.handover.bast_store import BastStore
from services.handover.config import HandoverSettings
from services.handover.documents import Document
from services.handover.handlers import HandoverRuntime
from services.handover.held import HeldReceipts

SOURCE = "/serah/handover"


def bootstrap(
    settings: HandoverSettings,
    *,
    publisher: Publisher,
    laptops: StreamStore,
    consignments: StreamStore,
    basts: BastStore,
    held: HeldReceipts,
    documents: BastStore,
    rosters: StreamStore,
    backlog: Backlog | None = None,
    render: Callable[[Bast], bytes] = bast_pdf.render,
    render_document: Callable[[Document], bytes] = document_pdf.render,
    clock: Callable[[], datetime] = utcnow,
    catch_up: Callable[[Sequence[str]], Awaitable[None]] = known_already,
) -> HandoverRuntime:
    # The aggregates run on the same plumbing; each has its own rules and store.
    wired = partial(runtime, settings, source=SOURCE, publisher=publisher, clock=clock, catch_up=catch_up)
    return HandoverRuntime(
        laptops=wired(aggregate=domain, store=laptops),
        consignments=wired(aggregate=consignment, store=consignments),
        basts=basts,
        held=held,
        # the allocation service's: whether a dispatch may still be on its way
        backlog=backlog or NoBacklog(),
        settings=settings,
        render=render,
        # refuses to start without a key (services/common/settings.py)
        receipt_code_keys=settings.receipt_code_keyring(),
        documents=documents,
        render_document=render_document,
        rosters=wired(aggregate=roster, store=rosters),
    )
