"""The vendor CSV reader: every row judged with its line number, hostile files
refused clearly, rejects written so a spreadsheet never runs them as formulas."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from services.cli import importer

HEADER = (
    "serial,brand,model,cpu,ram_gb,storage_gb,warranty_end,kode_barang,nup,acquisition_year,acquisition_value,condition"
)
GOOD = "5CG1,HP,ProBook 440 G9,Intel i5,16,512,2029-12-31,3100102001,17,2025,15.250.000,B"


def rows(text: str) -> list[importer.Row]:
    return list(importer.read_rows(text))


def test_a_good_row_becomes_the_api_body_with_bmn_fields() -> None:
    [row] = rows(f"{HEADER}\n{GOOD}\n")
    assert row.line == 2 and row.code is None
    assert row.body == {
        "serial": "5CG1",
        "brand": "HP",
        "model": "ProBook 440 G9",
        "specs": {"cpu": "Intel i5", "ram_gb": 16, "storage_gb": 512},
        "warranty_end": "2029-12-31",
        "bmn": {
            "kode_barang": "3100102001",
            "nup": 17,
            "acquisition_year": 2025,
            "acquisition_value": 15_250_000,
            "condition": "B",
        },
    }


def test_semicolon_files_with_a_bom_as_spreadsheets_export_them_are_read() -> None:
    data = ("\ufeff" + HEADER.replace(",", ";") + "\r\n" + GOOD.replace(",", ";") + "\r\n").encode()
    [row] = rows(importer.decode(data))
    assert row.body is not None and row.body["serial"] == "5CG1"


def test_only_required_columns_in_any_order_and_case_are_enough() -> None:
    [row] = rows("RAM_GB,Serial,brand,model,cpu,storage_gb\n8,X-1,Acer,TMP214,i3,256\n")
    assert row.body is not None and row.body["bmn"] == {"condition": "B"}


def test_a_file_with_the_wrong_delimiter_or_missing_columns_is_refused_as_a_whole() -> None:
    with pytest.raises(importer.ImportFileError, match="missing column"):
        rows(HEADER.replace(",", "\t") + "\n" + GOOD.replace(",", "\t"))
    with pytest.raises(importer.ImportFileError, match="ram_gb, storage_gb"):
        rows("serial,brand,model,cpu\nA,B,C,D\n")
    with pytest.raises(importer.ImportFileError, match="empty"):
        rows("")
    with pytest.raises(importer.ImportFileError, match="not UTF-8"):
        importer.decode(HEADER.encode() + b"\n\xff\xfe")


def test_bad_rows_are_rejected_with_their_line_and_reason_and_good_rows_still_go_in() -> None:
    text = (
        "\n".join(
            [
                HEADER,
                GOOD,
                "5CG2,HP,ProBook,i5,sixteen,512,,,,,,B",  # line 3
                "5CG3,HP,ProBook,i5,16,512,31-31-2029,,,,,B",  # 4
                "5CG4,HP,ProBook,i5,99999,512,,,,,,B",  # 5: absurd RAM
                "5CG5,HP,ProBook,i5,16,512,,12345,,,,B",  # 6: kode barang not 10 digits
                "5CG6,HP,ProBook,i5,16,512,,,,1890,,B",  # 7: absurd year
                "5CG7,HP,ProBook,i5,16,512,,,,,,XX",  # 8: unknown condition
                "5cg1,HP,ProBook,i5,16,512,,,,,,B",  # 9: same serial as line 2
                "5CG8,HP,ProBook,i5,16",  # 10: cells missing
                "bad serial!,HP,ProBook,i5,16,512,,,,,,B",  # 11
                "5CG9,HP,ProBook,i5,16,512,,,,,99999999999999,B",  # 12: absurd value
                "5CG10,Dell,Latitude 3440,i7,32,1024,,,,,,rr",  # 13: good, lower-case condition
            ]
        )
        + "\n"
    )
    result = {r.line: r for r in rows(text)}
    assert result[2].body and result[13].body and result[13].body["bmn"]["condition"] == "RR"
    expect = {
        3: ("invalid_value", "ram_gb"),
        4: ("invalid_value", "warranty_end"),
        5: ("invalid_value", "ram_gb"),
        6: ("invalid_value", "kode_barang"),
        7: ("invalid_value", "acquisition_year"),
        8: ("invalid_value", "condition"),
        9: ("duplicate_serial", "line 2"),
        10: ("wrong_cell_count", "cells"),
        11: ("invalid_value", "serial"),
        12: ("invalid_value", "acquisition_value"),
    }
    for line, (code, words) in expect.items():
        assert result[line].body is None and result[line].code == code, (line, result[line])
        assert words in (result[line].reason or ""), (line, result[line].reason)


def test_a_ten_megabyte_cell_rejects_its_row_only() -> None:
    huge = "A" * 10_000_000
    text = f"{HEADER}\n5CGX,HP,{huge},i5,16,512,,,,,,B\n{GOOD}\n"
    result = rows(text)
    assert [r.code for r in result] == ["field_too_long", None]
    assert "10,000,000 characters" in (result[0].reason or "")


def test_rejects_are_written_so_no_cell_runs_as_a_formula(tmp_path: Path) -> None:
    text = f'{HEADER}\n"=HYPERLINK(""http://evil"",""x"")",+cmd,-1,@SUM(A1),16,512,,,,,,B\n'
    result = rows(text)
    assert result[0].code == "invalid_value"
    out = tmp_path / "rejects.csv"
    importer.write_rejects(out, result, importer.COLUMNS)
    written = list(csv.reader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    assert written[0][:3] == ["line", "code", "reason"]
    cells = dict(zip(written[0], written[1], strict=True))
    assert cells["serial"] == '\'=HYPERLINK("http://evil","x")'
    assert (cells["brand"], cells["model"], cells["cpu"]) == ("'+cmd", "'-1", "'@SUM(A1)")
    assert all(not c.startswith(("=", "+", "-", "@", "\t", "\r")) for c in written[1])


def test_chunks_respect_the_row_and_body_limits() -> None:
    text = HEADER + "\n" + "\n".join(GOOD.replace("5CG1", f"S{i}") for i in range(1000)) + "\n"
    good = [r for r in rows(text) if r.body]
    parts = list(importer.chunks(good, max_rows=200, max_bytes=20_000))
    assert sum(len(p) for p in parts) == 1000
    assert all(len(p) <= 200 for p in parts) and len(parts) > 5


def test_an_import_over_the_rate_limit_waits_as_told_and_sends_every_chunk_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import functools

    import httpx

    answered: list[int] = []

    def gateway(request: httpx.Request) -> httpx.Response:
        if len(answered) in (0, 2):  # the first try, and the second chunk's first try: over the limit
            answered.append(429)
            return httpx.Response(429, headers={"Retry-After": "0"}, json={"code": "rate_limited"})
        laptops = json.loads(request.content)["laptops"]
        answered.append(200)
        return httpx.Response(
            200, json={"results": [{"index": i, "result": "registered"} for i in range(len(laptops))]}
        )

    monkeypatch.setattr(
        httpx, "AsyncClient", functools.partial(httpx.AsyncClient, transport=httpx.MockTransport(gateway))
    )
    csv_path = tmp_path / "laptops.csv"
    csv_path.write_text(HEADER + "\n" + "\n".join(GOOD.replace("5CG1", f"S{i}") for i in range(5)) + "\n")
    summary = importer.run_import(
        csv_path, "http://gateway.test", tmp_path / "rejects.csv", chunk_rows=3, parallel=1, progress=False
    )
    assert summary.registered == 5 and summary.rejected == 0
    assert answered == [429, 200, 429, 200]
