"""The pages' two languages: the switch, the default, and numbers, dates and Rupiah
written as each language's readers write them."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from services.gateway.web.i18n import Words
from tests.gateway_fakes import client, rejecting


def test_numbers_dates_and_rupiah_read_as_each_language_writes_them() -> None:
    id_, en = Words("id"), Words("en")
    assert (id_.number(1234567), en.number(1234567)) == ("1.234.567", "1,234,567")
    assert (id_.number(0.25, 2), en.number(0.25, 2)) == ("0,25", "0.25")
    assert id_.rupiah(12_500_000) == en.rupiah(12_500_000) == "Rp\u00a012.500.000"
    late = datetime(2026, 11, 30, 20, 0, tzinfo=UTC)  # already 1 December in WIB
    assert (id_.day(late), en.day(late)) == ("1 Desember 2026", "1 December 2026")
    assert id_.tr("Masuk", "Sign in") == "Masuk" and en.tr("Masuk", "Sign in") == "Sign in"
    assert id_.number(None) == id_.day(None) == "–"


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_a_number_in_either_language_reads_back_as_itself(n: int) -> None:
    assert int(Words("id").number(n).replace(".", "")) == n
    assert int(Words("en").number(n).replace(",", "")) == n


def test_pages_are_indonesian_until_the_switch_and_english_after_it_and_the_switch_stays_on_the_site() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command"), grants=None) as browser:
            page = await browser.get("/masuk")
            assert '<html lang="id">' in page.text and 'href="/bahasa/en?next=/masuk"' in page.text
            switched = await browser.get("/bahasa/en", params={"next": "/masuk"})
            assert switched.status_code == 303 and switched.headers["location"] == "/masuk"
            assert "serah_lang=en" in switched.headers["set-cookie"]
            page = await browser.get("/masuk")
            assert '<html lang="en">' in page.text and ">Bahasa Indonesia</a>" in page.text
            # A link may carry the language itself (a finding shared with a colleague).
            assert '<html lang="id">' in (await browser.get("/masuk?lang=id")).text
            away = await browser.get("/bahasa/en", params={"next": "//evil.example"})
            assert away.headers["location"] == "/"
            unknown = await browser.get("/bahasa/xx", params={"next": "/masuk"})
            assert unknown.status_code == 422 and "set-cookie" not in unknown.headers

    asyncio.run(go())


def test_the_header_links_a_signed_in_person_or_device_to_who_they_are() -> None:
    async def go() -> None:
        async with client(rejecting("invalid_command")) as device:
            page = await device.get("/")
            assert '<a href="/masuk" class="who">test device</a>' in page.text
        async with client(rejecting("invalid_command"), grants=None) as anonymous:
            page = await anonymous.get("/")
            assert 'href="/masuk?next=/"' in page.text and 'class="who"' not in page.text

    asyncio.run(go())


def test_a_moment_is_shown_as_a_clock_in_western_indonesia_shows_it() -> None:
    at = datetime(2026, 11, 30, 17, 14, tzinfo=UTC)
    assert Words("id").moment(at) == "1 Desember 2026 00.14 WIB"
    assert Words("en").moment("2026-11-30T17:14:00+00:00") == "1 December 2026 00:14 WIB"
