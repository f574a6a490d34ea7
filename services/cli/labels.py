"""``serah label-keys`` and ``serah verify-label`` (issue 3): carry the public
keys to an offline scanner and check a label with nothing but that file."""

from __future__ import annotations

import json
from pathlib import Path

import typer


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
            labels.keys_from_document(doc)
        except (httpx.HTTPError, ValueError) as exc:
            typer.echo(f"serah: could not fetch the key file from {url}: {exc}. Is the gateway running?", err=True)
            raise typer.Exit(1) from None
    output.write_text(json.dumps(doc, indent=2) + "\n")
    typer.echo(f"wrote {len(doc['keys'])} public key(s) to {output}")


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
