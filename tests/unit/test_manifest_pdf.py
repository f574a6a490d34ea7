"""The dispatch manifest renders what planners and vendors typed, as text, and wraps it."""

from __future__ import annotations

import dataclasses
import io

import pypdf

from services.gateway.adapters.manifest_pdf import Manifest, Unit, render

HOSTILE = "<b>A & B</b> <para> &amp; </i>"


def manifest(units: list[Unit], receipt_code: str | None = "7H3K-9QPX") -> Manifest:
    return Manifest(
        consignment_id="KRM-7371-1",
        office_code="73.71",
        office_name=f"Kesbangpol Kota Makassar {HOSTILE}",
        legal_kind="contract",
        legal_number=f"K/{HOSTILE}",
        legal_date="2026-10-01",
        officials=[(f"Andi {HOSTILE}", "198502022010011002", "Kepala Badan")],
        units=units,
        receipt_code=receipt_code,
    )


def unit(n: int, brand_model: str = f"HP {HOSTILE}") -> Unit:
    return Unit(f"SRH{n:010d}", f"SN<{n}>", brand_model, "3100102001")


def text_of(pdf: bytes) -> str:
    return " ".join(" ".join(p.extract_text().split()) for p in pypdf.PdfReader(io.BytesIO(pdf)).pages)


def test_markup_typed_by_people_is_printed_as_written() -> None:
    text = text_of(render(manifest([unit(1), unit(2)])))
    assert "Andi <b>A & B</b> <para> &amp; </i>" in text
    assert "SN<1>" in text and "SN<2>" in text
    assert "7H3K-9QPX" in text


def test_a_long_brand_and_model_wraps_whole_inside_its_column() -> None:
    long = "Lenovo ThinkPad X1 Carbon Gen 12 Intel Core Ultra 7 155U vPro 32GB 1TB"
    text = text_of(render(manifest([unit(1, long)])))
    assert all(word in text for word in long.split())


def test_without_the_code_the_manifest_leaves_a_blank_to_fill_by_hand() -> None:
    text = text_of(render(manifest([unit(1)], receipt_code=None)))
    assert "fill in from the codes file" in text
    assert "7H3K-9QPX" not in text


def test_a_plan_by_count_says_how_many_of_the_count_were_picked() -> None:
    text = text_of(render(dataclasses.replace(manifest([unit(1), unit(2)]), expected_count=25)))
    assert "2 dari 25 diambil / 2 of 25 picked" in text


def test_a_plan_by_list_gives_the_plain_number_of_units() -> None:
    text = text_of(render(manifest([unit(1), unit(2)])))
    assert "Jumlah unit / Units : 2 " in text
    assert "picked" not in text
