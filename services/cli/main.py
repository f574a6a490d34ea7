"""``serah``: run the whole stack locally, manage topics and schemas.

Every sub-command imports what it needs when it runs, so ``serah --help`` is
instant and nothing connects at import time."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from pathlib import Path
from typing import Any

import typer

app = typer.Typer(help="Serah: laptop handover tracking.", no_args_is_help=True, add_completion=False)
schemas_app = typer.Typer(help="JSON Schemas of the event contract.", no_args_is_help=True)
app.add_typer(schemas_app, name="schemas")

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "schemas"
OPENAPI = SCHEMA_DIR / "http" / "openapi.json"


async def _accounts(stack: Any) -> int:
    from services.common.mongo import connect
    from services.gateway.auth.store import MongoIdentityStore

    client, db = connect(stack.store.url, stack.mongo_db)
    try:
        return await MongoIdentityStore(db).count_accounts()
    finally:
        await client.close()


@app.command()
def run(
    port: int = typer.Option(8000, help="Gateway port on 127.0.0.1."),
    partitions: int = typer.Option(6, help="Partitions per topic (set once, at first start)."),
    data: Path = typer.Option(None, help="Run-time data folder (default: .serah/ in the clone)."),
) -> None:
    """Start Kafka, the store, the three workers and the gateway; stop all on Ctrl-C."""
    from deploy.local.stack import Stack
    from deploy.local.tools import MissingTool, data_dir

    stack = Stack(data or data_dir(), gateway_port=port, partitions=partitions)
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    code = 0
    try:
        typer.echo("serah: starting Kafka and the store…")
        stack.start_infra()
        assert stack.kafka and stack.store
        typer.echo(f"serah: Kafka on {stack.kafka.bootstrap}, store ({stack.store.kind}) at {stack.store.url}")
        if stop.is_set():
            return
        typer.echo("serah: starting allocation, handover, audit and the gateway…")
        stack.start_services()
        health = stack.wait_healthy()
        typer.echo(json.dumps(health["workers"]))
        typer.echo(f"serah: ready at {stack.url}  (API docs: {stack.url}/docs). Ctrl-C stops everything.")
        if asyncio.run(_accounts(stack)) == 0:
            env = f"SERAH_MONGO_URL={stack.store.url} SERAH_MONGO_DB={stack.mongo_db}"
            typer.echo(
                "serah: no account yet. Create the first administrator in another terminal:\n"
                f"  {env} .venv/bin/serah admin create --name 'Your Name' --nip <18-digit NIP>\n"
                f"then sign in at {stack.url}/masuk; enrol scanners and scripts with POST /api/v1/devices "
                "(or `serah admin enrol-device`)."
            )
        env = (
            f"SERAH_MONGO_URL={stack.store.url} SERAH_MONGO_DB={stack.mongo_db} "
            f"SERAH_KAFKA_BOOTSTRAP={stack.kafka.bootstrap}"
        )
        typer.echo(
            f"serah: to fill it with a national roll-out to look at: {env} .venv/bin/serah demo --url {stack.url}"
        )
        while not stop.wait(1.0):
            stack.check_alive()
    except MissingTool as exc:
        typer.echo(f"serah: {exc}", err=True)
        code = 1
    except (RuntimeError, TimeoutError) as exc:
        typer.echo(f"serah: {exc}", err=True)
        code = 1
    finally:
        typer.echo("serah: stopping…")
        stack.stop()
        typer.echo("serah: stopped.")
    raise typer.Exit(code)


@app.command()
def demo(
    url: str = typer.Option("http://127.0.0.1:8000", help="The running gateway."),
    laptops: int = typer.Option(3000, min=1, max=200_000, help="How many laptops the roll-out hands out."),
    offices: int = typer.Option(None, min=1, help="How many offices receive (default: all 552)."),
    seed: int = typer.Option(None, help="Draws names and ids (default: a new roll-out each run)."),
    mongo_url: str = typer.Option("mongodb://127.0.0.1:27017", envvar="SERAH_MONGO_URL"),
    mongo_db: str = typer.Option("serah", envvar="SERAH_MONGO_DB"),
    kafka: str = typer.Option("127.0.0.1:9092", envvar="SERAH_KAFKA_BOOTSTRAP"),
) -> None:
    """Fill a running stack with a national roll-out through its API: laptops registered,
    consignments to every office dispatched and mostly received, then holders, repair, a theft,
    a write-off proposal and a transfer at a few offices, and a few anomalies."""
    import os

    from services.cli import demo as filler
    from services.cli.admin import enrol_device
    from services.gateway.auth.model import Grant

    token = os.environ.get("SERAH_TOKEN", "").strip()
    if not token:  # on the server: a device of its own, enrolled from the shell
        grants = [Grant.model_validate({"role": r}) for r in ("operator", "warehouse", "recipient")]
        token = asyncio.run(enrol_device(mongo_url, mongo_db, "demo", grants, kafka))
    made = filler.run(url, token, laptops, offices, seed if seed is not None else filler.new_seed())
    states: dict[str, int] = {}
    for state in made.consignments.values():
        states[state] = states.get(state, 0) + 1
    typer.echo(
        f"serah demo: {made.laptops} laptops; consignments {states}; after receipt {made.after_receipt}; "
        f"for the auditor: {made.anomalies}"
    )
    typer.echo(f"serah demo: see {url}/audit (sign in as an auditor) and {url}/docs")


@app.command()
def topics(
    bootstrap: str = typer.Option("127.0.0.1:9092", envvar="SERAH_KAFKA_BOOTSTRAP"),
    partitions: int = typer.Option(6, envvar="SERAH_TOPIC_PARTITIONS"),
    replication: int = typer.Option(1, envvar="SERAH_TOPIC_REPLICATION", help="Copies of each partition."),
) -> None:
    """Create Serah's Kafka topics if they are missing."""
    from deploy.topics import ensure_topics

    created = ensure_topics(bootstrap, partitions, replication)
    typer.echo(f"created: {', '.join(created) or 'nothing (all present)'}")


@app.command()
def keygen(key_id: str = typer.Argument("K1", help="Key id: 1-8 of A-Z0-9.")) -> None:
    """Print a new label signing key (for SERAH_LABEL_SIGNING_KEYS) and its public key."""
    import secrets

    from events import labels

    seed = secrets.token_bytes(32)
    typer.echo(f"SERAH_LABEL_SIGNING_KEYS={labels.format_keyring({key_id: seed})}")
    typer.echo(f"SERAH_LABEL_PUBLIC_KEYS={labels.format_keyring({key_id: labels.public_key(seed)})}")


@app.command("receipt-code-key")
def receipt_code_key(key_id: str = typer.Argument("R1", help="Key id: a letter, then up to 7 of A-Z0-9.")) -> None:
    """Print a new receipt code key (for SERAH_RECEIPT_CODE_KEYS; the gateway and handover hold it)."""
    import secrets

    from events import labels

    if not labels.KEY_ID.fullmatch(key_id):
        raise typer.BadParameter("a letter, then up to 7 letters or digits, upper case (e.g. R2)", param_hint="KEY_ID")
    typer.echo(f"SERAH_RECEIPT_CODE_KEYS={labels.format_keyring({key_id: secrets.token_bytes(32)})}")


@app.command()
def bench(
    n: int = typer.Option(5000, help="Registrations through the pipeline (and messages/documents for the raw limits)."),
    partitions: int = typer.Option(6),
    devices: int = typer.Option(50, help="Simulated scanning devices."),
    rate: float = typer.Option(200.0, help="Their combined dispatch scans per second."),
    seconds: float = typer.Option(60.0, help="How long they scan at that rate (0: no scanning measure)."),
    search_seconds: float = typer.Option(5.0, help="Each step of the search for the highest rate within 250 ms."),
    search_steps: int = typer.Option(4, min=1, help="Steps of that search (the rate doubles each step)."),
    import_rows: int = typer.Option(5000, help="Rows of a generated vendor CSV to import (0: none)."),
    labels_count: int = typer.Option(1000, "--labels", help="Labels of the imported laptops to render."),
    profile: Path | None = typer.Option(None, help="Sample every Python process with py-spy into this folder."),
) -> None:
    """Measure the pipeline, concurrent scanning, import, labels and rebuild against the raw
    limits of Kafka and the store measured in the same run (own stack, free ports)."""
    from services.cli.bench import BenchOptions, report, run_bench

    opts = BenchOptions(
        n=n,
        partitions=partitions,
        devices=devices,
        rate=rate,
        seconds=seconds,
        search_seconds=search_seconds,
        search_steps=search_steps,
        import_rows=import_rows,
        labels=labels_count,
        profile=profile,
    )
    report(run_bench(opts))


@schemas_app.command("write")
def schemas_write() -> None:
    """Regenerate schemas/ from events/ (and schemas/http/openapi.json from the gateway)."""
    from events.schemas import all_schemas

    SCHEMA_DIR.mkdir(exist_ok=True)
    for old in SCHEMA_DIR.glob("*.json"):
        old.unlink()
    for name, schema in all_schemas().items():
        (SCHEMA_DIR / name).write_text(json.dumps(schema, indent=2, sort_keys=True) + "\n")
    typer.echo(f"wrote {len(all_schemas())} schemas to {SCHEMA_DIR}")
    OPENAPI.parent.mkdir(exist_ok=True)
    OPENAPI.write_text(json.dumps(openapi_document(), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    typer.echo(f"wrote the HTTP API's OpenAPI document to {OPENAPI}")


def openapi_document() -> dict[str, object]:
    """The gateway's OpenAPI document, built without starting the gateway."""
    from services.gateway.app import create_app
    from services.gateway.config import GatewaySettings

    return create_app(GatewaySettings()).openapi()


from services.cli import audit_ops as _audit_ops  # noqa: E402 - export, checkpoint, rebuild, bench-audit
from services.cli import verify as _verify  # noqa: E402 - the offline verifier

_verify.register(app)
_audit_ops.register(app)

# label keys for offline scanners
from services.cli import labels as _labels  # noqa: E402

app.command("label-keys")(_labels.label_keys)
app.command("verify-label")(_labels.verify_label)
app.command("labels")(_labels.print_labels)
from services.cli import importer as _importer  # noqa: E402

app.command("import")(_importer.import_laptops)
from services.cli import bench_import as _bench_import  # noqa: E402

app.command("bench-import")(_bench_import.bench_import)

from services.cli import bench_national as _bench_national  # noqa: E402

app.command("bench-national")(_bench_national.bench_national)
from services.cli import import_plan as _import_plan  # noqa: E402

app.command("import-plan")(_import_plan.import_plan)
from services.cli import import_holders as _import_holders  # noqa: E402

app.command("import-holders")(_import_holders.import_holders)
from services.cli import admin as _admin  # noqa: E402

app.add_typer(_admin.admin_app, name="admin")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
