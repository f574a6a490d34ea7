"""Bytes on Kafka <-> envelopes <-> typed payloads, with reasons when it fails."""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from events.catalog import BY_TYPE, Payload
from events.envelope import Envelope, SubjectKind

MAX_MESSAGE_BYTES = 256 * 1024
_NAMESPACE = uuid.UUID("6f1b2a52-3c1e-4c4f-9a55-5e7a1d0b9e11")

P = TypeVar("P", bound=Payload)


class DecodeError(Exception):
    """The bytes are not a Serah message. ``reason`` is a stable code."""

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


def encode(envelope: Envelope) -> bytes:
    return orjson.dumps(to_json(envelope))


def to_json(envelope: Envelope) -> dict[str, Any]:
    """The envelope as plain JSON types, the same form for Kafka and MongoDB."""
    doc = envelope.model_dump(mode="json", exclude_none=True)
    doc["time"] = format_time(envelope.time)
    return doc


def format_time(value: datetime) -> str:
    """One fixed RFC 3339 form (UTC, microseconds, Z), so hashes are stable and
    every reader parses it. The year is always four digits: ``strftime("%Y")``
    writes year 995 as ``995``, which no RFC 3339 parser accepts."""
    v = value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:{v.second:02d}.{v.microsecond:06d}Z"


def decode(raw: bytes | str) -> Envelope:
    if isinstance(raw, str):
        raw = raw.encode()
    if len(raw) > MAX_MESSAGE_BYTES:
        raise DecodeError("too_large", f"message is {len(raw)} bytes; the limit is {MAX_MESSAGE_BYTES}")
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise DecodeError("not_json", f"not valid JSON ({exc})") from None
    return from_json(doc)


def from_json(doc: Any) -> Envelope:
    if not isinstance(doc, dict):
        raise DecodeError("not_an_envelope", "expected a JSON object (a CloudEvent)")
    try:
        envelope = Envelope.model_validate(doc)
    except ValidationError as exc:
        raise DecodeError("not_an_envelope", _summarise(exc)) from None
    if envelope.type not in BY_TYPE:
        raise DecodeError("unknown_type", f"no message type {envelope.type!r} in the Serah catalogue")
    return envelope


def subject_kind(envelope: Envelope) -> SubjectKind:
    """What the envelope's subject names: its ``subjectkind``, or for a message
    from a producer that did not set it, its type's kind."""
    if envelope.subjectkind is not None:
        return envelope.subjectkind
    cls = BY_TYPE.get(envelope.type)
    return cls.SUBJECT_KIND if cls is not None else "message"


def payload(envelope: Envelope, expected: type[P] | None = None) -> Payload:
    """The typed ``data`` of an envelope. Raises DecodeError('invalid_data', …)."""
    cls = BY_TYPE[envelope.type]
    if expected is not None and cls is not expected:
        raise DecodeError("unexpected_type", f"expected {expected.TYPE}, got {envelope.type}")
    try:
        return cls.model_validate(envelope.data)
    except ValidationError as exc:
        raise DecodeError("invalid_data", _summarise(exc)) from None


def event_id(kind: str, subject: str, key: str, index: int) -> str:
    """A deterministic id for the ``index``-th fact of ``kind`` about ``subject``
    identified by ``key``: whoever derives it again gets the same id."""
    return str(uuid.uuid5(_NAMESPACE, f"{kind}|{subject}|{key}|{index}"))


def command_digest(command: Envelope) -> str:
    """What a command asks for, hashed: its type, subject, actor and data (less
    the fields its sender makes fresh on every send, ``Payload.NOT_IN_IDENTITY``).
    Not its time or source: a device retrying a scan is the same scan."""
    cls = BY_TYPE.get(command.type)
    skip = cls.NOT_IN_IDENTITY if cls is not None else frozenset()
    data = {k: v for k, v in command.data.items() if k not in skip}
    asked = [command.type, command.subject, command.actor, data]
    return hashlib.sha256(orjson.dumps(asked, option=orjson.OPT_SORT_KEYS)).hexdigest()[:32]


def caused_id(command: Envelope, index: int, subject: str | None = None) -> str:
    """The id of the ``index``-th event ``command`` causes about ``subject`` (the
    command's own subject by default). The same command always yields the same ids,
    so a redelivered command re-emits identical events that readers dedupe by id;
    a different command under a reused id yields different ids, never a collision."""
    return event_id(command.type, subject or command.subject, f"{command.id}|{command_digest(command)}", index)


def make(
    body: Payload,
    *,
    subject: str,
    source: str,
    time: datetime,
    id: str,
    causation_id: str | None = None,
    actor: str = "system",
    subject_kind: SubjectKind | None = None,
) -> Envelope:
    """``subject_kind``: what ``subject`` names, when the type alone does not say
    (a refusal is about whatever its command was about); else the type's own."""
    return Envelope(
        id=id,
        source=source,
        type=body.TYPE,
        subject=subject,
        subjectkind=subject_kind or body.SUBJECT_KIND,
        time=time,
        causationid=causation_id,
        actor=actor,
        data=body.model_dump(mode="json", exclude_none=True),
    )


def _summarise(exc: ValidationError) -> str:
    parts = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err["loc"]) or "(root)"
        parts.append(f"{where}: {err['msg']}")
    more = exc.error_count() - 5
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")
