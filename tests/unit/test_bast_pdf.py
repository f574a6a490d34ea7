"""The BAST PDF renders whatever officials and vendors typed, as text."""

from __future__ import annotations

import io
import random
import string
from datetime import UTC, datetime
from typing import get_args

import pypdf
from hypothesis import given, settings
from hypothesis import strategies as st

from events.catalog import CONDITIONS, LEGAL_KINDS, Condition, LegalKind, ReceiptLine
from services.handover.adapters.bast_pdf import render
from services.handover.bast import Bast, Item, Party

HOSTILE = "<b>A & B</b> <para> &amp; </i>"


def bast(items: list[Item], missing: list[Item] | None = None) -> Bast:
    return Bast(
        number="BAST/001/2026",
        consignment_id="KRM-1",
        place=f"Makassar {HOSTILE}",
        at=datetime(2026, 11, 28, 3, 0, tzinfo=UTC),
        first=Party("Budi", "198001012005011001", "Kepala", f"Gudang {HOSTILE}"),
        second=Party("Andi", "198502022010011002", "Kepala Badan", "Kesbangpol Kota Makassar"),
        legal_kind="contract",
        legal_number=f"K/{HOSTILE}",
        legal_date="2026-10-01",
        items=items,
        missing=missing or [],
        originals=2,
        verify_url="https://serah.example/bast/KRM-1-1?a=1&b=2",
    )


def item(n: int, value: int | None = 12_500_000, condition: str = "B", note: str = "") -> Item:
    return Item(f"SRH{n:010d}", "Laptop", f"HP {HOSTILE}", f"SN<{n}>", "3100102001", str(n), condition, value, note)


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_markup_typed_into_any_field_is_printed_literally_not_interpreted() -> None:
    text = text_of(render(bast([item(1, condition="RR", note=HOSTILE)], missing=[item(2)])))
    assert "Makassar <b>A & B</b>" in text
    assert "Gudang <b>A & B</b>" in text
    assert "K/<b>A & B</b>" in text
    assert "SN<1>" in text and "SN<2>" in text
    assert "a=1&b=2" in text


def test_the_item_table_ends_with_the_unit_count_and_the_total_value() -> None:
    text = text_of(render(bast([item(1), item(2), item(3, value=None)])))
    assert "Jumlah: 3 unit" in text
    assert "Rp 25.000.000 (+1 unit tanpa nilai)" in text


def words(n: int, seed: int) -> str:
    rng = random.Random(seed)
    return " ".join("".join(rng.choice(string.ascii_letters) for _ in range(8)) for _ in range(n // 9 + 1))[:n]


def test_a_receipt_whose_every_line_has_a_note_of_the_longest_allowed_length_still_renders() -> None:
    longest = ReceiptLine.model_fields["note"].metadata[0].max_length
    notes = [words(longest, seed) for seed in range(3)]
    text = text_of(render(bast([item(n, condition="RR", note=note) for n, note in enumerate(notes, 1)])))
    for note in notes:
        assert note.split()[0] in text and note.split()[-1] in text


@settings(max_examples=25, deadline=None)
@given(
    notes=st.lists(st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=1000), min_size=1, max_size=4),
    conditions=st.lists(st.sampled_from(["B", "RR", "RB"]), min_size=4, max_size=4),
)
def test_any_notes_the_receipt_allows_render_into_a_bast(notes: list[str], conditions: list[str]) -> None:
    items = [item(n, condition=conditions[n], note=note) for n, note in enumerate(notes)]
    assert render(bast(items)).startswith(b"%PDF-")


def test_every_condition_and_kind_of_legal_basis_has_its_name_on_official_documents() -> None:
    assert set(CONDITIONS) == set(Condition)
    assert set(LEGAL_KINDS) == set(get_args(LegalKind))
