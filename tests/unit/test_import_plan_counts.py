"""Issue 4c: ``serah import-plan`` rows that plan a consignment by count."""

from __future__ import annotations

import pytest

from services.cli.import_plan import read_plans

HEADER = (
    "consignment_id,office_code,official_name,official_nip,official_jabatan,"
    "legal_basis_kind,legal_basis_number,legal_basis_date,serial,expected_count\n"
)
ROW = "{cid},73.71,Andi,198001012005011001,Kepala Badan,contract,KEP-1/2026,2026-01-05,{serial},{count}\n"


def test_a_count_row_plans_a_consignment_by_count_and_a_second_row_adds_an_official() -> None:
    text = (
        HEADER
        + ROW.format(cid="C-N", serial="", count="25")
        + ROW.format(cid="C-N", serial="", count="25").replace("Andi", "Budi").replace("1001,", "1002,")
        + ROW.format(cid="C-L", serial="SN1", count="")
    )
    plans, rejects = read_plans(text)
    assert rejects == []
    by_id = {p.consignment_id: p for p in plans}
    assert by_id["C-N"].body["expected_count"] == 25 and "expected" not in by_id["C-N"].body
    assert [o["name"] for o in by_id["C-N"].body["officials"]] == ["Andi", "Budi"]
    assert by_id["C-N"].lines == [2, 3]
    assert "expected_count" not in by_id["C-L"].body and len(by_id["C-L"].body["expected"]) == 1


def test_a_header_with_only_expected_count_is_enough() -> None:
    header = HEADER.replace(",serial", "")
    plans, rejects = read_plans(header + ROW.format(cid="C-N", serial="", count="3").replace(",,3", ",3"))
    assert rejects == [] and plans[0].body["expected_count"] == 3


@pytest.mark.parametrize("count", ["0", "-1", "5001", "99999999999999999999", "2.5", "sepuluh", " 1e3"])
def test_a_count_that_is_not_a_whole_number_from_1_to_5000_is_rejected(count: str) -> None:
    plans, rejects = read_plans(HEADER + ROW.format(cid="C-N", serial="", count=count))
    assert plans == []
    [r] = rejects
    assert r.code == "invalid_value" and "expected_count" in (r.reason or "")


def test_a_row_with_both_a_laptop_and_a_count_is_rejected() -> None:
    plans, rejects = read_plans(HEADER + ROW.format(cid="C-N", serial="SN1", count="2"))
    assert plans == [] and rejects[0].code == "invalid_value"
    assert "exactly one of serial or asset_id" in (rejects[0].reason or "")


def test_a_consignment_mixing_laptops_and_a_count_is_rejected_whole() -> None:
    text = HEADER + ROW.format(cid="C-N", serial="", count="2") + ROW.format(cid="C-N", serial="SN1", count="")
    plans, rejects = read_plans(text)
    assert plans == []
    assert {r.line: r.code for r in rejects} == {2: "consignment_has_bad_rows", 3: "inconsistent_consignment"}
    assert "not both" in (next(r for r in rejects if r.line == 3).reason or "")


def test_count_rows_of_one_consignment_must_agree_on_the_count() -> None:
    text = HEADER + ROW.format(cid="C-N", serial="", count="2") + ROW.format(cid="C-N", serial="", count="3")
    plans, rejects = read_plans(text)
    assert plans == [] and {r.line: r.code for r in rejects}[3] == "inconsistent_consignment"
