"""JSON Schemas for every message, generated from the catalogue. The committed
copies in ``schemas/`` are checked against these by a test (no drift)."""

from __future__ import annotations

from typing import Any

from events.catalog import COMMANDS, EVENTS, Payload
from events.envelope import Envelope


def file_name(cls: type[Payload]) -> str:
    return f"{cls.TYPE}.json"


def schema_for(cls: type[Payload]) -> dict[str, Any]:
    """The full CloudEvent with this type and this ``data``."""
    envelope = Envelope.model_json_schema()
    data = cls.model_json_schema()
    defs = {**envelope.pop("$defs", {}), **data.pop("$defs", {})}
    envelope["properties"]["type"] = {"const": cls.TYPE, "title": "Type"}
    envelope["properties"]["data"] = data
    envelope["title"] = cls.__name__
    envelope["description"] = " ".join((cls.__doc__ or "").split())
    envelope["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    envelope["$id"] = f"https://serah.id/schemas/{file_name(cls)}"
    if defs:
        envelope["$defs"] = defs
    return envelope


def all_schemas() -> dict[str, dict[str, Any]]:
    return {file_name(cls): schema_for(cls) for cls in COMMANDS + EVENTS}
