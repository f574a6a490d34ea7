"""``serah import-holders holders.csv``: an office's staff list and who holds which laptop.

One row per civil servant. Columns (header row required, names case-insensitive, order
free; comma or semicolon separated; UTF-8 with or without BOM, like ``serah import``):

    office_code*, nip*, name*, jabatan*, unit*,
    serial | asset_id (optional: the laptop this person holds), condition (optional: B, RR or RB)

Indonesian header names work too (``kode kantor``, ``nama``, ``unit kerja``, ``nomor
seri``, ``kode aset``, ``kondisi``, … see ``ALIASES``). Every row is checked with the line
it starts on; a bad row goes to a rejects CSV with the reason and is left out. Then, per
office, everyone listed becomes the office's staff list (``POST /api/v1/offices/{code}/roster``,
replacing the previous one), and each row that names a laptop hands it to that person
(``POST /api/v1/laptops/{asset}/holder``), by the official given with ``--by-*``, who
signs the berita acara. Each person then confirms by scanning the label.

Re-running the same file records the same lists and replays the same handovers (their
ids come from the rows), so an interrupted import is finished by running it again.
"""

from __future__ import annotations

import hashlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from services.cli.admin import auth_headers
from services.cli.csvfile import ImportFileError, Row, cell, decode, records, write_rejects

REQUIRED = ("office_code", "nip", "name", "jabatan", "unit")
COLUMNS = (*REQUIRED, "serial", "asset_id", "condition")
ALIASES = {
    "kode kantor": "office_code",
    "kode wilayah": "office_code",
    "nip pegawai": "nip",
    "nama": "name",
    "nama pegawai": "name",
    "nama lengkap": "name",
    "unit kerja": "unit",
    "bidang": "unit",
    "nomor seri": "serial",
    "no seri": "serial",
    "kode aset": "asset_id",
    "kondisi": "condition",
}


@dataclass
class HolderSummary:
    offices: int = 0
    listed: int = 0
    assigned: int = 0
    pending: int = 0
    rejected_rows: int = 0
    seconds: float = 0.0
    rejects: list[Row] = field(default_factory=list)


def _row_body(raw: dict[str, str]) -> dict[str, Any]:
    """The checked values of one row, or ValueError with a sentence saying what to fix."""
    from pydantic import ValidationError

    from events import labels, offices
    from events.catalog import SERIAL, Holder

    v = {k: cell(raw.get(k, "")) for k in COLUMNS}
    if offices.get(v["office_code"]) is None:
        raise ValueError(f"office_code {v['office_code']!r} is not an official region code (e.g. 73.71).")
    try:
        # The same model the API and the workers check: free text is refused here, row by row.
        holder = Holder(name=v["name"], nip=v["nip"], jabatan=v["jabatan"], unit=v["unit"])
    except ValidationError as exc:
        first = exc.errors()[0]
        where = str(first["loc"][0]) if first["loc"] else "row"
        hint = " (the 18-digit NIP)" if where == "nip" else ""
        raise ValueError(f"{where}{hint}: {first['msg']}") from None
    if v["serial"] and v["asset_id"]:
        raise ValueError("give the laptop by serial or by asset_id, not both.")
    if v["serial"] and not re.fullmatch(SERIAL, v["serial"]):
        raise ValueError(f"serial {v['serial'][:40]!r} is not a serial (letters, digits and . _ / -, at most 64).")
    asset = v["asset_id"] or (labels.asset_id_for_serial(v["serial"]) if v["serial"] else None)
    if asset is not None and not labels.ASSET_ID.fullmatch(asset):
        raise ValueError(f"asset_id {asset!r} is not an asset id (SRH + 10 characters).")
    condition = (v["condition"] or "B").upper()
    if condition not in ("B", "RR", "RB"):
        raise ValueError(f"condition {v['condition'][:10]!r} must be B, RR or RB.")
    return {
        "office_code": v["office_code"],
        "holder": holder.model_dump(mode="json"),
        "asset_id": asset,
        "condition": condition,
    }


def read_holders(text: str) -> tuple[dict[str, list[Row]], list[Row]]:
    """Every row checked; the good ones grouped by office. A person listed twice in an
    office, or a laptop given to two people, is refused on its later line."""
    rows = list(records(text, COLUMNS, ALIASES, REQUIRED, what="civil servant"))
    by_office: dict[str, list[Row]] = {}
    nips: dict[tuple[str, str], int] = {}
    laptops: dict[str, int] = {}
    for row in rows:
        if row.code is not None:
            continue
        try:
            b = row.body = _row_body(row.raw)
        except ValueError as exc:
            row.code, row.reason = "invalid_value", str(exc)
            continue
        key = (b["office_code"], b["holder"]["nip"])
        if key in nips:
            row.body, row.code = None, "duplicate_person"
            row.reason = f"NIP {key[1]} is already listed for office {key[0]} on line {nips[key]}; keep one row."
            continue
        if b["asset_id"] and b["asset_id"] in laptops:
            row.body, row.code = None, "duplicate_laptop"
            row.reason = f"this laptop is already handed out on line {laptops[b['asset_id']]}; one holder each."
            continue
        nips[key] = row.line
        if b["asset_id"]:
            laptops[b["asset_id"]] = row.line
        by_office.setdefault(b["office_code"], []).append(row)
    return by_office, [r for r in rows if r.code is not None]


def _request_id(row: Row) -> str:
    """The same row imported again is the same handover (the service replays it)."""
    b = row.body or {}
    digest = hashlib.sha256(repr(sorted((k, str(v)) for k, v in b.items())).encode()).hexdigest()[:16]
    return f"holder-{b.get('asset_id')}-{digest}"


def _refused(row: Row, r: Any) -> None:
    try:
        problem = r.json()
    except ValueError:
        problem = {}
    row.code = problem.get("code", str(r.status_code))
    row.reason = problem.get("detail", r.text[:200])


def run_import_holders(
    csv_path: Path, url: str, rejects_path: Path, official: dict[str, str], progress: bool = True
) -> HolderSummary:
    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    started = time.monotonic()
    by_office, rejects = read_holders(decode(csv_path.read_bytes()))
    s = HolderSummary(rejects=rejects)
    total = sum(len(rows) for rows in by_office.values())
    with (
        httpx.Client(base_url=url, timeout=60, headers=auth_headers()) as client,
        Progress(
            TextColumn("[bold]holders"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("rows"),
            disable=not progress,
        ) as bar,
    ):
        task = bar.add_task("holders", total=total)
        for office, rows in by_office.items():
            members = [row.body["holder"] for row in rows if row.body]
            r = client.post(f"/api/v1/offices/{office}/roster", json={"members": members})
            if r.status_code >= 500:
                raise RuntimeError(f"the server did not record office {office}'s list ({r.status_code})")
            if r.status_code not in (200, 202):
                for row in rows:
                    _refused(row, r)
                    s.rejects.append(row)
                bar.advance(task, len(rows))
                continue
            s.offices += 1
            s.listed += len(rows)
            for row in rows:
                b = row.body or {}
                if b.get("asset_id"):
                    body = {
                        "request_id": _request_id(row),
                        "holder": b["holder"],
                        "condition": b["condition"],
                        "assigned_by": official,
                    }
                    r = client.post(f"/api/v1/laptops/{b['asset_id']}/holder", json=body)
                    if r.status_code == 200:
                        s.assigned += 1
                    elif r.status_code == 202:
                        s.pending += 1
                    elif r.status_code < 500:
                        _refused(row, r)
                        s.rejects.append(row)
                    else:
                        raise RuntimeError(f"the server did not decide line {row.line} ({r.status_code})")
                bar.advance(task)
    s.rejects.sort(key=lambda r: r.line)
    s.rejected_rows = len(s.rejects)
    write_rejects(rejects_path, s.rejects, COLUMNS)
    s.seconds = time.monotonic() - started
    return s


def import_holders(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The staff and holders CSV."),
    by_name: str = typer.Option(..., "--by-name", help="The official who hands the laptops out (the berita acara)."),
    by_nip: str = typer.Option(..., "--by-nip", help="Their 18-digit NIP."),
    by_jabatan: str = typer.Option(..., "--by-jabatan", help="Their position (jabatan)."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SERAH_URL", help="The Serah gateway."),
    rejects: Path = typer.Option(None, help="Where to write rejected rows (default: <file>.rejects.csv)."),
) -> None:
    """Record each office's staff list and hand each listed laptop to its holder."""
    from pydantic import ValidationError

    from events.catalog import Official

    try:
        official = Official(name=by_name, nip=by_nip, jabatan=by_jabatan).model_dump(mode="json")
    except ValidationError as exc:
        typer.echo(f"serah: --by-{exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", err=True)
        raise typer.Exit(2) from None
    rejects_path = rejects or csv_file.with_suffix(".rejects.csv")
    try:
        s = run_import_holders(csv_file, url, rejects_path, official)
    except ImportFileError as exc:
        typer.echo(f"serah: {csv_file}: {exc}", err=True)
        raise typer.Exit(1) from None
    except (RuntimeError, OSError) as exc:
        typer.echo(f"serah: import-holders stopped: {exc}. Run the same command again to finish.", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"offices {s.offices}, people listed {s.listed}, laptops handed out {s.assigned}"
        + (f" (pending {s.pending})" if s.pending else "")
        + f", rejected rows {s.rejected_rows} — in {s.seconds:.1f}s"
    )
    if s.rejects:
        typer.echo(f"rejected rows with their reasons: {rejects_path}")
    raise typer.Exit(0 if not s.rejects else 3)
