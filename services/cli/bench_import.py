"""``serah bench-import``: measure registration and label throughput
against a running stack. Prints the numbers; nothing asserts them."""

from __future__ import annotations

import tempfile
import time
import uuid
from pathlib import Path

import typer

from services.cli.admin import auth_headers


def bench_import(
    rows: int = typer.Option(10_000, min=1, help="Rows in the generated vendor file."),
    labels_count: int = typer.Option(10_000, "--labels", min=0, help="Labels to render into one A4 3x8 PDF."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SERAH_URL", help="A running Serah gateway."),
    parallel: int = typer.Option(4, min=1, max=32, help="Import chunks in flight at once."),
) -> None:
    """Import a generated file of ROWS laptops, import it again, then render LABELS labels; print rates."""
    import httpx

    from services.cli import importer
    from services.gateway.adapters import label_pdf

    tag = uuid.uuid4().hex[:6].upper()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        lines = [",".join(importer.COLUMNS)]
        lines += [
            f"BN{tag}{i:07d},Lenovo,ThinkPad E14,i5-1335U,16,512,2029-12-31,3100102001,{i % 999_999 + 1},2025,"
            f"14500000,B"
            for i in range(rows)
        ]
        path.write_text("\n".join(lines) + "\n")
        first = importer.run_import(path, url, Path(tmp) / "r.csv", parallel=parallel)
        again = importer.run_import(path, url, Path(tmp) / "r2.csv", parallel=parallel)
    typer.echo(
        f"import: {rows} rows: registered {first.registered}, pending {first.pending}, rejected "
        f"{first.rejected} in {first.seconds:.1f}s = {rows / first.seconds:.0f} rows/s"
    )
    typer.echo(
        f"re-import: already present {again.already_present}, registered {again.registered} in "
        f"{again.seconds:.1f}s = {rows / again.seconds:.0f} rows/s"
    )
    if labels_count:
        # The labels of the laptops just imported, fetched in chunks of asset ids.
        from events import labels as L

        ids = [L.asset_id_for_serial(f"BN{tag}{i:07d}") for i in range(min(rows, labels_count))]
        items: list[label_pdf.LabelPrint] = []
        t0 = time.monotonic()
        with httpx.Client(base_url=url, timeout=300, headers=auth_headers()) as client:
            for i in range(0, len(ids), 400):
                r = client.get("/api/v1/labels", params={"asset_id": ids[i : i + 400]})
                if r.status_code == 200:
                    items += [
                        label_pdf.LabelPrint(
                            x["asset_id"], x["serial"], x["label_url"], x["kode_barang"], x["nup"], x["office_name"]
                        )
                        for x in r.json()
                    ]
        fetched = time.monotonic() - t0
        t1 = time.monotonic()
        pdf = label_pdf.render(items, "a4-3x8")
        seconds = time.monotonic() - t1
        typer.echo(
            f"labels: fetched {len(items)} in {fetched:.1f}s; rendered into one PDF of "
            f"{len(pdf) / 1e6:.1f} MB in {seconds:.1f}s = {len(items) / seconds:.0f} labels/s"
        )
