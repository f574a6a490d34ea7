"""``serah verify``: an auditor's offline check of an export. It rests on the
published contract alone (``events/``): it needs no Serah service, no store and
no Kafka, only the export and the checkpoint keys (a test holds it to that)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer


def verify(
    file: Path = typer.Argument(
        ..., exists=True, dir_okay=False, help="A JSON Lines export (GET /api/v1/audit/export.jsonl or serah export)."
    ),
    key: list[str] = typer.Option([], "--key", help="Trusted checkpoint public key KID:base64url (repeatable)."),
    key_file: Path | None = typer.Option(
        None,
        "--key-file",
        exists=True,
        help="File with KID:base64url,… (e.g. the JSON of /api/v1/audit/checkpoint-keys).",
    ),
    checkpoint: Path | None = typer.Option(
        None,
        "--checkpoint",
        exists=True,
        help="A checkpoint obtained elsewhere (e.g. from Kafka serah.checkpoints) to check the export against.",
    ),
    subject: list[str] = typer.Option(
        [],
        "--subject",
        help="Check only this chain (asset or consignment id; repeatable), proven by its inclusion proof. "
        "Without it, the export must hold every chain the checkpoint signed.",
    ),
) -> None:
    """Check an export offline: every line, every chain, the checkpoint's signature, and
    that every chain the checkpoint signed (or each one you name with --subject) is there
    as signed. Exit 0 intact, 1 damaged or incomplete, 2 unusable input."""
    import orjson

    from events import proofs

    keys = _keys(key, key_file)
    if not keys:
        typer.echo(
            "serah verify: give the trusted checkpoint key with --key KID:base64url or --key-file "
            "(GET /api/v1/audit/checkpoint-keys serves it).",
            err=True,
        )
        raise typer.Exit(2)
    lines: list[dict[str, Any]] = []
    with file.open("rb") as handle:
        for n, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                lines.append(orjson.loads(raw))
            except orjson.JSONDecodeError:
                typer.echo(
                    f"serah verify: line {n} of {file} is not JSON; the file is damaged or not an export.", err=True
                )
                raise typer.Exit(2) from None
    if checkpoint is not None:
        try:
            outside = orjson.loads(checkpoint.read_bytes())
        except orjson.JSONDecodeError:
            outside = None
        if isinstance(outside, dict):
            outside = outside.get("data", outside)  # a CloudEvent from Kafka, or the bare checkpoint
        if not isinstance(outside, dict):
            typer.echo(
                f"serah verify: {checkpoint} is not a checkpoint (a JSON object, or a serah.checkpoints "
                "CloudEvent); GET /api/v1/audit/checkpoints lists them.",
                err=True,
            )
            raise typer.Exit(2)
        fields = proofs.LINE_FIELDS["checkpoint"]
        cp_line = {"kind": "checkpoint", **{k: v for k, v in outside.items() if k in fields}}
        # It takes the place of the file's checkpoint line (right after the header).
        lines = [x for x in lines if not (isinstance(x, dict) and x.get("kind") == "checkpoint")]
        lines.insert(1 if lines and isinstance(lines[0], dict) and lines[0].get("kind") == "header" else 0, cp_line)
    report = proofs.verify_export(lines, keys, subject or None)
    # A chain is a laptop's or a consignment's history; both are checked alike.
    summary = f"{_count(report.laptops, 'chain')}, {_count(report.events, 'event')}, " + (
        f"checked against checkpoint {report.latest_checkpoint} of {report.checkpoint_created_at} "
        f"({_count(report.checkpoint_chains or 0, 'chain')} signed)"
        if report.latest_checkpoint
        else "no checkpoint that holds"
    )
    if report.intact:
        scope = (
            "every chain the checkpoint signed is here"
            if report.subjects is None
            else f"the {_count(len(report.subjects), 'chain')} you named (and only those) are here"
        )
        typer.echo(f"INTACT: {summary}; every line is as Serah wrote it, every chain links and {scope}, as signed.")
        return
    typer.echo(f"DAMAGED: {summary}; {len(report.findings)} problem(s):")
    for f in report.findings:
        typer.echo(f"  - {f.sentence()}")
    raise typer.Exit(1)


def _keys(key: list[str], key_file: Path | None) -> dict[str, bytes]:
    import json

    from events import labels, proofs

    ring: dict[str, bytes] = {}
    for k in key:
        ring.update(labels.parse_keyring(k))
    if key_file is not None:
        text = key_file.read_text().strip()
        if text.startswith("["):
            ring.update({k["key_id"]: proofs.unb64(k["public_key"]) for k in json.loads(text)})
        else:
            ring.update(labels.parse_keyring(text))
    return ring


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def register(app: typer.Typer) -> None:
    app.command()(verify)
