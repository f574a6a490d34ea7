"""Bytes on Kafka <-> envelopes <-> typed payloads, with reasons when it fails."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, TypeVar

import orjson
from pydantic import ValidationError

from events.catalog import BY_TYPE, Payload
from events.envelope import Envelope

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
    # One fixed RFC 3339 form (UTC, microseconds, Z) so hashes are stable.
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


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


def payload(envelope: Envelope, expected: type[P] | None = None) -> Payload:
    """The typed ``data`` of an envelope. Raises DecodeError('invalid_data', …)."""
    cls = BY_TYPE[envelope.type]
    if expected is not None and cls is not expected:
        raise DecodeError("unexpected_type", f"expected {expected.TYPE}, got {envelope.type}")
    try:
        return cls.model_validate(envelope.data)
    except ValidationError as exc:
        raise DecodeError("invalid_data", _summarise(exc)) from None


def event_id(command_type: str, subject: str, causation_id: str, index: int) -> str:
    """Deterministic: the same command always yields the same event ids, so a
    redelivered command re-emits identical events that readers dedupe by id."""
    return str(uuid.uuid5(_NAMESPACE, f"{command_type}|{subject}|{causation_id}|{index}"))


def make(
    body: Payload,
    *,
    subject: str,
    source: str,
    time: datetime,
    id: str,
    causation_id: str | None = None,
    actor: str = "system",
) -> Envelope:
    return Envelope(
        id=id,
        source=source,
        type=body.TYPE,
        subject=subject,
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
