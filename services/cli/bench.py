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
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.partitioner import DefaultPartitioner
from pymongo import MongoClient
from rich.console import Console
from rich.table import Table

from deploy.local.stack import UNTHROTTLED, Stack, ensure_dev_keys
from deploy.local.tools import free_port, repo_root
from events import codec, labels, topics
from events.catalog import LabelRef, LaptopDescription, RegisterLaptop, Specs
from events.envelope import utcnow

console = Console()


def _register_command(i: int, run_id: str, key_id: str) -> tuple[bytes, bytes]:
    serial = f"B{run_id}{i:07d}".upper()
    asset = labels.asset_id_for_serial(serial)
    body = RegisterLaptop(
        laptop=LaptopDescription(
            serial=serial, brand="Bench", model="B-1", specs=Specs(cpu="x", ram_gb=8, storage_gb=256)
        ),
        label=LabelRef(generation=1, key_id=key_id),
    )
    env = codec.make(body, subject=asset, source="/bench", time=utcnow(), id=f"register-{asset}", actor="bench")
    return asset.encode(), codec.encode(env)


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
    found["kafka"] = stack.kafka.proc.pid
    if stack.store.proc is not None:
        found[stack.store.kind] = stack.store.proc.pid
    return found


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    # utime, stime, and those of waited-for children (fields 14-17 of proc(5))
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


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
    before = {name: _cpu_seconds(pid) for name, pid in pids.items()}
    machine, start = _machine_busy_seconds(), time.perf_counter()
    try:
        yield
    finally:
        wall = time.perf_counter() - start
        for name, pid in pids.items():
            results[f"{phase}_cpu_{name}"] = (_cpu_seconds(pid) - before[name]) / wall
        results[f"{phase}_cpu_machine"] = (_machine_busy_seconds() - machine) / wall
        for spy_proc in spies:
            spy_proc.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        for spy_proc in spies:
            spy_proc.wait(60)
        if out is not None:
            console.print(f"profiles of {phase}: {out}/{phase}-*.txt")


def _http_scans(stack: Stack, m: int) -> dict[str, float]:
    from services.cli.admin import enrol_device
    from services.gateway.auth.model import Grant, Role

    assert stack.store is not None
    grants = [Grant(role=Role.OPERATOR), Grant(role=Role.WAREHOUSE)]
    token = asyncio.run(enrol_device(stack.store.url, stack.mongo_db, "bench", grants))
    latencies = []
    with httpx.Client(base_url=stack.url, timeout=30, headers={"Authorization": f"Bearer {token}"}) as api:
        prepared = []
        for _ in range(m):
            serial = "H" + uuid.uuid4().hex[:10].upper()
            asset = api.post(
                "/api/v1/laptops",
                json={
                    "serial": serial,
                    "brand": "B",
                    "model": "M",
                    "specs": {"cpu": "c", "ram_gb": 8, "storage_gb": 128},
                },
            ).json()["subject"]
            api.post(f"/api/v1/laptops/{asset}/allocation", json={"office_code": "32.73"})
            prepared.append(asset)
        time.sleep(1.0)
        label_urls = [api.get(f"/api/v1/laptops/{a}").json()["label_url"] for a in prepared]
        start = time.perf_counter()
        for url in label_urls:
            t = time.perf_counter()
            r = api.post("/api/v1/scans/dispatch", json={"scan_id": str(uuid.uuid4()), "label": url})
            latencies.append(time.perf_counter() - t)
            if r.status_code != 200:
                raise RuntimeError(f"scan not accepted: {r.status_code} {r.text}")
        total = time.perf_counter() - start
    q = statistics.quantiles(latencies, n=100)
    return {
        "http_scan_p50_ms": q[49] * 1000,
        "http_scan_p95_ms": q[94] * 1000,
        "http_scan_p99_ms": q[98] * 1000,
        "http_scans_sequential_s": m / total,
    }


def run_bench(n: int, scans: int, partitions: int, profile: Path | None = None) -> dict[str, Any]:
    data = Path(tempfile.mkdtemp(prefix="bench-", dir=repo_root() / ".serah"))
    stack = Stack(
        data,
        gateway_port=free_port(),
        partitions=partitions,
        mongo_db=f"bench_{uuid.uuid4().hex[:6]}",
        settings=UNTHROTTLED,
    )
    results: dict[str, Any] = {"n": n, "scans": scans, "partitions": partitions}
    try:
        console.print("starting Kafka, the store and the stack…")
        stack.start_infra()
        stack.start_services()
        stack.wait_healthy()
        assert stack.kafka and stack.store
        results["store_kind"] = stack.store.kind
        key_id = next(iter(labels.parse_keyring(ensure_dev_keys(data))))
        sample = _register_command(0, "sample", key_id)[1]
        console.print(f"raw Kafka: {n} messages of {len(sample)} bytes…")
        results.update(asyncio.run(_kafka_raw(stack.kafka.bootstrap, n, sample)))
        console.print(f"raw store: {n} documents…")
        results.update(_store_raw(stack.store.url, stack.mongo_db, n, len(sample)))
        console.print(f"pipeline: {n} registrations through allocation and audit…")
        results.update(_pipeline(stack, n, key_id, profile))
        console.print(f"HTTP: {scans} dispatch scans, one after another…")
        results.update(_http_scans(stack, scans))
    finally:
        stack.stop()
    results["pipeline_vs_kafka_produce"] = results["pipeline_recorded_cmd_s"] / results["kafka_produce_batched_msg_s"]
    results["pipeline_vs_store_insert_one"] = results["pipeline_recorded_cmd_s"] / results["store_insert_one_doc_s"]
    return results


def report(results: dict[str, Any]) -> None:
    table = Table(
        title=f"Serah benchmark (n={results['n']}, partitions={results['partitions']}, store={results['store_kind']})"
    )
    table.add_column("measure")
    table.add_column("value", justify="right")
    for key, value in results.items():
        if isinstance(value, float):
            table.add_row(key, f"{value:,.3f}" if value < 10 else f"{value:,.0f}")
    console.print(table)
    out = repo_root() / "bench-results"
    out.mkdir(exist_ok=True)
    path = out / f"bench-{time.strftime('%Y%m%dT%H%M%S')}.json"
    path.write_text(json.dumps(results, indent=2))
    console.print(f"saved {path}")
