"""How a label's text fits its sticker (the QR itself is tested by decoding printed sheets, e2e)."""

from __future__ import annotations

from reportlab.lib.units import mm

from services.gateway.adapters.label_pdf import _fit

LONG = "Badan Kesatuan Bangsa dan Politik Kabupaten Kepulauan Siau Tagulandang Biaro"


def test_a_long_office_name_shrinks_to_fit_whole_rather_than_being_cut() -> None:
    fitted = _fit(LONG, width=22 * mm, height=22, size=6)
    assert " ".join(part for part, _ in fitted) == LONG
    assert fitted[0][1] < 6
    assert len(fitted) * (fitted[0][1] + 1) <= 22


def test_a_short_office_name_keeps_the_normal_size() -> None:
    assert _fit("Badan Kesbangpol Kota Makassar", width=40 * mm, height=30, size=6) == [
        ("Badan Kesbangpol Kota Makassar", 6)
    ]


def test_a_name_that_cannot_fit_even_at_the_smallest_size_is_cut_with_an_ellipsis() -> None:
    fitted = _fit(LONG * 3, width=15 * mm, height=10, size=6)
    assert fitted[-1][0].endswith("…")
    assert all(size == 4.0 for _, size in fitted)
    assert len(fitted) == 2
