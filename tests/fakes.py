"""In-memory twins of the workers' adapters, for tests that drive handlers
without Kafka or MongoDB. tests/contract runs each fake and its real adapter
through one suite, so they cannot drift apart."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from datetime import datetime
from typing import Any

from pydantic import SecretStr

from events import codec, labels
from events.envelope import Envelope
from services.allocation.bootstrap import bootstrap as allocation_bootstrap
from services.allocation.config import AllocationSettings
from services.allocation.handlers import AllocationRuntime
from services.audit.adapters.mongo import Advance, Link, log_entry
from services.audit.bootstrap import bootstrap as audit_bootstrap
from services.audit.config import AuditSettings
from services.audit.domain import GENESIS
from services.audit.handlers import AuditRuntime
from services.common.commands import Mark, Runtime
from services.common.streams import Append, SubjectStream, VersionConflict
from services.handover.bootstrap import bootstrap as handover_bootstrap
from services.handover.config import HandoverSettings
from services.handover.handlers import HandoverRuntime
from services.handover.held import HeldReceipt
from tests.builders import KEYS, NOW, RECEIPT_CODE_KEYS


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

    async def summaries_by(self, **summary_fields: Any) -> list[tuple[str, dict[str, Any]]]:
        return [
            (subject, dict(d["summary"]))
            for subject, d in self.docs.items()
            if all(d["summary"].get(k) == v for k, v in summary_fields.items())
        ]


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


class FakeHeldReceipts:
    """The twin of services.handover.adapters.mongo.MongoHeldReceipts."""

    def __init__(self) -> None:
        self.docs: dict[str, HeldReceipt] = {}

    async def hold(self, held: HeldReceipt) -> HeldReceipt:
        return self.docs.setdefault(held.command.id, held)

    async def get(self, command_id: str) -> HeldReceipt | None:
        return self.docs.get(command_id)

    async def all(self) -> list[HeldReceipt]:
        return list(self.docs.values())

    async def release(self, command_id: str) -> None:
        self.docs.pop(command_id, None)


class FakeBacklog:
    """The allocation service's backlog as a test sets it: ``behind`` subjects have
    commands not yet decided, up to ``end`` on partition 0; ``decided_up_to`` moves on."""

    def __init__(self) -> None:
        self.behind: set[str] = set()
        self.end = 1
        self.decided_up_to = 0

    async def mark(self, subject: str) -> Mark | None:
        return Mark(0, self.end) if subject in self.behind else None

    async def decided(self) -> dict[int, int]:
        return {0: self.decided_up_to}


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
        settings
        or HandoverSettings(
            label_public_keys=labels.format_keyring(KEYS),
            receipt_code_keys=SecretStr(labels.format_keyring(RECEIPT_CODE_KEYS)),
        ),
        publisher=FakePublisher(),
        laptops=FakeStreamStore(),
        consignments=FakeStreamStore(),
        basts=FakeBastStore(),
        held=FakeHeldReceipts(),
        backlog=FakeBacklog(),
        documents=FakeBastStore(),
        rosters=FakeStreamStore(),
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


# --- the audit's stores ---


class FakeEventLog:
    def __init__(self) -> None:
        self.entries: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        pass  # uniqueness is enforced in append()

    async def get(self, event_id: str) -> dict[str, Any] | None:
        return self.entries.get(event_id)

    async def get_many(self, event_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {i: self.entries[i] for i in event_ids if i in self.entries}

    async def head(self, asset_id: str) -> tuple[int, str]:
        links = [e for e in self.entries.values() if e["asset_id"] == asset_id]
        if not links:
            return 0, GENESIS
        last = max(links, key=lambda e: e["seq"])
        return last["seq"], last["hash"]

    async def append(self, asset_id: str, seq: int, prev_hash: str, hash_: str, event: Envelope) -> bool:
        if event.id in self.entries:
            return False
        if any(e["asset_id"] == asset_id and e["seq"] == seq for e in self.entries.values()):
            raise VersionConflict(asset_id)
        self.entries[event.id] = log_entry(asset_id, seq, prev_hash, hash_, event)
        return True

    async def chain(self, asset_id: str) -> list[dict[str, Any]]:
        return sorted((e for e in self.entries.values() if e["asset_id"] == asset_id), key=lambda e: e["seq"])

    async def append_many(self, links: list[Link]) -> set[str]:
        if len({link.asset_id for link in links}) != len(links):
            raise ValueError("append_many takes at most one link per laptop")
        failed = set()
        for k in links:
            try:
                if not await self.append(k.asset_id, k.seq, k.prev_hash, k.hash, k.event):
                    failed.add(k.asset_id)
            except VersionConflict:
                failed.add(k.asset_id)
        return failed

    async def all_links(self) -> AsyncIterator[dict[str, Any]]:
        for d in sorted(self.entries.values(), key=lambda e: (e["asset_id"], e["seq"])):
            yield d

    async def count_for_office(self, type_: str, office_code: str) -> int:
        return sum(
            1
            for e in self.entries.values()
            if e["type"] == type_ and e["event"]["data"].get("office_code") == office_code
        )


class FakeViews:
    def __init__(self) -> None:
        self.views: dict[str, dict[str, Any]] = {}
        self.awaiting: set[str] = set()
        self.picking: set[str] = set()
        self.counters: dict[str, dict[str, Any]] = {}

    async def ensure_indexes(self) -> None:
        pass

    async def get(self, asset_id: str) -> dict[str, Any] | None:
        found = self.views.get(asset_id)
        return dict(found) if found else None

    async def advance(
        self, asset_id: str, expected_seq: int, head_hash: str, event_id: str, view: dict[str, Any]
    ) -> None:
        current = self.views.get(asset_id)
        if (current["seq"] if current else 0) != expected_seq:
            raise VersionConflict(asset_id)
        ids = (current["event_ids"] if current else []) + [event_id]
        self.views[asset_id] = {**view, "seq": expected_seq + 1, "head_hash": head_hash, "event_ids": ids}

    async def replace(
        self, asset_id: str, seq: int, head_hash: str, event_ids: list[str], view: dict[str, Any]
    ) -> None:
        self.views[asset_id] = {**view, "seq": seq, "head_hash": head_hash, "event_ids": list(event_ids)}

    async def get_many(self, asset_ids: list[str]) -> dict[str, dict[str, Any]]:
        return {a: {"_id": a, **self.views[a]} for a in dict.fromkeys(asset_ids) if a in self.views}

    async def advance_many(self, advances: list[Advance]) -> set[str]:
        if len({a.asset_id for a in advances}) != len(advances):
            raise ValueError("advance_many takes at most one advance per laptop")
        conflicts = set()
        for a in advances:
            current = self.views.get(a.asset_id)
            if (current["seq"] if current else 0) != a.expected_seq:
                conflicts.add(a.asset_id)
                continue
            ids = (current["event_ids"] if current else []) + list(a.event_ids)
            self.views[a.asset_id] = {**a.view, "seq": len(ids), "head_hash": a.head_hash, "event_ids": ids}
        return conflicts

    async def overdue_candidates(self, now: str) -> list[dict[str, Any]]:
        return [
            {"_id": k, **v}
            for k, v in self.views.items()
            if any((v.get(due) or "~") < now for due in ("transit_due_at", "attestation_due_at", "repair_due_at"))
        ]

    async def held_at(self, office_code: str) -> list[dict[str, Any]]:
        return [
            {"_id": k, **v}
            for k, v in self.views.items()
            if v.get("office_code") == office_code and v.get("holder_nip") is not None
        ]

    async def list_unconfirmed(self, consignment_id: str, awaiting: bool) -> None:
        if awaiting:
            self.awaiting.add(consignment_id)
        else:
            self.awaiting.discard(consignment_id)

    async def unconfirmed(self) -> list[str]:
        return sorted(self.awaiting)

    async def list_open(self, consignment_id: str, picking: bool) -> None:
        if picking:
            self.picking.add(consignment_id)
        else:
            self.picking.discard(consignment_id)

    async def open_consignments(self) -> list[str]:
        return sorted(self.picking)

    async def all(self) -> list[dict[str, Any]]:
        return [{"_id": k, **v} for k, v in self.views.items()]

    async def replace_all(self, views: list[dict[str, Any]]) -> None:
        for v in views:
            self.views[v["_id"]] = {k: x for k, x in v.items() if k != "_id"}

    async def of_office(self, office_code: str) -> list[dict[str, Any]]:
        return [{"_id": k, **v} for k, v in self.views.items() if v.get("office_code") == office_code]

    async def counters_version(self, office_code: str) -> int:
        return int(self.counters[office_code]["version"]) if office_code in self.counters else 0

    async def put_counters(self, office_code: str, expected_version: int, doc: dict[str, Any]) -> bool:
        if await self.counters_version(office_code) != expected_version:
            return False
        self.counters[office_code] = {**doc, "version": expected_version + 1}
        return True

    async def counted_offices(self) -> list[str]:
        return sorted(self.counters)

    async def drop_counters(self, office_codes: list[str]) -> None:
        for code in office_codes:
            self.counters.pop(code, None)


class FakeScanIndex:
    def __init__(self) -> None:
        self.scans: dict[str, tuple[str, str]] = {}

    async def remember(self, scan_id: str, asset_id: str, event_id: str) -> None:
        self.scans.setdefault(scan_id, (asset_id, event_id))

    async def remember_many(self, scans: list[tuple[str, str, str]]) -> None:
        for scan_id, asset_id, event_id in scans:
            self.scans.setdefault(scan_id, (asset_id, event_id))


class FakeDeadLetters:
    def __init__(self) -> None:
        self.kept: dict[str, Any] = {}

    async def keep(self, event: Envelope) -> None:
        self.kept.setdefault(event.id, event)

    async def keep_unreadable(self, key: str, raw: bytes) -> None:
        self.kept.setdefault(key, raw)


# --- checkpoints, office counts, timed-rule candidates ----------------


class FakeCheckpoints:
    def __init__(self, log: FakeEventLog) -> None:
        self._log = log
        self.docs: dict[str, dict[str, Any]] = {}
        self.leaf_lists: dict[str, list[list[Any]]] = {}

    async def ensure_indexes(self) -> None:
        pass

    async def heads(self) -> dict[str, tuple[int, str]]:
        return (await self.heads_and_links({}))[0]

    async def heads_and_links(self, keep: dict[str, int]) -> tuple[dict[str, tuple[int, str]], dict[str, str]]:
        heads: dict[str, tuple[int, str]] = {}
        kept: dict[str, str] = {}
        for d in self._log.entries.values():
            if d["seq"] > heads.get(d["asset_id"], (0, ""))[0]:
                heads[d["asset_id"]] = (d["seq"], d["hash"])
            if keep.get(d["asset_id"]) == d["seq"]:
                kept[d["asset_id"]] = d["hash"]
        return heads, kept

    async def latest(self) -> dict[str, Any] | None:
        return max(self.docs.values(), key=lambda d: d["created_at"], default=None)

    async def all(self) -> list[dict[str, Any]]:
        return sorted(self.docs.values(), key=lambda d: d["created_at"])

    async def save(self, checkpoint: dict[str, Any], leaves: list[list[Any]]) -> None:
        self.leaf_lists[checkpoint["checkpoint_id"]] = [list(x) for x in leaves]
        self.docs.setdefault(
            checkpoint["checkpoint_id"], {"_id": checkpoint["checkpoint_id"], **checkpoint, "published": False}
        )

    async def leaves(self, checkpoint_id: str) -> list[list[Any]]:
        return self.leaf_lists.get(checkpoint_id, [])

    async def unpublished(self) -> list[dict[str, Any]]:
        return [d for d in self.docs.values() if not d["published"]]

    async def mark_published(self, checkpoint_id: str) -> None:
        self.docs[checkpoint_id]["published"] = True


def audit_with_fakes(settings: AuditSettings | None = None, publisher: Any = None, **overrides: Any) -> AuditRuntime:
    """The audit runtime as services/audit/bootstrap.py wires it, over in-memory stores."""
    log = FakeEventLog()
    return audit_bootstrap(
        settings,
        publisher=publisher,
        log=log,
        views=FakeViews(),
        dead_letters=FakeDeadLetters(),
        scans=FakeScanIndex(),
        checkpoints=FakeCheckpoints(log),
        **overrides,
    )
