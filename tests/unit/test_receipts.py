"""Issue 4: the handover service's receipt decisions and the BAST, over fakes.
Allocation decides the consignment; handover learns from what allocation publishes."""

from __future__ import annotations

import asyncio
import hashlib
import io

import pypdf
import pytest

from events.catalog import CommandRejected, LaptopReceived, ReceiptConfirmed
from events.envelope import Envelope
from services.allocation import handlers as allocation
from services.common.streams import VersionConflict
from services.handover import handlers
from services.handover.bast import opening, terbilang
from services.handover.config import HandoverSettings
from tests.builders import (
    NOW,
    OFFICIAL,
    close_consignment,
    confirm_receipt,
    new_asset,
    plan_consignment,
    register,
    scan_into,
)
from tests.fakes import FakeBastStore, allocation_with_fakes, docs, handover_with_fakes, sent


class World:
    def __init__(self) -> None:
        self.alloc = allocation_with_fakes()
        self.hand = handover_with_fakes()

    @property
    def basts(self) -> FakeBastStore:
        assert isinstance(self.hand.basts, FakeBastStore)
        return self.hand.basts

    def tell(self, command: Envelope) -> Envelope:
        """Run an allocation command and deliver everything it published to handover."""
        before = len(sent(self.alloc))
        [event] = asyncio.run(allocation.handle(command, self.alloc))
        for e in [event] + sent(self.alloc)[before:]:
            asyncio.run(handlers.on_event(e, self.hand))
        return event

    def confirm(self, command: Envelope) -> Envelope:
        [event] = asyncio.run(handlers.handle(command, self.hand))
        return event

    def dispatched(self, n: int, cid: str = "C-1", dispatcher: dict[str, str] | None = None) -> list[str]:
        assets = []
        for _ in range(n):
            serial, asset = new_asset()
            self.tell(register(serial, asset))
            assets.append(asset)
        self.tell(plan_consignment(cid, assets))
        for a in assets:
            self.tell(scan_into(cid, a))
        self.tell(close_consignment(cid, dispatcher=dispatcher))
        return assets

    def laptop(self, asset: str) -> str:
        return str(docs(self.hand.laptops)[asset]["summary"]["status"])


@pytest.fixture
def w() -> World:
    return World()


def reason(event: Envelope) -> str:
    assert event.type == CommandRejected.TYPE, event
    return str(event.data["reason"])


def test_a_full_receipt_moves_every_laptop_to_the_office_and_issues_one_bast(w: World) -> None:
    a, b = w.dispatched(2)
    event = w.confirm(confirm_receipt("C-1", [(a, "B", ""), (b, "RR", "layar retak")]))
    assert event.type == ReceiptConfirmed.TYPE
    assert event.data["complete"] is True and event.data["seq"] == 1
    assert w.laptop(a) == "received" and w.laptop(b) == "received"
    assert sorted(e.subject for e in sent(w.hand) if e.type == LaptopReceived.TYPE) == sorted([a, b])
    stored = w.basts.docs["C-1-1"]
    assert hashlib.sha256(stored["pdf"]).hexdigest() == event.data["bast_sha256"]
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(stored["pdf"])).pages)
    assert event.data["bast_number"] in text
    assert OFFICIAL["nip"] in text and "Kota Makassar" in text and "KEP-12/2026" in text
    assert "Rusak Ringan (RR)" in text


def test_the_bast_names_the_official_who_dispatched_as_the_first_party(w: World) -> None:
    who = {"name": "Rudi Hartono", "nip": "197912312005011003", "jabatan": "Kepala Gudang Regional"}
    [a] = w.dispatched(1, dispatcher=who)
    event = w.confirm(confirm_receipt("C-1", [(a, "B", "")]))
    assert event.type == ReceiptConfirmed.TYPE
    pdf = w.basts.docs["C-1-1"]["pdf"]
    text = " ".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)
    first, second = text.index("PIHAK PERTAMA"), text.index("PIHAK KEDUA")
    assert "Rudi Hartono" in text[:second] and "197912312005011003" in text[:second] and first < second
    assert "Kepala Gudang Regional" in text
    assert hashlib.sha256(pdf).hexdigest() == event.data["bast_sha256"]


def test_a_partial_receipt_leaves_the_missing_in_transit_and_a_later_one_completes_it(w: World) -> None:
    a, b = w.dispatched(2)
    first = w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[b]))
    assert first.data["complete"] is False and first.data["missing"] == [b]
    assert w.laptop(b) == "in_transit"
    second = w.confirm(confirm_receipt("C-1", [(b, "RB", "jatuh")]))
    assert second.data["complete"] is True and second.data["seq"] == 2
    assert set(w.basts.docs) == {"C-1-1", "C-1-2"}
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", "")]))) == "already_received"


def test_a_receipt_needs_the_right_code_and_an_authorised_official(w: World) -> None:
    (a,) = w.dispatched(1)
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", "")], code="WRONG123"))) == "receipt_code_invalid"
    stranger = {"name": "Orang Lain", "nip": "199001012015011002", "jabatan": "Staf"}
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", "")], official=stranger))) == "official_not_authorised"
    assert w.laptop(a) == "in_transit"
    assert w.basts.docs == {}


def test_a_receipt_of_an_unknown_or_unclosed_consignment_is_refused(w: World) -> None:
    assert reason(w.confirm(confirm_receipt("NOPE", [("SRH0000000000", "B", "")]))) == "unknown_consignment"
    serial, asset = new_asset()
    w.tell(register(serial, asset))
    w.tell(plan_consignment("C-9", [asset]))
    assert reason(w.confirm(confirm_receipt("C-9", [(asset, "B", "")]))) == "not_dispatched"


def test_a_laptop_not_travelling_in_the_consignment_is_flagged(w: World) -> None:
    (a,) = w.dispatched(1)
    (other,) = w.dispatched(1, cid="C-2")
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", ""), (other, "B", "")]))) == "not_expected"
    assert w.laptop(other) == "in_transit"


def test_a_laptop_listed_both_received_and_missing_is_invalid(w: World) -> None:
    a, b = w.dispatched(2)
    assert reason(w.confirm(confirm_receipt("C-1", [(a, "B", "")], missing=[a]))) == "invalid_command"


def test_the_same_receipt_sent_twice_is_one_receipt_and_one_bast(w: World) -> None:
    (a,) = w.dispatched(1)
    command = confirm_receipt("C-1", [(a, "B", "")])
    first = w.confirm(command)
    assert w.confirm(command) == first
    assert list(w.basts.docs) == ["C-1-1"]


def test_two_officials_confirming_at_once_give_one_receipt(w: World) -> None:
    (a,) = w.dispatched(1)

    async def as_the_stream_does(command: Envelope) -> Envelope:
        while True:  # a version conflict is transient: the worker retries in place
            try:
                [event] = await handlers.handle(command, w.hand)
                return event
            except VersionConflict:
                continue

    async def both() -> list[Envelope]:
        return await asyncio.gather(
            as_the_stream_does(confirm_receipt("C-1", [(a, "B", "")])),
            as_the_stream_does(confirm_receipt("C-1", [(a, "RR", "")])),
        )

    outcomes = asyncio.run(both())
    assert sorted(e.type for e in outcomes) == sorted([ReceiptConfirmed.TYPE, CommandRejected.TYPE])
    assert [reason(e) for e in outcomes if e.type == CommandRejected.TYPE] == ["already_received"]
    assert list(w.basts.docs) == ["C-1-1"]


def test_a_regenerated_bast_has_the_same_bytes(w: World) -> None:
    (a,) = w.dispatched(1)
    command = confirm_receipt("C-1", [(a, "B", "")])
    event = w.confirm(command)
    w.basts.docs.clear()  # as if the worker crashed before storing the PDF
    assert w.confirm(command) == event
    assert hashlib.sha256(w.basts.docs["C-1-1"]["pdf"]).hexdigest() == event.data["bast_sha256"]


def test_dates_are_written_in_indonesian_words() -> None:
    assert terbilang(2026) == "dua ribu dua puluh enam"
    assert terbilang(11) == "sebelas" and terbilang(115) == "seratus lima belas"
    assert opening(NOW).startswith(
        "Pada hari ini Sabtu tanggal dua puluh delapan bulan November tahun dua ribu dua puluh enam"
    )


def test_two_consignments_to_one_office_in_one_year_get_different_bast_numbers(w: World) -> None:
    a = w.dispatched(1, "C-1")[0]
    b = w.dispatched(1, "C-2")[0]
    first = w.confirm(confirm_receipt("C-1", [(a, "B", "")]))
    second = w.confirm(confirm_receipt("C-2", [(b, "B", "")]))
    assert first.data["seq"] == second.data["seq"] == 1
    assert first.data["bast_number"] != second.data["bast_number"]
    assert first.data["bast_number"] == f"001/BAST/C-1/73.71/{NOW.year}"


@pytest.mark.parametrize(
    "pattern", ["{seq:03d}/BAST/{office_code}/{year}", "{consignment_id}/{nomor}", "{seq}/{consignment_id}/{nomor}"]
)
def test_a_bast_number_pattern_that_could_collide_or_not_format_is_refused_at_start(pattern: str) -> None:
    with pytest.raises(ValueError, match="SERAH_BAST_NUMBER_PATTERN"):
        HandoverSettings(bast_number_pattern=pattern)
