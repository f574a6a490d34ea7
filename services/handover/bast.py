"""What a BAST (Berita Acara Serah Terima) says, in Indonesian government wording.

The parties, items and dates of one receipt, and the words official documents use
for them (days, months, numbers spelled out); the names of conditions and kinds of
legal basis are shared vocabulary (``events.catalog``).
The PDF itself is drawn by ``adapters/bast_pdf.py``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from services.common.indonesian import DAYS, MONTHS, WIB

ATTACH_OVER = 10  # more units than this go to an attachment page


@dataclass(frozen=True)
class Party:
    name: str
    nip: str
    jabatan: str
    office: str


@dataclass(frozen=True)
class Item:
    asset_id: str
    name: str
    brand_type: str
    serial: str
    kode_barang: str
    nup: str
    condition: str
    value: int | None
    note: str


@dataclass(frozen=True)
class Bast:
    number: str
    consignment_id: str
    place: str
    at: datetime
    first: Party
    second: Party
    legal_kind: str
    legal_number: str
    legal_date: str
    items: list[Item]
    missing: list[Item]
    originals: int
    verify_url: str
    transfer: bool = False  # a transfer between offices (mutasi): the first party signs for the giving office


def terbilang(n: int) -> str:
    """A number in Indonesian words, as written on official documents."""
    ones = ["", "satu", "dua", "tiga", "empat", "lima", "enam", "tujuh", "delapan", "sembilan", "sepuluh", "sebelas"]
    if n < 12:
        return ones[n]
    if n < 20:
        return f"{ones[n - 10]} belas"
    if n < 100:
        return f"{ones[n // 10]} puluh {ones[n % 10]}".strip()
    if n < 200:
        return f"seratus {terbilang(n - 100)}".strip()
    if n < 1000:
        return f"{ones[n // 100]} ratus {terbilang(n % 100)}".strip()
    if n < 2000:
        return f"seribu {terbilang(n - 1000)}".strip()
    if n < 1_000_000:
        return f"{terbilang(n // 1000)} ribu {terbilang(n % 1000)}".strip()
    return str(n)


def opening(at: datetime) -> str:
    local = at.astimezone(WIB)
    return (
        f"Pada hari ini {DAYS[local.weekday()]} tanggal {terbilang(local.day)} bulan {MONTHS[local.month - 1]} "
        f"tahun {terbilang(local.year)} ({local:%d-%m-%Y})"
    )


def rupiah(value: int | None) -> str:
    return "-" if value is None else "Rp " + f"{value:,}".replace(",", ".")
