"""Where issued BAST PDFs are kept: one document per receipt, ``_id`` =
``<consignment id>-<receipt seq>``. The PDF is regenerated deterministically, so
writing it again after a crash stores the same bytes."""

from __future__ import annotations

from typing import Any, Protocol


def bast_id(consignment_id: str, seq: int) -> str:
    return f"{consignment_id}-{seq}"


class BastStore(Protocol):
    async def put(self, doc_id: str, doc: dict[str, Any]) -> None: ...

    async def get(self, doc_id: str) -> dict[str, Any] | None: ...
