"""What the documents issued with custody facts say: the berita acara handing a laptop
to its holder (berita acara serah terima pemegang) and the write-off proposal (usulan
penghapusan BMN). Like the BAST: numbered, dated, naming who acted, with the laptop's
BMN fields and a verification QR; drawn deterministically (``adapters/document_pdf.py``)
so the SHA-256 recorded in the fact holds for every copy.

A document is named ``<asset id>-<kind>-<seq>``, ``seq`` counting that kind for the
laptop (its second holder gets berita acara 2), so its id and number are unique
without a shared counter and the same on every regeneration.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from services.handover.bast import Item, Party

Kind = Literal["assignment", "write-off"]
UNSIGNED = "0" * 64  # the hash of a draft: the handler fills in the rendered PDF's


def document_id(asset_id: str, kind: Kind, seq: int) -> str:
    return f"{asset_id}-{kind}-{seq}"


def assignment_number(asset_id: str, office_code: str, seq: int, at: datetime) -> str:
    return f"{seq:03d}/BA-PEMEGANG/{asset_id}/{office_code}/{at.year}"


def write_off_number(asset_id: str, seq: int, at: datetime) -> str:
    return f"{seq:03d}/USUL-HAPUS/{asset_id}/{at.year}"


@dataclass(frozen=True)
class Assignment:
    """The berita acara of one assignment: the office's official hands the laptop to its holder."""

    number: str
    place: str
    at: datetime
    first: Party  # the official who hands it over, for the office
    holder: Party
    unit: str
    item: Item
    verify_url: str


WRITE_OFF_REASONS = {
    "beyond_repair": "rusak berat dan tidak dapat diperbaiki",
    "lost": "hilang",
    "obsolete": "usang, tidak lagi layak digunakan",
}


@dataclass(frozen=True)
class WriteOffProposal:
    """The proposal to write a laptop off: who proposes, why, and the laptop as it stands."""

    number: str
    place: str
    at: datetime
    proposer: Party
    reason: str  # a WriteOffReason value
    note: str
    item: Item
    verify_url: str


Document = Assignment | WriteOffProposal
