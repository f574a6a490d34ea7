"""Issue 4: ``serah import-plan`` reads and checks a plan CSV row by row."""

from __future__ import annotations

import pytest

from events import labels
from services.cli.import_plan import read_plans
from services.cli.importer import ImportFileError, decode

HEADER = (
    "consignment_id,office_code,official_name,official_nip,official_jabatan,"
    "legal_basis_kind,legal_basis_number,legal_basis_date,serial\n"
)
GOOD = "C-1,73.71,Andi,198001012005011001,Kepala Badan,contract,KEP-1/2026,2026-01-05,{serial}\n"


def test_rows_with_one_consignment_id_become_one_plan_with_all_its_laptops_and_officials() -> None:
    text = (
        HEADER
        + GOOD.format(serial="SN1")
        + GOOD.format(serial="SN2").replace("Andi", "Budi").replace("198001012005011001", "198001012005011002")
    )
    plans, rejects = read_plans(text)
    assert rejects == []
    [p] = plans
    assert p.body["expected"] == [labels.asset_id_for_serial("SN1"), labels.asset_id_for_serial("SN2")]
    assert [o["name"] for o in p.body["officials"]] == ["Andi", "Budi"]
    assert p.body["legal_basis"] == {"kind": "contract", "number": "KEP-1/2026", "date": "2026-01-05"}
    assert p.lines == [2, 3]


def test_semicolons_and_a_bom_are_read_like_the_laptop_import() -> None:
    text = decode(("\ufeff" + HEADER + GOOD.format(serial="SN1")).replace(",", ";").encode())
    plans, rejects = read_plans(text)
    assert rejects == [] and plans[0].body["office_code"] == "73.71"


def test_a_bad_row_is_rejected_with_its_line_and_takes_its_whole_consignment_with_it() -> None:
    text = (
        HEADER
        + GOOD.format(serial="SN1")
        + GOOD.format(serial="SN2").replace("198001012005011001", "12345")
        + GOOD.format(serial="SN3").replace("C-1", "C-2")
        + GOOD.format(serial="SN3").replace("C-1", "C-3")
        + GOOD.format(serial="SN4").replace("C-1", "C-2").replace("73.71", "73.72")
        + GOOD.format(serial="SN5").replace("C-1", "C-4").replace("contract", "gift")
    )
    plans, rejects = read_plans(text)
    assert plans == []
    by_line = {r.line: r.code for r in rejects}
    assert by_line == {
        2: "consignment_has_bad_rows",
        3: "invalid_value",
        4: "consignment_has_bad_rows",
        5: "duplicate_laptop",
        6: "inconsistent_consignment",
        7: "invalid_value",
    }
    assert "18-digit NIP" in next(r.reason for r in rejects if r.line == 3)


def test_a_file_without_the_needed_columns_is_refused_whole() -> None:
    with pytest.raises(ImportFileError, match="serial or asset_id"):
        read_plans(HEADER.replace(",serial", ",other") + "x\n")
    with pytest.raises(ImportFileError, match="office_code"):
        read_plans("consignment_id,serial\nC-1,SN1\n")
