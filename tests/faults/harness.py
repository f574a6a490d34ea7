"""Runs one fault scenario: devices scan steadily through the real gateway, a fault
is injected and healed, the load goes on until the stack has recovered, then the
oracle (tests/faults/oracle.py) judges what was recorded.

Processes are killed the way failures kill them (SIGKILL to the process group:
no goodbye to the group coordinator, no flush), paused with SIGSTOP, and started
again with exactly the command line they had (same ports, same data)."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from deploy.local import procs
from deploy.local.postgres import Postgres
from deploy.local.stack import Stack
from deploy.local.store import GO_MEMORY
from deploy.local.tools import wait_for_port
from tests.conftest import device_token
from tests.faults.devices import Device, new_laptops
from tests.faults.oracle import Outcome, check_scans, check_store, inject_garbage
from tests.settle import settled

# The long form (`make faults`) runs every scenario, longer; `make test` a bounded subset.
LONG = os.environ.get("SERAH_FAULTS") == "all"
RESULTS: list[Outcome] = []
RECOVERY_DEADLINE_S = 180.0


@dataclass
class Load:
    devices: int = 4
    laptops_per_device: int = 5
    offline_devices: int = 1
    warmup_s: float = 8.0
    after_s: float = 8.0  # load kept up once the stack is healthy again
    clock_offsets_s: tuple[float, ...] = ()  # the first devices' clocks are this far off


def log_of(proc: subprocess.Popen[bytes]) -> Path | None:
    """The file a process of procs.start writes to (its stdout)."""
    try:
        return Path(os.readlink(f"/proc/{proc.pid}/fd/1"))
    except OSError:
        return None


def hard_kill(proc: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(30)


def again(proc: subprocess.Popen[bytes], log: Path, env: dict[str, str] | None = None) -> subprocess.Popen[bytes]:
    """The same command line, started again (same ports, same data folder)."""
    return procs.start([str(a) for a in proc.args], log, env)  # type: ignore[union-attr]


def pause(proc: subprocess.Popen[bytes], seconds: float) -> None:
    """SIGSTOP for ``seconds``, then SIGCONT: a process that hangs (GC, swap, a stuck disk)."""
    os.killpg(proc.pid, signal.SIGSTOP)
    try:
        time.sleep(seconds)
    finally:
        os.killpg(proc.pid, signal.SIGCONT)


def extra_instance(stack: Stack, service: str, tag: str) -> subprocess.Popen[bytes]:
    """One more process of ``service`` in its consumer group."""
    log = stack.data / "logs" / f"{service}-{tag}.log"
    return procs.start([sys.executable, "-m", f"services.{service}"], log, stack.service_env(service))


def healthy(stack: Stack) -> bool:
    try:
        return httpx.get(f"{stack.url}/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def wait_healthy(stack: Stack, timeout_s: float = RECOVERY_DEADLINE_S) -> float | None:
    """The moment /healthz said 200 again, or None past the deadline."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if healthy(stack):
            return time.monotonic()
        time.sleep(0.25)
    return None


def make_devices(stack: Stack, api: httpx.Client, scenario: str, load: Load) -> list[Device]:
    out = []
    for i in range(load.devices):
        token = device_token(stack, ("warehouse", "recipient"), "*", f"{scenario}-{i}")
        laptops = new_laptops(api, load.laptops_per_device)
        offline = i < load.offline_devices
        out.append(
            Device(
                f"{scenario}-d{i}",
                token,
                stack.url,
                laptops,
                offline_every_s=10.0 if offline else None,
                offline_for_s=4.0,
                clock_offset_s=load.clock_offsets_s[i] if i < len(load.clock_offsets_s) else 0.0,
            )
        )
    return out


def run(
    name: str,
    stack: Stack,
    api: httpx.Client,
    mongo: Any,
    fault: Callable[[], Any],
    load: Load | None = None,
    during: Callable[[], Any] | None = None,
) -> Outcome:
    """Load, ``fault()`` (returns once healed), recovery, oracle. ``during``: checks
    made while the fault is on (what users see), run by the fault itself."""
    load = load or Load()
    assert stack.kafka is not None
    devices = make_devices(stack, api, name, load)
    inject_garbage(stack.kafka.bootstrap)
    for d in devices:
        d.start()
    time.sleep(load.warmup_s)
    fault()
    healed = time.monotonic()
    ok_at = wait_healthy(stack)
    if ok_at is not None:
        time.sleep(load.after_s)
    for d in devices:
        d.stop_scanning()
    answered_all = all(d.join(RECOVERY_DEADLINE_S) for d in devices)
    outcome = Outcome(name)
    scans = [s for d in devices for s in d.scans]
    if ok_at is None:
        outcome.problems.append("/healthz did not say 200 again within the deadline")
    if not answered_all:
        undecided = [s for s in scans if not s.decided]
        asked = [(s.scan_id, s.answered, api.get(f"/api/v1/scans/{s.scan_id}").status_code) for s in undecided[:5]]
        outcome.problems.append(
            f"{len(undecided)} scans still undecided at the deadline (id, answer, GET /scans now): {asked}"
        )
    # Recovered: healthy again, and a decision reached a device after the healing.
    first_decided = min((s.decided_at for s in scans if s.decided_at and s.decided_at > healed), default=None)
    if ok_at is not None and first_decided is not None:
        outcome.recover_s = max(ok_at, first_decided) - healed
    statuses: Counter[str] = Counter()
    for d in devices:
        statuses.update(d.statuses)
    outcome.server_errors = statuses["500"]
    outcome.answered_503 = statuses["503"]
    if statuses["503 without Retry-After"]:
        outcome.problems.append(f"{statuses['503 without Retry-After']} answers 503 without Retry-After")
    if name in NOTICED:
        outcome.noticed_s = NOTICED[name]
        if outcome.noticed_s is None:
            outcome.problems.append("/healthz did not say what was down")
    settled(stack, timeout_s=RECOVERY_DEADLINE_S)
    check_scans(outcome, scans, mongo, stack.kafka.bootstrap)
    check_store(outcome, stack, mongo, stack.data)
    RESULTS.append(outcome)
    print(f"\n{name}: {json.dumps(outcome.row())} statuses={dict(statuses)}")
    return outcome


def restart_worker(stack: Stack, name: str) -> None:
    stack.services.pop(name, None)
    stack.start_service(name)


def kafka_log(stack: Stack) -> Path:
    return stack.data / "kafka" / "kafka.log"


def noticed(stack: Stack, reason: str | tuple[str, ...], timeout_s: float = 30.0) -> float | None:
    """Seconds until /healthz answers 503 with ``reason`` (or one of them) among its reasons."""
    wanted = (reason,) if isinstance(reason, str) else reason
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            r = httpx.get(f"{stack.url}/healthz", timeout=10)
            if r.status_code == 503 and set(wanted) & set(r.json().get("reasons", [])):
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.25)
    return None


NOTICED: dict[str, float | None] = {}  # per scenario: how long /healthz took to say what is down


def down_for(down_s: float, stack: Stack, reason: str | tuple[str, ...], scenario: str) -> None:
    """Keeps a fault on for ``down_s`` while timing how soon /healthz names it."""
    started = time.monotonic()
    NOTICED[scenario] = noticed(stack, reason, timeout_s=max(down_s - 1, 1))
    time.sleep(max(0.0, down_s - (time.monotonic() - started)))


def restart_kafka(stack: Stack, down_s: float, scenario: str = "") -> None:
    """SIGKILL the broker, keep it down ``down_s``, start it on the same port and data."""
    assert stack.kafka is not None
    old = stack.kafka.proc
    hard_kill(old)
    down_for(down_s, stack, "Kafka is not reachable", scenario)
    stack.kafka.proc = again(old, kafka_log(stack))
    wait_for_port(stack.kafka.port, 120, stack.kafka.proc, what="the restarted broker")


STORE_DOWN = "the store is not reachable"


def restart_store(stack: Stack, down_s: float, sig: int = signal.SIGKILL, scenario: str = "") -> None:
    """FerretDB's process killed (SIGKILL) or stopped (SIGTERM), down ``down_s``, started
    again with the same command line. On SQLite it holds the data; on PostgreSQL it is a
    proxy that holds none (its clients' connections and in-flight commands die with it)."""
    assert stack.store is not None and stack.store.proc is not None
    old = stack.store.proc
    log = log_of(old) or stack.data / "store" / "store.log"
    if sig == signal.SIGKILL:
        hard_kill(old)
    else:
        procs.stop(old)
    if scenario:
        down_for(down_s, stack, STORE_DOWN, scenario)
    else:
        time.sleep(down_s)
    stack.store.proc = again(old, log, {**GO_MEMORY, **os.environ})
    port = int(stack.store.url.rsplit(":", 1)[1].strip("/"))
    wait_for_port(port, 60, stack.store.proc, what="the restarted store")


def postgres_of(stack: Stack) -> Postgres:
    assert stack.store is not None and stack.store.postgres is not None, "the stack's store is not on PostgreSQL"
    return stack.store.postgres


def postgres_pids(pg: Postgres) -> list[int]:
    """The postmaster and its children (each backend, the checkpointer, the WAL writer…):
    each child is its own session (PostgreSQL's setsid), out of the postmaster's group."""
    pids = [pg.proc.pid]
    for stat in glob.glob("/proc/[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = Path(stat).read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pg.proc.pid:
                pids.append(int(Path(stat).parent.name))
    return pids


def signal_all(pids: list[int], sig: int) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def start_postgres_again(pg: Postgres, timeout_s: float = 120) -> None:
    """Started again as a service manager would, until it runs: a killed cluster's last
    processes may hold its shared memory a moment longer."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            pg.start_again()
            return
        except (RuntimeError, TimeoutError):
            if time.monotonic() > deadline:
                raise
            time.sleep(1.0)


def restart_postgres(stack: Stack, down_s: float, sig: int = signal.SIGKILL, scenario: str = "") -> None:
    """PostgreSQL, which holds the data behind FerretDB, killed (SIGKILL to the postmaster
    and every child at once: a crash, no checkpoint, recovered from its WAL at start) or
    shut down (SIGINT, its fast shutdown: open transactions rolled back, clients cut off),
    down ``down_s``, then started again on the same cluster and port."""
    pg = postgres_of(stack)
    if sig == signal.SIGKILL:
        pids = postgres_pids(pg)
        signal_all(pids, signal.SIGKILL)
        pg.proc.wait(30)
    else:
        pg.stop()
    if scenario:
        down_for(down_s, stack, STORE_DOWN, scenario)
    else:
        time.sleep(down_s)
    start_postgres_again(pg)


def pause_postgres(stack: Stack, down_s: float, scenario: str) -> None:
    """PostgreSQL SIGSTOPped, the postmaster then every child (a hung host, a stuck
    disk) for ``down_s``: connections stay open and nothing answers; then SIGCONTed."""
    pg = postgres_of(stack)
    os.kill(pg.proc.pid, signal.SIGSTOP)
    pids = postgres_pids(pg)
    signal_all(pids[1:], signal.SIGSTOP)
    try:
        down_for(down_s, stack, STORE_DOWN, scenario)
    finally:
        signal_all([*pids[1:], pids[0]], signal.SIGCONT)


def table(results: list[Outcome]) -> str:
    cols = (
        "scenario",
        "sent",
        "acknowledged",
        "recorded",
        "lost",
        "duplicated",
        "recover_s",
        "noticed_s",
        "refused",
        "503",
        "500",
        "ok",
    )
    rows = [[str(r.row()[c]) for c in cols] for r in results]
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths, strict=True))
    body = ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in rows]
    return "\n".join([line, "-" * len(line), *body])


def rewind(bootstrap: str, group: str, topic_names: Any) -> None:
    """The group's committed offsets set to the earliest of every partition it reads
    (the group must have no live member): ``kafka-consumer-groups --reset-offsets --to-earliest``."""
    from kafka import TopicPartition
    from kafka.admin import KafkaAdminClient, OffsetSpec

    admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="serah-faults-rewind")
    try:
        parts = [
            TopicPartition(t, p["partition_index"])
            for t in topic_names
            for d in admin.describe_topics([t])
            for p in d["partitions"]
        ]
        deadline = time.monotonic() + 60
        while True:  # the group's last member may take a moment to be gone
            result = admin.reset_group_offsets(group, {tp: OffsetSpec.EARLIEST for tp in parts})
            errors = {tp: r["error"] for tp, r in result.items() if r["error"] is not None and r["error"].errno}
            if not errors:
                return
            assert time.monotonic() < deadline, f"could not rewind {group}: {errors}"
            time.sleep(1.0)
    finally:
        admin.close()


def event_ids(bootstrap: str) -> set[str]:
    """Every distinct event id on serah.events."""
    from tests.faults.oracle import read_events

    return {e["id"] for e in read_events(bootstrap)}


def sqlite_disk_full(stack: Stack, full_s: float, scenario: str) -> None:
    """FerretDB on SQLite, whose process writes the data, with its disk full for ``full_s``:
    it may write no byte past the first page of any file (RLIMIT_FSIZE; Go ignores SIGXFSZ,
    so each write fails with EFBIG, as it would with ENOSPC), reads still work; /healthz
    must name the store as refusing writes meanwhile. Then space returns."""
    import resource

    assert stack.store is not None and stack.store.proc is not None
    pid = stack.store.proc.pid
    before = resource.prlimit(pid, resource.RLIMIT_FSIZE)
    resource.prlimit(pid, resource.RLIMIT_FSIZE, (4096, before[1]))
    try:
        down_for(full_s, stack, "the store refuses writes", scenario)
    finally:
        resource.prlimit(pid, resource.RLIMIT_FSIZE, before)


def fill_tmpfs(folder: Path) -> None:
    """The tmpfs mounted at ``folder`` shrunk to what it holds, a page to spare: every write
    that needs more space then fails with ENOSPC. Its owner writes meanwhile, and a tmpfs
    refuses a size below what it holds: measured again until the size takes."""
    for _ in range(50):
        st = os.statvfs(folder)
        used = (st.f_blocks - st.f_bfree) * st.f_frsize
        if subprocess.run(["mount", "-o", f"remount,size={used + 4096}", str(folder)]).returncode == 0:
            return
        time.sleep(0.05)
    raise RuntimeError(f"could not shrink the tmpfs at {folder} to what it holds")


LIBFAKETIME = sorted(glob.glob("/usr/lib/*/faketime/libfaketime.so.1"))


def restart_with_clock(stack: Stack, name: str, clock_file: Path | None) -> None:
    """``name`` started again with its wall clock read from ``clock_file`` by libfaketime
    ("+0" is right, "+3h" three hours ahead; read again every second, so the test jumps it
    by rewriting the file) and its monotonic clock untouched, as a real clock step leaves
    it. None: the real clock again."""
    env = stack.service_env(name)
    if clock_file is not None:
        assert LIBFAKETIME, "the clock-jump fault needs libfaketime: bash scripts/ensure-faketime"
        env |= {
            "LD_PRELOAD": LIBFAKETIME[0],
            "FAKETIME_TIMESTAMP_FILE": str(clock_file),
            "FAKETIME_CACHE_DURATION": "1",
            "FAKETIME_DONT_FAKE_MONOTONIC": "1",
        }
    procs.stop(stack.services.pop(name))
    stack.services[name] = procs.start(
        [sys.executable, "-m", f"services.{name}"], stack.data / "logs" / f"{name}.log", env
    )
    if name == "gateway":
        wait_for_port(stack.gateway_port, 60, stack.services[name], what="the gateway")


def jump_clock(clock_file: Path, offset: str, for_s: float, stack: Stack, reason: str) -> float | None:
    """The clock of the processes reading ``clock_file`` set ``offset`` from the real one
    for ``for_s``, then right again; returns how soon /healthz named ``reason``."""
    clock_file.write_text(offset)
    try:
        started = time.monotonic()
        seen = noticed(stack, reason, timeout_s=max(for_s - 1, 1))
        time.sleep(max(0.0, for_s - (time.monotonic() - started)))
        return seen
    finally:
        clock_file.write_text("+0")
