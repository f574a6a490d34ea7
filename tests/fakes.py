"""In-memory twins of the workers' adapters, for tests that drive handlers
without Kafka or MongoDB. tests/contract runs each fake and its real adapter
through one suite, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from events import codec
from events.envelope import Envelope
from services.common.streams import Append, SubjectStream, VersionConflict


class FakeStreamStore:
    """The twin of services.common.streams.MongoStreamStore."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def load(self, asset_id: str) -> SubjectStream | None:
        doc = self.docs.get(asset_id)
        if doc is None:
            return None
        return SubjectStream(asset_id, doc["version"], [codec.from_json(e) for e in doc["history"]])

    async def load_many(self, asset_ids: Sequence[str]) -> dict[str, SubjectStream]:
        found = {a: await self.load(a) for a in dict.fromkeys(asset_ids)}
        return {a: d for a, d in found.items() if d is not None}

    async def append_many(self, appends: Sequence[Append]) -> set[str]:
        if len({a.subject for a in appends}) != len(appends):
            raise ValueError("append_many takes at most one append per subject")
        conflicts = set()
        for a in appends:
            try:
                await self.append(a.subject, a.expected_version, a.events, a.summary)
            except VersionConflict:
                conflicts.add(a.subject)
        return conflicts

    async def append(
        self, asset_id: str, expected_version: int, events: Sequence[Envelope], summary: dict[str, Any]
    ) -> None:
        current = self.docs.get(asset_id)
        if (current["version"] if current else 0) != expected_version:
            raise VersionConflict(asset_id)
        history = (current["history"] if current else []) + [codec.to_json(e) for e in events]
        self.docs[asset_id] = {"version": expected_version + 1, "history": history, "summary": dict(summary)}

    async def find_by(self, **summary_fields: Any) -> list[SubjectStream]:
        out = []
        for asset_id, d in self.docs.items():
            if all(d["summary"].get(k) == v for k, v in summary_fields.items()):
                out.append(SubjectStream(asset_id, d["version"], [codec.from_json(e) for e in d["history"]]))
        return out


class FakePublisher:
    """The twin of services.common.worker.KafkaPublisher: keeps what was published, in order."""

    def __init__(self) -> None:
        self.sent: list[Envelope] = []

    async def publish(self, envelopes: Sequence[Envelope]) -> None:
        self.sent.extend(envelopes)


class FakeBastStore:
    """The twin of services.handover.adapters.mongo.MongoBastStore."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Any]] = {}

    async def put(self, doc_id: str, doc: dict[str, Any]) -> None:
        self.docs[doc_id] = {"_id": doc_id, **doc}

    async def get(self, doc_id: str) -> dict[str, Any] | None:
        return self.docs.get(doc_id)
