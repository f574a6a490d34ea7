"""The broker's data folder full, on a single broker whose folder is a tmpfs the test
shrinks to what it already holds: every append then fails with ENOSPC, as on a full
disk. Kafka takes a log folder that fails a write offline and, with no other, stops
the broker (its design: nothing half-written is served); the gateway answers 503 with
Retry-After meanwhile and /healthz names Kafka. Space returns, the broker is started
again (as its service manager would) and recovers its log; every acknowledged scan is
recorded exactly once.

Its own stack (the folder must be mounted before the broker starts): `make faults` only."""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from deploy.local.stack import Stack
from deploy.local.tools import wait_for_port
from tests.faults import harness
from tests.faults.conftest import new_stack, resize, running

pytestmark = [pytest.mark.timeout(900), pytest.mark.long_form]

ROOMY = "1g"


def kafka_folder(stack: Stack) -> Path:
    return stack.data / "kafka" / "kraft-logs"


@pytest.fixture(scope="module")
def fault_stack(signing_keys: str) -> Iterator[Stack]:
    assert os.geteuid() == 0, "the Kafka disk-full fault mounts a tmpfs: run as root"
    stack = new_stack(signing_keys, "faults-kafka-disk-")
    with running(stack, (kafka_folder(stack), ROOMY)) as ready:
        yield ready


def kafka_disk_full(stack: Stack, full_s: float, scenario: str) -> None:
    """The folder shrunk to what it holds for ``full_s``, then roomy again; a broker that
    stopped on its failed folder is started again on the same data."""
    assert stack.kafka is not None
    folder = kafka_folder(stack)
    harness.fill_tmpfs(folder)
    try:
        harness.down_for(full_s, stack, "Kafka is not reachable", scenario)
    finally:
        resize(folder, ROOMY)
    old = stack.kafka.proc
    deadline = time.monotonic() + 60
    while old.poll() is None and time.monotonic() < deadline and not harness.healthy(stack):
        time.sleep(0.5)
    if old.poll() is not None:  # stopped on its failed log folder: started again, as a service manager would
        stack.kafka.proc = harness.again(old, harness.kafka_log(stack))
        wait_for_port(stack.kafka.port, 120, stack.kafka.proc, what="the restarted broker")


def test_the_broker_disk_full_refuses_writes_clearly_and_loses_nothing_when_space_returns(
    fault_stack: Stack, fault_api: httpx.Client, fault_mongo: Any
) -> None:
    outcome = harness.run(
        "kafka_disk_full",
        fault_stack,
        fault_api,
        fault_mongo,
        lambda: kafka_disk_full(fault_stack, 20.0, "kafka_disk_full"),
    )
    assert outcome.ok, outcome
    assert outcome.answered_503 > 0, "no scan met the full broker"
