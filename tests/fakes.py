"""In-memory twins of the workers' adapters, for tests that drive handlers
without Kafka or MongoDB. tests/contract runs each fake and its real adapter
through one suite, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from events import codec, labels
from events.envelope import Envelope
from services.allocation.bootstrap import bootstrap as allocation_bootstrap
from services.allocation.config import AllocationSettings
from services.allocation.handlers import AllocationRuntime
from services.common.commands import Runtime
from services.common.streams import Append, SubjectStream, VersionConflict
from services.handover.bootstrap import bootstrap as handover_bootstrap
from services.handover.config import HandoverSettings
from services.handover.handlers import HandoverRuntime
from tests.builders import KEYS, NOW


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


def allocation_with_fakes(
    settings: AllocationSettings | None = None, *, clock: Callable[[], datetime] = lambda: NOW
) -> AllocationRuntime:
    """The allocation handlers' runtime, wired by the worker's own bootstrap over fakes."""
    return allocation_bootstrap(
        settings or AllocationSettings(label_public_keys=labels.format_keyring(KEYS)),
        publisher=FakePublisher(),
        laptops=FakeStreamStore(),
        consignments=FakeStreamStore(),
        clock=clock,
    )


def handover_with_fakes(
    settings: HandoverSettings | None = None, *, clock: Callable[[], datetime] = lambda: NOW
) -> HandoverRuntime:
    """The handover handlers' runtime, wired by the worker's own bootstrap over fakes."""
    return handover_bootstrap(
        settings or HandoverSettings(label_public_keys=labels.format_keyring(KEYS)),
        publisher=FakePublisher(),
        laptops=FakeStreamStore(),
        consignments=FakeStreamStore(),
        basts=FakeBastStore(),
        clock=clock,
    )


def sent(rt: AllocationRuntime | HandoverRuntime) -> list[Envelope]:
    """What a runtime over fakes has published, in order."""
    publisher = rt.laptops.publisher
    assert isinstance(publisher, FakePublisher)
    return publisher.sent


def docs(rt: Runtime[Any]) -> dict[str, dict[str, Any]]:
    """The stored documents of a runtime over a fake store, by subject."""
    store = rt.store
    assert isinstance(store, FakeStreamStore)
    return store.docs
