"""``serah import laptops.csv``: register a vendor's delivery list.

Columns (header row required, names case-insensitive, order free; comma or
semicolon separated; UTF-8 with or without BOM, as spreadsheets export them):

    serial*, brand*, model*, cpu*, ram_gb*, storage_gb*, warranty_end,
    kode_barang, nup, acquisition_year, acquisition_value, condition

(* required). Header names may also be the Indonesian ones procurement offices
use (``nomor seri``, ``merek``, ``tipe``, ``nilai perolehan``, … see
``ALIASES``); case, spaces and underscores in them do not matter.
``warranty_end`` is YYYY-MM-DD or DD/MM/YYYY; ``kode_barang`` 10 digits (dots
allowed); ``acquisition_value`` whole Rupiah as Indonesian files write it
(``12.500.000``, ``12.500.000,00``, ``Rp 12.500.000,-``; ambiguous forms such as
``12.500`` are refused: see ``services.cli.rupiah``); ``condition`` B, RR or RB
(default B). Cells are trimmed of spaces; a control character (tab, line break,
escape, …) in a cell refuses its row.

Every row is checked with the line it starts on (a quoted cell may span lines); bad rows go to a rejects CSV with the
reason, good rows are sent to ``POST /api/v1/laptops/bulk`` in chunks. The
serial names the laptop (asset id = f(serial)) and the row names its command
(``register-<asset>-<digest>``), so importing the same file again, or again after an interruption, registers
nothing twice and ends in the same state.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import typer

from services.cli.admin import auth_headers
from services.common.csvfile import (
    ImportFileError,
    Row,
    a_date,
    cell,
    decode,
    records,
    rupiah,
    whole_number,
    write_rejects,
)

REQUIRED = ("serial", "brand", "model", "cpu", "ram_gb", "storage_gb")
OPTIONAL = ("warranty_end", "kode_barang", "nup", "acquisition_year", "acquisition_value", "condition")
COLUMNS = REQUIRED + OPTIONAL
# Column names as Indonesian procurement and BMN lists write them.
ALIASES = {
    "nomor seri": "serial",
    "no seri": "serial",
    "no. seri": "serial",
    "serial number": "serial",
    "merek": "brand",
    "merk": "brand",
    "tipe": "model",
    "type": "model",
    "prosesor": "cpu",
    "processor": "cpu",
    "ram": "ram_gb",
    "ram gb": "ram_gb",
    "memori": "ram_gb",
    "memori gb": "ram_gb",
    "penyimpanan": "storage_gb",
    "penyimpanan gb": "storage_gb",
    "storage": "storage_gb",
    "akhir garansi": "warranty_end",
    "garansi sampai": "warranty_end",
    "kode barang": "kode_barang",
    "tahun perolehan": "acquisition_year",
    "nilai perolehan": "acquisition_value",
    "harga perolehan": "acquisition_value",
    "kondisi": "condition",
}


@dataclass
class Summary:
    registered: int = 0
    already_present: int = 0
    rejected: int = 0
    pending: int = 0
    seconds: float = 0.0
    rejects: list[Row] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return self.registered + self.already_present + self.rejected + self.pending


def read_rows(text: str) -> Iterator[Row]:
    """Parses and validates every row. Raises ImportFileError for a file it cannot read at all."""
    from events import labels

    seen: dict[str, int] = {}
    for row in records(text, COLUMNS, ALIASES, REQUIRED, what="laptop"):
        if row.code is None:
            try:
                row.body = to_body(row.raw)
            except ValueError as exc:
                row.code, row.reason = "invalid_value", str(exc)
        if row.body is not None:
            asset = labels.asset_id_for_serial(row.body["serial"])  # the serial passed the API's pattern
            if asset in seen:
                row.body = None
                row.code = "duplicate_serial"
                serial, first = cell(row.raw["serial"]), seen[asset]
                row.reason = f"serial {serial} already appears on line {first} of this file; keep one row."
            else:
                seen[asset] = row.line
        yield row


def to_body(raw: dict[str, str]) -> dict[str, Any]:
    """A CSV row → a POST /api/v1/laptops body, validated by the same model the API uses."""
    from pydantic import ValidationError

    from services.gateway.api.requests import RegisterLaptopRequest

    g = {k: cell(raw.get(k, "")) for k in COLUMNS}
    bmn = {
        "kode_barang": g["kode_barang"].replace(".", "") or None,
        "nup": whole_number("nup", g["nup"]),
        "acquisition_year": whole_number("acquisition_year", g["acquisition_year"]),
        "acquisition_value": rupiah("acquisition_value", g["acquisition_value"]),
        "condition": g["condition"].upper() or "B",
    }
    body: dict[str, Any] = {
        "serial": g["serial"],
        "brand": g["brand"],
        "model": g["model"],
        "specs": {
            "cpu": g["cpu"],
            "ram_gb": whole_number("ram_gb", g["ram_gb"]),
            "storage_gb": whole_number("storage_gb", g["storage_gb"]),
        },
        "warranty_end": a_date("warranty_end", g["warranty_end"]),
        "bmn": bmn,
    }
    try:
        return RegisterLaptopRequest.model_validate(body).model_dump(mode="json", exclude_none=True)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"] if p not in ("specs", "bmn")) or "row"
        raise ValueError(f"{where}: {first['msg']}") from None


def chunks(rows: list[Row], max_rows: int, max_bytes: int) -> Iterator[list[Row]]:
    """Chunks that fit the API's row and body-size limits."""
    import orjson

    chunk: list[Row] = []
    size = 64
    for row in rows:
        n = len(orjson.dumps(row.body)) + 1
        if chunk and (len(chunk) >= max_rows or size + n > max_bytes):
            yield chunk
            chunk, size = [], 64
        chunk.append(row)
        size += n
    if chunk:
        yield chunk


def run_import(
    csv_path: Path,
    url: str,
    rejects_path: Path,
    *,
    chunk_rows: int = 200,
    max_body_bytes: int = 60_000,
    parallel: int = 4,
    progress: bool = True,
    batch: str | None = None,
) -> Summary:
    import asyncio

    import httpx
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    started = time.monotonic()
    text = decode(csv_path.read_bytes())
    rows = list(read_rows(text))
    summary = Summary()
    good = [r for r in rows if r.body is not None]
    summary.rejects = [r for r in rows if r.body is None]
    summary.rejected = len(summary.rejects)
    work = list(chunks(good, chunk_rows, max_body_bytes))

    async def send_all(bar: Any, task: Any) -> None:
        queue: asyncio.Queue[list[Row]] = asyncio.Queue()
        for c in work:
            queue.put_nowait(c)
        async with httpx.AsyncClient(base_url=url, timeout=180, headers=auth_headers()) as client:

            async def worker() -> None:
                while not queue.empty():
                    chunk = queue.get_nowait()
                    attempt = 0
                    while True:
                        try:
                            r = await client.post(
                                "/api/v1/laptops/bulk",
                                json={"laptops": [x.body for x in chunk], **({"batch": batch} if batch else {})},
                            )
                            if r.status_code == 429:  # over the gateway's rate limit: wait as told, then again
                                await asyncio.sleep(float(r.headers.get("Retry-After", "1")))
                                continue
                            if r.status_code < 500 or attempt == 4:
                                break
                        except httpx.TransportError:
                            if attempt == 4:
                                raise
                        await asyncio.sleep(1 + attempt)
                        attempt += 1
                    if r.status_code != 200:
                        raise RuntimeError(f"the server refused a chunk ({r.status_code}): {r.text[:300]}")
                    for result in r.json()["results"]:
                        row = chunk[result["index"]]
                        kind = result["result"]
                        if kind == "rejected":
                            row.code, row.reason = result["code"], result["detail"]
                            summary.rejects.append(row)
                        setattr(summary, kind, getattr(summary, kind) + 1)
                    if bar is not None:
                        bar.advance(task, len(chunk))

            await asyncio.gather(*(worker() for _ in range(max(1, parallel))))

    columns = (
        TextColumn("[bold]importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("rows"),
        TimeRemainingColumn(),
    )
    if progress:
        with Progress(*columns) as bar:
            task = bar.add_task("import", total=len(good))
            asyncio.run(send_all(bar, task))
    else:
        asyncio.run(send_all(None, None))
    summary.rejects.sort(key=lambda r: r.line)
    write_rejects(rejects_path, summary.rejects, COLUMNS)
    summary.seconds = time.monotonic() - started
    return summary


def import_laptops(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The vendor's CSV file."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SERAH_URL", help="The Serah gateway."),
    rejects: Path = typer.Option(None, help="Where to write rejected rows (default: <file>.rejects.csv)."),
    parallel: int = typer.Option(4, min=1, max=32, help="Chunks in flight at once."),
    batch: str = typer.Option(None, help="Import batch name (default: the file name), to print its labels later."),
) -> None:
    """Register laptops from a vendor CSV; rejected rows go to a CSV with the reason."""
    rejects_path = rejects or csv_file.with_suffix(".rejects.csv")
    try:
        name = batch or re.sub(r"[^A-Za-z0-9._-]", "-", csv_file.stem)[:64].lstrip("._-") or "import"
        s = run_import(csv_file, url, rejects_path, parallel=parallel, batch=name)
    except ImportFileError as exc:
        typer.echo(f"serah: {csv_file}: {exc}", err=True)
        raise typer.Exit(1) from None
    except (RuntimeError, OSError) as exc:
        typer.echo(f"serah: import stopped: {exc}. Nothing is lost: run the same command again to finish.", err=True)
        raise typer.Exit(1) from None
    rate = s.rows / s.seconds if s.seconds else 0.0
    typer.echo(
        f"registered {s.registered}, already present {s.already_present}, rejected {s.rejected}, "
        f"pending {s.pending} — {s.rows} rows in {s.seconds:.1f}s ({rate:.0f} rows/s)"
    )
    typer.echo(f"import batch: {name}  (print its labels: serah labels --batch {name})")
    if s.rejected:
        typer.echo(f"rejected rows with their reasons: {rejects_path}")
    if s.pending:
        typer.echo("some rows were sent but not decided in time: run the same import again to see their result.")
    raise typer.Exit(0 if not s.rejected and not s.pending else 3)
