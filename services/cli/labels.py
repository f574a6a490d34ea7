"""``serah label-keys`` and ``serah verify-label``: carry the public
keys to an offline scanner and check a label with nothing but that file."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from services.cli.admin import auth_headers


def label_keys(
    output: Path = typer.Option(Path("serah-label-keys.json"), "--output", "-o", help="Where to write the key file."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SERAH_URL", help="The Serah gateway to ask."),
    from_env: bool = typer.Option(
        False, "--from-env", help="Build the file from SERAH_LABEL_PUBLIC_KEYS instead of asking a gateway."
    ),
) -> None:
    """Write the public key file an offline scanner uses to check labels."""
    import os

    from events import labels

    if from_env:
        try:
            ring = labels.parse_keyring(os.environ.get("SERAH_LABEL_PUBLIC_KEYS", ""))
        except ValueError as exc:
            typer.echo(f"serah: SERAH_LABEL_PUBLIC_KEYS is not a key ring: {exc}", err=True)
            raise typer.Exit(1) from None
        if not ring:
            typer.echo("serah: SERAH_LABEL_PUBLIC_KEYS is empty; set it or drop --from-env.", err=True)
            raise typer.Exit(1)
        doc = labels.keyring_document(ring, next(iter(ring)))
    else:
        import httpx

        try:
            r = httpx.get(f"{url.rstrip('/')}/api/v1/label-keys.json", timeout=10)
            r.raise_for_status()
            doc = r.json()
            ring = labels.keys_from_document(doc)
        except (httpx.HTTPError, ValueError) as exc:
            typer.echo(f"serah: could not fetch the key file from {url}: {exc}. Is the gateway running?", err=True)
            raise typer.Exit(1) from None
    output.write_text(json.dumps(doc, indent=2) + "\n")
    typer.echo(f"wrote {len(ring)} public key(s) to {output}")


def verify_label(
    label: str = typer.Argument(..., help="The QR text as scanned."),
    keys: Path = typer.Option(Path("serah-label-keys.json"), "--keys", "-k", help="The key file (serah label-keys)."),
) -> None:
    """Check a label's signature offline with only the key file. Exit 0 genuine, 2 not."""
    from events import labels

    try:
        doc = json.loads(keys.read_text())
        claim = labels.verify_offline(label, doc)
    except (OSError, ValueError) as exc:
        if isinstance(exc, labels.LabelError):
            typer.echo(f"NOT GENUINE ({exc.reason.value}): {exc.detail}")
            raise typer.Exit(2) from None
        typer.echo(f"serah: cannot read the key file {keys}: {exc}. Fetch it with 'serah label-keys'.", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"GENUINE: {claim.asset_id}, label generation {claim.generation}, key {claim.key_id}")
    typer.echo("(revocation is only known to the server: scan it online to be sure it is current)")


def print_labels(
    output: Path = typer.Option(Path("serah-labels.pdf"), "--output", "-o", help="The PDF to write."),
    layout: str = typer.Option("a4-3x8", help="a4-3x8 (70x37 mm), a4-2x7 (99.1x38.1 mm) or thermal-50x30."),
    asset: list[str] = typer.Option(None, "--asset", "-a", help="An asset id; repeat for more."),
    asset_file: Path = typer.Option(
        None, help="A file with one asset id per line (or a serah import rejects-free CSV's ids)."
    ),
    office: str = typer.Option(None, help="All labelled laptops allocated to this office code (e.g. 74.05)."),
    consignment: str = typer.Option(None, help="All labelled laptops of this consignment id."),
    batch: str = typer.Option(None, help="All laptops of this import batch (serah import --batch)."),
    url: str = typer.Option("http://127.0.0.1:8000", envvar="SERAH_URL", help="The Serah gateway."),
) -> None:
    """Render a print-ready PDF of QR label stickers, with a progress bar."""
    import time

    import httpx
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    from services.gateway.adapters import label_pdf

    if layout not in label_pdf.LAYOUTS:
        typer.echo(f"serah: unknown layout {layout!r}; choose one of {', '.join(label_pdf.LAYOUTS)}.", err=True)
        raise typer.Exit(1)
    ids = list(asset or [])
    if asset_file:
        ids += [line.strip() for line in asset_file.read_text().splitlines() if line.strip()]
    queries: list[dict[str, str | list[str]]] = []
    if ids:
        queries += [{"asset_id": ids[i : i + 400]} for i in range(0, len(ids), 400)]  # keeps URLs short
    elif office or consignment or batch:
        pairs = (("office_code", office), ("consignment_id", consignment), ("import_batch", batch))
        queries.append({k: v for k, v in pairs if v})
    else:
        typer.echo(
            "serah: say which labels to print: --asset, --asset-file, --office, --consignment or --batch.", err=True
        )
        raise typer.Exit(1)
    items: list[label_pdf.LabelPrint] = []
    with httpx.Client(base_url=url, timeout=120, headers=auth_headers()) as client:
        requests: list[tuple[str, dict[str, str | list[str]] | None]] = [("/api/v1/labels", q) for q in queries]
        while requests:
            path, params = requests.pop(0)
            try:
                r = client.get(path, params=params)
            except httpx.HTTPError as exc:
                typer.echo(f"serah: cannot reach {url}: {exc}. Is the gateway running?", err=True)
                raise typer.Exit(1) from None
            if r.status_code != 200:
                typer.echo(f"serah: {r.json().get('detail', r.text)}", err=True)
                raise typer.Exit(1)
            if "next" in r.links:  # an office's, consignment's or batch's labels come a page at a time
                requests.insert(0, (r.links["next"]["url"], None))
            items += [
                label_pdf.LabelPrint(
                    i["asset_id"], i["serial"], i["label_url"], i["kode_barang"], i["nup"], i["office_name"]
                )
                for i in r.json()
            ]
    started = time.monotonic()
    columns = (TextColumn("[bold]labels"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn())
    with Progress(*columns) as bar:
        task = bar.add_task("labels", total=len(items))
        pdf = label_pdf.render(items, layout, on_label=lambda _: bar.advance(task))
    output.write_bytes(pdf)
    seconds = time.monotonic() - started
    pages = label_pdf.LAYOUTS[layout].cell(len(items) - 1)[0] + 1
    typer.echo(
        f"wrote {len(items)} labels on {pages} page(s) to {output} "
        f"({len(pdf) / 1e6:.1f} MB, {len(items) / seconds:.0f} labels/s)"
    )
