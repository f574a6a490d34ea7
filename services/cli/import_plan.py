"""``serah import-plan plan.csv``: plan consignments from a CSV.

One row per expected laptop; rows with the same ``consignment_id`` form one
consignment. Columns (header row required, names case-insensitive, order free;
comma or semicolon separated; UTF-8 with or without BOM, like ``serah import``):

    consignment_id*, office_code*, official_name*, official_nip*,
    official_jabatan*, legal_basis_kind*, legal_basis_number*,
    legal_basis_date*, serial | asset_id (one of them per row)
    | expected_count (instead, a number of laptops picked at the warehouse),
    warehouse (optional: the warehouse it is picked at, G-…)

``legal_basis_kind`` is contract, allocation_decree or grant_agreement; the
date YYYY-MM-DD or DD/MM/YYYY. Office and legal basis must be the same on every
row of a consignment; different officials on its rows are all authorised.
A consignment planned by count has rows with ``expected_count`` and no laptop
(one row, or one per official, all with the same count); it cannot also list laptops.

Header names may also be the Indonesian ones (``nama pejabat``, ``nip``,
``jabatan``, ``nomor seri``, ``kode aset``, ``jumlah``, … see ``ALIASES``);
case, spaces and underscores in them do not matter. Every row is checked with
the line it starts on; bad rows (and every row of a
consignment that has a bad row, so a consignment is never planned short) go to a
rejects CSV with the reason. Each good consignment is sent to
``POST /api/v1/consignments``. The receipt codes are only stored hashed, so they
are written ONCE to a codes CSV for the operator (print them on the manifests);
re-running the same file plans nothing twice and shows no code for a consignment
planned before (its first code stands).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from services.cli.admin import auth_headers
from services.common.csvfile import ImportFileError, Row, a_date, cell, decode, records, write, write_rejects

if TYPE_CHECKING:
    import httpx

REQUIRED = (
    "consignment_id",
    "office_code",
    "official_name",
    "official_nip",
    "official_jabatan",
    "legal_basis_kind",
    "legal_basis_number",
    "legal_basis_date",
)
# expected_count: a plan by count; warehouse: where it is picked (G-…), the same on every row
COLUMNS = (*REQUIRED, "serial", "asset_id", "expected_count", "warehouse")
# Column names as Indonesian allocation plans write them.
ALIASES = {
    "gudang": "warehouse",
    "nomor pengiriman": "consignment_id",
    "kode pengiriman": "consignment_id",
    "kode wilayah": "office_code",
    "kode kantor": "office_code",
    "nama pejabat": "official_name",
    "nip": "official_nip",
    "nip pejabat": "official_nip",
    "jabatan": "official_jabatan",
    "jabatan pejabat": "official_jabatan",
    "jenis dasar hukum": "legal_basis_kind",
    "nomor dasar hukum": "legal_basis_number",
    "tanggal dasar hukum": "legal_basis_date",
    "nomor seri": "serial",
    "no seri": "serial",
    "kode aset": "asset_id",
    "jumlah": "expected_count",
    "jumlah unit": "expected_count",
}
KINDS = ("contract", "allocation_decree", "grant_agreement")
MAX_CONSIGNMENT_UNITS = 5000  # events.catalog.MAX_CONSIGNMENT_UNITS (imported lazily there: CLI start-up)


@dataclass
class Plan:
    consignment_id: str
    lines: list[int] = field(default_factory=list)
    body: dict[str, Any] = field(default_factory=dict)


@dataclass
class PlanSummary:
    planned: int = 0
    already_planned: int = 0
    rejected_rows: int = 0
    seconds: float = 0.0
    rejects: list[Row] = field(default_factory=list)
    codes: list[tuple[str, str, str]] = field(default_factory=list)  # consignment, office, code


def _row_body(raw: dict[str, str]) -> dict[str, Any]:
    """The checked values of one row, or ValueError with a sentence saying what to fix."""
    from pydantic import ValidationError

    from events import labels, offices
    from events.catalog import CONSIGNMENT_ID, NIP, SERIAL, WAREHOUSE_CODE, LegalBasis, Official

    v = {k: cell(raw.get(k, "")) for k in COLUMNS}
    if not re.fullmatch(CONSIGNMENT_ID, v["consignment_id"]):
        raise ValueError("consignment_id: use 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit.")
    if offices.get(v["office_code"]) is None:
        raise ValueError(f"office_code {v['office_code']!r} is not an official region code (e.g. 73.71).")
    if not v["official_name"] or len(v["official_name"]) > 128:
        raise ValueError("official_name: give the official's name (at most 128 characters).")
    if not re.fullmatch(NIP, v["official_nip"]):
        raise ValueError(f"official_nip {v['official_nip']!r} must be the 18-digit NIP.")
    if not v["official_jabatan"] or len(v["official_jabatan"]) > 128:
        raise ValueError("official_jabatan: give the official's position (at most 128 characters).")
    if v["legal_basis_kind"] not in KINDS:
        raise ValueError(f"legal_basis_kind must be one of {', '.join(KINDS)}.")
    if not v["legal_basis_number"] or len(v["legal_basis_number"]) > 128:
        raise ValueError("legal_basis_number: give the contract/decree/agreement number.")
    when: date | None = a_date("legal_basis_date", v["legal_basis_date"])
    if when is None:
        raise ValueError("legal_basis_date: give the date as YYYY-MM-DD or DD/MM/YYYY.")
    if [bool(v["serial"]), bool(v["asset_id"]), bool(v["expected_count"])].count(True) != 1:
        raise ValueError("give exactly one of serial or asset_id (a laptop) or expected_count (a number of laptops).")
    try:
        # The same models the API and the workers check: free text is refused here, row by row.
        official = Official(name=v["official_name"], nip=v["official_nip"], jabatan=v["official_jabatan"])
        basis = LegalBasis(kind=v["legal_basis_kind"], number=v["legal_basis_number"], date=when)
    except ValidationError as exc:
        first = exc.errors()[0]
        column = {"name": "official_name", "jabatan": "official_jabatan", "number": "legal_basis_number"}
        where = column.get(str(first["loc"][0]), str(first["loc"][0])) if first["loc"] else "row"
        raise ValueError(f"{where}: {first['msg']}") from None
    if v["warehouse"] and not re.fullmatch(WAREHOUSE_CODE, v["warehouse"]):
        raise ValueError(f"warehouse {v['warehouse'][:20]!r} is not a warehouse code (G- and up to 16 of A-Z0-9).")
    common = {
        "consignment_id": v["consignment_id"],
        "office_code": v["office_code"],
        "warehouse": v["warehouse"] or None,
        "official": official.model_dump(mode="json"),
        "legal_basis": basis.model_dump(mode="json"),
    }
    if v["expected_count"]:
        if not v["expected_count"].isdigit() or not 1 <= int(v["expected_count"]) <= MAX_CONSIGNMENT_UNITS:
            raise ValueError(f"expected_count {v['expected_count']!r} must be a whole number from 1 to 5000.")
        return common | {"asset_id": None, "expected_count": int(v["expected_count"])}
    if v["serial"] and not re.fullmatch(SERIAL, v["serial"]):
        raise ValueError(f"serial {v['serial'][:40]!r} is not a serial (letters, digits and . _ / -, at most 64).")
    asset = v["asset_id"] or labels.asset_id_for_serial(v["serial"])
    if not labels.ASSET_ID.fullmatch(asset):
        raise ValueError(f"asset_id {asset!r} is not an asset id (SRH + 10 characters).")
    return common | {"asset_id": asset, "expected_count": None}


def read_plans(text: str) -> tuple[list[Plan], list[Row]]:
    """Checks every row and groups them; a consignment with any bad row is rejected whole."""
    rows = list(
        records(
            text,
            COLUMNS,
            ALIASES,
            REQUIRED,
            what="expected laptop",
            one_of=("serial", "asset_id", "expected_count"),
        )
    )
    for row in rows:
        if row.code is None:
            try:
                row.body = _row_body(row.raw)
            except ValueError as exc:
                row.code, row.reason = "invalid_value", str(exc)
    plans: dict[str, Plan] = {}
    seen: dict[str, int] = {}
    for row in rows:
        if row.body is None:
            continue
        b = row.body
        p = plans.setdefault(b["consignment_id"], Plan(b["consignment_id"]))
        if not p.body:
            p.body = {k: b[k] for k in ("consignment_id", "office_code", "legal_basis", "warehouse")}
            p.body |= {"officials": []}
            p.body |= {"expected_count": b["expected_count"]} if b["expected_count"] else {"expected": []}
        same = ("office_code", "legal_basis", "warehouse")
        if tuple(b[k] for k in same) != tuple(p.body[k] for k in same):
            row.body, row.code = None, "inconsistent_consignment"
            row.reason = (
                f"office, legal basis or warehouse differs from line {p.lines[0]} of consignment {p.consignment_id}."
            )
            continue
        if b["expected_count"] != p.body.get("expected_count"):
            row.body, row.code = None, "inconsistent_consignment"
            row.reason = (
                f"consignment {p.consignment_id} is planned by {'count' if 'expected_count' in p.body else 'laptop'} "
                f"on line {p.lines[0] if p.lines else row.line}: give laptops or one count on every row, not both."
            )
            continue
        if b["asset_id"] is None:  # a count row: only adds its official
            p.lines.append(row.line)
            if b["official"] not in p.body["officials"]:
                p.body["officials"].append(b["official"])
            continue
        if b["asset_id"] in seen:
            row.body, row.code = None, "duplicate_laptop"
            row.reason = f"this laptop is already expected on line {seen[b['asset_id']]}; keep one row."
            continue
        seen[b["asset_id"]] = row.line
        p.lines.append(row.line)
        if b["official"] not in p.body["officials"]:
            p.body["officials"].append(b["official"])
        p.body["expected"].append(b["asset_id"])
    rejects = [r for r in rows if r.body is None]
    bad = {cell(r.raw.get("consignment_id", "")) for r in rejects}
    good = []
    for p in plans.values():
        if p.consignment_id in bad:
            for r in rows:
                if r.body is not None and r.body["consignment_id"] == p.consignment_id:
                    r.body, r.code = None, "consignment_has_bad_rows"
                    r.reason = "another row of this consignment is rejected; fix it and import again."
                    rejects.append(r)
        else:
            good.append(p)
    rejects.sort(key=lambda r: r.line)
    return good, rejects


def _manifest(client: httpx.Client, consignment_id: str, receipt_code: str, wait_s: float = 30.0) -> httpx.Response:
    """The manifest of a consignment just planned. The gateway reads the plan from the
    audit's view, and answers a plan without waiting past its decision timeout for the
    audit to record it: a lagging audit makes the manifest 404 for a moment, so ask again."""
    deadline = time.monotonic() + wait_s
    while True:
        m = client.post(f"/api/v1/consignments/{consignment_id}/manifest.pdf", json={"receipt_code": receipt_code})
        if m.status_code != 404 or time.monotonic() > deadline:
            return m
        time.sleep(0.5)


def run_import_plan(
    csv_path: Path,
    url: str,
    rejects_path: Path,
    codes_path: Path,
    progress: bool = True,
    manifests: Path | None = None,
) -> PlanSummary:
    import httpx
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    started = time.monotonic()
    plans, rejects = read_plans(decode(csv_path.read_bytes()))
    s = PlanSummary(rejects=rejects)
    with (
        httpx.Client(base_url=url, timeout=60, headers=auth_headers()) as client,
        Progress(
            TextColumn("[bold]planning"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("consignments"),
            disable=not progress,
        ) as bar,
    ):
        task = bar.add_task("plan", total=len(plans))
        for p in plans:
            r = client.post("/api/v1/consignments", json=p.body)
            if r.status_code == 201 and r.json().get("receipt_code"):
                s.planned += 1
                s.codes.append((p.consignment_id, p.body["office_code"], r.json()["receipt_code"]))
                if manifests is not None:  # the one moment the code is known: print it on the manifest
                    m = _manifest(client, p.consignment_id, r.json()["receipt_code"])
                    if m.status_code == 200:
                        manifests.mkdir(parents=True, exist_ok=True)
                        (manifests / f"manifest-{p.consignment_id}.pdf").write_bytes(m.content)
            elif r.status_code == 201:
                s.already_planned += 1
            elif r.status_code < 500 and r.status_code != 202:
                problem = r.json()
                for line in p.lines:
                    row = Row(line, {"consignment_id": p.consignment_id})
                    row.code, row.reason = problem.get("code", str(r.status_code)), problem.get("detail", r.text[:200])
                    s.rejects.append(row)
            else:
                raise RuntimeError(f"the server did not decide consignment {p.consignment_id} ({r.status_code})")
            bar.advance(task)
    s.rejects.sort(key=lambda r: r.line)
    s.rejected_rows = len(s.rejects)
    write_rejects(rejects_path, s.rejects, COLUMNS)
    if s.codes:
        # Written once: the codes are stored only hashed and cannot be shown again.
        write(codes_path, ("consignment_id", "office_code", "receipt_code"), [list(c) for c in s.codes])
    s.seconds = time.monotonic() - started
    return s


def import_plan(
    csv_file: Path = typer.Argument(..., exists=True, dir_okay=False, help="The allocation plan CSV."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SERAH_URL", help="The Serah gateway."),
    rejects: Path = typer.Option(None, help="Where to write rejected rows (default: <file>.rejects.csv)."),
    codes: Path = typer.Option(None, help="Where to write the receipt codes (default: <file>.codes.csv)."),
    manifests: Path = typer.Option(None, help="Also write each new consignment's dispatch manifest PDF here."),
) -> None:
    """Plan consignments from a CSV; receipt codes are written once to a codes file."""
    rejects_path = rejects or csv_file.with_suffix(".rejects.csv")
    codes_path = codes or csv_file.with_suffix(".codes.csv")
    if codes_path.exists():
        typer.echo(f"serah: {codes_path} exists; move it away first (its codes cannot be shown again).", err=True)
        raise typer.Exit(1)
    try:
        s = run_import_plan(csv_file, url, rejects_path, codes_path, manifests=manifests)
    except ImportFileError as exc:
        typer.echo(f"serah: {csv_file}: {exc}", err=True)
        raise typer.Exit(1) from None
    except (RuntimeError, OSError) as exc:
        typer.echo(f"serah: import-plan stopped: {exc}. Run the same command again to finish.", err=True)
        raise typer.Exit(1) from None
    typer.echo(
        f"planned {s.planned}, already planned {s.already_planned}, rejected rows {s.rejected_rows} "
        f"— in {s.seconds:.1f}s"
    )
    if s.codes:
        typer.echo(f"receipt codes (shown once, print them on the manifests): {codes_path}")
    if s.rejects:
        typer.echo(f"rejected rows with their reasons: {rejects_path}")
    raise typer.Exit(0 if not s.rejects else 3)
