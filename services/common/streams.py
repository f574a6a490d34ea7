"""Each worker keeps, per subject (a laptop, or a consignment), one MongoDB
document holding the subject's stream: every event the worker decided or learnt
about it, in order, plus a summary for queries.

That document is the service's commit point: appending events to it is one
single-document update guarded by a version number, which both MongoDB and
FerretDB do atomically. Because the events are kept, a redelivered command
finds the events it caused and re-publishes them instead of deciding twice;
and the state is always a fold over the history, so it can be rebuilt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from pymongo import UpdateOne
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.errors import BulkWriteError, DuplicateKeyError

from events import codec
from events.envelope import Envelope

# Ids per read of many documents by _id: far below FerretDB's limit on one
# statement's arguments, and the size of a worker's batch.
READ_CHUNK = 1000


class VersionConflict(Exception):
    """Someone else appended first; reload and decide again."""


@dataclass
class SubjectStream:
    subject: str
    version: int = 0
    history: list[Envelope] = field(default_factory=list)

    def find(self, event_id: str) -> Envelope | None:
        return next((e for e in self.history if e.id == event_id), None)

    def replay_of(self, command: Envelope) -> list[Envelope]:
        """The events an earlier delivery of this same command produced, if any.
        Event ids are derived from the command (codec.caused_id), so no index is needed."""
        found: list[Envelope] = []
        while (e := self.find(codec.caused_id(command, len(found)))) is not None:
            found.append(e)
        return found

    def reuse_of(self, command: Envelope) -> Envelope | None:
        """The first event here caused by an earlier, *different* command under
        the same id, if any (ask after ``replay_of`` found nothing): a scan id, a
        receipt id or an Idempotency-Key names one command, whatever it was."""
        return next((e for e in self.history if e.causationid == command.id), None)


@dataclass
class Append:
    """One subject's single-document append inside a batch (see ``append_many``)."""

    subject: str
    expected_version: int
    events: Sequence[Envelope]
    summary: dict[str, Any]


class StreamStore(Protocol):
    async def load(self, asset_id: str) -> SubjectStream | None: ...

    async def load_many(self, asset_ids: Sequence[str]) -> dict[str, SubjectStream]: ...

    async def append_many(self, appends: Sequence[Append]) -> set[str]: ...

    async def append(
        self, asset_id: str, expected_version: int, events: Sequence[Envelope], summary: dict[str, Any]
    ) -> None: ...

    async def find_by(self, **summary_fields: Any) -> list[SubjectStream]: ...

    async def summaries_by(self, **summary_fields: Any) -> list[tuple[str, dict[str, Any]]]: ...


class MongoStreamStore:
    """``promoted``: summary fields also kept at the top level of each document, each
    with an index, so ``find_by`` and ``summaries_by`` on them read only the documents
    they select (FerretDB v1 answers no filter on a nested field from an index)."""

    def __init__(self, collection: AsyncCollection, promoted: Sequence[str] = ()) -> None:  # type: ignore[type-arg]
        self._c = collection
        self._promoted = tuple(promoted)

    async def ensure_indexes(self) -> None:
        """An index per promoted field; documents written before a field was promoted get it now."""
        for name in self._promoted:
            await self._c.create_index(name)
            async for doc in self._c.find({name: {"$exists": False}}, {"summary": 1}):
                await self._c.update_one(
                    {"_id": doc["_id"], name: {"$exists": False}},
                    {"$set": {name: doc.get("summary", {}).get(name)}},
                )

    def _top(self, summary: dict[str, Any]) -> dict[str, Any]:
        return {name: summary.get(name) for name in self._promoted}

    async def load(self, asset_id: str) -> SubjectStream | None:
        doc = await self._c.find_one({"_id": asset_id})
        return None if doc is None else _stream(doc)

    async def load_many(self, asset_ids: Sequence[str]) -> dict[str, SubjectStream]:
        """Every existing document of these subjects (absent ones are left out), in
        one round trip per ``READ_CHUNK`` ids: ``$in`` on ``_id`` is an index lookup on
        MongoDB and on the FerretDB the local stack builds (deploy/local/store.py, fix 4)."""
        found: dict[str, SubjectStream] = {}
        ids = list(dict.fromkeys(asset_ids))
        for start in range(0, len(ids), READ_CHUNK):
            async for doc in self._c.find({"_id": {"$in": ids[start : start + READ_CHUNK]}}):
                found[doc["_id"]] = _stream(doc)
        return found

    async def append_many(self, appends: Sequence[Append]) -> set[str]:
        """The batch form of ``append``: still one version-guarded single-document
        write per subject (no transaction spans two subjects), but sent as one
        ``insert_many`` for new subjects and one ``bulk_write`` for existing ones, because
        FerretDB's single SQLite writer pays per round trip, not per document.
        Returns the subjects whose append lost a version race: nothing was written
        for them; every other subject's append is done. Other errors raise (some
        appends may then be done: callers rely on replay, as after a crash)."""
        if len({a.subject for a in appends}) != len(appends):
            raise ValueError("append_many takes at most one append per subject")
        conflicts: set[str] = set()
        new = [a for a in appends if a.expected_version == 0]
        if new:
            docs = [
                {"_id": a.subject, "version": 1, "history": [codec.to_json(e) for e in a.events], "summary": a.summary}
                | self._top(a.summary)
                for a in new
            ]
            try:
                await self._c.insert_many(docs, ordered=False)
            except BulkWriteError as exc:
                errors = exc.details.get("writeErrors", [])
                if any(e.get("code") != 11000 for e in errors):
                    raise
                conflicts |= {new[e["index"]].subject for e in errors}
        old = [a for a in appends if a.expected_version != 0]
        if old:
            # Existing subjects: one bulk write of guarded updates (FerretDB answers it
            # since deploy/local/store.py fixes 3 and 5). It tells how many matched, not
            # which: when some lost their race, the documents say which appends landed.
            result = await self._c.bulk_write(
                [
                    UpdateOne(
                        {"_id": a.subject, "version": a.expected_version},
                        {
                            "$push": {"history": {"$each": [codec.to_json(e) for e in a.events]}},
                            "$set": {"version": a.expected_version + 1, "summary": a.summary} | self._top(a.summary),
                        },
                    )
                    for a in old
                ],
                ordered=False,
            )
            if result.matched_count != len(old):
                stored = await self.load_many([a.subject for a in old])
                conflicts |= {
                    a.subject for a in old if a.subject not in stored or stored[a.subject].find(a.events[0].id) is None
                }
        return conflicts

    async def append(
        self, asset_id: str, expected_version: int, events: Sequence[Envelope], summary: dict[str, Any]
    ) -> None:
        new = [codec.to_json(e) for e in events]
        if expected_version == 0:
            try:
                await self._c.insert_one(
                    {"_id": asset_id, "version": 1, "history": new, "summary": summary} | self._top(summary)
                )
            except DuplicateKeyError:
                raise VersionConflict(asset_id) from None
            return
        result = await self._c.update_one(
            {"_id": asset_id, "version": expected_version},
            {
                "$push": {"history": {"$each": new}},
                "$set": {"version": expected_version + 1, "summary": summary} | self._top(summary),
            },
        )
        if result.matched_count != 1:
            raise VersionConflict(asset_id)

    async def find_by(self, **summary_fields: Any) -> list[SubjectStream]:
        return [_stream(d) async for d in self._c.find(self._query(summary_fields))]

    async def summaries_by(self, **summary_fields: Any) -> list[tuple[str, dict[str, Any]]]:
        """``find_by`` without the streams: each selected subject's summary only."""
        return [(d["_id"], d["summary"]) async for d in self._c.find(self._query(summary_fields), {"summary": 1})]

    def _query(self, summary_fields: dict[str, Any]) -> dict[str, Any]:
        return {k if k in self._promoted else f"summary.{k}": v for k, v in summary_fields.items()}


def _stream(doc: dict[str, Any]) -> SubjectStream:
    return SubjectStream(doc["_id"], doc["version"], [codec.from_json(e) for e in doc["history"]])
