"""The pages' two languages: Bahasa Indonesia by default, English with one switch, and
numbers, dates and Rupiah written as each language's readers write them.

The language is the ``lang`` query parameter (so a shared link can carry it), else the
``serah_lang`` cookie the switch sets, else Indonesian. A page's template gets ``tr``
(``tr("Masuk", "Sign in")``: both wordings side by side in the template, so neither can be
forgotten) and the formatters ``number``, ``rupiah`` and ``day``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Literal

from fastapi import Request

from services.common.indonesian import MONTHS, WIB, local_date

Lang = Literal["id", "en"]
LANGS: tuple[Lang, ...] = ("id", "en")
COOKIE = "serah_lang"
MONTHS_EN = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
]


def language(request: Request) -> Lang:
    for given in (request.query_params.get("lang"), request.cookies.get(COOKIE)):
        if given in LANGS:
            return given
    return "id"


@dataclass(frozen=True)
class Words:
    """What a template uses to speak its reader's language."""

    lang: Lang

    def tr(self, indonesian: str, english: str) -> str:
        return indonesian if self.lang == "id" else english

    def number(self, value: float | int | None, decimals: int = 0) -> str:
        """``12.500`` in Indonesian, ``12,500`` in English; a dash for no value."""
        if value is None:
            return "–"
        text = f"{value:,.{decimals}f}"
        if self.lang == "id":
            text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
        return text

    def rupiah(self, value: int | None) -> str:
        """``Rp 12.500.000`` (Indonesian grouping in both: it is how the amount is printed)."""
        return "–" if value is None else "Rp\u00a0" + Words("id").number(value)

    def day(self, value: date | datetime | str | None) -> str:
        """``2 November 2026`` / ``2 November 2026`` with each language's month names, in WIB."""
        if value is None or value == "":
            return "–"
        d = local_date(value)
        months = MONTHS if self.lang == "id" else MONTHS_EN
        return f"{d.day} {months[d.month - 1]} {d.year}"

    def moment(self, value: datetime | str | None) -> str:
        """``2 November 2026 09.30 WIB`` / ``2 November 2026 09:30 WIB``: the day and the
        time as a clock in Western Indonesian Time shows them."""
        if value is None or value == "":
            return "–"
        at = datetime.fromisoformat(value) if isinstance(value, str) else value
        local = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(WIB)
        sep = "." if self.lang == "id" else ":"
        return f"{self.day(local)} {local.hour:02d}{sep}{local.minute:02d} WIB"

    def other(self) -> Lang:
        return "en" if self.lang == "id" else "id"


def words(request: Request) -> Words:
    return Words(language(request))
