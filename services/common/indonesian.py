"""Dates as people in Indonesia read them on official papers and pages
("2 November 2026"), in Western Indonesian Time. One formatter for every page and
PDF, so no ISO date reaches a reader."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

WIB = timezone(timedelta(hours=7))
DAYS = ["Senin", "Selasa", "Rabu", "Kamis", "Jumat", "Sabtu", "Minggu"]
MONTHS = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]


def local_date(value: date | datetime | str) -> date:
    """The calendar day in WIB; a bare date (or ISO date string) is taken as it is."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value or " " in value.strip() else date.fromisoformat(value)
    if isinstance(value, datetime):
        aware = value if value.tzinfo else value.replace(tzinfo=UTC)
        return aware.astimezone(WIB).date()
    return value


def tanggal(value: date | datetime | str) -> str:
    """``2 November 2026``."""
    d = local_date(value)
    return f"{d.day} {MONTHS[d.month - 1]} {d.year}"
