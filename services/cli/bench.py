"""``serah bench``: measured throughput and latency of the pipeline, next to the
raw limits of Kafka and the store measured in the same run on the same machine.

Numbers are printed and saved (bench-results/); they are never asserted in the
test suite, where a noisy machine would make them flaky."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from pymongo import MongoClient
from rich.console import Console
from rich.table import Table

from deploy.local.stack import UNTHROTTLED, Stack, ensure_dev_keys
from deploy.local.tools import data_dir, free_port, repo_root
from events import labels, topics
from services.cli import bench_scans

console = Console()


def _register_command(i: int, run_id: str, key_id: str) -> tuple[bytes, bytes]:
    return bench_scans.laptop_commands(f"B{run_id}{i:07d}".upper(), key_id)[0]


async def _kafka_raw(bootstrap: str, n: int, payload: bytes) -> dict[str, float]:
    topic = f"bench.raw.{uuid.uuid4().hex[:6]}"
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        start = time.perf_counter()
        futures = [await producer.send(topic, payload, key=str(i % 64).encode()) for i in range(n)]
        await asyncio.gather(*futures)
        batched = n / (time.perf_counter() - start)
    finally:
        await producer.stop()
    # What a worker pays per published decision: wait for each ack, no lingering.
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=0)
    await producer.start()
    try:
        m = min(n, 1000)
        start = time.perf_counter()
        for i in range(m):
            await producer.send_and_wait(topic, payload, key=str(i).encode())
        one_by_one = m / (time.perf_counter() - start)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", group_id=None)
    await consumer.start()
    try:
        seen, start = 0, time.perf_counter()
        while seen < n:
            batch = await consumer.getmany(timeout_ms=1000, max_records=5000)
            seen += sum(len(v) for v in batch.values())
        consumed = seen / (time.perf_counter() - start)
    finally:
        await consumer.stop()
    return {
        "kafka_produce_batched_msg_s": batched,
        "kafka_produce_acked_each_msg_s": one_by_one,
        "kafka_consume_msg_s": consumed,
    }


def _store_raw(url: str, db: str, n: int, doc_bytes: int) -> dict[str, float]:
    client: MongoClient[dict[str, Any]] = MongoClient(url)
    coll = client[db][f"bench_raw_{uuid.uuid4().hex[:6]}"]
    filler = "x" * doc_bytes
    m = min(n, 2000)
    start = time.perf_counter()
    for i in range(m):
        coll.insert_one({"_id": f"a{i}", "v": filler})
    one = m / (time.perf_counter() - start)
    start = time.perf_counter()
    for chunk in range(0, n, 1000):
        coll.insert_many([{"_id": f"b{i}", "v": filler} for i in range(chunk, min(n, chunk + 1000))], ordered=False)
    many = n / (time.perf_counter() - start)
    start = time.perf_counter()
    for i in range(m):
        coll.update_one({"_id": f"a{i}"}, {"$set": {"w": i}})
    upd = m / (time.perf_counter() - start)
    coll.drop()
    client.close()
    return {"store_insert_one_doc_s": one, "store_insert_many_doc_s": many, "store_update_one_doc_s": upd}


async def _produce_all(bootstrap: str, messages: list[tuple[bytes, bytes]], topic: str) -> None:
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, enable_idempotence=True, linger_ms=5)
    await producer.start()
    try:
        futures = [await producer.send(topic, value, key=key) for key, value in messages]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def _last_per_partition(keys: list[bytes], partitions: int) -> list[str]:
    """The last key produced to each partition: once each of these is done, every
    message before it in its partition is too (workers keep partition order)."""
    partitioner = DefaultPartitioner()
    ids = list(range(partitions))
    last: dict[int, bytes] = {}
    for key in keys:
        last[partitioner(key, ids, ids)] = key
    return [k.decode() for k in last.values()]


def _pipeline(stack: Stack, n: int, key_id: str, profile: Path | None) -> dict[str, float]:
    """N registrations produced at once (an import or an offline sync), until every
    one is decided by allocation and recorded by audit. Done is watched by reading,
    by _id, the last laptop of each partition (a count over the collections would load
    the store it measures)."""
    assert stack.kafka and stack.store
    run_id = uuid.uuid4().hex[:6]
    messages = [_register_command(i, run_id, key_id) for i in range(n)]
    watched = _last_per_partition([k for k, _ in messages], stack.partitions)
    client: MongoClient[dict[str, Any]] = MongoClient(stack.store.url)
    db = client[stack.mongo_db]

    def all_in(collection: str) -> bool:
        return all(db[collection].find_one({"_id": a}, {"_id": 1}) is not None for a in watched)

    cores: dict[str, float] = {}
    with _watched(stack, profile, "pipeline", cores):
        start = time.perf_counter()
        asyncio.run(_produce_all(stack.kafka.bootstrap, messages, topics.ALLOCATION_COMMANDS))
        decided_at = recorded_at = None
        while recorded_at is None:
            now = time.perf_counter()
            if decided_at is None and all_in("allocation_laptops"):
                decided_at = now
            if decided_at is not None and all_in("laptop_views"):
                recorded_at = now
            time.sleep(0.05)
    assets = [k.decode() for k, _ in messages]
    recorded = db.laptop_views.count_documents({"_id": {"$in": assets}})
    client.close()
    if recorded != n:
        raise RuntimeError(f"pipeline: {recorded} of {n} laptops recorded when the last of each partition was")
    assert decided_at is not None
    return {
        "pipeline_decided_cmd_s": n / (decided_at - start),
        "pipeline_recorded_cmd_s": n / (recorded_at - start),
        **cores,
    }


def _processes(stack: Stack) -> dict[str, int]:
    assert stack.kafka and stack.store
    found = {name: proc.pid for name, proc in stack.services.items()}
    found["bench"] = os.getpid()  # the simulated devices and the import client
    found["kafka"] = stack.kafka.proc.pid
    if stack.store.proc is not None:
        found[stack.store.kind.split("/")[0]] = stack.store.proc.pid
    if stack.store.postgres is not None:
        found["postgres"] = stack.store.postgres.proc.pid
    return found


def _stat(pid: int | str) -> list[str]:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return []


def _cpu_seconds(pid: int, children: bool = False) -> float:
    """CPU time of ``pid``, and with ``children`` of its live children too
    (PostgreSQL's process per connection). Waited-for children count always."""
    pids = [str(pid)]
    if children:
        pids += [p.name for p in Path("/proc").iterdir() if p.name.isdigit() and _stat(p.name)[1:2] == [str(pid)]]
    # utime, stime, and those of waited-for children (fields 14-17 of proc(5)); field 4 is the parent
    ticks = sum(int(f) for p in pids for f in _stat(p)[11:15])
    return ticks / os.sysconf("SC_CLK_TCK")


def _machine_busy_seconds() -> float:
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    ticks = [int(t) for t in cpu]
    idle = ticks[3] + ticks[4]  # idle, iowait
    return (sum(ticks[:8]) - idle) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def _watched(stack: Stack, out: Path | None, phase: str, results: dict[str, Any]) -> Iterator[None]:
    """Where the cores went during a phase: CPU seconds of each process of the stack
    and of the whole machine (others' work included: the machine is shared), into
    ``results``. With ``out``, py-spy also samples every Python process (raw
    collapsed stacks, one file each: ``flamegraph.pl`` or speedscope read them)."""
    pids = _processes(stack)
    spies = []
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
        spy = str(Path(sys.executable).parent / "py-spy")
        spies = [
            subprocess.Popen(
                [spy, "record", "--pid", str(proc.pid), "--format", "raw", "--rate", "50", "--nonblocking"]
                + ["--output", str(out / f"{phase}-{name}.txt")],
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for name, proc in stack.services.items()
        ]
    before = {name: _cpu_seconds(pid, name == "postgres") for name, pid in pids.items()}
    machine, start = _machine_busy_seconds(), time.perf_counter()
    try:
        yield
    finally:
        wall = time.perf_counter() - start
        for name, pid in pids.items():
            results[f"{phase}_cpu_{name}"] = (_cpu_seconds(pid, name == "postgres") - before[name]) / wall
        results[f"{phase}_cpu_machine"] = (_machine_busy_seconds() - machine) / wall
        for spy_proc in spies:
            spy_proc.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        for spy_proc in spies:
            spy_proc.wait(60)
        if out is not None:
            console.print(f"profiles of {phase}: {out}/{phase}-*.txt")


def _prepare_laptops(stack: Stack, count: int, key_id: str) -> list[tuple[str, str]]:
    """``count`` laptops registered and allocated (commands straight to Kafka), with their labels."""
    assert stack.kafka and stack.store
    run_id = uuid.uuid4().hex[:6]
    messages = [m for i in range(count) for m in bench_scans.laptop_commands(f"S{run_id}{i:07d}".upper(), key_id)]
    asyncio.run(_produce_all(stack.kafka.bootstrap, messages, topics.ALLOCATION_COMMANDS))
    watched = _last_per_partition([k for k, _ in messages], stack.partitions)
    client: MongoClient[dict[str, Any]] = MongoClient(stack.store.url)
    db = client[stack.mongo_db]
    deadline = time.monotonic() + 600
    # Allocation decides dispatches; audit shows the allocation last of all.
    while not all(
        (db.laptop_views.find_one({"_id": a}, {"status": 1}) or {}).get("status") == "allocated" for a in watched
    ):
        if time.monotonic() > deadline:
            raise TimeoutError("the laptops to scan were not registered and allocated within 10 minutes")
        time.sleep(0.2)
    client.close()
    assets = list(dict.fromkeys(k.decode() for k, _ in messages))
    return bench_scans.label_texts(stack.env()["SERAH_LABEL_SIGNING_KEYS"], stack.url, assets)


def _enrol(stack: Stack, count: int, roles: list[str]) -> list[str]:
    from services.cli.admin import enrol_device
    from services.gateway.auth.model import Grant, Role

    assert stack.store is not None
    url, db = stack.store.url, stack.mongo_db

    async def enrol_all() -> list[str]:
        grants = [Grant(role=Role(r)) for r in roles]
        return [await enrol_device(url, db, f"bench {'+'.join(roles)} {i}", grants) for i in range(count)]

    return asyncio.run(enrol_all())


def _scans(stack: Stack, opts: BenchOptions, key_id: str, results: dict[str, Any]) -> None:
    assert stack.store is not None
    main = int(opts.rate * opts.seconds)
    rates = [opts.rate * 2**k for k in range(opts.search_steps)]
    search = sum(int(r * opts.search_seconds) for r in rates)
    console.print(f"scans: preparing {main + search} registered and allocated laptops…")
    laptops = _prepare_laptops(stack, main + search, key_id)
    tokens = _enrol(stack, opts.devices, ["warehouse"])
    url, store_url, db = stack.url, stack.store.url, stack.mongo_db

    def attempt(rate: float, seconds: float, batch: list[tuple[str, str]]) -> bench_scans.ScanRun:
        return asyncio.run(
            bench_scans.scan_run(url, tokens, batch, rate=rate, seconds=seconds, store_url=store_url, mongo_db=db)
        )

    console.print(f"scans: {opts.devices} devices at a combined {opts.rate:.0f} scans/s for {opts.seconds:.0f} s…")
    with _watched(stack, opts.profile, "scans", results):
        results.update(attempt(opts.rate, opts.seconds, laptops[:main]).figures("scans"))
    rest = iter(laptops[main:])

    def step(rate: float) -> bench_scans.ScanRun:
        console.print(f"scans: searching, {rate:.0f} scans/s for {opts.search_seconds:.0f} s…")
        return attempt(rate, opts.search_seconds, [next(rest) for _ in range(int(rate * opts.search_seconds))])

    best, steps = bench_scans.highest_rate(step, opts.rate, max_rate=rates[-1])
    results.update(steps)
    results["scans_highest_rate_p99_250ms_scans_s"] = best


def _import_and_labels(stack: Stack, opts: BenchOptions, results: dict[str, Any]) -> None:
    from services.cli import importer
    from services.gateway.adapters import label_pdf

    token = _enrol(stack, 1, ["operator"])[0]
    os.environ["SERAH_TOKEN"] = token  # the import CLI sends it, as an operator's shell would
    tag = uuid.uuid4().hex[:6].upper()
    serials = [f"BN{tag}{i:07d}" for i in range(opts.import_rows)]
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.csv"
        lines = [",".join(importer.COLUMNS)]
        lines += [
            f"{s},Lenovo,ThinkPad E14,i5-1335U,16,512,2029-12-31,3100102001,{i % 999_999 + 1},2025,14500000,B"
            for i, s in enumerate(serials)
        ]
        path.write_text("\n".join(lines) + "\n")
        console.print(f"import: {opts.import_rows} rows through the bulk API…")
        with _watched(stack, opts.profile, "import", results):
            summary = importer.run_import(path, stack.url, Path(tmp) / "rejects.csv", progress=False)
    if summary.registered != opts.import_rows:
        raise RuntimeError(f"import: {summary.registered} of {opts.import_rows} rows registered ({summary})")
    results["import_rows_s"] = opts.import_rows / summary.seconds
    if not opts.labels:
        return
    ids = [labels.asset_id_for_serial(s) for s in serials[: opts.labels]]
    items: list[label_pdf.LabelPrint] = []
    with httpx.Client(base_url=stack.url, timeout=300, headers={"Authorization": f"Bearer {token}"}) as api:
        for i in range(0, len(ids), 400):
            r = api.get("/api/v1/labels", params={"asset_id": ids[i : i + 400]})
            r.raise_for_status()
            items += [
                label_pdf.LabelPrint(
                    x["asset_id"], x["serial"], x["label_url"], x["kode_barang"], x["nup"], x["office_name"]
                )
                for x in r.json()
            ]
    console.print(f"labels: rendering {len(items)} labels into one A4 3x8 PDF…")
    start = time.perf_counter()
    pdf = label_pdf.render(items, "a4-3x8")
    seconds = time.perf_counter() - start
    results["labels_s"] = len(items) / seconds
    results["labels_pdf_kb_each"] = len(pdf) / 1024 / max(len(items), 1)


def _rebuild(stack: Stack, results: dict[str, Any]) -> None:
    from services.audit import handlers
    from services.audit.adapters import mongo as audit_mongo
    from services.audit.bootstrap import bootstrap as audit_bootstrap
    from services.common.mongo import connect

    assert stack.store is not None
    url, db_name = stack.store.url, stack.mongo_db

    async def run() -> tuple[int, float]:
        client, db = connect(url, db_name)
        try:
            rt = audit_bootstrap(None, **audit_mongo.stores(db))
            start = time.perf_counter()
            return await handlers.rebuild_views(rt), time.perf_counter() - start
        finally:
            await client.close()

    console.print("rebuild: every view from the event log…")
    with _watched(stack, None, "rebuild", results):
        events, seconds = asyncio.run(run())
    results["rebuild_events"] = float(events)
    results["rebuild_events_s"] = events / seconds


@dataclass
class BenchOptions:
    n: int = 5000  # registrations for the pipeline and the raw limits
    partitions: int = 6
    devices: int = 50
    rate: float = 200.0  # combined scans per second
    seconds: float = 60.0
    search_seconds: float = 5.0
    search_steps: int = 4  # rates rate, 2 rate, 4 rate, … while p99 stays within 250 ms
    import_rows: int = 5000
    labels: int = 1000
    profile: Path | None = None


def run_bench(opts: BenchOptions) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="bench-", dir=data_dir()))
    stack = Stack(
        data,
        gateway_port=free_port(),
        partitions=opts.partitions,
        mongo_db=f"bench_{uuid.uuid4().hex[:6]}",
        settings=UNTHROTTLED,
    )
    results: dict[str, Any] = {
        "n": opts.n,
        "partitions": opts.partitions,
        "devices": opts.devices,
        "cores": os.cpu_count(),
        "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    try:
        console.print("starting Kafka, the store and the stack…")
        stack.start_infra()
        stack.start_services()
        stack.wait_healthy()
        assert stack.kafka and stack.store
        results["store_kind"] = stack.store.kind
        key_id = next(iter(labels.parse_keyring(ensure_dev_keys(data))))
        sample = _register_command(0, "sample", key_id)[1]
        console.print(f"raw Kafka: {opts.n} messages of {len(sample)} bytes…")
        results.update(asyncio.run(_kafka_raw(stack.kafka.bootstrap, opts.n, sample)))
        console.print(f"raw store: {opts.n} documents…")
        results.update(_store_raw(stack.store.url, stack.mongo_db, opts.n, len(sample)))
        console.print(f"pipeline: {opts.n} registrations through allocation and audit…")
        results.update(_pipeline(stack, opts.n, key_id, opts.profile))
        if opts.seconds > 0:
            _scans(stack, opts, key_id, results)
        if opts.import_rows > 0:
            _import_and_labels(stack, opts, results)
        _rebuild(stack, results)
    finally:
        stack.stop()
    return results


_PRODUCE, _ACKED = "kafka_produce_batched_msg_s", "kafka_produce_acked_each_msg_s"
# Each figure, what it is, and the raw limit of the same run it is set against.
FIGURES: list[tuple[str, str, str | None]] = [
    ("kafka_produce_batched_msg_s", "Kafka produce, batched (idempotent, acks=all), msg/s", None),
    ("kafka_produce_acked_each_msg_s", "Kafka produce, waiting for each ack, msg/s", None),
    ("kafka_consume_msg_s", "Kafka consume, msg/s", None),
    ("store_insert_one_doc_s", "store insert_one, doc/s", None),
    ("store_insert_many_doc_s", "store insert_many, doc/s", None),
    ("store_update_one_doc_s", "store update_one, doc/s", None),
    ("pipeline_decided_cmd_s", "pipeline: commands decided (allocation), cmd/s", "kafka_produce_batched_msg_s"),
    ("pipeline_recorded_cmd_s", "pipeline: commands recorded (audit chain + view), cmd/s", _PRODUCE),
    ("scans_sent_scans_s", "scans: rate sent by the devices, scans/s", "kafka_produce_acked_each_msg_s"),
    ("scans_decided_p50_ms", "scans: request → decided answer, p50 ms", "scan_floor_ms"),
    ("scans_decided_p99_ms", "scans: request → decided answer, p99 ms", "scan_floor_ms"),
    ("scans_visible_p50_ms", "scans: scan → visible to auditors, p50 ms", "scan_floor_ms"),
    ("scans_visible_p99_ms", "scans: scan → visible to auditors, p99 ms", "scan_floor_ms"),
    ("scans_not_decided", "scans: not decided", None),
    ("scans_highest_rate_p99_250ms_scans_s", "scans: highest rate with p99 ≤ 250 ms, scans/s", _ACKED),
    ("import_rows_s", "import (CSV → bulk API → decided), rows/s", "kafka_produce_batched_msg_s"),
    ("labels_s", "labels rendered (A4 3×8, one PDF), labels/s", None),
    ("rebuild_events_s", "rebuild of every view from the log, events/s", "store_insert_many_doc_s"),
]


def _with_floor(results: dict[str, Any]) -> dict[str, Any]:
    """The raw floor of one scan's answer: the command's and the decision's acked
    produce, one store read and one guarded write (no Python work, no waiting)."""
    if "kafka_produce_acked_each_msg_s" in results and "store_update_one_doc_s" in results:
        floor_s = 2 / results["kafka_produce_acked_each_msg_s"] + 2 / results["store_update_one_doc_s"]
        return {**results, "scan_floor_ms": floor_s * 1000}
    return results


def report(results: dict[str, Any]) -> None:
    results = _with_floor(results)
    table = Table(
        title=f"Serah benchmark (n={results['n']}, partitions={results['partitions']}, "
        f"store={results.get('store_kind')}, {results.get('cores')} cores)"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    table.add_column("ratio to the raw limit of this run")
    for key, label, against in FIGURES:
        value = results.get(key)
        if not isinstance(value, float | int):
            continue
        ratio = ""
        if against and isinstance(results.get(against), float) and results[against]:
            ratio = f"{value / results[against]:.3f} × {against}"
        table.add_row(label, _fmt(value), ratio)
    console.print(table)
    cpu = {k: v for k, v in results.items() if "_cpu_" in k}
    if cpu:
        console.print("cores busy per phase: " + ", ".join(f"{k} {v:.2f}" for k, v in cpu.items()))
    out = repo_root() / "bench-results"
    out.mkdir(exist_ok=True)
    path = out / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    console.print(f"saved {path}")


def _fmt(value: float) -> str:
    return f"{value:,.2f}" if abs(value) < 10 else f"{value:,.0f}"
