"""An office's list of staff (daftar pegawai) who may hold its laptops, in business words.

- The list is the office's, keyed ``office:<office code>``; each recording replaces
  the previous one as a whole, so the list is always what the office last said.
- It must name an official office (``unknown_office``), the office its subject names,
  and each civil servant once, by NIP (``invalid_command``).
- The list decides nothing about who may be handed a laptop: the audit compares the
  holders with it and raises an anomaly for a laptop held by someone not on it.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

from events import offices
from events.catalog import OfficeRosterRecorded, Payload, RecordOfficeRoster, RejectionReason
from events.envelope import Envelope
from events.refusals import refuse

SUBJECT_PREFIX = "office:"


def subject(office_code: str) -> str:
    return f"{SUBJECT_PREFIX}{office_code}"


@dataclass(frozen=True)
class Roster:
    subject: str
    members: tuple[str, ...] = field(default_factory=tuple)  # NIPs
    recorded: int = 0


def initial(subject: str) -> Roster:
    return Roster(subject)


def evolve(r: Roster, event: Envelope) -> Roster:
    if event.type == OfficeRosterRecorded.TYPE:
        return replace(r, members=tuple(m["nip"] for m in event.data["members"]), recorded=r.recorded + 1)
    return r


def summary(r: Roster) -> dict[str, Any]:
    return {"members": len(r.members), "recorded": r.recorded}


def record(r: Roster, command: RecordOfficeRoster) -> Payload:
    office = offices.get(command.office_code)
    if office is None:
        return refuse(
            command,
            RejectionReason.UNKNOWN_OFFICE,
            f"{command.office_code} is not an official region code; see GET /api/v1/offices.",
        )
    if r.subject != subject(office.code):
        return refuse(
            command,
            RejectionReason.INVALID_COMMAND,
            f"the list of office {office.code} is recorded under {subject(office.code)}, not {r.subject}.",
        )
    nips = [m.nip for m in command.members]
    if twice := sorted({n for n in nips if nips.count(n) > 1}):
        return refuse(command, RejectionReason.INVALID_COMMAND, f"each NIP once: {', '.join(twice[:10])} twice.")
    return OfficeRosterRecorded(office_code=office.code, members=command.members)
