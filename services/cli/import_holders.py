"""``serah import-holders holders.csv``: an office's staff list and who holds which laptop.

The file is ``services/common/holders_file.py``'s (the office's staff page reads the same).
Every row is checked with the line it starts on; a bad row goes to a rejects CSV with the
reason and is left out. Then, per office, everyone listed becomes the office's staff list
(``POST /api/v1/offices/{code}/roster``, replacing the previous one), and each row that
names a laptop hands it to that person (``POST /api/v1/laptops/{asset}/holder``), by the
official given with ``--by-*``, who signs the berita acara. Each person then confirms by
scanning the label.

Re-running the same file records the same lists and replays the same handovers (their
ids come from the rows), so an interrupted import is finished by running it again.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from services.cli.admin import auth_headers
from services.common.csvfile import ImportFileError, Row, decode, write_rejects
from services.common.holders_file import COLUMNS, read_holders, request_id


@dataclass
class HolderSummary:
    offices: int = 0
    listed: int = 0
    assigned: int = 0
    pending: int = 0
    rejected_rows: int = 0
    seconds: float = 0.0
    rejects: list[Row] = field(default_factory=list)


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
                        "request_id": request_id(row),
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
