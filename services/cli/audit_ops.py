"""The audit service's operations from the command line: ``serah export``,
``serah checkpoint``, ``serah rebuild`` and ``serah bench-audit``. They run the
audit service's own code against the store (and Kafka); the offline check of
their output is ``serah verify`` (services/cli/verify.py), which needs none of it.
Each imports what it needs when it runs."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import typer

MONGO_URL = typer.Option("mongodb://127.0.0.1:27017/", envvar="SERAH_MONGO_URL", help="MongoDB URL.")
MONGO_DB = typer.Option("serah", envvar="SERAH_MONGO_DB", help="Database name.")


def export(
    out: Path = typer.Argument(..., help="Where to write the JSON Lines export."),
    mongo_url: str = MONGO_URL,
    mongo_db: str = MONGO_DB,
    subject: list[str] = typer.Option(
        [], "--subject", help="Only this chain (asset or consignment id; repeatable), with its inclusion proof."
    ),
) -> None:
    """Write the JSON Lines export (header, checkpoint, events, chain list or proofs) straight from the store."""
    import orjson
    from rich.progress import Progress

    from services.common.mongo import connect
    from services.gateway.adapters.audit_reads import AuditReads

    async def run() -> int:
        client, db = connect(mongo_url, mongo_db)
        n = 0
        try:
            with out.open("wb") as handle, Progress(transient=True) as bar:
                task = bar.add_task("exporting", total=None)
                async for line in AuditReads(db).export_lines(subject or None):
                    handle.write(orjson.dumps(line) + b"\n")
                    n += 1
                    bar.advance(task)
        finally:
            await client.close()
        return n

    typer.echo(f"wrote {asyncio.run(run())} lines to {out}")


def checkpoint(
    mongo_url: str = MONGO_URL,
    mongo_db: str = MONGO_DB,
    bootstrap: str = typer.Option("127.0.0.1:9092", envvar="SERAH_KAFKA_BOOTSTRAP"),
    force: bool = typer.Option(False, help="Sign even if no chain moved since the last checkpoint."),
    accept_rewritten: bool = typer.Option(
        False, help="After investigating a history_rewritten refusal: sign the store as it is now."
    ),
) -> None:
    """Take a signed checkpoint now (needs SERAH_AUDIT_SIGNING_KEY) and publish it on serah.checkpoints."""
    from services.audit import handlers
    from services.audit.adapters import mongo as audit_mongo
    from services.audit.bootstrap import bootstrap as audit_bootstrap
    from services.audit.config import AuditSettings
    from services.common.mongo import connect

    settings = AuditSettings(mongo_url=mongo_url, mongo_db=mongo_db, kafka_bootstrap=bootstrap)
    if settings.checkpoint_key() is None:
        typer.echo("serah checkpoint: SERAH_AUDIT_SIGNING_KEY is not set (serah keygen A1 prints a key).", err=True)
        raise typer.Exit(2)

    async def run() -> dict[str, Any] | None:
        client, db = connect(mongo_url, mongo_db)
        publisher = _SyncKafkaPublisher(bootstrap)
        try:
            rt = audit_bootstrap(settings, publisher=publisher, **audit_mongo.stores(db))
            await rt.checkpoints.ensure_indexes()
            return await handlers.take_checkpoint(rt, force=force, accept_rewritten=accept_rewritten)
        finally:
            publisher.close()
            await client.close()

    from services.audit.handlers import HistoryRewritten

    try:
        cp = asyncio.run(run())
    except HistoryRewritten as exc:
        typer.echo(
            f"serah checkpoint: NOT signed: {exc}. An anomaly (history_rewritten) was raised for each; "
            "restore the store from a backup or investigate before signing again.",
            err=True,
        )
        raise typer.Exit(1) from None
    if cp is None:
        typer.echo("no chain moved since the last checkpoint; nothing signed (use --force to sign anyway).")
    else:
        typer.echo(f"checkpoint {cp['checkpoint_id']}: {cp['laptops']} laptops, root {cp['root']}, key {cp['key_id']}")


class _SyncKafkaPublisher:
    """kafka-python producer (acks=all), called from a thread so the loop never blocks."""

    def __init__(self, bootstrap: str) -> None:
        from kafka import KafkaProducer

        self._p = KafkaProducer(bootstrap_servers=bootstrap, acks="all", retries=5)

    async def publish(self, envelopes: Any) -> None:
        from events import codec
        from events.catalog import BY_TYPE
        from events.envelope import CONTENT_TYPE

        def send() -> None:
            for e in envelopes:
                self._p.send(
                    BY_TYPE[e.type].TOPIC,
                    key=e.subject.encode(),
                    value=codec.encode(e),
                    headers=[("content-type", CONTENT_TYPE.encode())],
                ).get(timeout=30)

        await asyncio.to_thread(send)

    def close(self) -> None:
        self._p.close()


def rebuild(
    mongo_url: str = MONGO_URL,
    mongo_db: str = MONGO_DB,
    check: bool = typer.Option(
        False, "--check", help="Rebuild nothing: recount every office from its views and compare with its counters."
    ),
) -> None:
    """Rebuild every laptop view and office counter from the stored events (due moments by
    the audit's SERAH_TRANSIT_DAYS / SERAH_ATTESTATION_INTERVAL_DAYS) and print events/s.
    With --check, exit 1 if any office's counters differ from a recount of its views."""
    from rich.progress import Progress

    if check:
        _check_counters(mongo_url, mongo_db)
        return

    from services.audit import handlers
    from services.audit.adapters import mongo as audit_mongo
    from services.audit.bootstrap import bootstrap as audit_bootstrap
    from services.audit.config import AuditSettings
    from services.common.mongo import connect

    async def run() -> tuple[int, float]:
        client, db = connect(mongo_url, mongo_db)
        try:
            # The audit worker's settings (SERAH_*): its thresholds set the views' due moments.
            rt = audit_bootstrap(AuditSettings(), **audit_mongo.stores(db))
            with Progress() as bar:
                task = bar.add_task("rebuilding views", total=None)
                t0 = time.perf_counter()
                n = await handlers.rebuild_views(rt, lambda k: bar.advance(task, k))
                return n, time.perf_counter() - t0
        finally:
            await client.close()

    n, seconds = asyncio.run(run())
    typer.echo(f"rebuilt views from {n} events in {seconds:.2f}s: {n / max(seconds, 1e-9):.0f} events/s")


def _check_counters(mongo_url: str, mongo_db: str) -> None:
    from datetime import UTC, datetime

    from services.common.mongo import connect
    from services.gateway import rollups
    from services.gateway.adapters.audit_reads import AuditReads

    async def run() -> tuple[int, list[str]]:
        client, db = connect(mongo_url, mongo_db)
        try:
            reads = AuditReads(db)
            kept, views = await reads.office_counters(), await reads.views()
            return len(kept), rollups.differences(kept, views, datetime.now(UTC))
        finally:
            await client.close()

    offices, differing = asyncio.run(run())
    if differing:
        typer.echo(f"{len(differing)} offices' counters differ from a recount of their views: {', '.join(differing)}")
        typer.echo("serah rebuild recounts them.")
        raise typer.Exit(1)
    typer.echo(f"every office's counters equal a recount of its views ({offices} offices)")


def bench_audit(
    laptops: int = typer.Option(5000, help="Synthetic laptops (5 events each)."),
    mongo_url: str | None = typer.Option(
        None, envvar="SERAH_BENCH_MONGO_URL", help="Use this store instead of starting one."
    ),
) -> None:
    """Measure rebuild, checkpoint, export and offline verify on synthetic chains; print the numbers."""
    import secrets
    import uuid
    from datetime import UTC, datetime, timedelta

    from rich.console import Console
    from rich.table import Table

    from events import codec, labels, offices, proofs
    from events.catalog import (
        LabelRef,
        LaptopAllocated,
        LaptopDescription,
        LaptopDispatched,
        LaptopReceived,
        LaptopRegistered,
        Specs,
        UsageAttested,
    )
    from services.audit import domain, handlers
    from services.audit.adapters import mongo as audit_mongo
    from services.audit.bootstrap import bootstrap as audit_bootstrap
    from services.audit.config import AuditSettings
    from services.common.mongo import connect
    from services.gateway.adapters.audit_reads import AuditReads

    store = None
    if mongo_url is None:
        from deploy.local.store import start_store
        from deploy.local.tools import data_dir

        store = start_store(data_dir("bench-audit"), prefer_external=False)
        mongo_url = store.url
    name = f"bench_audit_{uuid.uuid4().hex[:6]}"
    seed = secrets.token_bytes(32)
    settings = AuditSettings(audit_signing_key=labels.format_keyring({"B1": seed}))
    codes = [o.code for o in offices.all_offices()]
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    results: list[tuple[str, float, int]] = []

    def timed(label: str, n: int, start: float) -> None:
        results.append((label, time.perf_counter() - start, n))

    async def run() -> None:
        client, db = connect(mongo_url, name)
        try:
            rt = audit_bootstrap(settings, **audit_mongo.stores(db))
            docs = []
            for i in range(laptops):
                serial = f"BENCH{i:08d}"
                asset = labels.asset_id_for_serial(serial)
                office = codes[i % len(codes)]
                bodies = [
                    LaptopRegistered(
                        laptop=LaptopDescription(
                            serial=serial, brand="HP", model="ProBook", specs=Specs(cpu="i5", ram_gb=8, storage_gb=256)
                        ),
                        label=LabelRef(generation=1, key_id="K1"),
                    ),
                    LaptopAllocated(office_code=office, office_name="x"),
                    LaptopDispatched(office_code=office),
                    LaptopReceived(office_code=office, condition="B"),
                    UsageAttested(office_code=office, condition="B"),
                ]
                prev = domain.GENESIS
                for seq, body in enumerate(bodies, start=1):
                    e = codec.make(
                        body, subject=asset, source="/bench", time=t0 + timedelta(days=seq), id=str(uuid.uuid4())
                    )
                    h = domain.link_hash(prev, e)
                    docs.append(audit_mongo.log_entry(asset, seq, prev, h, e))
                    prev = h
            await rt.log.ensure_indexes()
            start = time.perf_counter()
            for i in range(0, len(docs), 2000):
                await db.event_log.insert_many(docs[i : i + 2000], ordered=False)
            timed("bulk insert of chain links", len(docs), start)
            start = time.perf_counter()
            n = await handlers.rebuild_views(rt)
            timed("serah rebuild (all views from the log)", n, start)
            start = time.perf_counter()
            await handlers.take_checkpoint(rt)
            timed("signed checkpoint (heads, Merkle root, leaves)", laptops, start)
            start = time.perf_counter()
            lines = [x async for x in AuditReads(db).export_lines()]
            timed("JSON Lines export with the chain list", n, start)
            start = time.perf_counter()
            report = proofs.verify_export(lines, {"B1": labels.public_key(seed)})
            timed("offline verify of the export", n, start)
            assert report.intact, report.findings[:3]
            await client.drop_database(name)
        finally:
            await client.close()

    try:
        asyncio.run(run())
    finally:
        if store is not None:
            store.stop()
    table = Table(
        title=f"Audit benchmark: {laptops} laptops, {laptops * 5} events "
        f"({'external store' if store is None else store.kind})"
    )
    for col in ("step", "seconds", "items", "items/s"):
        table.add_column(col)
    for label, seconds, n in results:
        table.add_row(label, f"{seconds:.2f}", str(n), f"{n / max(seconds, 1e-9):,.0f}")
    Console().print(table)


def register(app: typer.Typer) -> None:
    for fn in (export, checkpoint, rebuild):
        app.command()(fn)
    app.command("bench-audit")(bench_audit)
