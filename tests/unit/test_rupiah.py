"""Rupiah and column names as Indonesian procurement offices write them, and rows
reported by the line a spreadsheet user finds them on."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.cli import import_plan, importer
from services.cli.rupiah import parse_rupiah

MAX = 10_000_000_000


def styles(amount: int) -> list[str]:
    """Every Indonesian way of writing a whole-rupiah amount that the importer accepts."""
    plain = str(amount)
    grouped = f"{amount:,}".replace(",", ".")
    bodies = [plain, plain + ",00", plain + ",0", plain + ",-", grouped + ",00", grouped + ",-"]
    if grouped.count(".") != 1:  # one group alone is ambiguous, see below
        bodies.append(grouped)
    prefixed = [
        f"{p}{sep}{b}" for p in ("Rp", "Rp.", "RP", "rp") for sep in ("", " ", "\u00a0", "\u202f") for b in bodies
    ]
    prefixed += [f"Rp {grouped}", f"Rp\u00a0{grouped}"]
    return bodies + prefixed + [f"  {plain} ", f"\u00a0Rp {grouped},-"]


@given(st.integers(0, MAX))
def test_any_whole_rupiah_amount_in_every_indonesian_style_parses_back_to_itself(amount: int) -> None:
    for text in styles(amount):
        assert parse_rupiah(text) == amount, text


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("12.500.000,00", 12_500_000),
        ("Rp 12.500.000", 12_500_000),
        ("Rp\u00a012.500.000", 12_500_000),
        ("Rp 12.500.000,-", 12_500_000),
        ("Rp12.500.000", 12_500_000),
        ("Rp. 12.500.000,00", 12_500_000),
        ("Rp 12.500", 12_500),
        ("12.500,00", 12_500),
        ("15.250.000", 15_250_000),
        ("0", 0),
    ],
)
def test_the_forms_procurement_offices_write_are_read(text: str, value: int) -> None:
    assert parse_rupiah(text) == value


@given(st.integers(1, 999), st.integers(0, 999))
def test_one_dot_group_alone_is_refused_as_ambiguous_saying_how_to_write_it(head: int, tail: int) -> None:
    text = f"{head}.{tail:03d}"
    with pytest.raises(ValueError, match="ambiguous") as caught:
        parse_rupiah(text)
    assert f"Rp {text}" in str(caught.value)
    assert parse_rupiah(f"Rp {text}") == head * 1000 + tail  # the prefix says which is meant


@given(st.integers(1, 999), st.integers(0, 999))
def test_one_comma_group_is_refused_as_ambiguous(head: int, tail: int) -> None:
    with pytest.raises(ValueError, match="ambiguous"):
        parse_rupiah(f"{head},{tail:03d}")


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("1,234.56", "English style"),
        ("12,500,000", "English style"),
        ("Rp 12,500,000.00", "English style"),
        ("12.500.000,50", "50 sen"),
        ("12,5", "5 sen"),
        ("-12.500.000", "not a rupiah amount"),
        ("12.50.000", "not a rupiah amount"),
        ("12 500 000", "not a rupiah amount"),
        ("١٢٥٠٠", "not a rupiah amount"),
        ("Rp", "not a rupiah amount"),
        ("USD 800", "not a rupiah amount"),
        ("9" * 20, "more rupiah"),
    ],
)
def test_other_forms_are_refused_with_a_reason(text: str, words: str) -> None:
    with pytest.raises(ValueError, match=words):
        parse_rupiah(text)


HEADER = "Nomor Seri;MEREK;tipe;Prosesor;RAM;Penyimpanan;Kode_Barang;NUP;tahun  perolehan;Nilai Perolehan;kondisi"


def test_indonesian_column_names_are_read_in_any_case_and_spacing() -> None:
    text = f"{HEADER}\nSN-1;Lenovo;ThinkPad E14;i5;16;512;3100102001;7;2025;Rp 12.500.000,-;RR\n"
    [row] = list(importer.read_rows(text))
    assert row.code is None, row.reason
    assert row.body is not None
    assert (row.body["serial"], row.body["brand"], row.body["model"]) == ("SN-1", "Lenovo", "ThinkPad E14")
    assert row.body["bmn"] == {
        "kode_barang": "3100102001",
        "nup": 7,
        "acquisition_year": 2025,
        "acquisition_value": 12_500_000,
        "condition": "RR",
    }


def test_two_columns_meaning_the_same_field_refuse_the_file() -> None:
    with pytest.raises(importer.ImportFileError, match="all mean brand"):
        list(importer.read_rows("serial,brand,merek,model,cpu,ram_gb,storage_gb\n"))


def test_an_ambiguous_amount_refuses_its_row_naming_the_column() -> None:
    text = "serial,brand,model,cpu,ram_gb,storage_gb,nilai perolehan\nSN-1,HP,X,i5,8,256,12.500\n"
    [row] = list(importer.read_rows(text))
    assert row.code == "invalid_value"
    assert row.reason is not None and row.reason.startswith("acquisition_value") and "ambiguous" in row.reason


def test_a_record_spanning_several_lines_is_reported_under_its_first_line() -> None:
    text = (
        "serial,brand,model,cpu,ram_gb,storage_gb\n"  # line 1
        "SN-1,HP,ProBook,i5,8,256\n"  # line 2
        'SN-2,HP,"Pro\nBook\n440",i5,lots,256\n'  # lines 3-5
        "SN-3,HP,ProBook,i5,8,256\n"  # line 6
        '"SN-4\n",HP,"Pro\nBook",i5,8,256\n'  # lines 7-9
    )
    found = {r.raw.get("serial"): r for r in importer.read_rows(text)}
    assert found["SN-1"].line == 2
    assert found["SN-2"].line == 3 and found["SN-2"].code == "invalid_value"
    assert found["SN-3"].line == 6
    assert found["SN-4\n"].line == 7


def test_a_plan_file_reads_indonesian_column_names_and_reports_first_lines() -> None:
    text = (
        "Nomor Pengiriman,Kode Wilayah,Nama Pejabat,NIP,Jabatan,Jenis Dasar Hukum,Nomor Dasar Hukum,"
        "Tanggal Dasar Hukum,Nomor Seri\n"
        'K-1,73.71,"Andi\nPratama",198001012005011001,Kepala,contract,KEP-1,2026-10-01,SN-1\n'  # lines 2-3
        "K-1,73.71,Andi Pratama,198001012005011001,Kepala,contract,KEP-1,2026-10-01,SN-2\n"  # line 4
    )
    plans, rejects = import_plan.read_plans(text)
    assert plans == []  # the consignment with a bad row is rejected whole
    by_line = {r.line: r for r in rejects}
    assert by_line[2].code == "invalid_value" and by_line[2].reason is not None
    assert by_line[2].reason.startswith("official_name") and "U+000A" in by_line[2].reason
    assert 4 in by_line
