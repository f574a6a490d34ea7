"""Faults on a three-broker KRaft cluster on loopback (every topic replicated three
times, ``min.insync.replicas=2``, producers ``acks=all``): a partition leader
killed, a broker paused (a zombie that still holds its sessions), a clean rolling
restart, a broker cut off by a network partition (iptables). Under a steady load of
scans; after each, every acknowledged scan is recorded exactly once
(tests/faults/oracle.py).

Three JVMs on a small machine: `make faults` only (SERAH_FAULTS=all)."""

from __future__ import annotations

import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from kafka.admin import KafkaAdminClient

from deploy.local import procs
from deploy.local.kafka import KafkaCluster, wait_until_listening
from deploy.local.stack import Stack
from events import topics
from tests.faults import harness
from tests.faults.conftest import new_stack, stop

pytestmark = [
    pytest.mark.timeout(900),
    pytest.mark.long_form,  # three brokers: make faults only
]


@pytest.fixture(scope="module")
def fault_stack(signing_keys: str) -> Iterator[Stack]:
    stack = new_stack(signing_keys, "faults-cluster-")
    stack.brokers = 3
    try:
        stack.start_infra()
        stack.start_services()
        stack.wait_healthy(timeout_s=240)
        yield stack
    finally:
        stop(stack)


def cluster(stack: Stack) -> KafkaCluster:
    assert isinstance(stack.kafka, KafkaCluster)
    return stack.kafka


def describe(stack: Stack) -> list[dict[str, Any]]:
    admin = KafkaAdminClient(bootstrap_servers=cluster(stack).bootstrap, client_id="serah-faults")
    try:
        names = sorted({t for read in topics.CONSUMED_BY.values() for t in read})
        return [{"topic": d["name"], **p} for d in admin.describe_topics(names) for p in d["partitions"]]
    finally:
        admin.close()


def busiest_leader(stack: Stack) -> int:
    """The node id leading the most partitions of the topics the workers read."""
    leaders = Counter(p["leader_id"] for p in describe(stack) if p["leader_id"] >= 0)
    return leaders.most_common(1)[0][0]


def fully_replicated(stack: Stack, timeout_s: float = 120) -> None:
    """Every partition has all three replicas in sync again."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            lagging = [p for p in describe(stack) if len(p["isr_nodes"]) < len(p["replica_nodes"])]
        except Exception as exc:  # noqa: BLE001 - a broker may still be starting
            lagging = [repr(exc)]  # type: ignore[list-item]
        if not lagging:
            return
        assert time.monotonic() < deadline, f"not fully replicated after {timeout_s}s: {lagging[:3]}"
        time.sleep(1.0)


def restart_node(stack: Stack, node_id: int, down_s: float, hard: bool = True) -> None:
    node = cluster(stack).nodes[node_id - 1]
    folder = stack.data / "kafka" / f"node{node_id}"
    old = node.proc
    if hard:
        harness.hard_kill(old)
    else:
        procs.stop(old, grace_s=60)
    time.sleep(down_s)
    node.proc = harness.again(old, folder / "kafka.log")
    wait_until_listening(node, folder, 120)


def test_the_partition_leader_killed_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    def fault() -> None:
        restart_node(fault_stack, busiest_leader(fault_stack), down_s=20.0)
        fully_replicated(fault_stack)

    outcome = harness.run("cluster_leader_killed", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


def test_a_paused_broker_a_zombie_loses_nothing(fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any) -> None:
    """SIGSTOP past the brokers' session timeout: the cluster fences it and moves its
    leaderships; when it wakes it must not accept writes as a stale leader."""

    def fault() -> None:
        victim = busiest_leader(fault_stack)
        harness.pause(cluster(fault_stack).nodes[victim - 1].proc, 25.0)
        fully_replicated(fault_stack)

    outcome = harness.run("cluster_broker_paused", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


def test_a_clean_rolling_restart_loses_nothing(fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any) -> None:
    def fault() -> None:
        for node_id in (1, 2, 3):
            restart_node(fault_stack, node_id, down_s=1.0, hard=False)
            fully_replicated(fault_stack)

    outcome = harness.run("cluster_rolling_restart", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome


def ports_of(stack: Stack, node_id: int) -> tuple[int, int]:
    """(client and replication port, controller port) of a node, from its properties."""
    props = (stack.data / "kafka" / f"node{node_id}" / "server.properties").read_text()
    listeners = next(line for line in props.splitlines() if line.startswith("listeners="))
    plain, controller = (int(part.rsplit(":", 1)[1]) for part in listeners.removeprefix("listeners=").split(","))
    return plain, controller


def cgroup2_root() -> Path:
    for line in Path("/proc/mounts").read_text().splitlines():
        _, where, kind, *_ = line.split()
        if kind == "cgroup2":
            return Path(where)
    raise AssertionError("the network partition needs a cgroup2 hierarchy mounted")


@contextmanager
def cut_off(stack: Stack, node_id: int) -> Iterator[None]:
    """The node alone on its side of a network partition, with iptables on loopback:
    nobody reaches its ports (clients, the other brokers, the other controllers) and
    its own packets to the others' ports are dropped (its JVM in a cgroup of its own,
    matched by the OUTPUT rule). The process runs on; only the network is gone."""
    mine = ports_of(stack, node_id)
    others = [p for n in range(1, len(cluster(stack).nodes) + 1) if n != node_id for p in ports_of(stack, n)]
    pid = cluster(stack).nodes[node_id - 1].proc.pid
    root = cgroup2_root()
    group = root / f"serah-faults-node{node_id}-{pid}"
    group.mkdir()
    (group / "cgroup.procs").write_text(str(pid))
    rules = [
        ["INPUT", "-p", "tcp", "-m", "multiport", "--dports", ",".join(map(str, mine)), "-j", "DROP"],
        ["OUTPUT", "-p", "tcp", "-m", "cgroup", "--path", group.name, "-m", "multiport", "--dports",
         ",".join(map(str, others)), "-j", "DROP"],
    ]  # fmt: skip
    added: list[list[str]] = []
    try:
        for rule in rules:
            subprocess.run(["iptables", "-A", *rule], check=True)
            added.append(rule)
        yield
    finally:
        for rule in added:
            subprocess.run(["iptables", "-D", *rule], check=False)
        (root / "cgroup.procs").write_text(str(pid))
        group.rmdir()


def test_a_broker_cut_off_by_a_network_partition_loses_nothing(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    """The busiest leader cut off for 30 s, alive but unreachable: the two others fence it,
    take its leaderships and go on (two in sync meet min.insync.replicas); once the network
    heals it catches up as a follower, and nothing it held alone is served."""

    def fault() -> None:
        with cut_off(fault_stack, busiest_leader(fault_stack)):
            time.sleep(30.0)
        fully_replicated(fault_stack)

    outcome = harness.run("cluster_broker_partitioned", fault_stack, fault_api, fault_mongo, fault)
    assert outcome.ok, outcome
