"""The one envelope for every message on Kafka: CloudEvents 1.0, JSON structured mode.

Standard attributes: ``id``, ``source``, ``type``, ``specversion``, ``time``,
``subject`` (always the asset id, which is also the Kafka key), and
``datacontenttype``. Two extension attributes (lower-case, as CloudEvents
requires) carry what auditors ask about every fact:

- ``causationid``: the id of the command that caused this event. For scans it
  is the scan id made on the scanning device, so an offline retry of the same
  scan is recognised as the same scan.
- ``actor``: who did it (a user or device id; ``system`` for automatic facts).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from events import scantime

CONTENT_TYPE = "application/cloudevents+json; charset=UTF-8"

# Asset ids, scan ids and actors end up in URLs, Kafka keys and MongoDB
# fields: keep them to a safe alphabet.
SAFE_ID = r"^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,127}$"


class Envelope(BaseModel):
    """A CloudEvents 1.0 event in JSON structured mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(pattern=SAFE_ID, description="Unique per source; for commands, the scan id.")
    source: str = Field(min_length=1, max_length=256, description="URI-reference of the producer.")
    type: str = Field(min_length=1, max_length=128, description="Names a fact (past tense) or command, with version.")
    subject: str = Field(pattern=SAFE_ID, description="The asset id the message is about; the Kafka key.")
    time: datetime
    datacontenttype: Literal["application/json"] = "application/json"
    causationid: str | None = Field(default=None, pattern=SAFE_ID)
    actor: str = Field(default="system", pattern=SAFE_ID)
    data: dict[str, Any]

    @field_validator("time")
    @classmethod
    def _time_is_aware(cls, value: datetime) -> datetime:
        return scantime.as_utc(value)


def utcnow() -> datetime:
    return datetime.now(UTC)
