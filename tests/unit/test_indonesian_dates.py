"""Every date a person reads on a BAST, a manifest or a page is written the
Indonesian way ("2 November 2026"), by one formatter, on the day it is in WIB."""

from __future__ import annotations

import asyncio
import io
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pypdf
import pytest
from hypothesis import given
from hypothesis import strategies as st

from events.catalog import RejectionReason
from services.common.indonesian import tanggal
from services.handover.adapters.bast_pdf import render
from tests.builders import code_hash
from tests.gateway_fakes import EmptyReads, client, rejecting
from tests.unit.test_bast_pdf import bast, item

BULAN = [
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


@pytest.mark.parametrize("month", range(1, 13))
def test_every_month_is_written_by_its_indonesian_name(month: int) -> None:
    assert tanggal(date(2026, month, 2)) == f"2 {BULAN[month - 1]} 2026"
    assert tanggal(f"2026-{month:02d}-02") == f"2 {BULAN[month - 1]} 2026"


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2999, 12, 31)))
def test_any_date_reads_day_month_name_year(d: date) -> None:
    day, month, year = tanggal(d).split(" ")
    assert (int(day), BULAN.index(month) + 1, int(year)) == (d.day, d.month, d.year)


@given(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)))
def test_a_moment_is_dated_by_its_day_in_western_indonesia(moment: datetime) -> None:
    assert tanggal(moment) == tanggal((moment + timedelta(hours=7)).date())
    assert tanggal(moment.isoformat()) == tanggal(moment)


def test_the_bast_prints_its_legal_basis_date_in_indonesian() -> None:
    pdf = render(bast([item(1)]))
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "tanggal 1 Oktober 2026" in text and "2026-10-01" not in text


class Plan(EmptyReads):
    async def plan(self, cid: str) -> dict[str, Any]:
        return {
            "office_code": "73.71",
            "office_name": "Kesbangpol Kota Makassar",
            "officials": [{"name": "Andi", "nip": "198001012005011001", "jabatan": "Kepala"}],
            "legal_basis": {"kind": "contract", "number": "K-9", "date": "2026-11-02"},
            "expected": [],
            "receipt_code_hash": code_hash(),
        }


def test_the_manifest_prints_its_legal_basis_date_in_indonesian() -> None:
    async def run() -> bytes:
        async with client(rejecting(RejectionReason.INVALID_COMMAND), consignments=Plan()) as api:
            r = await api.post("/api/v1/consignments/KSB-1/manifest.pdf", json={})
            assert r.status_code == 200, r.text
            return r.content

    pdf = asyncio.run(run())
    text = " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    assert "2 November 2026" in text and "2026-11-02" not in text
