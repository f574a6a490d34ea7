"""The one envelope for every message on Kafka: CloudEvents 1.0, JSON structured mode.

Standard attributes: ``id``, ``source``, ``type``, ``specversion``, ``time``,
``subject`` (what the message is about, see ``subjectkind``; also the Kafka key), and
``datacontenttype``. Two extension attributes (lower-case, as CloudEvents
requires) carry what auditors ask about every fact:

- ``causationid``: the id of the command that caused this event. For scans it
  is the scan id made on the scanning device, so an offline retry of the same
  scan is recognised as the same scan.
- ``actor``: who did it, as the gateway checked it: ``nip:<NIP>`` (a person with a
  NIP), ``account:<account id>`` (a person without one), ``device:<device id>``
  (an enrolled device), ``shell:<user>`` (an administrator at the server's shell),
  or ``system`` for automatic facts.

A third says what the subject is, so readers branch on data, not on the
spelling of a type name:

- ``subjectkind``: ``laptop`` (an asset id), ``consignment`` (a consignment id;
  consignment commands, their facts and their refusals), ``account`` or ``device``
  (``account:<account id>``, ``device:<device id>``: who may act, and what was
  granted to them), ``key`` (``key:<purpose>``: a key ring's changes), ``office``
  (``office:<office code>``: the office's list of staff who may hold laptops),
  ``checkpoint`` (a signed checkpoint's id) or ``message`` (a
  dead letter: the key the unreadable message had). Serah's services always set
  it; a message without it from another producer is read by its type's kind.
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


SubjectKind = Literal["laptop", "consignment", "account", "device", "key", "office", "checkpoint", "message"]


class Envelope(BaseModel):
    """A CloudEvents 1.0 event in JSON structured mode."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(pattern=SAFE_ID, description="Unique per source; for commands, the scan id.")
    source: str = Field(min_length=1, max_length=256, description="URI-reference of the producer.")
    type: str = Field(min_length=1, max_length=128, description="Names a fact (past tense) or command, with version.")
    subject: str = Field(
        pattern=SAFE_ID,
        description="What the message is about (see subjectkind): an asset id, a consignment id, …; the Kafka key.",
    )
    subjectkind: SubjectKind | None = Field(
        default=None,
        description="What the subject names: laptop, consignment, account, device, key, office, checkpoint or message.",
    )
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
