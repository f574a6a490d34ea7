"""Receipts held while the warehouse's dispatch may still be on its way.

A receipt (a single scan, or a consignment's) of something not yet dispatched is
refused as ``not_dispatched`` only once every dispatch sent before it has been
decided. While the allocation service has not decided every command sent about
the subject, a dispatch may be among them: the receipt is held (nothing recorded,
the device answered ``202 pending``) and decided again when the dispatch is
learnt, when the allocation service has decided past the receipt's mark, or when
its time runs out (``SERAH_RECEIPT_HOLD_S``), whichever comes first.

One document per held command (``_id``: its id), written once: holding the same
command again (redelivered after a crash) keeps the first one's mark and deadline.
It is released after the decision is published; a crash in between leaves it held,
and deciding it again replays the decision (``run_command``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from events import codec
from events.envelope import Envelope
from services.common.commands import Mark


@dataclass(frozen=True)
class HeldReceipt:
    command: Envelope
    held_at: datetime
    until: datetime
    mark: Mark

    def document(self) -> dict[str, Any]:
        return {
            "_id": self.command.id,
            "subject": self.command.subject,
            "command": codec.to_json(self.command),
            "held_at": self.held_at.isoformat(),
            "until": self.until.isoformat(),
            "partition": self.mark.partition,
            "offset": self.mark.offset,
        }

    @classmethod
    def of(cls, doc: dict[str, Any]) -> HeldReceipt:
        return cls(
            command=codec.from_json(doc["command"]),
            held_at=datetime.fromisoformat(doc["held_at"]),
            until=datetime.fromisoformat(doc["until"]),
            mark=Mark(int(doc["partition"]), int(doc["offset"])),
        )


class HeldReceipts(Protocol):
    """``held_receipts``: published for readers (the gateway says why a receipt is pending)."""

    async def hold(self, held: HeldReceipt) -> HeldReceipt:
        """Keeps ``held`` unless its command is held already; returns the one kept."""
        ...

    async def get(self, command_id: str) -> HeldReceipt | None: ...

    async def all(self) -> list[HeldReceipt]: ...

    async def release(self, command_id: str) -> None: ...
