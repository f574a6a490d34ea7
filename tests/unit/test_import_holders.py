"""``serah import-holders`` reads a staff list with its holders row by row: each row
checked with its line, people and laptops once each, grouped by office."""

from __future__ import annotations

import pytest

from events import labels
from services.common.csvfile import ImportFileError
from services.common.holders_file import read_holders, request_id

HEADER = "kode kantor;NIP;Nama;Jabatan;Unit Kerja;Nomor Seri;Kondisi\n"


def test_rows_are_grouped_by_office_with_their_laptops_by_serial() -> None:
    text = (
        HEADER + "73.71;199001012015032001;Rina Wulandari;Analis;Bidang Politik;SN-1;rr\n"
        "73.71;198805052012121003;Budi Santoso;Staf;Sekretariat;;\n"
        "73.72;198203032006041002;Yusuf Hamzah;Sekretaris;Sekretariat;SN-2;\n"
    )
    offices, rejects = read_holders(text)
    assert rejects == []
    assert sorted(offices) == ["73.71", "73.72"]
    rina, budi = (row.body for row in offices["73.71"])
    assert rina is not None and budi is not None
    assert rina["asset_id"] == labels.asset_id_for_serial("SN-1") and rina["condition"] == "RR"
    assert rina["holder"] == {
        "name": "Rina Wulandari",
        "nip": "199001012015032001",
        "jabatan": "Analis",
        "unit": "Bidang Politik",
    }
    assert budi["asset_id"] is None  # listed, holds nothing


@pytest.mark.parametrize(
    ("line", "code", "says"),
    [
        ("99.99;199001012015032001;Rina;Analis;Politik;;", "invalid_value", "office_code"),
        ("73.71;1990;Rina;Analis;Politik;;", "invalid_value", "nip"),
        ("73.71;199001012015032001;Rina;Analis;;;", "invalid_value", "unit"),
        ("73.71;199001012015032001;Rina;Analis;Politik;SN 1;", "invalid_value", "serial"),
        ("73.71;199001012015032001;Rina;Analis;Politik;SN-1;X", "invalid_value", "condition"),
        ("73.71;199001012015032001;Ri\x07na;Analis;Politik;;", "invalid_value", "name"),
    ],
)
def test_a_bad_row_is_rejected_with_its_line_and_what_to_fix(line: str, code: str, says: str) -> None:
    offices, [reject] = read_holders(HEADER + "73.71;198805052012121003;Budi;Staf;Umum;;\n" + line + "\n")
    assert (reject.line, reject.code) == (3, code) and says in (reject.reason or ""), reject.reason
    assert [r.line for r in offices["73.71"]] == [2]


def test_a_person_is_listed_once_per_office_and_a_laptop_has_one_holder() -> None:
    text = (
        HEADER + "73.71;199001012015032001;Rina;Analis;Politik;SN-1;\n"
        "73.71;199001012015032001;Rina lagi;Analis;Politik;;\n"
        "73.72;198805052012121003;Budi;Staf;Umum;SN-1;\n"
    )
    _, rejects = read_holders(text)
    assert [(r.line, r.code) for r in rejects] == [(3, "duplicate_person"), (4, "duplicate_laptop")]


def test_the_same_row_is_the_same_handover_when_imported_again() -> None:
    text = HEADER + "73.71;199001012015032001;Rina;Analis;Politik;SN-1;\n"
    [first] = read_holders(text)[0]["73.71"]
    [again] = read_holders(text)[0]["73.71"]
    assert request_id(first) == request_id(again)
    [other] = read_holders(text.replace("Politik", "Umum"))[0]["73.71"]
    assert request_id(other) != request_id(first)


def test_a_file_without_the_required_columns_is_refused_whole() -> None:
    with pytest.raises(ImportFileError, match="missing column"):
        read_holders("nip;nama\n199001012015032001;Rina\n")
