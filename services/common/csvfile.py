"""Reading a CSV file as offices and vendors make them, for both importers
(``serah import``, ``serah import-plan``): UTF-8 with or without BOM, comma or
semicolon separated, a header row naming the columns (in English or by an
Indonesian alias; case, spaces and underscores do not matter), a record reported by
the line it starts on (a quoted cell may span lines). A row the file structure
already refuses (unreadable, wrong cell count, an absurdly long cell) carries its
code and reason; the importer judges the rest. Rejects are written back as a CSV a
spreadsheet opens safely."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

MAX_FIELD_CHARS = 1000  # a cell longer than this is refused, not truncated
# csv's own guard stops at 128 KiB and aborts the whole file; we read big cells
# (up to this) so that one absurd cell rejects only its row.
CSV_FIELD_LIMIT = 32 * 1024 * 1024
SPACES = " \u00a0\u202f"


def cell(value: str) -> str:
    """A cell without the spaces around it; anything else in it is judged, not trimmed."""
    return value.strip(SPACES)


def read_header(cells: list[str], columns: tuple[str, ...], aliases: dict[str, str]) -> list[str]:
    """Each header cell as the column it names ("" for one we do not use). Names match
    case-, space- and underscore-insensitively, in English or by an Indonesian alias."""
    by_key = {_key(c): c for c in columns} | {_key(a): c for a, c in aliases.items()}
    names = [by_key.get(_key(h), "") for h in cells]
    for name in set(names) - {""}:
        if names.count(name) > 1:
            given = [h for h, n in zip(cells, names, strict=True) if n == name]
            raise ImportFileError(f"columns {', '.join(map(repr, given))} all mean {name}: keep one of them.")
    return names


def _key(header: str) -> str:
    return " ".join(header.replace("_", " ").split()).lower()


class ImportFileError(ValueError):
    """The file as a whole cannot be imported (not UTF-8, no header, missing columns)."""


@dataclass
class Row:
    line: int
    raw: dict[str, str]
    body: dict[str, Any] | None = None
    code: str | None = None
    reason: str | None = None


def safe_cell(value: str) -> str:
    from events.text import spreadsheet_cell

    return spreadsheet_cell(value)


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ImportFileError(
            f"the file is not UTF-8 (byte {exc.start}): save it from the spreadsheet as 'CSV UTF-8'."
        ) from None


def sniff_delimiter(header: str) -> str:
    return ";" if header.count(";") > header.count(",") else ","


def records(
    text: str,
    columns: tuple[str, ...],
    aliases: dict[str, str],
    required: tuple[str, ...],
    *,
    what: str,
    one_of: tuple[str, ...] = (),
) -> Iterator[Row]:
    """The file's rows, blank lines skipped. Raises ImportFileError, before any row,
    when a ``required`` column is missing or none of ``one_of`` is there. ``what``
    names a row in the sentence for an empty file ("laptop")."""
    csv.field_size_limit(CSV_FIELD_LIMIT)
    delimiter = sniff_delimiter(text.split("\n", 1)[0])
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        given = next(reader)
    except StopIteration:
        raise ImportFileError(f"the file is empty: it needs a header row and one row per {what}.") from None
    header = read_header(given, columns, aliases)
    missing = [c for c in required if c not in header]
    if one_of and not set(one_of) & set(header):
        missing.append(" or ".join(one_of))
    if missing:
        raise ImportFileError(
            f"missing column(s) {', '.join(missing)} in the header {given[:12]!r}. The first row must name the "
            f"columns ({', '.join(columns)}), separated by commas or semicolons."
        )
    return _rows(reader, header, columns, delimiter)


def _rows(reader: Any, header: list[str], columns: tuple[str, ...], delimiter: str) -> Iterator[Row]:
    while True:
        line = reader.line_num + 1  # a record is reported by the line it starts on
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield Row(line, {}, code="unreadable_row", reason=f"CSV error: {exc}")
            continue
        if not any(cell(c) for c in cells):
            continue  # blank lines are what spreadsheets leave at the end
        raw = {name: (cells[i] if i < len(cells) else "") for i, name in enumerate(header) if name in columns}
        row = Row(line, raw)
        if len(cells) != len(header):
            row.code = "wrong_cell_count"
            row.reason = (
                f"{len(cells)} cells but the header has {len(header)}: is a value missing, or does it contain "
                f"an unquoted '{delimiter}'?"
            )
        elif too_long := next((k for k, v in raw.items() if len(v) > MAX_FIELD_CHARS), None):
            row.code = "field_too_long"
            row.reason = f"{too_long} has {len(raw[too_long]):,} characters; at most {MAX_FIELD_CHARS} are allowed."
        yield row


def whole_number(name: str, value: str) -> int | None:
    value = cell(value)
    if not value:
        return None
    if not re.fullmatch(r"[0-9]{1,13}", value):
        raise ValueError(f"{name} {value[:40]!r} is not a whole number (digits 0-9 only).")
    return int(value)


def rupiah(name: str, value: str) -> int | None:
    from services.cli.rupiah import parse_rupiah

    if not cell(value):
        return None
    try:
        return parse_rupiah(value)
    except ValueError as exc:
        raise ValueError(f"{name} {exc}") from None


def a_date(name: str, value: str) -> date | None:
    value = cell(value)
    if not value:
        return None
    for fmt in ("%Y-%m-%d", "%d/%m/%Y", "%d-%m-%Y"):
        try:
            if value.isascii():  # strptime would also read digits of other scripts
                return datetime.strptime(value, fmt).date()
        except ValueError:
            continue
    raise ValueError(f"{name} {value[:40]!r} is not a date: write YYYY-MM-DD (e.g. 2029-12-31).")


def write(path: Path, header: tuple[str, ...], rows: list[list[str]]) -> None:
    """A CSV that Excel opens as UTF-8, every cell safe from formula injection."""
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        out = csv.writer(handle)
        out.writerow(header)
        for cells in rows:
            out.writerow([safe_cell(c) for c in cells])


def write_rejects(path: Path, rejects: list[Row], columns: tuple[str, ...]) -> None:
    """Each rejected row with its line, code and reason, then its cells as given (cut to 200 characters)."""
    rows = [[str(r.line), r.code or "", r.reason or "", *(r.raw.get(c, "")[:200] for c in columns)] for r in rejects]
    write(path, ("line", "code", "reason", *columns), rows)
